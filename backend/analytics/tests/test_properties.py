"""Property test: random sequences of source writes; after every step the summaries equal the oracle.

The writes go through the engine's set-based path (the daily rows and their rollups recomputed by the
database); after every step the engine's Python computation (``analytics_verify``) must find no difference
either, so the two implementations are compared on every example.

A hypothesis state machine drives one small school (two classes, two subjects, two teachers, two
adjacent terms whose boundary moves, a week boundary in the middle of the days used) through creates,
updates, moves, deletes and bulk roll calls of marks, lessons, homework, submissions and grades, and
through changes of the school's rules, time zone, a student's class and the terms. Each example runs in
a savepoint that is rolled back afterwards.
"""

import contextlib
import datetime
from decimal import Decimal
from functools import partial
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from analytics import services
from analytics.engine.daily import DAILY, daily_compute, daily_keys_discover
from analytics.engine.flags import FLAGS, flag_keys, flags_compute
from analytics.engine.machinery import Lookups, refresh, stored_rows
from analytics.engine.school_day import SCHOOL_DAY, school_day_compute, school_days_discover
from analytics.engine.term_attendance import TERM_ATTENDANCE, term_attendance_compute, term_attendance_keys_discover
from analytics.keys import GRADES, MARKS
from analytics.models import (
    EarlyWarningSettings,
    StudentDailySummary,
    StudentTermPerformance,
    TeacherGradingDay,
    TeacherPerformanceMetric,
)
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from attendance.services import roll_call_record
from communication.models import Communication
from homework.models import Grade, Homework, HomeworkSubmission
from schools.models import AcademicTerm, Student
from tests.factories import (
    ClassGroupFactory,
    GuardianFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    TeacherFactory,
    TermFactory,
)

# Thursday 10 to Tuesday 15 September 2026: the week changes on Monday 14.
DAYS = [datetime.date(2026, 9, d) for d in (10, 11, 12, 14, 15)]
TERM1_START = datetime.date(2026, 9, 1)
TERM2_END = datetime.date(2026, 9, 30)
# The last day of term 1 and the gap (in days) before term 2 starts; a gap leaves days in no term.
BOUNDARIES = [(datetime.date(2026, 9, d), gap) for d in (9, 10, 11, 13, 14) for gap in (1, 2)]
STATUSES = ["PRESENT", "LATE", "ABSENT", "EXCUSED"]
TIMEZONES = ["America/New_York", "UTC", "Asia/Tokyo"]
# Instants near midnight somewhere: which day (and week) they fall on depends on the time zone.
MOMENTS = [
    datetime.datetime(2026, 9, 10, 12, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 11, 2, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 11, 20, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 12, 3, 30, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 13, 22, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 14, 2, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 15, 16, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 9, 16, 1, 0, tzinfo=datetime.UTC),
]
MAX_SCORES = [Decimal(v) for v in ("7", "20", "30", "50")]
SCORES = [Decimal(v) for v in ("0", "5", "6.5", "13.01", "20", "33.33", "50")]

SUMMARY_TABLES = [
    m._meta.db_table for m in (StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric, TeacherGradingDay)
]

index = st.integers(min_value=0, max_value=40)
FLAG_SETTINGS = [
    {
        "attendance_dates": 3,
        "attendance_below": Decimal("75"),
        "homework_missing": 1,
        "homework_days": 4,
        "grade_window_days": 2,
        "grade_window_grades": 1,
        "grade_drop": Decimal("5"),
        "term_average_below": Decimal("50"),
        "behaviour_scores": 1,
        "behaviour_score_at_most": 3,
        "behaviour_days": 3,
    },
    {
        "attendance_dates": 2,
        "attendance_below": Decimal("50.5"),
        "homework_missing": 2,
        "homework_days": 6,
        "grade_window_days": 3,
        "grade_window_grades": 2,
        "grade_drop": Decimal("0"),
        "term_average_below": Decimal("66.67"),
        "behaviour_scores": 2,
        "behaviour_score_at_most": 2,
        "behaviour_days": 5,
    },
]


