"""Writing a drawn plan to the database, in one of two modes.

- ``ServiceWriter``: every record through the write paths of real use (the source apps' services,
  ``roll_call_record`` for each lesson, model saves), a day per transaction, so the per-row and roll-call
  signals keep the summary tables up to date as in production;
- ``BulkWriter``: the source rows inserted a week per transaction (``bulk_create``, and for the three
  largest tables plain INSERT / COPY), which bypasses the signals, then one set-based
  ``analytics_rebuild(school_id=...)``.

Both write the same plan, so they end with the same rows and the same summaries.
"""

import datetime
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, DecimalField, Field, Model
from django.utils import timezone

from analytics.models import StudentDailySummary, StudentTermPerformance
from analytics.services import analytics_rebuild
from attendance.models import Attendance, Lesson
from attendance.services import lesson_create, roll_call_record
from communication.models import Communication
from communication.services import communication_create
from core.models import User
from core.services import database_statistics_refresh
from finance.models import FeeInvoice, Payment
from finance.services import payment_create
from homework.models import Grade, Homework, HomeworkSubmission
from homework.services import homework_create, submission_create
from schools.models import (
    AcademicTerm,
    ClassGroup,
    Guardian,
    School,
    SchoolAdmin,
    Student,
    Subject,
    Teacher,
    TeachingAssignment,
)
from simulation.plan import DayPlan, Person, SchoolPlan, school_weeks

BATCH_SIZE = 2000

Progress = Callable[[str], None]


@dataclass
class SimulatedSchool:
    school: School
    term: AcademicTerm
    first_day: datetime.date
    last_day: datetime.date
    holidays: dict[datetime.date, str]
    timetable_clashes: int
    students: int


class SchoolWriter:
    """Writes one school's plan: setup, then week after week, then finish.

    Shared bookkeeping of both modes: the database ids of the plan's records, what was made (``counts``)
    and how long each phase took (``phases``, seconds).
    """

    mode = ""

    def __init__(self, plan: SchoolPlan, *, counts: Counter, phases: dict[str, float]):
        self.plan = plan
        self.counts = counts
        self.phases = phases
        self.school: School | None = None
        self.term: AcademicTerm | None = None
        self.subject_ids: list[int] = []
        self.class_ids: list[int] = []
        self.teacher_ids: list[int] = []
        self.teacher_user_ids: list[int] = []
        self.head_user_id: int | None = None
        self.student_ids: list[int] = []
        self.guardian_ids: list[int] = []
        self.invoice_ids: list[int] = []
        self.homework_ids: dict[int, int] = {}
        self.submission_ids: dict[int, int] = {}

    def run(self, say: Progress) -> SimulatedSchool:
        plan = self.plan
        started = time.monotonic()
        self.setup()
        self._phase("setup", started)
        clashes = f", {plan.timetable_clashes} teacher double bookings a week" if plan.timetable_clashes else ""
        say(f"  set up {plan.name}: term {plan.term_start}..{plan.term_end}, {self._holidays_text()}{clashes}")
        weeks = (plan.last_day - plan.first_day).days // 7 + 1
        started = time.monotonic()
        for number, days in enumerate(school_weeks(plan), start=1):
            week_started = time.monotonic()
            before = Counter(self.counts)
            self.week(days)
            made = self.counts - before
            say(
                f"  week {number}/{weeks} ({days[0].date}): {made['lessons']} lessons, "
                f"{made['attendance marks']} marks, {made['homework']} homework, {made['submissions']} submissions, "
                f"{made['grades']} grades, {made['communications']} messages, {made['payments']} payments "
                f"({time.monotonic() - week_started:.1f}s)"
            )
        self._phase("weeks", started)
        started = time.monotonic()
        self.finish(say)
        self._phase("summaries" if self.mode == "bulk" else "teacher input", started)
        return SimulatedSchool(
            school=self.school,
            term=self.term,
            first_day=plan.first_day,
            last_day=plan.last_day,
            holidays=plan.holidays,
            timetable_clashes=plan.timetable_clashes,
            students=len(plan.students),
        )

    def _phase(self, name: str, started: float) -> None:
        self.phases[name] = self.phases.get(name, 0) + time.monotonic() - started

    def _holidays_text(self) -> str:
        by_name = {}
        for day, name in sorted(self.plan.holidays.items()):
            by_name.setdefault(name, []).append(day)
        spans = [f"{name} {days[0]}" + (f"..{days[-1]}" if len(days) > 1 else "") for name, days in by_name.items()]
        return f"no lessons on {len(self.plan.holidays)} weekdays ({', '.join(spans)})"

    def _user(self, person: Person) -> User:
        # Generated people cannot log in (an unusable password); demo_users_ensure gives logins.
        return User(
            username=f"{person.username}.s{self.school.pk}",
            email=person.email,
            first_name=person.first_name[:150],
            last_name=person.last_name[:150],
            password=make_password(None),
        )

    def _comment_keys(self) -> list[tuple[int, int, str]]:
        return [
            (self.student_ids[comment.student], self.subject_ids[comment.subject], comment.text)
            for comment in self.plan.comments
        ]

    def _sender_id(self, teacher: int | None) -> int:
        return self.head_user_id if teacher is None else self.teacher_user_ids[teacher]

    def setup(self) -> None:
        raise NotImplementedError

    def week(self, days: list[DayPlan]) -> None:
        raise NotImplementedError

    def finish(self, say: Progress) -> None:
        raise NotImplementedError


