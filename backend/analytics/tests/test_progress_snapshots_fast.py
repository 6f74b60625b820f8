"""Standing snapshots written date after date (the incremental path) against a plain recomputation from scratch of
every date: ties, an inactive student, one without a class, one who left the school, both rank scopes, dates
already stored in part, a second run, a corrected grade and a removed one."""

import datetime
import math
import random
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db.models import Count

from analytics.models import StudentStandingSnapshot
from analytics.progress import standing_snapshots_write
from homework.models import Grade, HomeworkSubmission
from schools.models import School, Student
from tests import factories

pytestmark = pytest.mark.django_db

START = factories.TERM_START
DAYS = [START + datetime.timedelta(days=n) for n in range(21)]


def half_up(value: Fraction) -> Decimal:
    return Decimal(math.floor(value * 100 + Fraction(1, 2))).scaleb(-2)


def from_scratch(term, day) -> dict:
    """{(student, subject or None): (average, rank, rank_of)} as of the day, straight from the definitions: every
    average from all its grades, every position by counting who is strictly above."""
    scores = defaultdict(list)
    for student_id, subject_id, score, maximum in Grade.objects.filter(
        submission__student__school_id=term.school_id,
        submission__homework__due_date__range=(term.start_date, day),
    ).values_list("submission__student_id", "submission__homework__subject_id", "score", "max_score"):
        scores[student_id, subject_id].append(Fraction(score) / Fraction(maximum))
    averages = {key: half_up(sum(ratios) * 100 / len(ratios)) for key, ratios in scores.items()}
    per_student = defaultdict(list)
    for (student_id, _), average in averages.items():
        per_student[student_id].append(Fraction(average))
    averages |= {(sid, None): half_up(sum(subject) / len(subject)) for sid, subject in per_student.items()}
    by_level = term.school.rank_scope == School.RankScope.GRADE_LEVEL
    people = {
        row["id"]: row
        for row in Student.objects.filter(school_id=term.school_id).values(
            "id", "active", "class_group_id", "class_group__grade_level"
        )
    }

    def partition(key):
        person = people[key[0]]
        if not person["active"] or person["class_group_id"] is None:
            return None
        return key[1], person["class_group__grade_level"] if by_level else person["class_group_id"]

    result = {}
    for key, average in averages.items():
        part = partition(key)
        if part is None:
            result[key] = (average, None, None)
            continue
        rivals = [averages[other] for other in averages if partition(other) == part]
        result[key] = (average, 1 + sum(1 for other in rivals if other > average), len(rivals))
    return result


def stored(term, days=DAYS) -> dict:
    return {
        (day, student, subject): (average, rank, rank_of)
        for day, student, subject, average, rank, rank_of in StudentStandingSnapshot.objects.filter(
            term=term, date__in=days
        ).values_list("date", "student_id", "subject_id", "average", "rank", "rank_of")
    }


def expected(term, days=DAYS) -> dict:
    return {(day, *key): standing for day in days for key, standing in from_scratch(term, day).items()}


def school_make(scope: str, seed: int):
    """Two grade levels (7: two classes, 8: one), three subjects with different maxima, homework due on random
    days of the three weeks (weekends too, some days none), scores from a short list (many ties)."""
    rng = random.Random(seed)
    school = factories.SchoolFactory(rank_scope=scope, timezone="UTC")
    term = factories.TermFactory(school=school)
    classes = [factories.ClassGroupFactory(school=school, grade_level=level) for level in (7, 7, 8)]
    subjects = [factories.SubjectFactory(school=school) for _ in range(3)]
    teacher = factories.TeacherFactory(school=school)
    students = [
        factories.StudentFactory(school=school, class_group=classes[n % 3], active=n % 9 != 4) for n in range(27)
    ]
    students.append(factories.StudentFactory(school=school, class_group=None))
    for n in range(14):
        subject, klass = subjects[n % 3], classes[rng.randrange(3)]
        due = rng.choice(DAYS[1:-1])
        maximum = Decimal((3, 7, 20)[n % 3])
        homework = factories.HomeworkFactory(
            class_group=klass, subject=subject, teacher=teacher, assigned_date=due, due_date=due, max_score=maximum
        )
        for student in students:
            if student.class_group_id in (klass.pk, None) and rng.random() < 0.8:
                submission = HomeworkSubmission.objects.create(
                    homework=homework,
                    student=student,
                    submitted_at=datetime.datetime.combine(due, datetime.time(8), tzinfo=datetime.UTC),
                )
                score = rng.choice([Decimal(0), maximum / 2, maximum, maximum, Decimal(1)])
                Grade.objects.create(submission=submission, score=score)
    return school, term, students


