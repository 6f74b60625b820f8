"""Which summary keys a source row feeds.

``keys_for(model, pks)`` reads the rows (with the joins their keys need) and names every summary
key they contribute to. Called before a change (the old keys) and after it (the new keys), so a
row that moves to another student, date, lesson, homework or term refreshes both places.
Each table's module in ``analytics.engine`` lists every key of its table that has source data or a
stored row (its ``*_discover`` function), for scopes: a student who changes class, a term whose dates
change, a rebuild.
"""

import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from django.db import connection, models
from django.db.models import OuterRef, Subquery

from analytics.definitions import week_start
from attendance.models import Attendance, Lesson
from communication.models import Communication
from core.compiled import CompiledRead
from core.dates import local_date
from finance.models import FeeInvoice, Payment
from homework.models import Grade, Homework, HomeworkSubmission
from schools.models import AcademicTerm, School, Student, Teacher


@dataclass
class Keys:
    """Summary keys to recompute, and wider scopes to recompute whole."""

    daily: set = field(default_factory=set)  # (student_id, date)
    term: set = field(default_factory=set)  # (student_id, term_id, subject_id)
    term_all_subjects: set = field(default_factory=set)  # (student_id, term_id): every subject row
    teacher: set = field(default_factory=set)  # (teacher_id, week_start)
    grading: set = field(default_factory=set)  # (teacher_id, due_date) of the teacher's grading days
    students: set = field(default_factory=set)  # every daily key of these students
    terms: set = field(default_factory=set)  # every key of these terms (subject rows and term attendance)
    teachers: set = field(default_factory=set)  # every metric of these teachers
    schools: set = field(default_factory=set)  # everything of these schools
    school_days: set = field(default_factory=set)  # (school_id, date) of the school rollup (money)
    flag_students: set = field(default_factory=set)  # students whose flags are recomputed (every rule)
    # The only kinds of source data that changed (MARKS, GRADES), when known: a summary row then keeps
    # the stored figures that do not depend on them. None: anything may have changed.
    changed: frozenset | None = None

    def __or__(self, other: "Keys") -> "Keys":
        sets = {f.name: getattr(self, f.name) | getattr(other, f.name) for f in fields(self) if f.name != "changed"}
        both = None if self.changed is None or other.changed is None else self.changed | other.changed
        return Keys(**sets, changed=both)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "changed")


MARKS, GRADES = "marks", "grades"


def term_of(date_path: str, school_path: str) -> Subquery:
    """The id of the school's term containing the date (null outside every term)."""
    return Subquery(
        AcademicTerm.objects.filter(
            school_id=OuterRef(school_path), start_date__lte=OuterRef(date_path), end_date__gte=OuterRef(date_path)
        ).values("id")[:1]
    )


def _add_mark(keys: Keys, *, student_id, day, subject_id, teacher_id, term_id) -> None:
    keys.daily.add((student_id, day))
    keys.teacher.add((teacher_id, week_start(day)))
    if term_id is not None:
        if subject_id is None:
            keys.term_all_subjects.add((student_id, term_id))
        else:
            keys.term.add((student_id, term_id, subject_id))


def _related_model(model: type[models.Model], path: str) -> type[models.Model]:
    for name in path.split("__"):
        model = model._meta.get_field(name).related_model
    return model


def _lock_rows(queryset: models.QuerySet) -> None:
    """Hold the rows until commit (``FOR NO KEY UPDATE``), taken in id order."""
    list(queryset.order_by("pk").select_for_update(no_key=True).values_list("pk", flat=True))


def _locked(queryset: models.QuerySet, lock: bool, *parents: str) -> models.QuerySet:
    """With lock, first hold the rows' parents, outermost first, then the rows themselves until commit (PostgreSQL).

    This is the lock order of every write path (docs/architecture.md): parent rows before child rows
    (homework, submission, grade; lesson, mark; invoice, payment), each level in id order, then the
    engine's advisory locks. A writer that moves a lesson, homework or submission then waits for, or is
    waited on by, a writer of the rows below it, so neither computes its keys from a state the other is
    changing, and no two writers hold a child while waiting for its parent. SQLite needs no row locks:
    a writer holds the whole database.
    """
    if lock and connection.vendor == "postgresql":
        for path in parents:
            parent = _related_model(queryset.model, path)
            _lock_rows(parent.objects.filter(pk__in=queryset.values(path)))
        _lock_rows(queryset)
    return queryset


