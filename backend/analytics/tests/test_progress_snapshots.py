"""Standing snapshots: a small class over three nights worked out by hand, a re-run of a night, a backfill."""

import datetime
import io
import random
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from analytics import jobs
from analytics.management.commands import calculate_class_ranks
from analytics.models import StudentStandingSnapshot, StudentTermPerformance, StudentTermStanding
from homework.models import Grade, HomeworkSubmission
from schools.models import School
from tests import factories

pytestmark = pytest.mark.django_db

TUE, WED, THU = datetime.date(2026, 9, 8), datetime.date(2026, 9, 9), datetime.date(2026, 9, 10)


def grade(homework, student, score):
    submission = HomeworkSubmission.objects.create(
        homework=homework,
        student=student,
        submitted_at=datetime.datetime.combine(homework.due_date, datetime.time(8), tzinfo=datetime.UTC),
    )
    return Grade.objects.create(submission=submission, score=Decimal(score))


@pytest.fixture
def world():
    """Class of A, B, C (and D, left the school): Maths due Tuesday and Thursday (out of 20), English due
    Wednesday (out of 3, so thirds: 66.67 and 33.33)."""
    school = factories.SchoolFactory(timezone="UTC")
    term = factories.TermFactory(school=school)
    klass = factories.ClassGroupFactory(school=school)
    maths = factories.SubjectFactory(school=school, name="Maths")
    english = factories.SubjectFactory(school=school, name="English")
    teacher = factories.TeacherFactory(school=school)
    a, b, c = (factories.StudentFactory(school=school, class_group=klass, last_name=name) for name in "ABC")
    d = factories.StudentFactory(school=school, class_group=klass, last_name="D", active=False)

    def homework(subject, due, maximum):
        return factories.HomeworkFactory(
            class_group=klass, subject=subject, teacher=teacher, assigned_date=due, due_date=due, max_score=maximum
        )

    h1, h3 = homework(maths, TUE, Decimal(20)), homework(maths, THU, Decimal(20))
    h2 = homework(english, WED, Decimal(3))
    for student, score in ((a, "15"), (b, "10"), (c, "20"), (d, "20")):
        grade(h1, student, score)
    grade(h2, a, "2")
    grade(h2, b, "1")
    for student, score in ((a, "5"), (b, "20"), (c, "12")):
        grade(h3, student, score)
    return school, term, {"A": a, "B": b, "C": c, "D": d}


def stored(term, day):
    """{(student letter, subject name or 'overall'): (average, rank, rank_of)} of the day's snapshot."""
    rows = StudentStandingSnapshot.objects.filter(term=term, date=day).select_related("student", "subject")
    return {
        (row.student.last_name, row.subject.name if row.subject else "overall"): (
            str(row.average),
            row.rank,
            row.rank_of,
        )
        for row in rows
    }


# Worked out by hand. Tuesday: Maths A 15/20 = 75, B 50, C 100, D 100 (inactive: no rank, takes no place).
TUESDAY = {
    ("A", "Maths"): ("75.00", 2, 3),
    ("B", "Maths"): ("50.00", 3, 3),
    ("C", "Maths"): ("100.00", 1, 3),
    ("D", "Maths"): ("100.00", None, None),
    ("A", "overall"): ("75.00", 2, 3),
    ("B", "overall"): ("50.00", 3, 3),
    ("C", "overall"): ("100.00", 1, 3),
    ("D", "overall"): ("100.00", None, None),
}
# Wednesday adds English: A 2/3 = 66.67, B 1/3 = 33.33. Overall A (75.00 + 66.67) / 2 = 70.835 -> 70.84 (half up),
# B (50.00 + 33.33) / 2 = 41.665 -> 41.67, C 100 (Maths only).
WEDNESDAY = {
    **TUESDAY,
    ("A", "English"): ("66.67", 1, 2),
    ("B", "English"): ("33.33", 2, 2),
    ("A", "overall"): ("70.84", 2, 3),
    ("B", "overall"): ("41.67", 3, 3),
}
# Thursday adds Maths 2: A (15 + 5) / 40 = 50, B 30/40 = 75, C 32/40 = 80. Overall A (50 + 66.67) / 2 = 58.335
# -> 58.34, B (75 + 33.33) / 2 = 54.165 -> 54.17, C 80: C, A, B.
THURSDAY = {
    **WEDNESDAY,
    ("A", "Maths"): ("50.00", 3, 3),
    ("B", "Maths"): ("75.00", 2, 3),
    ("C", "Maths"): ("80.00", 1, 3),
    ("A", "overall"): ("58.34", 2, 3),
    ("B", "overall"): ("54.17", 3, 3),
    ("C", "overall"): ("80.00", 1, 3),
}


def night(day: datetime.date, term):
    """The nightly run at 02:00 (UTC school) of the day after ``day``."""
    moment = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(2), tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        return jobs.class_ranks_run(term=term)