class ServiceWriter(SchoolWriter):
    """Writes through the services and model saves of real use, a day per transaction."""

    mode = "service"

    def setup(self) -> None:
        plan = self.plan
        with transaction.atomic():
            self.school = School.objects.create(name=plan.name, timezone=plan.timezone)
            self.term = AcademicTerm(
                school=self.school, name=plan.term_name, start_date=plan.term_start, end_date=plan.term_end
            )
            self.term.full_clean()
            self.term.save()
            self.subjects = [
                Subject.objects.create(school=self.school, name=subject.name, code=subject.code)
                for subject in plan.subjects
            ]
            self.classes = [
                ClassGroup.objects.create(school=self.school, name=c.name, grade_level=c.grade_level)
                for c in plan.classes
            ]
            self.head = self._user(plan.head)
            self.head.save()
            SchoolAdmin.objects.create(user=self.head, school=self.school)
            self.teachers = []
            for teacher_plan in plan.teachers:
                user = self._user(teacher_plan.person)
                user.save()
                self.teachers.append(Teacher.objects.create(user=user, school=self.school))
            for class_index, class_plan in enumerate(plan.classes):
                for subject_index, teacher_index in sorted(class_plan.teacher_of.items()):
                    assignment = TeachingAssignment(
                        teacher=self.teachers[teacher_index],
                        class_group=self.classes[class_index],
                        subject=self.subjects[subject_index],
                    )
                    assignment.full_clean()
                    assignment.save()
                    self.counts["teaching assignments"] += 1
            self.students = []
            for student_plan in plan.students:
                student = Student(
                    school=self.school,
                    class_group=self.classes[student_plan.class_index],
                    first_name=student_plan.first_name,
                    last_name=student_plan.last_name,
                    student_number=student_plan.number,
                    date_of_birth=student_plan.date_of_birth,
                )
                student.full_clean()
                student.save()
                self.students.append(student)
            self.guardians = []
            for guardian_plan in plan.guardians:
                user = self._user(guardian_plan.person)
                user.save()
                guardian = Guardian.objects.create(user=user, school=self.school, phone=guardian_plan.phone)
                guardian.students.set([self.students[child] for child in guardian_plan.children])
                self.guardians.append(guardian)
            self.invoices = []
            for invoice_plan in plan.invoices:
                invoice = FeeInvoice(
                    student=self.students[invoice_plan.student],
                    term=self.term,
                    description=invoice_plan.description,
                    amount=invoice_plan.amount,
                    issued_on=invoice_plan.issued_on,
                    due_date=invoice_plan.due_date,
                )
                invoice.full_clean()
                invoice.save()
                self.invoices.append(invoice)
        self.subject_ids = [subject.pk for subject in self.subjects]
        self.teacher_user_ids = [teacher.user_id for teacher in self.teachers]
        self.student_ids = [student.pk for student in self.students]
        self.homework: dict[int, Homework] = {}
        self.counts.update(
            {
                "schools": 1,
                "terms": 1,
                "subjects": len(self.subjects),
                "class groups": len(self.classes),
                "users": 1 + len(self.teachers) + len(self.guardians),
                "school admins": 1,
                "teachers": len(self.teachers),
                "students": len(self.students),
                "guardians": len(self.guardians),
                "invoices": len(self.invoices),
            }
        )

    def week(self, days: list[DayPlan]) -> None:
        for day in days:
            with transaction.atomic():
                self._day(day)

    def _day(self, day: DayPlan) -> None:
        for planned in day.lessons:
            teacher = self.teachers[planned.teacher]
            lesson = lesson_create(
                class_group=self.classes[planned.class_index],
                teacher=teacher,
                date=planned.date,
                period=planned.period,
                subject=self.subjects[planned.subject],
            )
            marks = [
                {"student_id": self.student_ids[student], "status": status, "note": note}
                for student, status, note in planned.marks
            ]
            if marks:  # a forgotten roll call: the lesson without marks
                roll_call_record(lesson=lesson, marks=marks, recorded_by=teacher.user)
            self.counts["lessons"] += 1
            self.counts["attendance marks"] += len(marks)
        for planned in day.homework:
            self.homework[planned.ref] = homework_create(
                class_group=self.classes[planned.class_index],
                subject=self.subjects[planned.subject],
                teacher=self.teachers[planned.teacher],
                title=planned.title,
                description=planned.description,
                assigned_date=planned.assigned_date,
                due_date=planned.due_date,
                max_score=planned.max_score,
            )
            self.counts["homework"] += 1
        for planned in day.submissions:
            submission = submission_create(
                homework=self.homework[planned.homework],
                student=self.students[planned.student],
                submitted_at=planned.submitted_at,
            )
            self.submission_ids[planned.ref] = submission.pk
            self.counts["submissions"] += 1
        for planned in day.grades:
            # A model save (not grade_record, which stamps the grade "now") so graded_at is the simulated day.
            grade = Grade(
                submission_id=self.submission_ids[planned.submission],
                score=planned.score,
                graded_by_id=self.teacher_user_ids[planned.teacher],
                graded_at=planned.graded_at,
                feedback=planned.feedback,
            )
            grade.full_clean(exclude={"max_score"})
            grade.save()
            self.counts["grades"] += 1
        for planned in day.communications:
            communication_create(
                sender=self.head if planned.teacher is None else self.teachers[planned.teacher].user,
                recipient=self.guardians[planned.guardian],
                channel=planned.channel,
                subject=planned.subject,
                body=planned.body,
                student=self.students[planned.student],
                sent_at=planned.sent_at,
            )
            self.counts["communications"] += 1
        for planned in day.payments:
            payment_create(
                invoice=self.invoices[planned.invoice],
                amount=planned.amount,
                method=planned.method,
                reference=planned.reference,
                paid_at=planned.paid_at,
            )
            self.counts["payments"] += 1
        for planned in day.behaviour:
            # Teacher input on the day's summary row (made by the roll calls above).
            StudentDailySummary.objects.update_or_create(
                student_id=self.student_ids[planned.student],
                date=planned.date,
                defaults={"behavior_score": planned.score},
                create_defaults={"school_id": self.school.pk, "behavior_score": planned.score},
            )
            self.counts["behaviour scores"] += 1

    def finish(self, say: Progress) -> None:
        with transaction.atomic():
            for student_id, subject_id, text in self._comment_keys():
                StudentTermPerformance.objects.update_or_create(
                    student_id=student_id,
                    term=self.term,
                    subject_id=subject_id,
                    defaults={"teacher_comment": text},
                    create_defaults={"school_id": self.school.pk, "teacher_comment": text},
                )
                self.counts["teacher comments"] += 1
        say(f"  {self.counts['teacher comments']} teacher comments written")


