"""calculate_class_ranks: subject ranks and overall standings, checked against plain Python."""

import datetime
import io
import random
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.core.management import call_command

from analytics import jobs
from analytics.models import JobRun, StudentTermPerformance, StudentTermStanding
from schools.models import School, Student
from tests import factories

pytestmark = pytest.mark.django_db

AVERAGES = [None, None, "55.50", "60.00", "72.25", "72.25", "80.00", "80.01", "91.75", "100.00"]


def perf(student, term, subject, average):
    return StudentTermPerformance(
        student=student,
        term=term,
        subject=subject,
        school=term.school,
        average_grade=None if average is None else Decimal(average),
    )


def generated_school(*, rank_scope=School.RankScope.CLASS_GROUP, seed=2026):
    """Three classes over two grade levels, four subjects, averages from a short list: many ties and nulls."""
    rng = random.Random(seed)
    school = factories.SchoolFactory(rank_scope=rank_scope)
    term = factories.TermFactory(school=school)
    subjects = [factories.SubjectFactory(school=school) for _ in range(4)]
    classes = [
        factories.ClassGroupFactory(school=school, grade_level=7),
        factories.ClassGroupFactory(school=school, grade_level=7),
        factories.ClassGroupFactory(school=school, grade_level=8),
    ]
    students = [
        factories.StudentFactory.build(school=school, class_group=rng.choice(classes), active=n % 13 != 5)
        for n in range(75)
    ]
    students.append(factories.StudentFactory.build(school=school, class_group=None))
    students = Student.objects.bulk_create(students)
    rows = [
        perf(student, term, subject, rng.choice(AVERAGES))
        for student in students
        for subject in subjects
        if rng.random() < 0.9
    ]
    StudentTermPerformance.objects.bulk_create(rows)
    return school, term


def _partition(student, scope):
    if scope == School.RankScope.GRADE_LEVEL:
        return student.class_group.grade_level
    return student.class_group_id


def _rankable(student, value):
    return value is not None and student.active and student.class_group_id is not None


def expected_subject_ranks(term, scope):
    """(rank, rank_of) per StudentTermPerformance id, by sorting each partition's averages in Python."""
    rows = list(StudentTermPerformance.objects.filter(term=term).select_related("student__class_group"))
    partitions = defaultdict(list)
    for row in rows:
        if _rankable(row.student, row.average_grade):
            partitions[row.subject_id, _partition(row.student, scope)].append(row.average_grade)
    for averages in partitions.values():
        averages.sort(reverse=True)
    expected = {}
    for row in rows:
        if _rankable(row.student, row.average_grade):
            averages = partitions[row.subject_id, _partition(row.student, scope)]
            expected[row.pk] = (averages.index(row.average_grade) + 1, len(averages))
        else:
            expected[row.pk] = (None, None)
    return expected


def expected_standings(term, scope):
    """(overall_average, subjects_averaged, rank, rank_of) per student id, in plain Python."""
    by_student = defaultdict(list)
    students = {}
    for row in StudentTermPerformance.objects.filter(term=term).select_related("student__class_group"):
        students[row.student_id] = row.student
        if row.average_grade is not None:
            by_student[row.student_id].append(row.average_grade)
    overall = {}
    for student_id in students:
        averages = by_student[student_id]
        mean = sum(averages) / len(averages) if averages else None
        overall[student_id] = None if mean is None else mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    partitions = defaultdict(list)
    for student_id, student in students.items():
        if _rankable(student, overall[student_id]):
            partitions[_partition(student, scope)].append(overall[student_id])
    for values in partitions.values():
        values.sort(reverse=True)
    expected = {}
    for student_id, student in students.items():
        count = len(by_student[student_id])
        if _rankable(student, overall[student_id]):
            values = partitions[_partition(student, scope)]
            expected[student_id] = (overall[student_id], count, values.index(overall[student_id]) + 1, len(values))
        else:
            expected[student_id] = (overall[student_id], count, None, None)
    return expected


def stored_subject_ranks(term):
    return {row.pk: (row.rank, row.rank_of) for row in StudentTermPerformance.objects.filter(term=term)}


def stored_standings(term):
    return {
        row.student_id: (row.overall_average, row.subjects_averaged, row.rank, row.rank_of)
        for row in StudentTermStanding.objects.filter(term=term)
    }


@pytest.mark.parametrize("scope", [School.RankScope.CLASS_GROUP, School.RankScope.GRADE_LEVEL])
def test_ranks_match_plain_python_sort(scope):
    _, term = generated_school(rank_scope=scope)
    expected = expected_subject_ranks(term, scope)
    standings = expected_standings(term, scope)
    # The generated school really has ties, nulls and students who are not ranked.
    assert sum(1 for rank, _ in expected.values() if rank is None) > 30
    assert len({value for value in expected.values() if value[0] is not None}) < sum(
        1 for value in expected.values() if value[0] is not None
    )

    result = jobs.class_ranks_calculate(term=term)

    assert stored_subject_ranks(term) == expected
    assert stored_standings(term) == standings
    assert result.subject_ranks == sum(1 for rank, _ in expected.values() if rank is not None)
    assert result.standings == len(standings) == 76