def test_three_nights_by_hand_and_a_rerun_of_the_same_night(world):
    _school, term, pupils = world
    first = night(TUE, term)
    assert stored(term, TUE) == TUESDAY
    assert f"8 snapshot rows of {TUE}" in first.summary

    night(WED, term)
    assert stored(term, WED) == WEDNESDAY
    ids = sorted(StudentStandingSnapshot.objects.filter(date=WED).values_list("pk", flat=True))

    # The same night again: nothing written, the same rows kept.
    again = night(WED, term)
    assert again.rows_changed == 0
    assert "0 rows changed, already up to date" in again.summary
    assert sorted(StudentStandingSnapshot.objects.filter(date=WED).values_list("pk", flat=True)) == ids

    night(THU, term)
    assert stored(term, THU) == THURSDAY
    # Each night kept its own date: the earlier snapshots are as they were.
    assert stored(term, TUE) == TUESDAY
    assert stored(term, WED) == WEDNESDAY
    assert StudentStandingSnapshot.objects.count() == 8 + 10 + 10

    # A grade corrected, and the same night run again: only the rows that moved are rewritten.
    corrected = Grade.objects.get(submission__student=pupils["A"], submission__homework__due_date=THU)
    corrected.score = Decimal(19)
    corrected.save()
    rerun = night(THU, term)
    # A's Maths (15 + 19) / 40 = 85: A first in Maths, C and B down one; overall A (85 + 66.67) / 2 = 75.835 -> 75.84.
    assert stored(term, THU) == {
        **THURSDAY,
        ("A", "Maths"): ("85.00", 1, 3),
        ("B", "Maths"): ("75.00", 3, 3),
        ("C", "Maths"): ("80.00", 2, 3),
        ("A", "overall"): ("75.84", 2, 3),
    }
    # Snapshot rows: the three Maths rows and A's overall; live ranks: the three Maths ranks and A's standing.
    assert rerun.rows_changed == 4 + 4
    assert stored(term, WED) == WEDNESDAY


def test_backfill_of_a_date_range_writes_what_the_nights_would_have(world):
    school, term, _pupils = world
    out = io.StringIO()
    call_command(
        "calculate_class_ranks", "--school", str(school.pk), "--date", str(TUE), "--until", str(THU), stdout=out
    )
    assert stored(term, TUE) == TUESDAY
    assert stored(term, WED) == WEDNESDAY
    assert stored(term, THU) == THURSDAY
    assert f"28 snapshot rows of {TUE}..{THU}" in out.getvalue()

    # One date's snapshot lost and written again: the run reports those rows though no rank moved.
    StudentStandingSnapshot.objects.filter(date=WED).delete()
    out = io.StringIO()
    call_command("calculate_class_ranks", "--term", str(term.pk), "--date", str(WED), stdout=out)
    assert f"10 rows changed (0 subject ranks, 0 overall standings, 10 snapshot rows of {WED})" in out.getvalue()
    assert stored(term, WED) == WEDNESDAY

    # Backfilled again: nothing to change.
    out = io.StringIO()
    call_command("calculate_class_ranks", "--term", str(term.pk), "--date", str(TUE), "--until", str(THU), stdout=out)
    assert "0 rows changed, already up to date" in out.getvalue()


