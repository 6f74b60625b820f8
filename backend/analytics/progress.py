"""Progress over the term: the nightly standing snapshots, and the reads built on them.

A snapshot of a date holds each student's standing as of that date: per subject the average of the grades of
the term's homework due from the term's start to the date, and overall the mean of those subject averages,
each with the student's position (the same ranking rules as the nightly ranks: active students in a class,
within the class or the grade level by the school's setting, standard competition ranking). Definitions are
in docs/metrics.md, "Progress over the term".
"""

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q

from analytics.definitions import mean_percentage
from analytics.models import StudentStandingSnapshot, StudentTermStanding
from core.compiled import CompiledRead
from homework.models import Grade
from schools.models import AcademicTerm, School, Student

# The most improved students: the change of the overall average over this many days.
IMPROVEMENT_DAYS = 28
MOST_IMPROVED_LIMIT = 10

SnapshotKey = tuple[int, int | None]  # (student_id, subject_id); no subject: overall
Standing = tuple[Decimal, int | None, int | None]  # (average, rank, rank_of)


def snapshot_day(*, term: AcademicTerm, today: datetime.date) -> datetime.date | None:
    """The date a run on ``today`` snapshots: the day that ended (yesterday), no later than the term's last day;
    None before the term has had a day."""
    day = min(today - datetime.timedelta(days=1), term.end_date)
    return day if day >= term.start_date else None


def _ranks(values: dict[SnapshotKey, int], partition_of: dict[SnapshotKey, object]) -> dict[SnapshotKey, tuple]:
    """(rank, rank_of) of each key with a partition, by value descending within it; standard competition ranking."""
    groups = defaultdict(list)
    for key, part in partition_of.items():
        groups[part].append(values[key])
    for group in groups.values():
        group.sort(reverse=True)
    ranked = {}
    for key, part in partition_of.items():
        group = groups[part]
        ranked[key] = (1 + sum(1 for value in group if value > values[key]), len(group))
    return ranked


def _groups(term: AcademicTerm) -> list[Q]:
    """The term's school's students in groups no wider than a ranking partition (a class, or a grade level by the
    school's setting), and those without a class: a snapshot is worked out one group at a time, so its memory
    is a group's, not the school's."""
    # No ordering: the model's would make DISTINCT keep one row per student.
    students = Student.objects.filter(school_id=term.school_id).order_by()
    if term.school.rank_scope == School.RankScope.GRADE_LEVEL:
        levels = students.exclude(class_group=None).values_list("class_group__grade_level", flat=True).distinct()
        groups = [Q(class_group__grade_level=level) for level in sorted(levels)]
    else:
        classes = students.exclude(class_group=None).values_list("class_group_id", flat=True).distinct()
        groups = [Q(class_group_id=class_id) for class_id in sorted(classes)]
    return [*groups, Q(class_group=None)]


def _group_grades(term: AcademicTerm, group: Q, last: datetime.date) -> list[tuple]:
    """(due date, student, subject, score, max score) of the group's grades of the term's homework due up to
    ``last``: one query, read once for every date of a backfill."""
    students = Student.objects.filter(group, school_id=term.school_id).values("id")
    return list(
        Grade.objects.filter(
            submission__student_id__in=students, submission__homework__due_date__range=(term.start_date, last)
        )
        .order_by()
        .values_list(
            "submission__homework__due_date",
            "submission__student_id",
            "submission__homework__subject_id",
            "score",
            "max_score",
        )
    )


def standing_snapshots_compute(
    *, term: AcademicTerm, day: datetime.date, students: dict[int, dict], grades: list[tuple], memo: dict
) -> dict[SnapshotKey, Standing]:
    """The standings as of the day of one group's students (``students``: id -> active, class_group_id,
    grade_level) from their grades (``grades``: _group_grades up to the day or later). ``memo``: shared by the
    dates of one group, in date order: a subject average whose grades are those of an earlier date (grades only
    join as the dates advance, so their count tells) is not worked out again."""
    scores = defaultdict(list)  # (student_id, subject_id) -> [(score, max_score)]
    for due, student_id, subject_id, score, maximum in grades:
        if due <= day:
            scores[student_id, subject_id].append((score, maximum))
    by_grade_level = term.school.rank_scope == School.RankScope.GRADE_LEVEL

    def partition(student_id: int, subject_id: int | None):
        student = students[student_id]
        if not student["active"] or student["class_group_id"] is None:
            return None
        return (subject_id, student["grade_level"] if by_grade_level else student["class_group_id"])

    averages: dict[SnapshotKey, Decimal] = {}
    for key, pairs in scores.items():
        known = memo.get(key)
        if known is None or known[0] != len(pairs):
            known = memo[key] = (len(pairs), mean_percentage(pairs))
        averages[key] = known[1]
    # Overall: the mean of the subject averages in whole hundredths, rounded half-up.
    cents = defaultdict(list)
    for (student_id, _), average in averages.items():
        cents[student_id].append(int(average * 100))
    values: dict[SnapshotKey, int] = {key: int(average * 100) for key, average in averages.items()}
    for student_id, subject_cents in cents.items():
        count = len(subject_cents)
        values[student_id, None] = (2 * sum(subject_cents) + count) // (2 * count)
    partitions = {key: partition(*key) for key in values}
    ranks = _ranks(values, {key: part for key, part in partitions.items() if part is not None})
    return {key: (Decimal(value).scaleb(-2), *ranks.get(key, (None, None))) for key, value in values.items()}