class BulkWriter(SchoolWriter):
    """bulk_create of the source rows a week per transaction, then one set-based rebuild of the summaries."""

    mode = "bulk"

    def __init__(self, plan: SchoolPlan, *, counts: Counter, phases: dict[str, float], rebuild_batch_size: int):
        super().__init__(plan, counts=counts, phases=phases)
        self.rebuild_batch_size = rebuild_batch_size

    def setup(self) -> None:
        plan = self.plan
        with transaction.atomic():
            self.school = School.objects.create(name=plan.name, timezone=plan.timezone)
            self.term = AcademicTerm.objects.create(
                school=self.school, name=plan.term_name, start_date=plan.term_start, end_date=plan.term_end
            )
            subjects = _bulk(Subject(school=self.school, name=s.name, code=s.code) for s in plan.subjects)
            self.subject_ids = [subject.pk for subject in subjects]
            classes = _bulk(
                ClassGroup(school=self.school, name=c.name, grade_level=c.grade_level) for c in plan.classes
            )
            self.class_ids = [class_group.pk for class_group in classes]
            people = [plan.head] + [t.person for t in plan.teachers] + [g.person for g in plan.guardians]
            users = _bulk(self._user(person) for person in people)
            self.head_user_id = users[0].pk
            self.teacher_user_ids = [user.pk for user in users[1 : 1 + len(plan.teachers)]]
            guardian_users = users[1 + len(plan.teachers) :]
            SchoolAdmin.objects.create(user_id=self.head_user_id, school=self.school)
            teachers = _bulk(Teacher(user_id=user_id, school=self.school) for user_id in self.teacher_user_ids)
            self.teacher_ids = [teacher.pk for teacher in teachers]
            assignments = _bulk(
                TeachingAssignment(
                    teacher_id=self.teacher_ids[teacher_index],
                    class_group_id=self.class_ids[class_index],
                    subject_id=self.subject_ids[subject_index],
                )
                for class_index, class_plan in enumerate(plan.classes)
                for subject_index, teacher_index in sorted(class_plan.teacher_of.items())
            )
            students = _bulk(
                Student(
                    school=self.school,
                    class_group_id=self.class_ids[s.class_index],
                    first_name=s.first_name,
                    last_name=s.last_name,
                    student_number=s.number,
                    date_of_birth=s.date_of_birth,
                )
                for s in plan.students
            )
            self.student_ids = [student.pk for student in students]
            guardians = _bulk(
                Guardian(user_id=user.pk, school=self.school, phone=g.phone)
                for user, g in zip(guardian_users, plan.guardians, strict=True)
            )
            self.guardian_ids = [guardian.pk for guardian in guardians]
            _bulk(
                Guardian.students.through(guardian_id=guardian_id, student_id=self.student_ids[child])
                for guardian_id, g in zip(self.guardian_ids, plan.guardians, strict=True)
                for child in g.children
            )
            invoices = _bulk(
                FeeInvoice(
                    student_id=self.student_ids[i.student],
                    term=self.term,
                    description=i.description,
                    amount=i.amount,
                    issued_on=i.issued_on,
                    due_date=i.due_date,
                    # The status the payments written later give it (Payment.save is bypassed).
                    status=i.status,
                )
                for i in plan.invoices
            )
            self.invoice_ids = [invoice.pk for invoice in invoices]
        self.counts.update(
            {
                "schools": 1,
                "terms": 1,
                "subjects": len(subjects),
                "class groups": len(classes),
                "users": len(users),
                "school admins": 1,
                "teachers": len(teachers),
                "teaching assignments": len(assignments),
                "students": len(students),
                "guardians": len(guardians),
                "invoices": len(invoices),
            }
        )

    def week(self, days: list[DayPlan]) -> None:
        tz = self.plan.tzinfo
        with transaction.atomic():
            planned_lessons = [lesson for day in days for lesson in day.lessons]
            lessons = _bulk(
                Lesson(
                    class_group_id=self.class_ids[p.class_index],
                    subject_id=self.subject_ids[p.subject],
                    teacher_id=self.teacher_ids[p.teacher],
                    date=p.date,
                    period=p.period,
                )
                for p in planned_lessons
            )
            now = timezone.now()
            marks = _insert(
                Attendance,
                (
                    {
                        "student_id": self.student_ids[student],
                        "lesson_id": lesson.pk,
                        "status": status,
                        "note": note,
                        "recorded_by_id": self.teacher_user_ids[planned.teacher],
                        "recorded_at": datetime.datetime.combine(planned.date, planned.starts_at, tzinfo=tz),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for planned, lesson in zip(planned_lessons, lessons, strict=True)
                    for student, status, note in planned.marks
                ),
            )
            planned_homework = [homework for day in days for homework in day.homework]
            homework = _bulk(
                Homework(
                    class_group_id=self.class_ids[p.class_index],
                    subject_id=self.subject_ids[p.subject],
                    teacher_id=self.teacher_ids[p.teacher],
                    title=p.title,
                    description=p.description,
                    assigned_date=p.assigned_date,
                    due_date=p.due_date,
                    max_score=p.max_score,
                )
                for p in planned_homework
            )
            self.homework_ids.update((p.ref, h.pk) for p, h in zip(planned_homework, homework, strict=True))
            planned_submissions = [submission for day in days for submission in day.submissions]
            submissions = _insert(
                HomeworkSubmission,
                (
                    {
                        "homework_id": self.homework_ids[p.homework],
                        "student_id": self.student_ids[p.student],
                        "submitted_at": p.submitted_at,
                        "content": "",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for p in planned_submissions
                ),
            )
            # Their ids, by the (homework, student) pair that is unique.
            homework_of = {self.homework_ids[p.homework] for p in planned_submissions}
            ids = {}
            for chunk in _batched(sorted(homework_of)):
                ids.update(
                    ((homework_id, student_id), pk)
                    for pk, homework_id, student_id in HomeworkSubmission.objects.filter(
                        homework_id__in=chunk
                    ).values_list("id", "homework_id", "student_id")
                )
            self.submission_ids.update(
                (p.ref, ids[self.homework_ids[p.homework], self.student_ids[p.student]]) for p in planned_submissions
            )
            grades = _insert(
                Grade,
                (
                    # Grade.save copies max_score from the homework; a bulk insert must give it.
                    {
                        "submission_id": self.submission_ids[p.submission],
                        "score": p.score,
                        "max_score": p.max_score,
                        "graded_by_id": self.teacher_user_ids[p.teacher],
                        "graded_at": p.graded_at,
                        "feedback": p.feedback,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for day in days
                    for p in day.grades
                ),
            )
            communications = _bulk(
                Communication(
                    school=self.school,
                    sender_id=self._sender_id(p.teacher),
                    recipient_id=self.guardian_ids[p.guardian],
                    student_id=self.student_ids[p.student],
                    channel=p.channel,
                    sent_at=p.sent_at,
                    subject=p.subject,
                    body=p.body,
                )
                for day in days
                for p in day.communications
            )
            payments = _bulk(
                Payment(
                    invoice_id=self.invoice_ids[p.invoice],
                    amount=p.amount,
                    paid_at=p.paid_at,
                    method=p.method,
                    reference=p.reference,
                )
                for day in days
                for p in day.payments
            )
            # Teacher input first, on rows of its own: the rebuild fills in their derived fields and,
            # as any recomputation, keeps the input.
            behaviour = _bulk(
                StudentDailySummary(
                    student_id=self.student_ids[b.student], school=self.school, date=b.date, behavior_score=b.score
                )
                for day in days
                for b in day.behaviour
            )
        self.counts.update(
            {
                "lessons": len(lessons),
                "attendance marks": marks,
                "homework": len(homework),
                "submissions": submissions,
                "grades": grades,
                "communications": len(communications),
                "payments": len(payments),
                "behaviour scores": len(behaviour),
            }
        )

    def finish(self, say: Progress) -> None:
        # Teacher comments too are written before the rebuild, on rows the rebuild completes.
        comments = _bulk(
            StudentTermPerformance(
                student_id=student_id, term=self.term, subject_id=subject_id, school=self.school, teacher_comment=text
            )
            for student_id, subject_id, text in self._comment_keys()
        )
        self.counts["teacher comments"] += len(comments)

        def rebuild_progress(label: str, done: int, total: int) -> None:
            if done == total or done % 1000 == 0:
                say(f"  summaries of {label}: {done}/{total}")

        say("  refreshing the database's statistics (ANALYZE) after the bulk load")
        database_statistics_refresh()
        say(f"  rebuilding the summaries of {self.school.name} set-based")
        result = analytics_rebuild(
            school_id=self.school.pk, batch_size=self.rebuild_batch_size, progress=rebuild_progress
        )
        database_statistics_refresh()
        say(f"  {result.changed} summary rows written")


def _insert(model: type[Model], rows: Iterable[dict]) -> int:
    """INSERT rows (field attname -> value); returns how many.

    For the largest tables (marks, submissions, grades): bulk_create spends most of its time preparing
    every field of every model instance; here each distinct date, time or decimal is converted once, and
    the rows go to SQLite by executemany (in process) and to PostgreSQL by COPY. Like bulk_create it sends
    no signals and calls no save().
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    names = list(first)
    fields = [model._meta.get_field(name) for name in names]
    convert = [_db_value(field) for field in fields]
    values = (
        [conv(row[name]) if conv else row[name] for name, conv in zip(names, convert, strict=True)]
        for row in itertools.chain([first], rows)
    )
    quote = connection.ops.quote_name
    # Only table and column names from the model's meta, quoted, and placeholders go into the text.
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        for batch in _batched(values, BATCH_SIZE):
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _db_value(field: Field) -> Callable | None:
    """The field's conversion to a database value, remembered per value; None where values go as they are."""
    if not isinstance(field, DateTimeField | DateField | DecimalField):
        return None
    cache = {}

    def convert(value):
        if value not in cache:
            cache[value] = field.get_db_prep_save(value, connection)
        return cache[value]

    return convert


def _bulk(objects) -> list:
    objects = list(objects)
    if not objects:
        return []
    return type(objects[0]).objects.bulk_create(objects, batch_size=BATCH_SIZE)


def _batched(items: Iterable, size: int = 500) -> Iterable[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
