"""The CSV tables of the analytics API (``?format=csv``): columns over the serialized JSON, so the figures and
their rounding are the JSON's. The pages reuse these tables for their own CSV links."""

from core.exports import Column, CsvTable, columns

OVERVIEW_TABLES = {
    table.name: table
    for table in (
        CsvTable(
            "subjects",
            columns(
                ("subject_id", "subject.id"),
                ("subject", "subject.name"),
                "average_grade",
                "grades_count",
                "rank",
                "rank_of",
                "rank_display",
                "attendance_percentage",
                "lessons_attended",
                "lessons_counted",
                Column("teacher_comment", "teacher_comment", text=True),
            ),
        ),
        CsvTable(
            "grades", columns("date", "subject_id", "subject", Column("homework", "homework", text=True), "percentage")
        ),
        CsvTable("grades_weekly", columns("week_start", "subject_id", "subject", "average")),
        CsvTable("progress", columns("date", "subject_id", "subject", "average", "rank", "rank_of")),
        CsvTable("attendance_weekly", columns("week_start", "attended", "counted", "rate")),
        CsvTable("behavior", columns("date", "score")),
        CsvTable("flags", columns("reason", "as_of", Column("details", "text", text=True))),
    )
}

TEACHER_WEEKS = CsvTable(
    "weeks",
    columns(
        "week_start",
        "classes_taught",
        "homeworks_assigned",
        "parent_communications",
        "average_student_attendance",
        ("school_median_classes_taught", "school_median.classes_taught"),
        ("school_median_homeworks_assigned", "school_median.homeworks_assigned"),
        ("school_median_parent_communications", "school_median.parent_communications"),
        ("school_median_average_student_attendance", "school_median.average_student_attendance"),
        "lessons_held",
        "lessons_without_roll_call",
        "homework_overdue_ungraded",
        "submissions_ungraded",
    ),
)

HEALTH_TABLES = {
    table.name: table
    for table in (
        CsvTable(
            "weekly", columns("week_start", "revenue", "amount_billed", "attendance_rate", "homework_completion_rate")
        ),
        # One row per school (each school's own figures), for a district operator comparing schools.
        CsvTable(
            "schools",
            columns(
                ("school_id", "schools.0.id"),
                ("school", "schools.0.name"),
                ("term", "term.name"),
                ("period_from", "period.from"),
                ("period_to", "period.to"),
                "revenue",
                "payments_count",
                "amount_billed",
                "outstanding",
                "collection_rate",
                "attendance_rate",
                "homework_completion_rate",
                "students_count",
                "teachers_count",
                ("low_attendance_students", "low_attendance.students"),
                ("low_attendance_of", "low_attendance.of"),
                ("low_attendance_share", "low_attendance.share"),
                ("roll_calls_today_lessons", "roll_calls_today.lessons"),
                ("roll_calls_today_not_taken", "roll_calls_today.not_taken"),
                "as_of",
            ),
        ),
    )
}

# The students at risk: one row per flag.
AT_RISK = CsvTable(
    "at_risk",
    columns(
        ("student_id", "id"),
        Column("student", "name", text=True),
        "student_number",
        Column("class_group", "class_group.name", text=True),
        "reason",
        "as_of",
        Column("details", "text", text=True),
    ),
)

# The missing-data figures of a school, one row per teacher (the weeks added up).
MISSING_TEACHERS = CsvTable(
    "teachers",
    columns(
        ("teacher_id", "teacher.id"),
        Column("teacher", "teacher.name", text=True),
        ("lessons_held", "totals.lessons_held"),
        ("lessons_without_roll_call", "totals.lessons_without_roll_call"),
        ("homework_overdue_ungraded", "totals.homework_overdue_ungraded"),
        ("submissions_ungraded", "totals.submissions_ungraded"),
        ("lessons_today", "today.lessons"),
        ("roll_calls_not_taken_today", "today.roll_calls_not_taken"),
        ("comments_missing", "comments.missing"),
        ("comments_expected", "comments.of"),
    ),
)

# The most improved students, one row each.
MOST_IMPROVED = CsvTable(
    "students",
    columns(
        ("student_id", "student.id"),
        Column("student", "student.name", text=True),
        ("class_group_id", "class_group.id"),
        Column("class_group", "class_group.name", text=True),
        "average_from",
        "average_to",
        "change",
    ),
)