def test_competition_ranking_by_hand():
    school = factories.SchoolFactory()
    term = factories.TermFactory(school=school)
    maths = factories.SubjectFactory(school=school, name="Maths")
    class_7a = factories.ClassGroupFactory(school=school, name="7A")
    names = ["Ana", "Ben", "Cleo", "Dan", "Eve", "Finn"]
    pupils = {name: factories.StudentFactory(school=school, class_group=class_7a, first_name=name) for name in names}
    averages = {"Ana": "90.00", "Ben": "85.50", "Cleo": "85.50", "Dan": "70.00", "Eve": None, "Finn": "85.49"}
    StudentTermPerformance.objects.bulk_create(perf(pupils[n], term, maths, a) for n, a in averages.items())

    jobs.class_ranks_calculate(term=term)

    ranks = {
        row.student.first_name: (row.rank, row.rank_of)
        for row in StudentTermPerformance.objects.filter(term=term).select_related("student")
    }
    assert ranks == {
        "Ana": (1, 5),
        "Ben": (2, 5),
        "Cleo": (2, 5),
        "Finn": (4, 5),
        "Dan": (5, 5),
        "Eve": (None, None),
    }


def test_grade_level_scope_ranks_across_classes_of_the_grade():
    school = factories.SchoolFactory(rank_scope=School.RankScope.GRADE_LEVEL)
    term = factories.TermFactory(school=school)
    maths = factories.SubjectFactory(school=school)
    class_7a = factories.ClassGroupFactory(school=school, name="7A", grade_level=7)
    class_7b = factories.ClassGroupFactory(school=school, name="7B", grade_level=7)
    class_8a = factories.ClassGroupFactory(school=school, name="8A", grade_level=8)
    rows = [("7a top", class_7a, "70.00"), ("7b top", class_7b, "95.00"), ("7b low", class_7b, "60.00")]
    rows += [("8a only", class_8a, "50.00")]
    pupils = {}
    for name, group, average in rows:
        pupils[name] = factories.StudentFactory(school=school, class_group=group, first_name=name)
        perf(pupils[name], term, maths, average).save()

    jobs.class_ranks_calculate(term=term)
    ranks = {
        r.student.first_name: (r.rank, r.rank_of) for r in StudentTermPerformance.objects.select_related("student")
    }
    assert ranks == {"7b top": (1, 3), "7a top": (2, 3), "7b low": (3, 3), "8a only": (1, 1)}

    school.rank_scope = School.RankScope.CLASS_GROUP
    school.save()
    term.refresh_from_db()
    assert jobs.class_ranks_calculate(term=term).subject_ranks == 3  # 7a top, 7b top, 7b low change
    ranks = {
        r.student.first_name: (r.rank, r.rank_of) for r in StudentTermPerformance.objects.select_related("student")
    }
    assert ranks == {"7b top": (1, 2), "7a top": (1, 1), "7b low": (2, 2), "8a only": (1, 1)}


def test_overall_standing_is_the_half_up_mean_of_subject_averages():
    school = factories.SchoolFactory()
    term = factories.TermFactory(school=school)
    maths, art, music = (factories.SubjectFactory(school=school, name=name) for name in ("Maths", "Art", "Music"))
    group = factories.ClassGroupFactory(school=school)
    pupils = {name: factories.StudentFactory(school=school, class_group=group, first_name=name) for name in "ABCDE"}
    grid = {
        "A": ("80.01", "80.00", None),  # mean 80.005: half-up 80.01 (half-even would give 80.00)
        "B": ("80.01", None, "80.00"),  # the same mean over two subjects: tied with A
        "C": ("90.00", "60.00", "70.01"),  # 73.3366... -> 73.34
        "D": (None, None, None),  # nothing to average: no overall, no rank
        "E": ("99.99", None, None),
    }
    StudentTermPerformance.objects.bulk_create(
        perf(pupils[name], term, subject, value)
        for name, values in grid.items()
        for subject, value in zip((maths, art, music), values, strict=True)
    )

    result = jobs.class_ranks_calculate(term=term)

    standings = {
        s.student.first_name: (s.overall_average, s.subjects_averaged, s.rank, s.rank_of)
        for s in StudentTermStanding.objects.filter(term=term).select_related("student")
    }
    assert standings == {
        "E": (Decimal("99.99"), 1, 1, 4),
        "A": (Decimal("80.01"), 2, 2, 4),
        "B": (Decimal("80.01"), 2, 2, 4),
        "C": (Decimal("73.34"), 3, 4, 4),
        "D": (None, 0, None, None),
    }
    assert result.standings == 5
    assert all(s.school_id == school.pk for s in StudentTermStanding.objects.all())

    # A student whose performance rows are gone loses the standing; the others move up.
    StudentTermPerformance.objects.filter(student=pupils["E"]).delete()
    assert jobs.class_ranks_calculate(term=term).standings == 1 + 3  # E deleted; A, B, C re-ranked
    assert StudentTermStanding.objects.get(student=pupils["A"]).rank == 1