def source_rows_lock(source: "Source", instance: models.Model) -> None:
    """Before a save: hold the parents the row has and will have, outermost first, then the row (PostgreSQL).

    The receivers call this before reading the row's stored values, so a save takes its locks in the
    documented order, not the row first and its parents when naming its keys.
    """
    if connection.vendor != "postgresql":
        return
    model = type(instance)
    stored = model.objects.filter(pk=instance.pk) if instance.pk is not None else model.objects.none()
    for path in source.parents:
        first, _, rest = path.partition("__")
        parent = _related_model(model, path)
        new_id = getattr(instance, model._meta.get_field(first).attname)
        # The parent ids the row has and will have, as one UNION ALL subquery: an OR of two IN subqueries
        # cannot become a join in PostgreSQL, which then filters the parent's every row (100 ms on the
        # submissions of a school of 1,000, growing with the table).
        wanted = stored.order_by().values(path)
        if new_id is not None:
            first_model = model._meta.get_field(first).related_model
            new = first_model.objects.filter(pk=new_id).order_by().values(rest or "pk")
            wanted = wanted.union(new, all=True)
        _lock_rows(parent.objects.filter(pk__in=wanted))
    if instance.pk is not None:
        _lock_rows(stored)


def _attendance_rows(*, pks: list[int]) -> models.QuerySet:
    return Attendance.objects.filter(pk__in=pks).values(
        "student_id",
        "lesson__date",
        "lesson__subject_id",
        "lesson__teacher_id",
        term_id=term_of("lesson__date", "lesson__class_group__school_id"),
    )


def _grade_rows(*, pks: list[int]) -> models.QuerySet:
    return _submission_rows(Grade.objects.filter(pk__in=pks), "submission__")


# The keys of a save's few rows: SQL compiled once per number of rows (more are built as usual).
_ATTENDANCE_ROWS = CompiledRead(_attendance_rows, max_length=8, pks=list)
_GRADE_ROWS = CompiledRead(_grade_rows, max_length=8, pks=list)


def attendance_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    keys = Keys()
    pks = sorted(set(pks))
    _locked(Attendance.objects.filter(pk__in=pks), lock, "lesson")
    for row in _ATTENDANCE_ROWS(pks=pks):
        _add_mark(
            keys,
            student_id=row["student_id"],
            day=row["lesson__date"],
            subject_id=row["lesson__subject_id"],
            teacher_id=row["lesson__teacher_id"],
            term_id=row["term_id"],
        )
    return keys


def marks_keys(*, lesson_ids: Iterable[int], student_ids: Iterable[int], lock: bool = False) -> Keys:
    """Keys of every mark the students may have at the lessons (present, changed or deleted)."""
    keys = Keys()
    student_ids = set(student_ids)
    lessons = _locked(Lesson.objects.filter(pk__in=lesson_ids), lock).values(
        "date", "subject_id", "teacher_id", term_id=term_of("date", "class_group__school_id")
    )
    for lesson in lessons:
        keys.teacher.add((lesson["teacher_id"], week_start(lesson["date"])))
        for student_id in student_ids:
            _add_mark(
                keys,
                student_id=student_id,
                day=lesson["date"],
                subject_id=lesson["subject_id"],
                teacher_id=lesson["teacher_id"],
                term_id=lesson["term_id"],
            )
    return keys


