"""Response examples for the OpenAPI schema: real responses of the demo school, lists cut to one item."""

STUDENT_OVERVIEW = {
    "student": {
        "id": 61,
        "name": "Jackline Muchemi",
        "student_number": "S00061",
        "class_group": {"id": 2, "name": "Grade 7B", "grade_level": 7},
        "school": {"id": 1, "name": "Kipkemboi Community School"},
    },
    "term": {"id": 1, "name": "Autumn term 2026", "start_date": "2026-09-28", "end_date": "2026-12-18"},
    "period": {"to": "2026-12-18", "from": "2026-09-28"},
    "as_of": "2026-11-27T13:34:47.972575Z",
    "overall": {"rank": 12, "rank_of": 30, "rank_display": "12th of 30", "average_grade": "70.09"},
    "subjects": [
        {
            "rank": 8,
            "rank_of": 30,
            "rank_display": "8th of 30",
            "subject": {"id": 10, "name": "Art"},
            "average_grade": "73.13",
            "grades_count": 4,
            "attendance_percentage": "100.00",
            "lessons_attended": 16,
            "lessons_counted": 16,
            "teacher_comment": "",
        }
    ],
    "grades": [
        {
            "date": "2026-09-30",
            "subject_id": 2,
            "subject": "English",
            "homework": "English: Worksheet 13",
            "percentage": "85.00",
        }
    ],
    "grades_weekly": [{"week_start": "2026-09-28", "subject_id": 10, "subject": "Art", "average": "67.50"}],
    "attendance_weekly": [{"week_start": "2026-09-28", "attended": 30, "counted": 30, "rate": "100.00"}],
    "homework": {"due": 78, "on_time": 52, "late": 8, "missing": 18, "completion_rate": "66.67"},
    "behavior": [{"date": "2026-09-28", "score": 2}],
}

TEACHER_PERFORMANCE = {
    "teacher": {"id": 1, "name": "Mercy Odhiambo"},
    "as_of": "2026-11-27T13:34:47.913192Z",
    "weeks": [
        {
            "week_start": "2026-10-05",
            "classes_taught": 15,
            "homeworks_assigned": 8,
            "parent_communications": 17,
            "average_student_attendance": "97.93",
            "school_median": {
                "classes_taught": "18.0",
                "homeworks_assigned": "8.0",
                "parent_communications": "7.0",
                "average_student_attendance": "97.01",
            },
        }
    ],
}

SCHOOL_HEALTH = {
    "schools": [{"id": 1, "name": "Kipkemboi Community School"}],
    "term": {"id": 1, "name": "Autumn term 2026", "start_date": "2026-09-28", "end_date": "2026-12-18"},
    "period": {"to": "2026-12-18", "from": "2026-09-28"},
    "as_of": "2026-11-27T13:34:47.743988Z",
    "revenue": "3784282.50",
    "payments_count": 452,
    "amount_billed": "5136750.00",
    "outstanding": "1352467.50",
    "collection_rate": "73.67",
    "attendance_rate": "96.77",
    "homework_completion_rate": "80.55",
    "today": {
        "students_marked": 0,
        "students_present": 0,
        "students_late": 0,
        "students_absent": 0,
        "students_excused": 0,
        "attendance_rate": None,
    },
    "students_count": 300,
    "teachers_count": 15,
    "low_attendance": {"threshold": "90.00", "students": 34, "of": 300, "share": "11.33"},
    "weekly": [
        {
            "week_start": "2026-09-28",
            "revenue": "1202430.00",
            "amount_billed": "5136750.00",
            "attendance_rate": "97.51",
            "homework_completion_rate": "79.96",
        }
    ],
}

AT_RISK = {
    "count": 1,
    "next": None,
    "previous": None,
    "results": [
        {
            "student": {
                "id": 61,
                "name": "Jackline Muchemi",
                "student_number": "S00061",
                "class_group": {"id": 2, "name": "Grade 7B"},
            },
            "flags": [
                {
                    "reason": "attendance",
                    "as_of": "2026-11-27",
                    "text": "attendance 78.00% over the last 20 school days with marks (78 of 100 lessons); "
                    "threshold 90%",
                    "figures": {
                        "rate": "78.00",
                        "attended": 78,
                        "counted": 100,
                        "dates": 20,
                        "window_dates": 20,
                        "threshold": "90.00",
                    },
                }
            ],
        }
    ],
}
