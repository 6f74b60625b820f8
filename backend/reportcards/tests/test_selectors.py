"""The card's figures: the student overview's (the API's) plus days by status, behaviour and teachers, worked out
by hand for Hillcrest (see analytics/tests/test_api_content.py).

Ben's days (a day is LATE if any mark is late, PRESENT with a present mark, ABSENT otherwise unless all are
excused): Mon 7 P+L = late, Wed 9 P = present, Mon 14 A+P = present, Thu 17 A = absent, Wed 23 L = late:
4 present (2 of them late), 1 absent, 0 excused; lessons 5 of 7 = 71.43%. Behaviour 4 and 2: mean 3.0.
"""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from reportcards.selectors import behavior_summary, report_card_data
from tests.factories import SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 9, 23, 6, 0, tzinfo=datetime.UTC)


def test_report_card_data_of_ben(hillcrest):
    w = hillcrest

    card = report_card_data(student=w.ben, term=w.term)

    assert card["school"] == {"id": w.school.pk, "name": "Hillcrest", "timezone": "Africa/Nairobi"}
    assert card["student"] == {"id": w.ben.pk, "name": "Ben Bello", "student_number": "H002"}
    assert card["class_group"] == {"id": w.klass.pk, "name": "Grade 7A", "grade_level": 7}
    assert card["term"]["name"] == "Term 1"
    assert card["printed_on"] == datetime.date(2026, 9, 23)  # 09:00 in Nairobi
    assert card["as_of"] == NOW
    assert card["overall"] == {
        "average_grade": Decimal("79.17"),
        "rank": 1,
        "rank_of": 3,
        "rank_display": "1st of 3",
    }
    assert [
        (
            row["subject"]["name"],
            row["teacher"],
            row["average_grade"],
            row["rank_display"],
            row["attendance_percentage"],
            row["lessons_attended"],
            row["lessons_counted"],
            row["teacher_comment"],
        )
        for row in card["subjects"]
    ] == [
        ("English", "Eve Ellis", Decimal("83.33"), "1st of 3", Decimal("66.67"), 2, 3, ""),
        ("Maths", "Mia Moss", Decimal("75.00"), "2nd of 3", Decimal("75.00"), 3, 4, w.comment),
    ]
    assert card["days"] == {
        "marked": 5,
        "present": 4,
        "late": 2,
        "absent": 1,
        "excused": 0,
        "lessons_attended": 5,
        "lessons_counted": 7,
        "attendance_percentage": Decimal("71.43"),
    }
    assert card["homework"] == {"due": 4, "on_time": 2, "late": 1, "missing": 1, "completion_rate": Decimal("50.00")}
    assert card["behavior"] == {
        "days_scored": 2,
        "average": Decimal("3.0"),
        "lowest": 2,
        "highest": 4,
        "scale_min": 1,
        "scale_max": 5,
    }


def test_report_card_data_is_the_api_figures(hillcrest, client_of):
    """Every figure the card shares with the student overview API is the API's, for each student."""
    w = hillcrest
    client: APIClient = client_of(w.admin.user)
    for student in (w.ann, w.ben, w.cat):
        api = client.get(f"/api/analytics/student/{student.pk}/overview/?term={w.term.pk}").json()

        card = report_card_data(student=student, term=w.term)

        def text(value):
            return None if value is None else str(value)

        assert {key: text(value) for key, value in card["overall"].items()} == {
            key: text(value) for key, value in api["overall"].items()
        }
        assert [
            {key: text(value) for key, value in row.items() if key not in {"subject", "teacher"}}
            for row in card["subjects"]
        ] == [{key: text(value) for key, value in row.items() if key != "subject"} for row in api["subjects"]]
        assert {key: text(value) for key, value in card["homework"].items()} == {
            key: text(value) for key, value in api["homework"].items()
        }


def test_report_card_data_of_cat_counts_a_partly_excused_day_absent(hillcrest):
    """Cat: Mon 7 A+A, Wed 9 P, Mon 14 E+A (not every absence excused: absent), Thu 17 A, Wed 23 A."""
    card = report_card_data(student=hillcrest.cat, term=hillcrest.term)

    assert (card["days"]["present"], card["days"]["late"], card["days"]["absent"], card["days"]["excused"]) == (
        1,
        0,
        4,
        0,
    )
    assert card["behavior"]["days_scored"] == 0
    assert card["behavior"]["average"] is None


def test_report_card_data_of_a_student_with_nothing_recorded(hillcrest):
    """A student who joined today and has no class yet: no rows anywhere; every figure empty or zero."""
    newcomer = StudentFactory(school=hillcrest.school, class_group=None, first_name="Zoe")

    card = report_card_data(student=newcomer, term=hillcrest.term)

    assert card["class_group"] is None
    assert card["subjects"] == []
    assert card["overall"]["rank_display"] is None
    assert card["days"]["marked"] == 0
    assert card["days"]["attendance_percentage"] is None
    assert card["homework"]["completion_rate"] is None
    assert card["as_of"] is None


@pytest.mark.parametrize(
    ("scores", "average"),
    [([4, 2], "3.0"), ([5, 4, 4], "4.3"), ([3, 4, 4, 4, 4, 4, 4, 4], "3.9"), ([1, 2], "1.5"), ([2, 3, 3, 3], "2.8")],
)
def test_behavior_average_is_rounded_half_up(scores, average):
    """2.75 rounds to 2.8 (half-up), not 2.8 by luck of binary floats: the mean is exact decimals."""
    school = SchoolFactory.build(behavior_score_min=1, behavior_score_max=5)

    assert behavior_summary(scores=scores, school=school)["average"] == Decimal(average)