def lesson_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    pks = set(pks)
    keys = Keys()
    lessons = _locked(Lesson.objects.filter(pk__in=pks), lock).values(
        "id",
        "date",
        "subject_id",
        "teacher_id",
        "class_group__school_id",
        term_id=term_of("date", "class_group__school_id"),
    )
    students = {}
    for lesson_id, student_id in Attendance.objects.filter(lesson_id__in=pks).values_list("lesson_id", "student_id"):
        students.setdefault(lesson_id, set()).add(student_id)
    for lesson in lessons:
        keys |= marks_keys(lesson_ids=[lesson["id"]], student_ids=students.get(lesson["id"], ()))
        keys.teacher.add((lesson["teacher_id"], week_start(lesson["date"])))
        # The first or last subject lesson of a term switches the term between subject attendance
        # and daily-register attendance for every student.
        if lesson["subject_id"] is not None and lesson["term_id"] is not None:
            term = AcademicTerm.objects.get(pk=lesson["term_id"])
            others = Lesson.objects.filter(
                class_group__school_id=lesson["class_group__school_id"],
                subject__isnull=False,
                date__range=(term.start_date, term.end_date),
            ).exclude(pk__in=pks)
            if not others.exists():
                keys.terms.add(term.pk)
    return keys


def homework_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    pks = set(pks)
    keys = Keys()
    homework = _locked(Homework.objects.filter(pk__in=pks), lock).values(
        "id",
        "class_group_id",
        "subject_id",
        "teacher_id",
        "assigned_date",
        "due_date",
        term_id=term_of("due_date", "class_group__school_id"),
    )
    homework = list(homework)
    class_students = {}
    for student_id, class_id in Student.objects.filter(
        class_group_id__in={h["class_group_id"] for h in homework}
    ).values_list("id", "class_group_id"):
        class_students.setdefault(class_id, []).append(student_id)
    submitters = {}
    for homework_id, student_id in HomeworkSubmission.objects.filter(homework_id__in=pks).values_list(
        "homework_id", "student_id"
    ):
        submitters.setdefault(homework_id, []).append(student_id)
    for h in homework:
        keys.teacher.add((h["teacher_id"], week_start(h["assigned_date"])))
        keys.grading.add((h["teacher_id"], h["due_date"]))
        for student_id in class_students.get(h["class_group_id"], []) + submitters.get(h["id"], []):
            keys.daily.add((student_id, h["due_date"]))
        if h["term_id"] is not None:
            for student_id in submitters.get(h["id"], []):
                keys.term.add((student_id, h["term_id"], h["subject_id"]))
    return keys


def _submission_rows(queryset: models.QuerySet, prefix: str) -> Iterable[tuple]:
    """(student_id, due_date, subject_id, term_id, teacher_id) of submissions, or of the submissions of grades."""
    return queryset.annotate(
        key_term=term_of(f"{prefix}homework__due_date", f"{prefix}homework__class_group__school_id")
    ).values_list(
        f"{prefix}student_id",
        f"{prefix}homework__due_date",
        f"{prefix}homework__subject_id",
        "key_term",
        f"{prefix}homework__teacher_id",
    )


def submission_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    keys = Keys()
    submissions = _locked(HomeworkSubmission.objects.filter(pk__in=pks), lock, "homework")
    for student_id, due_date, subject_id, term_id, teacher_id in _submission_rows(submissions, ""):
        keys.daily.add((student_id, due_date))
        keys.grading.add((teacher_id, due_date))
        if term_id is not None:
            keys.term.add((student_id, term_id, subject_id))
    return keys


def grade_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    keys = Keys()
    pks = sorted(set(pks))
    _locked(Grade.objects.filter(pk__in=pks), lock, "submission__homework", "submission")
    for student_id, due_date, subject_id, term_id, teacher_id in _GRADE_ROWS(pks=pks):
        keys.grading.add((teacher_id, due_date))
        if term_id is not None:
            keys.term.add((student_id, term_id, subject_id))
    return keys


def communication_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    keys = Keys()
    rows = list(_locked(Communication.objects.filter(pk__in=pks), lock).values_list("sender_id", "sent_at"))
    teachers = {
        user_id: (teacher_id, zoneinfo.ZoneInfo(tz))
        for teacher_id, user_id, tz in Teacher.objects.filter(user_id__in={sender for sender, _ in rows}).values_list(
            "id", "user_id", "school__timezone"
        )
    }
    for sender_id, sent_at in rows:
        if sender_id in teachers:
            teacher_id, tz = teachers[sender_id]
            keys.teacher.add((teacher_id, week_start(local_date(sent_at, tz))))
    return keys


