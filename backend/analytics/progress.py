"""Progress over the term: the nightly standing snapshots, and the reads built on them.

A snapshot of a date holds each student's standing as of that date: per subject the average of the grades of
the term's homework due from the term's start to the date, and overall the mean of those subject averages,
each with the student's position (the same ranking rules as the nightly ranks: active students in a class,
within the class or the grade level by the school's setting, standard competition ranking). Definitions are
in docs/metrics.md, "Progress over the term".
"""

import bisect
import datetime
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, FilteredRelation, Q, Window
from django.db.models.functions import Rank, Round

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


def standings_by_day(
    *, term: AcademicTerm, days: list[datetime.date], students: dict[int, dict], grades: list[tuple]
) -> Iterator[tuple[datetime.date, dict[SnapshotKey, Standing]]]:
    """Each of the days (ascending) with the standings as of that day of one group's students (``students``:
    id -> active, class_group_id, grade_level) from their grades (``grades``: _group_grades up to the last day).

    Worked out date after date: grades only join as the dates advance, so a date recomputes only the averages
    its newly due grades feed (each from all of that key's grades, by mean_percentage), the overall averages of
    those students, and the positions in the partitions where a value moved or a student joined (sorted once,
    a position by bisection: standard competition ranking is 1 + how many rank strictly above). The dict
    yielded is the same one, updated in place: read it before asking for the next date.
    """
    by_grade_level = term.school.rank_scope == School.RankScope.GRADE_LEVEL

    def partition(student_id: int, subject_id: int | None):
        student = students[student_id]
        if not student["active"] or student["class_group_id"] is None:
            return None
        return (subject_id, student["grade_level"] if by_grade_level else student["class_group_id"])

    grades = sorted((row for row in grades if row[1] in students), key=lambda row: row[0])
    scores: dict[SnapshotKey, list] = defaultdict(list)
    subjects_of: dict[int, list] = defaultdict(list)  # student -> their subjects with an average
    values: dict[SnapshotKey, int] = {}  # averages in whole hundredths
    members: dict[object, list[SnapshotKey]] = defaultdict(list)  # partition -> its keys
    standings: dict[SnapshotKey, Standing] = {}
    position = 0
    for day in days:
        fed = set()
        while position < len(grades) and grades[position][0] <= day:
            _due, student_id, subject_id, score, maximum = grades[position]
            scores[student_id, subject_id].append((score, maximum))
            fed.add((student_id, subject_id))
            position += 1
        if not fed:
            yield day, standings
            continue
        moved = set()  # the keys whose value changed or that are new
        for key in fed:
            if key not in values:
                subjects_of[key[0]].append(key[1])
            _value_set(key, int(mean_percentage(scores[key]) * 100), values, members, moved, partition)
        # Overall: the mean of the subject averages in whole hundredths, rounded half-up.
        for student_id in {student_id for student_id, _ in fed}:
            cents = [values[student_id, subject_id] for subject_id in subjects_of[student_id]]
            overall = (2 * sum(cents) + len(cents)) // (2 * len(cents))
            _value_set((student_id, None), overall, values, members, moved, partition)
        parts = {partition(*key) for key in moved}
        for key in moved:  # no place: only their own rows change
            if partition(*key) is None:
                standings[key] = (Decimal(values[key]).scaleb(-2), None, None)
        parts.discard(None)
        for part in parts:
            keys = members[part]
            ordered = sorted(values[key] for key in keys)
            count = len(ordered)
            for key in keys:
                value = values[key]
                standings[key] = (Decimal(value).scaleb(-2), 1 + count - bisect.bisect_right(ordered, value), count)
        yield day, standings


def _value_set(key: SnapshotKey, value: int, values: dict, members: dict, moved: set, partition: Callable) -> None:
    """Set the key's value; a new key joins its partition's members; a new or changed one is marked moved."""
    if key not in values:
        members[partition(*key)].append(key)
    elif values[key] == value:
        return
    values[key] = value
    moved.add(key)


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
    """Write the term's snapshots of the days, group by group (see _groups), one transaction per group (all its
    days at once): only the rows that differ (a second run of the same day changes nothing); a student no longer
    standing that day loses their rows, and so does one no longer at the school. ``heartbeat``: called with the
    rows changed so far after each group (a long backfill shows it is alive)."""
    days = sorted(set(days))
    total = SnapshotResult()
    if not days:
        return total
    for group in _groups(term):
        total += _group_write(term, group, days)
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