def python_differences(school_id: int) -> list:
    """The daily rows, term attendance and school days that differ from the engine's Python computation (the
    path of the rebuild and its check), for every key with source data or a stored row."""
    student_ids = list(Student.objects.filter(school_id=school_id).values_list("pk", flat=True))
    term_ids = list(AcademicTerm.objects.filter(school_id=school_id).values_list("pk", flat=True))
    daily = daily_keys_discover(student_ids=student_ids)
    student_terms, _ = services.rollup_keys(daily_keys=daily)
    student_terms |= term_attendance_keys_discover(term_ids=term_ids)
    lookups = Lookups()
    differences = []
    for table, keys, compute in (
        (DAILY, daily, partial(daily_compute, lookups=lookups)),
        (TERM_ATTENDANCE, student_terms, partial(term_attendance_compute, lookups=lookups)),
        (SCHOOL_DAY, school_days_discover(school_id=school_id), school_day_compute),
    ):
        differences += refresh(table, keys, compute, dry_run=True).differences
    return differences


def pick(items: list, i: int):
    return items[i % len(items)] if items else None


def build_world() -> SimpleNamespace:
    """The school the machine plays with, built once per test (each example runs in a savepoint)."""
    w = SimpleNamespace()
    w.school = SchoolFactory(timezone="America/New_York")
    w.term1 = TermFactory(school=w.school, start_date=TERM1_START, end_date=datetime.date(2026, 9, 11))
    w.term2 = TermFactory(school=w.school, start_date=datetime.date(2026, 9, 12), end_date=TERM2_END)
    w.classes = [ClassGroupFactory(school=w.school) for _ in range(2)]
    w.subjects = [SubjectFactory(school=w.school) for _ in range(2)]
    w.teachers = [TeacherFactory(school=w.school) for _ in range(2)]
    w.office_user = SchoolAdminFactory(school=w.school).user
    w.students = [StudentFactory(school=w.school, class_group=w.classes[i % 2]) for i in range(5)]
    w.guardian = GuardianFactory(school=w.school, students=w.students[:2])
    # Early-warning thresholds small enough for a few days of data to raise and clear every flag.
    EarlyWarningSettings.objects.create(school=w.school, flags_as_of=DAYS[-1], **FLAG_SETTINGS[0])
    return w