@dataclass(frozen=True)
class SnapshotResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted

    def __add__(self, other: "SnapshotResult") -> "SnapshotResult":
        return SnapshotResult(self.created + other.created, self.updated + other.updated, self.deleted + other.deleted)


def standing_snapshots_write(
    *, term: AcademicTerm, days: list[datetime.date], heartbeat: Callable[[int], None] | None = None
) -> SnapshotResult:
    """Write the term's snapshots of the days, group by group (see _groups), one transaction per group and day:
    only the rows that differ (a second run of the same day changes nothing); a student no longer standing
    that day loses their rows, and so does one no longer at the school. ``heartbeat``: called with the rows
    changed so far after each group (a long backfill shows it is alive)."""
    days = sorted(days)
    total = SnapshotResult()
    if not days:
        return total
    for group in _groups(term):
        students = {
            row["id"]: row
            for row in Student.objects.filter(group, school_id=term.school_id).values(
                "id", "active", "class_group_id", grade_level=F("class_group__grade_level")
            )
        }
        if not students:
            continue
        grades, memo = _group_grades(term, group, days[-1]), {}
        for day in days:
            computed = standing_snapshots_compute(term=term, day=day, students=students, grades=grades, memo=memo)
            total += _write(term, day, computed, students)
        if heartbeat is not None:
            heartbeat(total.changed)
    # The ids first, then a delete by id: a DELETE with the join as a subquery ("id IN (SELECT ...)") can be
    # planned as a subquery run again for every row on PostgreSQL (right after a backfill, before the table's
    # statistics catch up), which took minutes on a demo-size term.
    gone = list(
        StudentStandingSnapshot.objects.filter(term=term, date__in=days)
        .exclude(student__school_id=term.school_id)
        .values_list("pk", flat=True)
    )
    deleted = 0
    for start in range(0, len(gone), 1000):
        deleted += StudentStandingSnapshot.objects.filter(pk__in=gone[start : start + 1000]).delete()[0]
    return total + SnapshotResult(deleted=deleted)


def _write(term: AcademicTerm, day: datetime.date, computed: dict, students: dict) -> SnapshotResult:
    with transaction.atomic():
        stored = {
            (row.student_id, row.subject_id): row
            for row in StudentStandingSnapshot.objects.select_for_update().filter(
                term=term, date=day, student_id__in=students
            )
        }
        new, changed = [], []
        for (student_id, subject_id), (average, rank, rank_of) in computed.items():
            row = stored.get((student_id, subject_id))
            if row is None:
                new.append(
                    StudentStandingSnapshot(
                        student_id=student_id,
                        term=term,
                        school_id=term.school_id,
                        date=day,
                        subject_id=subject_id,
                        average=average,
                        rank=rank,
                        rank_of=rank_of,
                    )
                )
            elif (row.average, row.rank, row.rank_of) != (average, rank, rank_of):
                row.average, row.rank, row.rank_of = average, rank, rank_of
                changed.append(row)
        gone = [row.pk for key, row in stored.items() if key not in computed]
        StudentStandingSnapshot.objects.bulk_create(new, batch_size=1000)
        StudentStandingSnapshot.objects.bulk_update(changed, ["average", "rank", "rank_of"], batch_size=1000)
        deleted = StudentStandingSnapshot.objects.filter(pk__in=gone).delete()[0] if gone else 0
    return SnapshotResult(created=len(new), updated=len(changed), deleted=deleted)


# --- reads -----------------------------------------------------------------------------------------


def _progress_query(
    *,
    student_id: int,
    term_id: int,
    subject_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
):
    rows = StudentStandingSnapshot.objects.filter(student_id=student_id, term_id=term_id)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    if date_from is not None and date_to is not None:
        rows = rows.filter(date__range=(date_from, date_to))
    return rows.order_by("date", F("subject__name").asc(nulls_first=True)).values(
        "date", "subject_id", "subject__name", "average", "rank", "rank_of"
    )


# Read on every overview: compiled to SQL once (core.compiled).
PROGRESS = CompiledRead(
    _progress_query, student_id=int, term_id=int, subject_id=int, date_from=datetime.date, date_to=datetime.date
)