def test_second_run_changes_nothing_and_a_change_rewrites_only_what_moved():
    school, term = generated_school()
    first = jobs.class_ranks_run(term=term)
    assert first.status == JobRun.Status.SUCCEEDED
    assert first.rows_changed > 100

    second = jobs.class_ranks_run(term=term)
    assert second.rows_changed == 0
    assert "0 rows changed, already up to date" in second.summary
    assert second.summary.startswith(f"calculate_class_ranks: {school.name} (school {school.pk}), {term.name} ")

    # Lift one student to the top of one subject: only the rows whose place moves are written.
    before = stored_subject_ranks(term)
    row = StudentTermPerformance.objects.filter(term=term, rank__gt=2).first()
    row.average_grade = Decimal("100.00")
    row.save()
    after = expected_subject_ranks(term, school.rank_scope)
    moved = sum(1 for pk, value in after.items() if before[pk] != value)
    assert moved >= 1
    assert jobs.class_ranks_calculate(term=term).subject_ranks == moved
    assert stored_subject_ranks(term) == after


def test_only_the_given_term_is_ranked():
    school, term = generated_school()
    other = factories.TermFactory(
        school=school, start_date=datetime.date(2027, 1, 4), end_date=datetime.date(2027, 3, 26)
    )
    other_row = StudentTermPerformance.objects.create(
        student=factories.StudentFactory(school=school),
        term=other,
        subject=factories.SubjectFactory(school=school),
        school=school,
        average_grade=Decimal("50.00"),
    )
    jobs.class_ranks_calculate(term=term)
    other_row.refresh_from_db()
    assert other_row.rank is None
    assert not StudentTermStanding.objects.filter(term=other).exists()


def test_command_ranks_the_term_containing_the_date_and_prints_one_line_per_school():
    school, term = generated_school()
    idle = factories.SchoolFactory(name="Holiday School")
    out = io.StringIO()

    call_command("calculate_class_ranks", "--date", "2026-10-01", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    ranked = next(line for line in lines if f"(school {school.pk})" in line)
    expected = expected_subject_ranks(term, school.rank_scope)
    changed = sum(1 for rank, _ in expected.values() if rank is not None) + 76
    run = JobRun.objects.get(school=school)
    assert re.fullmatch(
        rf"calculate_class_ranks: {school.name} \(school {school.pk}\), {term.name} 2026-09-07\.\.2026-12-18: "
        rf"{changed} rows changed \({changed - 76} subject ranks, 76 overall standings\) "
        rf"\(\d+\.\d\ds, run {run.pk}\)",
        ranked,
    )
    assert f"Holiday School (school {idle.pk}): no term contains 2026-10-01" in out.getvalue()
    assert run.term == term
    assert (run.period_start, run.period_end) == (term.start_date, term.end_date)
    assert run.finished_at >= run.started_at
    assert run.scheduled_for is None

    out = io.StringIO()
    call_command("calculate_class_ranks", "--school", school.name, "--term", term.name, stdout=out)
    assert "0 rows changed, already up to date" in out.getvalue()


def test_command_default_date_is_today_in_each_schools_time_zone():
    # 2026-12-18 12:30 UTC is already the 19th in Auckland (UTC+13): its term (to the 18th) is over.
    auckland = factories.SchoolFactory(name="Auckland", timezone="Pacific/Auckland")
    london = factories.SchoolFactory(name="London", timezone="Europe/London")
    for school in (auckland, london):
        factories.TermFactory(school=school)
    out = io.StringIO()
    with time_machine.travel(datetime.datetime(2026, 12, 18, 12, 30, tzinfo=datetime.UTC), tick=False):
        call_command("calculate_class_ranks", stdout=out)
    assert f"Auckland (school {auckland.pk}): no term contains 2026-12-19" in out.getvalue()
    assert f"London (school {london.pk}), " in out.getvalue()
    assert list(JobRun.objects.values_list("school__name", flat=True)) == ["London"]


def test_command_rejects_an_unknown_school():
    with pytest.raises(Exception, match="No school 'Nowhere'"):
        call_command("calculate_class_ranks", "--school", "Nowhere", stdout=io.StringIO())