@pytest.mark.parametrize(
    ("scope", "seed"),
    [(School.RankScope.CLASS_GROUP, 1), (School.RankScope.GRADE_LEVEL, 2), (School.RankScope.CLASS_GROUP, 3)],
)
def test_the_date_after_date_writer_equals_a_recomputation_of_every_date(scope, seed):
    school, term, students = school_make(scope, seed)
    reference = expected(term)
    assert any(rank is None for _, rank, _ in reference.values())  # the inactive and the classless are there
    ranks = defaultdict(list)
    for (day, _, subject), (_, rank, rank_of) in reference.items():
        if rank is not None:
            ranks[day, subject, rank_of].append(rank)
    assert any(len(found) != len(set(found)) for found in ranks.values())  # ties

    # A backfill from nothing.
    result = standing_snapshots_write(term=term, days=DAYS)
    assert stored(term) == reference
    assert (result.created, result.updated, result.deleted) == (len(reference), 0, 0)

    # Again: nothing changes, the same rows are kept.
    ids = set(StudentStandingSnapshot.objects.values_list("pk", flat=True))
    assert standing_snapshots_write(term=term, days=DAYS).changed == 0
    assert set(StudentStandingSnapshot.objects.values_list("pk", flat=True)) == ids

    # A grade corrected: only the rows whose figures moved are rewritten, from its due date on.
    corrected = Grade.objects.filter(submission__student__active=True, submission__student__class_group__isnull=False)
    corrected = corrected.order_by("submission__homework__due_date", "pk").first()
    corrected.score = corrected.max_score if corrected.score != corrected.max_score else Decimal(0)
    corrected.save()
    after = expected(term)
    moved = {key for key in after if after[key] != reference[key]}
    assert moved and all(day >= corrected.submission.homework.due_date for day, _, _ in moved)
    result = standing_snapshots_write(term=term, days=DAYS)
    assert (result.created, result.updated, result.deleted) == (0, len(moved), 0)
    assert stored(term) == after

    # A student's only grade of a subject removed, and a student who left the school: their rows go.
    only = (
        Grade.objects.filter(submission__student__school=school)
        .values("submission__student_id", "submission__homework__subject_id")
        .annotate(count=Count("id"))
        .filter(count=1)
        .order_by("submission__student_id", "submission__homework__subject_id")
        .values_list("submission__student_id", "submission__homework__subject_id")
        .first()
    )
    Grade.objects.filter(submission__student_id=only[0], submission__homework__subject_id=only[1]).delete()
    leaver = students[0]
    leaver.school, leaver.class_group = factories.SchoolFactory(), None
    leaver.save(update_fields=["school", "class_group"])
    before = stored(term)
    result = standing_snapshots_write(term=term, days=DAYS)
    final = expected(term)
    assert stored(term) == final
    assert not StudentStandingSnapshot.objects.filter(student=leaver).exists()
    assert result.created == len(final.keys() - before.keys())
    assert result.deleted == len(before.keys() - final.keys()) > 0
    assert result.updated == sum(1 for key in final.keys() & before.keys() if final[key] != before[key])

    # Dates stored in part (rows lost, one altered) beside dates not stored at all, not in a row: each made whole.
    StudentStandingSnapshot.objects.filter(term=term, date=DAYS[9], student__in=students[1:10]).delete()
    StudentStandingSnapshot.objects.filter(term=term, date=DAYS[15]).delete()
    altered = StudentStandingSnapshot.objects.filter(term=term, date=DAYS[20]).order_by("pk").first()
    StudentStandingSnapshot.objects.filter(pk=altered.pk).update(rank=99)
    some = [DAYS[20], DAYS[9], DAYS[15], DAYS[3]]
    result = standing_snapshots_write(term=term, days=some)
    assert stored(term) == final
    assert result.updated == 1 and result.deleted == 0 and result.created > 0