class SummaryMachine(RuleBasedStateMachine):
    def __init__(self, world: SimpleNamespace):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.__dict__.update(vars(world))
        for obj in (self.school, self.term1, self.term2, *self.students):
            obj.refresh_from_db()  # an earlier example may have changed them before its rollback
        Lesson.objects.create(
            class_group=self.classes[0], subject=self.subjects[0], teacher=self.teachers[0], date=DAYS[0], period=1
        )
        Homework.objects.create(
            class_group=self.classes[0],
            subject=self.subjects[0],
            teacher=self.teachers[0],
            title="Seed",
            assigned_date=DAYS[0],
            due_date=DAYS[1],
            max_score=Decimal("20"),
        )

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @invariant()
    def summaries_equal_the_oracle(self):
        assert_summaries_exact()
        # No summary row points at a deleted student, term or teacher (foreign keys are only checked
        # at commit, and the examples never commit).
        connection.check_constraints(table_names=SUMMARY_TABLES)

    @invariant()
    def the_python_computation_agrees(self):
        """The writes recompute the daily rows, the term attendance and the school days in the database
        (``engine.sql``); the rebuild's check recomputes every table in Python and compares: no difference."""
        assert [str(d) for d in python_differences(self.school.pk)] == []

    @invariant()
    def flags_kept_by_kind_equal_the_whole_computation(self):
        # The flags as a mark's or a grade's write recomputes them (the rules the change feeds, the others
        # kept from the stored rows) equal the computation of every rule from source.
        keys = flag_keys(Student.objects.values_list("id", flat=True))
        whole = flags_compute(keys)
        stored = stored_rows(FLAGS, keys)
        for changed in ({MARKS}, {GRADES}, {MARKS, GRADES}):
            assert flags_compute(keys, stored=stored, changed=frozenset(changed)) == whole, changed

    # -- helpers ---------------------------------------------------------------------------------

    def class_members(self, class_group_id) -> list[Student]:
        return list(Student.objects.filter(class_group_id=class_group_id).order_by("pk"))

    def free_period(self, class_group_id, day, exclude_pk=None) -> int:
        taken = set(
            Lesson.objects.filter(class_group_id=class_group_id, date=day)
            .exclude(pk=exclude_pk)
            .values_list("period", flat=True)
        )
        return min(set(range(1, 20)) - taken)

    # -- lessons ---------------------------------------------------------------------------------

    @rule(c=index, d=index, s=st.integers(0, 2), t=index)
    def lesson_create(self, c, d, s, t):
        if Lesson.objects.count() >= 8:
            return
        klass, day = pick(self.classes, c), pick(DAYS, d)
        Lesson.objects.create(
            class_group=klass,
            date=day,
            period=self.free_period(klass.pk, day),
            subject=self.subjects[s] if s < 2 else None,  # no subject: a daily register
            teacher=pick(self.teachers, t),
        )

    @rule(i=index, field=st.sampled_from(["date", "subject", "teacher"]), v=index)
    def lesson_update(self, i, field, v):
        lesson = pick(list(Lesson.objects.order_by("pk")), i)
        if lesson is None:
            return
        if field == "date":
            lesson.date = pick(DAYS, v)
            lesson.period = self.free_period(lesson.class_group_id, lesson.date, exclude_pk=lesson.pk)
        elif field == "subject":
            lesson.subject = pick([*self.subjects, None], v)
        else:
            lesson.teacher = pick(self.teachers, v)
        lesson.save()

    @rule(i=index)
    def lesson_delete(self, i):
        lesson = pick(list(Lesson.objects.order_by("pk")), i)
        if lesson is not None:
            lesson.delete()

    # -- marks -----------------------------------------------------------------------------------

    @rule(i=index, s=index, status=st.sampled_from(STATUSES))
    def mark_create(self, i, s, status):
        lesson = pick(list(Lesson.objects.order_by("pk")), i)
        if lesson is None:
            return
        marked = set(lesson.marks.values_list("student_id", flat=True))
        student = pick([m for m in self.class_members(lesson.class_group_id) if m.pk not in marked], s)
        if student is not None:
            Attendance.objects.create(lesson=lesson, student=student, status=status)

    @rule(i=index, status=st.sampled_from(STATUSES))
    def mark_update(self, i, status):
        mark = pick(list(Attendance.objects.order_by("pk")), i)
        if mark is not None:
            mark.status = status
            mark.save()

    @rule(i=index, to=index)
    def mark_move_to_lesson(self, i, to):
        mark = pick(list(Attendance.objects.order_by("pk")), i)
        if mark is None:
            return
        lessons = Lesson.objects.exclude(marks__student_id=mark.student_id).order_by("pk")
        lesson = pick(list(lessons), to)
        if lesson is not None:
            mark.lesson = lesson
            mark.save()

    @rule(i=index, to=index)
    def mark_move_to_student(self, i, to):
        mark = pick(list(Attendance.objects.select_related("lesson").order_by("pk")), i)
        if mark is None:
            return
        marked = set(Attendance.objects.filter(lesson_id=mark.lesson_id).values_list("student_id", flat=True))
        candidates = [m for m in self.class_members(mark.lesson.class_group_id) if m.pk not in marked]
        student = pick(candidates, to)
        if student is not None:
            mark.student = student
            mark.save()

    @rule(i=index)
    def mark_delete(self, i):
        mark = pick(list(Attendance.objects.order_by("pk")), i)
        if mark is not None:
            mark.delete()

    @rule(i=index, statuses=st.lists(st.sampled_from([*STATUSES, None]), min_size=1, max_size=5))
    def roll_call(self, i, statuses):
        lesson = pick(list(Lesson.objects.order_by("pk")), i)
        if lesson is None:
            return
        if not AcademicTerm.objects.filter(
            school=self.school, start_date__lte=lesson.date, end_date__gte=lesson.date
        ).exists():
            return  # the roll call refuses a lesson outside every term
        members = {m.pk for m in self.class_members(lesson.class_group_id)}
        members |= set(lesson.marks.values_list("student_id", flat=True))
        marks = [
            {"student_id": student_id, "status": status, "note": ""}
            for student_id, status in zip(sorted(members), statuses, strict=False)
            if status is not None
        ]
        if marks:
            roll_call_record(lesson=lesson, marks=marks, recorded_by=self.teachers[0].user)

    # -- homework, submissions, grades -----------------------------------------------------------

    @rule(c=index, s=index, t=index, a=index, d=index, m=index)
    def homework_create(self, c, s, t, a, d, m):
        if Homework.objects.count() >= 6:
            return
        assigned = pick(DAYS, a)
        Homework.objects.create(
            class_group=pick(self.classes, c),
            subject=pick(self.subjects, s),
            teacher=pick(self.teachers, t),
            title="Homework",
            assigned_date=assigned,
            due_date=max(assigned, pick(DAYS, d)),
            max_score=pick(MAX_SCORES, m),
        )

    @rule(
        i=index,
        field=st.sampled_from(["due_date", "assigned_date", "subject", "teacher", "class_group", "max_score"]),
        v=index,
    )
    def homework_update(self, i, field, v):
        homework = pick(list(Homework.objects.order_by("pk")), i)
        if homework is None:
            return
        if field == "due_date":
            homework.due_date = pick([d for d in DAYS if d >= homework.assigned_date], v)
        elif field == "assigned_date":
            homework.assigned_date = pick([d for d in DAYS if d <= homework.due_date], v)
        elif field == "subject":
            homework.subject = pick(self.subjects, v)
        elif field == "teacher":
            homework.teacher = pick(self.teachers, v)
        elif field == "class_group":
            homework.class_group = pick(self.classes, v)
        else:
            highest = max(
                Grade.objects.filter(submission__homework=homework).values_list("score", flat=True), default=0
            )
            homework.max_score = pick([m for m in MAX_SCORES if m >= highest], v)
        homework.save()

    @rule(i=index)
    def homework_delete(self, i):
        homework = pick(list(Homework.objects.order_by("pk")), i)
        if homework is not None:
            homework.delete()

    @rule(i=index, s=index, m=index)
    def submission_create(self, i, s, m):
        homework = pick(list(Homework.objects.order_by("pk")), i)
        if homework is None:
            return
        done = set(homework.submissions.values_list("student_id", flat=True))
        student = pick([x for x in self.class_members(homework.class_group_id) if x.pk not in done], s)
        if student is not None:
            HomeworkSubmission.objects.create(homework=homework, student=student, submitted_at=pick(MOMENTS, m))

    @rule(i=index, m=index)
    def submission_update_time(self, i, m):
        submission = pick(list(HomeworkSubmission.objects.order_by("pk")), i)
        if submission is not None:
            submission.submitted_at = pick(MOMENTS, m)
            submission.save()

    @rule(i=index, s=index)
    def submission_move_to_student(self, i, s):
        submission = pick(list(HomeworkSubmission.objects.select_related("homework").order_by("pk")), i)
        if submission is None:
            return
        done = set(submission.homework.submissions.values_list("student_id", flat=True))
        members = self.class_members(submission.homework.class_group_id)
        student = pick([x for x in members if x.pk not in done], s)
        if student is not None:
            submission.student = student
            submission.save()

    @rule(i=index)
    def submission_delete(self, i):
        submission = pick(list(HomeworkSubmission.objects.order_by("pk")), i)
        if submission is not None:
            submission.delete()

    @rule(i=index, v=index)
    def grade_create(self, i, v):
        submissions = HomeworkSubmission.objects.filter(grade__isnull=True).select_related("homework")
        submission = pick(list(submissions.order_by("pk")), i)
        if submission is not None:
            score = pick([x for x in SCORES if x <= submission.homework.max_score], v)
            Grade.objects.create(submission=submission, score=score)

    @rule(i=index, v=index)
    def grade_update(self, i, v):
        grade = pick(list(Grade.objects.select_related("submission__homework").order_by("pk")), i)
        if grade is not None:
            grade.score = pick([x for x in SCORES if x <= grade.submission.homework.max_score], v)
            grade.save()

    @rule(i=index, to=index)
    def grade_move_to_submission(self, i, to):
        grade = pick(list(Grade.objects.select_related("submission__homework").order_by("pk")), i)
        if grade is None:
            return
        candidates = HomeworkSubmission.objects.filter(
            grade__isnull=True, homework__max_score__gte=grade.score
        ).order_by("pk")
        submission = pick(list(candidates), to)
        if submission is not None:
            grade.submission = submission
            grade.save()

    @rule(i=index)
    def grade_delete(self, i):
        grade = pick(list(Grade.objects.order_by("pk")), i)
        if grade is not None:
            grade.delete()

    # -- communications --------------------------------------------------------------------------

    @rule(u=st.integers(0, 2), m=index)
    def communication_create(self, u, m):
        sender = [self.teachers[0].user, self.teachers[1].user, self.office_user][u]
        Communication.objects.create(
            school=self.school,
            sender=sender,
            recipient=self.guardian,
            channel="email",
            sent_at=pick(MOMENTS, m),
            subject="Progress",
        )

    @rule(i=index, u=st.integers(0, 2), m=index)
    def communication_update(self, i, u, m):
        message = pick(list(Communication.objects.order_by("pk")), i)
        if message is not None:
            message.sender = [self.teachers[0].user, self.teachers[1].user, self.office_user][u]
            message.sent_at = pick(MOMENTS, m)
            message.save()

    @rule(i=index)
    def communication_delete(self, i):
        message = pick(list(Communication.objects.order_by("pk")), i)
        if message is not None:
            message.delete()

    # -- school, students, terms -----------------------------------------------------------------

    @rule(setting=st.sampled_from(["late_counts_as_present", "excused_absences_excluded"]))
    def school_rule_toggle(self, setting):
        setattr(self.school, setting, not getattr(self.school, setting))
        self.school.save()

    @rule(tz=st.sampled_from(TIMEZONES))
    def school_timezone_change(self, tz):
        self.school.timezone = tz
        self.school.save()

    @rule(s=index, c=st.integers(0, 2))
    def student_class_change(self, s, c):
        student = pick(self.students, s)
        student.refresh_from_db()
        student.class_group = self.classes[c] if c < 2 else None
        student.save()

    @rule(b=index)
    def term_boundary_move(self, b):
        end, gap = pick(BOUNDARIES, b)
        start2 = end + datetime.timedelta(days=gap)
        term1 = AcademicTerm.objects.get(pk=self.term1.pk)
        term2 = AcademicTerm.objects.filter(pk=self.term2.pk).first()
        grows = end > term1.end_date
        with transaction.atomic():
            # Shrink one term before growing the other so they never overlap.
            if term2 is not None and grows:
                term2.start_date = start2
                term2.save()
            term1.end_date = end
            term1.save()
            if term2 is not None and not grows:
                term2.start_date = start2
                term2.save()

    @rule(b=index)
    def term_delete_or_recreate(self, b):
        term2 = AcademicTerm.objects.filter(pk=self.term2.pk).first()
        if term2 is not None:
            term2.delete()
            return
        term1 = AcademicTerm.objects.get(pk=self.term1.pk)
        _, gap = pick(BOUNDARIES, b)
        self.term2 = AcademicTerm.objects.create(
            school=self.school,
            name=self.term2.name,
            start_date=term1.end_date + datetime.timedelta(days=gap),
            end_date=TERM2_END,
        )

    # -- teacher inputs --------------------------------------------------------------------------

    @rule(s=index, d=index, score=st.one_of(st.none(), st.integers(1, 5)))
    def behavior_score_set(self, s, d, score):
        student, day = pick(self.students, s), pick(DAYS, d)
        with contextlib.suppress(ValidationError):  # a day between the terms takes no score
            services.behavior_score_set(student=Student.objects.get(pk=student.pk), day=day, score=score)

    @rule(f=st.integers(0, len(FLAG_SETTINGS) - 1), d=index)
    def early_warning_settings_change(self, f, d):
        row = EarlyWarningSettings.objects.get(school=self.school)
        for name, value in FLAG_SETTINGS[f].items():
            setattr(row, name, value)
        row.flags_as_of = pick(DAYS, d)
        services.early_warning_settings_save(settings=row)

    @rule(i=index, text=st.sampled_from(["Works hard.", "Needs support."]))
    def teacher_comment_set(self, i, text):
        row = pick(list(StudentTermPerformance.objects.order_by("pk")), i)
        if row is not None:
            StudentTermPerformance.objects.filter(pk=row.pk).update(teacher_comment=text)


@pytest.mark.django_db
def test_summaries_equal_a_recomputation_after_every_step():
    world = build_world()
    run_state_machine_as_test(
        lambda: SummaryMachine(world),
        settings=settings(
            max_examples=100,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        ),
    )
