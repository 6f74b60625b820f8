"""School health computed on the fly from the raw tables: the reference the summary tables are measured against.

Kept in the benchmark, not in the product: this is the "dashboard that aggregates raw tables on every request"
the summary tables exist to avoid. Same definitions as docs/metrics.md, so the figures equal the endpoint's.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from analytics.definitions import percentage, week_start
from analytics.selectors import LOW_ATTENDANCE, school_today
from attendance.models import Attendance, AttendanceStatus, Lesson
from finance.models import FeeInvoice, Payment
from homework.models import Homework, HomeworkSubmission
from schools.models import AcademicTerm, School, Student, Teacher

FIELDS = ("attended", "counted", "due", "on_time", "late", "billed", "revenue", "payments")


def _mark_counts(school: School) -> dict:
    attended = Q(status=AttendanceStatus.PRESENT)
    if school.late_counts_as_present:
        attended |= Q(status=AttendanceStatus.LATE)
    counted = ~Q(status=AttendanceStatus.EXCUSED) if school.excused_absences_excluded else Q(pk__isnull=False)
    return {"attended": Count("id", filter=attended), "counted": Count("id", filter=counted)}


def school_health_reference(*, school: School, term: AcademicTerm | None, date_from, date_to) -> dict:
    """The school-health figures of one school, aggregated from marks, homework, invoices and payments."""
    tz = school.tzinfo
    today = school_today(school=school)
    days: dict[datetime.date, dict] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    marks = Attendance.objects.filter(lesson__class_group__school=school)
    for row in marks.values(day=F("lesson__date")).annotate(**_mark_counts(school)).order_by():
        days[row["day"]].update(attended=row["attended"], counted=row["counted"])

    # Homework is due for every student of the class (current class); on time = handed in by the end of the due day.
    homework = Homework.objects.filter(class_group__school=school)
    for row in homework.values(day=F("due_date")).annotate(due=Count("class_group__students")).order_by():
        days[row["day"]]["due"] += row["due"]
    submissions = HomeworkSubmission.objects.filter(
        homework__class_group__school=school, student__class_group_id=F("homework__class_group_id")
    ).annotate(handed_in=TruncDate("submitted_at", tzinfo=tz))
    for row in (
        submissions.values(day=F("homework__due_date"))
        .annotate(
            on_time=Count("id", filter=Q(handed_in__lte=F("homework__due_date"))),
            late=Count("id", filter=Q(handed_in__gt=F("homework__due_date"))),
        )
        .order_by()
    ):
        days[row["day"]].update(on_time=row["on_time"], late=row["late"])

    invoices = FeeInvoice.objects.filter(student__school=school).exclude(status=FeeInvoice.Status.VOID)
    for row in invoices.values(day=F("issued_on")).annotate(billed=Sum("amount")).order_by():
        days[row["day"]]["billed"] = row["billed"]
    payments = Payment.objects.filter(invoice__student__school=school).exclude(invoice__status=FeeInvoice.Status.VOID)
    for row in (
        payments.annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("day")
        .annotate(revenue=Sum("amount"), payments=Count("id"))
        .order_by()
    ):
        days[row["day"]].update(revenue=row["revenue"], payments=row["payments"])

    def total(name: str, first=None, last=date_to) -> Decimal | int:
        values = (day[name] for date, day in days.items() if (first is None or date >= first) and date <= last)
        return sum(values, Decimal(0) if name in ("billed", "revenue") else 0)

    billed_to_date, paid_to_date = total("billed"), total("revenue")
    weekly = defaultdict(list)
    for date, day in days.items():
        if date_from <= date <= date_to:
            weekly[week_start(date)].append(day)

    return {
        "schools": [{"id": school.pk, "name": school.name}],
        "term": {"id": term.pk, "name": term.name, "start_date": term.start_date, "end_date": term.end_date}
        if term
        else None,
        "period": {"from": date_from, "to": date_to},
        "as_of": None,
        "revenue": total("revenue", date_from),
        "payments_count": total("payments", date_from),
        "amount_billed": total("billed", date_from),
        "outstanding": billed_to_date - paid_to_date,
        "collection_rate": percentage(paid_to_date, billed_to_date),
        "attendance_rate": percentage(total("attended", date_from), total("counted", date_from)),
        "homework_completion_rate": percentage(total("on_time", date_from), total("due", date_from)),
        "today": _today(school=school, today=today),
        "roll_calls_today": _roll_calls_today(school=school, today=today),
        "students_count": Student.objects.filter(school=school, active=True).count(),
        "teachers_count": Teacher.objects.filter(school=school).count(),
        "low_attendance": _low_attendance(school=school, term=term) if term else None,
        "weekly": [
            {
                "week_start": week,
                "revenue": sum((day["revenue"] for day in rows), Decimal(0)),
                "amount_billed": sum((day["billed"] for day in rows), Decimal(0)),
                "attendance_rate": percentage(sum(d["attended"] for d in rows), sum(d["counted"] for d in rows)),
                "homework_completion_rate": percentage(sum(d["on_time"] for d in rows), sum(d["due"] for d in rows)),
            }
            for week, rows in sorted(weekly.items())
        ],
    }


def _roll_calls_today(*, school: School, today: datetime.date) -> dict:
    """Today's lessons of the school's classes, and how many of them have no attendance mark at all."""
    lessons = set(Lesson.objects.filter(class_group__school=school, date=today).values_list("id", flat=True))
    marked = set(Attendance.objects.filter(lesson_id__in=lessons).values_list("lesson_id", flat=True))
    return {"lessons": len(lessons), "not_taken": len(lessons - marked)}


def _today(*, school: School, today: datetime.date) -> dict:
    marks = Attendance.objects.filter(lesson__class_group__school=school, lesson__date=today)
    statuses = {status: Count("id", filter=Q(status=status)) for status in AttendanceStatus.values}
    figures = dict.fromkeys(("marked", "present", "late", "absent", "excused"), 0)
    attended = counted = 0
    for row in marks.values("student_id").annotate(**statuses, **_mark_counts(school)).order_by():
        attended += row["attended"]
        counted += row["counted"]
        figures["marked"] += 1
        if row[AttendanceStatus.PRESENT] or row[AttendanceStatus.LATE]:
            figures["present"] += 1
            figures["late"] += 1 if row[AttendanceStatus.LATE] else 0
        elif row[AttendanceStatus.ABSENT]:
            figures["absent"] += 1
        else:
            figures["excused"] += 1
    return {
        "students_marked": figures["marked"],
        "students_present": figures["present"],
        "students_late": figures["late"],
        "students_absent": figures["absent"],
        "students_excused": figures["excused"],
        "attendance_rate": percentage(attended, counted),
    }


def _low_attendance(*, school: School, term: AcademicTerm) -> dict:
    marks = Attendance.objects.filter(
        student__school=school, lesson__date__range=(term.start_date, term.end_date)
    ).exclude(lesson__class_group__school__isnull=True)
    rates = [
        percentage(row["attended"], row["counted"])
        for row in marks.values("student_id").annotate(**_mark_counts(school)).order_by()
        if row["counted"]
    ]
    below = sum(1 for rate in rates if rate < LOW_ATTENDANCE)
    return {"threshold": LOW_ATTENDANCE, "students": below, "of": len(rates), "share": percentage(below, len(rates))}