def student_progress(
    *, student: Student, term: AcademicTerm | None, subject_id: int | None = None, period: tuple | None = None
) -> list[dict]:
    """The student's snapshots of the term by date (within the period, if given): overall (subject null) and per
    subject, or that subject's only. One query."""
    if term is None:
        return []
    given = {}
    if subject_id is not None:
        given["subject_id"] = subject_id
    if period is not None and None not in period:
        given["date_from"], given["date_to"] = period
    return [
        {
            "date": row["date"],
            "subject_id": row["subject_id"],
            "subject": row["subject__name"],
            "average": row["average"],
            "rank": row["rank"],
            "rank_of": row["rank_of"],
        }
        for row in PROGRESS(student_id=student.pk, term_id=term.pk, **given)
    ]


def previous_term(*, term: AcademicTerm, terms: list[AcademicTerm] | None = None) -> AcademicTerm | None:
    """The school's latest term that ended before this one started: among ``terms`` (every term of the school,
    read already by the caller) if given, else read."""
    if terms is not None:
        earlier = [candidate for candidate in terms if candidate.end_date < term.start_date]
        return max(earlier, key=lambda candidate: (candidate.end_date, candidate.pk), default=None)
    return (
        AcademicTerm.objects.filter(school_id=term.school_id, end_date__lt=term.start_date)
        .order_by("-end_date", "-id")
        .first()
    )


def term_over_term(
    *,
    student: Student,
    term: AcademicTerm | None,
    terms: list[AcademicTerm] | None = None,
    standings: dict[int, dict] | None = None,
) -> dict | None:
    """The student's overall standing in this term beside the previous term's; None without an earlier standing.
    ``terms``: every term of the school, if the caller has read them; ``standings``: the student's standing rows
    of the term and the previous term by term id (overall_average, rank, rank_of), if the caller has read them."""
    if term is None:
        return None
    earlier = previous_term(term=term, terms=terms)
    if earlier is None:
        return None
    if standings is None:
        standings = {
            row["term_id"]: row
            for row in StudentTermStanding.objects.filter(student=student, term_id__in=[term.pk, earlier.pk]).values(
                "term_id", "overall_average", "rank", "rank_of"
            )
        }
    before = standings.get(earlier.pk)
    if before is None or before["overall_average"] is None:
        return None
    now = standings.get(term.pk) or {"overall_average": None, "rank": None, "rank_of": None}
    change = None
    if now["overall_average"] is not None:
        change = now["overall_average"] - before["overall_average"]
    return {
        "previous_term": {"id": earlier.pk, "name": earlier.name},
        "previous_average": before["overall_average"],
        "previous_rank": before["rank"],
        "previous_rank_of": before["rank_of"],
        "average": now["overall_average"],
        "rank": now["rank"],
        "rank_of": now["rank_of"],
        "average_change": change,
    }


def most_improved(
    *,
    term: AcademicTerm,
    students,
    as_of: datetime.date | None = None,
    limit: int = MOST_IMPROVED_LIMIT,
) -> dict:
    """The students (of the queryset) whose overall average rose most between two snapshots IMPROVEMENT_DAYS
    apart: the latest snapshot date of the term on or before ``as_of``, and the latest on or before 28 days
    earlier. Only rises count; ties are broken by family name, given name, then id. Four queries."""
    dates = StudentStandingSnapshot.objects.filter(term=term, subject__isnull=True)
    if as_of is not None:
        dates = dates.filter(date__lte=as_of)
    latest = dates.order_by("-date").values_list("date", flat=True).first()
    baseline = None
    if latest is not None:
        baseline = (
            dates.filter(date__lte=latest - datetime.timedelta(days=IMPROVEMENT_DAYS))
            .order_by("-date")
            .values_list("date", flat=True)
            .first()
        )
    result = {"term": {"id": term.pk, "name": term.name}, "from": baseline, "to": latest, "students": []}
    if baseline is None:
        return result
    averages = defaultdict(dict)
    for student_id, day, average in StudentStandingSnapshot.objects.filter(
        term=term, subject__isnull=True, date__in=[baseline, latest], student__in=students
    ).values_list("student_id", "date", "average"):
        averages[student_id][day] = average
    rises = {
        student_id: pair[latest] - pair[baseline]
        for student_id, pair in averages.items()
        if baseline in pair and latest in pair and pair[latest] > pair[baseline]
    }
    people = {
        row["id"]: row
        for row in Student.objects.filter(id__in=rises).values(
            "id", "first_name", "last_name", "class_group_id", class_group_name=F("class_group__name")
        )
    }
    order = sorted(rises, key=lambda sid: (-rises[sid], people[sid]["last_name"], people[sid]["first_name"], sid))[
        :limit
    ]
    result["students"] = [
        {
            "student": {"id": sid, "name": f"{people[sid]['first_name']} {people[sid]['last_name']}"},
            "class_group": {"id": people[sid]["class_group_id"], "name": people[sid]["class_group_name"]}
            if people[sid]["class_group_id"]
            else None,
            "average_from": averages[sid][baseline],
            "average_to": averages[sid][latest],
            "change": rises[sid],
        }
        for sid in order
    ]
    return result
