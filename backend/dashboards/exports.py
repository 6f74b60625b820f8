"""The CSV tables of the pages that have no API counterpart (``?format=csv`` on the page itself): columns over
the same selector rows the page shows, so the figures and their rounding are the page's (without the % sign).

The tables the API already exports (a student's overview, a teacher's weeks, school health by week, all schools)
are linked from the pages to the API's ``?format=csv`` (analytics.exports) rather than declared twice.
"""

from core.exports import Column, CsvTable, columns

CLASS_STUDENTS = CsvTable(
    "students",
    columns(
        ("student_id", "id"),
        Column("student", "name", text=True),
        "student_number",
        "average_grade",
        "rank",
        "rank_of",
        "rank_display",
        "attendance_percentage",
        ("homework_due", "homework.due"),
        ("homework_on_time", "homework.on_time"),
        ("homework_late", "homework.late"),
        ("homework_missing", "homework.missing"),
        ("homework_completion_rate", "homework.completion_rate"),
        ("flags", "flag_reasons"),
    ),
)

BELOW_ATTENDANCE = CsvTable(
    "below",
    columns(
        ("student_id", "id"),
        Column("student", "name", text=True),
        Column("class", "class_group", text=True),
        "attendance_percentage",
        "lessons_attended",
        "lessons_counted",
        "days_absent",
    ),
)

CLASSES_COMPARED = CsvTable(
    "classes",
    columns(
        ("class_id", "id"),
        Column("class", "name", text=True),
        "grade_level",
        "students",
        "attendance_rate",
        "average_grade",
    ),
)

SCHOOL_HEALTH_TABLES = {table.name: table for table in (BELOW_ATTENDANCE, CLASSES_COMPARED)}