def payment_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    rows = _locked(Payment.objects.filter(pk__in=pks), lock, "invoice").values_list(
        "invoice__student__school_id", "invoice__student__school__timezone", "paid_at"
    )
    return Keys(
        school_days={(school_id, local_date(paid_at, zoneinfo.ZoneInfo(tz))) for school_id, tz, paid_at in rows}
    )


def invoice_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    """The day the invoice was issued, and the days its payments came in (voiding it removes them)."""
    rows = _locked(FeeInvoice.objects.filter(pk__in=pks), lock).values_list("student__school_id", "issued_on")
    return Keys(school_days=set(rows)) | payment_keys(Payment.objects.filter(invoice_id__in=pks).values("pk"))


def student_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    return Keys(students=set(pks))


def teacher_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    return Keys(teachers=set(pks))


def term_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    """A term's rows, and the flags of every student of its school (and of those with a flag stored there): a
    term moved or deleted changes which term a grades flag reads, for students with rows in it or not. Named
    while the term exists (before a delete), since its school cannot be found after."""
    from analytics.engine.flags import flag_keys_discover  # the engine reads these keys: imported when used

    schools = set(AcademicTerm.objects.filter(pk__in=set(pks)).values_list("school_id", flat=True))
    students = {student_id for school_id in schools for student_id, _ in flag_keys_discover(school_id=school_id)}
    return Keys(terms=set(pks), flag_students=students)


def school_keys(pks: Iterable[int], *, lock: bool = False) -> Keys:
    return Keys(schools=set(pks))


@dataclass(frozen=True)
class Source:
    """A source model: the fields whose change matters, and how to name the keys it feeds.

    ``placing``: the tracked fields that decide which keys the row feeds (default: all of them). A
    save that changes only the others (a mark's status, a grade's score) feeds the same keys after
    as before, so they are read once.
    """

    model: type[models.Model]
    tracked: tuple[str, ...]
    keys_for: Callable[..., Keys]  # (pks, *, lock) -> Keys
    placing: tuple[str, ...] | None = None
    kind: str | None = None  # MARKS or GRADES: the only kind of source data a change of the row changes
    parents: tuple[str, ...] = ()  # the parent rows locked before the row, outermost first (the lock order)

    @property
    def placing_fields(self) -> tuple[str, ...]:
        return self.tracked if self.placing is None else self.placing


SOURCES = (
    Source(
        Attendance,
        ("student_id", "lesson_id", "status"),
        attendance_keys,
        placing=("student_id", "lesson_id"),
        kind=MARKS,
        parents=("lesson",),
    ),
    Source(Lesson, ("class_group_id", "subject_id", "teacher_id", "date"), lesson_keys),
    Source(
        Homework,
        ("class_group_id", "subject_id", "teacher_id", "assigned_date", "due_date", "max_score"),
        homework_keys,
        placing=("class_group_id", "subject_id", "teacher_id", "assigned_date", "due_date"),
    ),
    Source(
        HomeworkSubmission,
        ("homework_id", "student_id", "submitted_at"),
        submission_keys,
        placing=("homework_id", "student_id"),
        parents=("homework",),
    ),
    Source(
        Grade,
        ("submission_id", "score"),
        grade_keys,
        placing=("submission_id",),
        kind=GRADES,
        parents=("submission__homework", "submission"),
    ),
    Source(Communication, ("sender_id", "sent_at"), communication_keys),
    Source(Student, ("school_id", "class_group_id"), student_keys),
    Source(Teacher, ("school_id", "user_id"), teacher_keys),
    Source(AcademicTerm, ("school_id", "start_date", "end_date"), term_keys),
    Source(School, ("timezone", "late_counts_as_present", "excused_absences_excluded"), school_keys),
    Source(
        FeeInvoice, ("student_id", "amount", "issued_on", "status"), invoice_keys, placing=("student_id", "issued_on")
    ),
    Source(
        Payment,
        ("invoice_id", "amount", "paid_at"),
        payment_keys,
        placing=("invoice_id", "paid_at"),
        parents=("invoice",),
    ),
)