def planner_row_estimate(model) -> float | None:
    """PostgreSQL's estimate of the table's rows (reltuples: -1 before its first ANALYZE); None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


def test_a_backfill_refreshes_the_planners_statistics_of_the_snapshots(world, monkeypatch):
    """After writing a term's snapshots at once, the overview's read of a student's snapshots must not be
    planned on the estimates of before (a backfill of 2.5 million rows made it read them all)."""
    _school, term, _pupils = world
    analysed = []
    refresh = calculate_class_ranks.database_statistics_refresh
    monkeypatch.setattr(
        calculate_class_ranks,
        "database_statistics_refresh",
        lambda **kwargs: analysed.append(kwargs) or refresh(**kwargs),
    )
    call_command("calculate_class_ranks", "--term", str(term.pk), "--date", str(WED), stdout=io.StringIO())
    assert analysed == []  # one night's snapshot: autovacuum's to see

    err = io.StringIO()
    call_command(
        "calculate_class_ranks",
        "--term",
        str(term.pk),
        "--date",
        str(TUE),
        "--until",
        str(THU),
        stdout=io.StringIO(),
        stderr=err,
    )
    assert analysed == [{"models": [StudentStandingSnapshot]}]
    assert "statistics refreshed" in err.getvalue()
    if connection.vendor == "postgresql":
        assert planner_row_estimate(StudentStandingSnapshot) == StudentStandingSnapshot.objects.count() == 28


def test_first_night_of_a_term_and_dates_outside_it_write_no_snapshot(world):
    _school, term, _pupils = world
    # The run on the term's first day snapshots the day before it: nothing.
    with time_machine.travel(datetime.datetime(2026, 9, 7, 2, tzinfo=datetime.UTC), tick=False):
        jobs.class_ranks_run(term=term)
    assert not StudentStandingSnapshot.objects.exists()
    # A run after the term snapshots its last day (late grades still reach the final standing).
    with time_machine.travel(datetime.datetime(2026, 12, 25, 2, tzinfo=datetime.UTC), tick=False):
        jobs.class_ranks_run(term=term)
    assert set(StudentStandingSnapshot.objects.values_list("date", flat=True)) == {term.end_date}
    assert stored(term, term.end_date) == THURSDAY


def test_until_needs_a_date_not_after_it():
    with pytest.raises(CommandError, match="--until needs --date"):
        call_command("calculate_class_ranks", "--until", "2026-09-10", stdout=io.StringIO())
    with pytest.raises(CommandError, match="must not be before it"):
        call_command("calculate_class_ranks", "--date", "2026-09-10", "--until", "2026-09-09", stdout=io.StringIO())


@pytest.mark.parametrize("scope", [School.RankScope.CLASS_GROUP, School.RankScope.GRADE_LEVEL])
def test_the_snapshot_of_the_last_day_equals_the_nights_ranks_in_every_class_and_grade_level(scope):
    """Every grade due in the term: the last day's snapshot is the live standing the rank job computes (in SQL),
    for each class or grade level, with inactive students and one without a class taking no place."""
    rng = random.Random(7)
    school = factories.SchoolFactory(rank_scope=scope)
    term = factories.TermFactory(school=school)
    classes = [factories.ClassGroupFactory(school=school, grade_level=level) for level in (7, 7, 8)]
    subjects = [factories.SubjectFactory(school=school) for _ in range(2)]
    teacher = factories.TeacherFactory(school=school)
    students = [
        factories.StudentFactory(school=school, class_group=rng.choice(classes), active=n % 7 != 3) for n in range(24)
    ]
    students.append(factories.StudentFactory(school=school, class_group=None))
    for n in range(6):
        subject, klass = subjects[n % 2], classes[n % 3]
        due = factories.TERM_START + datetime.timedelta(days=3 * n)
        homework = factories.HomeworkFactory(
            class_group=klass, subject=subject, teacher=teacher, assigned_date=due, due_date=due, max_score=8
        )
        for student in students:
            if rng.random() < 0.7:
                grade(homework, student, str(rng.choice([0, 3, 5, 5, 6, 8])))
    jobs.class_ranks_run(term=term, snapshot_dates=[term.end_date])

    snapshot = {
        (row.student_id, row.subject_id): (row.average, row.rank, row.rank_of)
        for row in StudentStandingSnapshot.objects.filter(term=term, date=term.end_date)
    }
    live = {
        (row.student_id, row.subject_id): (row.average_grade, row.rank, row.rank_of)
        for row in StudentTermPerformance.objects.filter(term=term, average_grade__isnull=False)
    }
    live |= {
        (row.student_id, None): (row.overall_average, row.rank, row.rank_of)
        for row in StudentTermStanding.objects.filter(term=term, overall_average__isnull=False)
    }
    assert snapshot == live
    assert any(rank is None for _, rank, _ in snapshot.values())  # the unranked are there, without a place
    assert len({rank_of for _, _, rank_of in snapshot.values()}) > 2  # several partitions


def test_a_snapshot_is_worked_out_class_by_class_in_a_few_queries_per_class(world):
    """Queries grow with the classes, not with the students: a second class of 30 adds the same few."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics import progress

    school, term, _pupils = world

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            progress.standing_snapshots_write(term=term, days=[THU])
        return len(queries)

    progress.standing_snapshots_write(term=term, days=[THU])
    counts = [count()]
    for _ in range(2):
        klass = factories.ClassGroupFactory(school=school)
        factories.StudentFactory.create_batch(30, school=school, class_group=klass)
        counts.append(count())
    # Each class: its students, their grades, the dates it has stored, and its transaction's two statements.
    assert counts[2] - counts[1] == counts[1] - counts[0] == 5, counts


def test_a_student_moved_to_another_school_loses_the_terms_snapshots_on_the_next_run(world):
    from analytics.progress import standing_snapshots_write

    _school, term, pupils = world
    standing_snapshots_write(term=term, days=[TUE, WED, THU])
    moved = pupils["A"]
    rows = StudentStandingSnapshot.objects.filter(student=moved, term=term).count()
    assert rows == 8  # Tuesday: Maths and overall (English is first due on Wednesday); Wednesday, Thursday: all three
    other = factories.SchoolFactory(timezone="UTC")
    moved.school, moved.class_group = other, None
    moved.save(update_fields=["school", "class_group"])

    result = standing_snapshots_write(term=term, days=[TUE, WED, THU])

    assert result.deleted == rows
    assert not StudentStandingSnapshot.objects.filter(student=moved).exists()
    assert StudentStandingSnapshot.objects.filter(term=term, student=pupils["B"]).exists()
