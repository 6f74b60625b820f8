"""Database contents by natural keys (school name, student number, subject name...), not by ids.

Two runs compare equal when they made the same school, whatever ids the database handed out.
"""

from django.apps import apps

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric

SOURCE_MODELS = (
    "schools.School",
    "schools.AcademicTerm",
    "schools.Subject",
    "schools.ClassGroup",
    "schools.SchoolAdmin",
    "schools.Teacher",
    "schools.TeachingAssignment",
    "schools.Student",
    "schools.Guardian",
    "attendance.Lesson",
    "attendance.Attendance",
    "homework.Homework",
    "homework.HomeworkSubmission",
    "homework.Grade",
    "communication.Communication",
    "finance.FeeInvoice",
    "finance.Payment",
    "analytics.StudentDailySummary",
    "analytics.StudentTermPerformance",
    "analytics.TeacherPerformanceMetric",
)


def table_counts() -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in SOURCE_MODELS}


def summaries_snapshot() -> dict[str, dict]:
    """Every summary row's values, keyed by natural keys."""
    daily = {
        (row.pop("school__name"), row.pop("student__student_number"), row.pop("date")): row
        for row in StudentDailySummary.objects.values(
            "school__name",
            "student__student_number",
            "date",
            "attendance_status",
            "lessons_marked",
            "lessons_attended",
            "lessons_counted",
            "homework_due",
            "homework_on_time",
            "homework_late",
            "homework_completed",
            "behavior_score",
        )
    }
    term = {
        (
            row.pop("school__name"),
            row.pop("student__student_number"),
            row.pop("term__name"),
            row.pop("subject__name"),
        ): row
        for row in StudentTermPerformance.objects.values(
            "school__name",
            "student__student_number",
            "term__name",
            "subject__name",
            "average_grade",
            "grades_count",
            "attendance_percentage",
            "lessons_marked",
            "lessons_attended",
            "lessons_counted",
            "rank",
            "rank_of",
            "teacher_comment",
        )
    }
    teacher = {
        (row.pop("school__name"), row.pop("teacher__user__email"), row.pop("week_start")): row
        for row in TeacherPerformanceMetric.objects.values(
            "school__name",
            "teacher__user__email",
            "week_start",
            "classes_taught",
            "homeworks_assigned",
            "parent_communications",
            "average_student_attendance",
            "lessons_attended",
            "lessons_counted",
        )
    }
    return {"daily": daily, "term": term, "teacher": teacher}