def _group_write(term: AcademicTerm, group: Q, days: list[datetime.date]) -> SnapshotResult:
    """One group's snapshots of the days, in one transaction. A date with no stored row of the group (a backfill,
    or tonight's first run) is inserted as it is computed, without reading anything back; a date with stored
    rows is compared with them (read under a row lock), and only the differences are written."""
    created = updated = deleted = 0
    with transaction.atomic():
        students = {
            row["id"]: row
            for row in Student.objects.filter(group, school_id=term.school_id).values(
                "id", "active", "class_group_id", grade_level=F("class_group__grade_level")
            )
        }
        if not students:
            return SnapshotResult()
        grades = _group_grades(term, group, days[-1])
        stored_days = set(
            StudentStandingSnapshot.objects.filter(term=term, date__range=(days[0], days[-1]), student_id__in=students)
            .order_by()
            .values_list("date", flat=True)
            .distinct()
        )
        inserter = _RowInserter(term)
        for day, standings in standings_by_day(term=term, days=days, students=students, grades=grades):
            if day not in stored_days:
                inserter.add(day, standings.items())
                created += len(standings)
                continue
            rows = (
                StudentStandingSnapshot.objects.select_for_update()
                .filter(term=term, date=day, student_id__in=students)
                .order_by()
                .values_list("pk", "student_id", "subject_id", "average", "rank", "rank_of")
            )
            stored = {(student, subject): (pk, tuple(standing)) for pk, student, subject, *standing in rows}
            new = [(key, standing) for key, standing in standings.items() if key not in stored]
            changed = [
                StudentStandingSnapshot(pk=stored[key][0], average=standing[0], rank=standing[1], rank_of=standing[2])
                for key, standing in standings.items()
                if key in stored and stored[key][1] != standing
            ]
            gone = [pk for key, (pk, _) in stored.items() if key not in standings]
            inserter.add(day, new)
            StudentStandingSnapshot.objects.bulk_update(changed, ["average", "rank", "rank_of"], batch_size=1000)
            if gone:
                deleted += StudentStandingSnapshot.objects.filter(pk__in=gone).delete()[0]
            created += len(new)
            updated += len(changed)
        inserter.flush()
    return SnapshotResult(created=created, updated=updated, deleted=deleted)


class _RowInserter:
    """Snapshot rows inserted as plain values, many at a time: by COPY on PostgreSQL, by executemany elsewhere.
    No model instance is built (at a row per student, subject and date, a backfill writes millions); each date
    and average is converted to its database value once (as bulk_create would convert it)."""

    BATCH = 20_000
    COLUMNS = ("student_id", "term_id", "school_id", "date", "subject_id", "average", "rank", "rank_of")

    def __init__(self, term: AcademicTerm):
        self.term_id, self.school_id = term.pk, term.school_id
        self.rows: list[tuple] = []
        fields = [StudentStandingSnapshot._meta.get_field(name) for name in self.COLUMNS]
        self.date_field, self.average_field = fields[3], fields[5]
        self.averages: dict[Decimal, object] = {}
        quote = connection.ops.quote_name
        # Only the table and column names from the model's meta, quoted, and placeholders go into the text.
        self.table = quote(StudentStandingSnapshot._meta.db_table)
        self.columns = ", ".join(quote(field.column) for field in fields)

    def add(self, day: datetime.date, standings) -> None:
        date = self.date_field.get_db_prep_save(day, connection)
        averages, term_id, school_id = self.averages, self.term_id, self.school_id
        for (student_id, subject_id), (average, rank, rank_of) in standings:
            value = averages.get(average)
            if value is None:
                value = averages[average] = self.average_field.get_db_prep_save(average, connection)
            self.rows.append((student_id, term_id, school_id, date, subject_id, value, rank, rank_of))
        if len(self.rows) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.COLUMNS))
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({placeholders})", rows)  # noqa: S608


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
    earlier. Only rises count; ties are broken by family name, given name, then id. Three queries."""
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

    # In the database: each student's overall averages of the two dates and the rise in whole hundredths (the
    # averages have two places, so it is exact on either database), and the students whose rise ranks within
    # the limit, ties at the cut included: at most a few rows come back, however large the school.
    def overall_on(day: datetime.date) -> FilteredRelation:
        return FilteredRelation(
            "standing_snapshots",
            condition=Q(
                standing_snapshots__term=term,
                standing_snapshots__subject__isnull=True,
                standing_snapshots__date=day,
            ),
        )

    rising = (
        students.order_by()
        .annotate(then=overall_on(baseline), now=overall_on(latest))
        .annotate(rise=Round(F("now__average") * 100) - Round(F("then__average") * 100))
        .filter(rise__gt=0)
        .annotate(place=Window(Rank(), order_by=F("rise").desc()))
        .filter(place__lte=limit)
        .values_list(
            "pk",
            "then__average",
            "now__average",
            "first_name",
            "last_name",
            "class_group_id",
            "class_group__name",
        )
    )
    averages, rises, people = {}, {}, {}
    for sid, average_from, average_to, first_name, last_name, class_group_id, class_group_name in rising:
        averages[sid] = {baseline: average_from, latest: average_to}
        rises[sid] = average_to - average_from
        people[sid] = {
            "first_name": first_name,
            "last_name": last_name,
            "class_group_id": class_group_id,
            "class_group_name": class_group_name,
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
