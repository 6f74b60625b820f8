import datetime
import json

import pytest
from django.db import connection

from attendance.models import Attendance, AttendanceStatus
from attendance.services import ROLL_CALL_MAX_MARKS
from attendance.signals import marks_bulk_changed
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def students(class_group):
    return factories.StudentFactory.create_batch(3, school=class_group.school, class_group=class_group)


@pytest.fixture
def lesson(class_group, teacher):
    return factories.LessonFactory(class_group=class_group, teacher=teacher, date=factories.TERM_START, period=1)


def url(lesson) -> str:
    return f"/api/lessons/{lesson.pk}/roll-call/"


def marks_of(lesson) -> dict[int, str]:
    return dict(Attendance.objects.filter(lesson=lesson).values_list("student_id", "status"))


def post(api_client, lesson, marks):
    return api_client.post(url(lesson), {"marks": marks}, format="json")


def test_teacher_records_a_roll_call(api_client, teacher, lesson, students):
    api_client.force_authenticate(teacher.user)
    marks = [
        {"student_id": students[0].pk, "status": "PRESENT"},
        {"student_id": students[1].pk, "status": "LATE", "note": "bus"},
        {"student_id": students[2].pk, "status": "ABSENT"},
    ]

    response = post(api_client, lesson, marks)

    assert response.status_code == 200, response.data
    assert marks_of(lesson) == {students[0].pk: "PRESENT", students[1].pk: "LATE", students[2].pk: "ABSENT"}
    late = Attendance.objects.get(lesson=lesson, student=students[1])
    assert (late.note, late.recorded_by) == ("bus", teacher.user)
    assert response.data["lesson"]["id"] == lesson.pk
    assert [(m["student_id"], m["status"]) for m in response.data["marks"]] == [
        (students[0].pk, "PRESENT"),
        (students[1].pk, "LATE"),
        (students[2].pk, "ABSENT"),
    ]


def test_reposting_replaces_the_roll_call(api_client, teacher, lesson, students):
    first, second, third = students
    recorded_at = datetime.datetime(2026, 9, 7, 8, 0, tzinfo=datetime.UTC)
    for student, status in [(first, "PRESENT"), (second, "ABSENT"), (third, "LATE")]:
        factories.AttendanceFactory(lesson=lesson, student=student, status=status, recorded_at=recorded_at)
    api_client.force_authenticate(teacher.user)

    response = post(
        api_client,
        lesson,
        [{"student_id": first.pk, "status": "EXCUSED"}, {"student_id": second.pk, "status": "ABSENT"}],
    )

    assert response.status_code == 200, response.data
    assert marks_of(lesson) == {first.pk: "EXCUSED", second.pk: "ABSENT"}
    corrected = Attendance.objects.get(lesson=lesson, student=first)
    assert corrected.recorded_by == teacher.user
    assert corrected.recorded_at > recorded_at
    # An unchanged mark is not rewritten: it keeps who recorded it and when.
    unchanged = Attendance.objects.get(lesson=lesson, student=second)
    assert (unchanged.recorded_by, unchanged.recorded_at) == (None, recorded_at)


def test_get_returns_the_roll_call(api_client, teacher, lesson, students):
    factories.AttendanceFactory(lesson=lesson, student=students[0], status=AttendanceStatus.LATE)
    api_client.force_authenticate(teacher.user)

    response = api_client.get(url(lesson))

    assert response.status_code == 200
    assert [(m["student_id"], m["status"]) for m in response.data["marks"]] == [(students[0].pk, "LATE")]


def test_a_student_who_changed_class_keeps_a_correctable_mark(api_client, teacher, lesson, students):
    moved = students[0]
    factories.AttendanceFactory(lesson=lesson, student=moved, status="ABSENT")
    moved.class_group = factories.ClassGroupFactory(school=moved.school)
    moved.save()
    api_client.force_authenticate(teacher.user)

    response = post(api_client, lesson, [{"student_id": moved.pk, "status": "EXCUSED"}])

    assert response.status_code == 200, response.data
    assert marks_of(lesson) == {moved.pk: "EXCUSED"}


BAD_MARKS = {
    "student of another class": lambda s, other: [
        {"student_id": s[0].pk, "status": "PRESENT"},
        {"student_id": other.pk, "status": "PRESENT"},
    ],
    "unknown student": lambda s, other: [{"student_id": 999_999, "status": "PRESENT"}],
    "duplicate student": lambda s, other: [
        {"student_id": s[0].pk, "status": "PRESENT"},
        {"student_id": s[0].pk, "status": "ABSENT"},
    ],
    "unknown status": lambda s, other: [{"student_id": s[0].pk, "status": "ASLEEP"}],
    "missing status": lambda s, other: [{"student_id": s[0].pk}],
    "student id not a number": lambda s, other: [{"student_id": "first", "status": "PRESENT"}],
    "note too long": lambda s, other: [{"student_id": s[0].pk, "status": "LATE", "note": "x" * 501}],
    "empty list": lambda s, other: [],
    "huge list": lambda s, other: [{"student_id": s[0].pk, "status": "PRESENT"}] * (ROLL_CALL_MAX_MARKS + 1),
    "not a list": lambda s, other: {"student_id": s[0].pk, "status": "PRESENT"},
}


@pytest.mark.parametrize("case", BAD_MARKS)
def test_bad_marks_are_refused_naming_the_field_and_write_nothing(api_client, teacher, lesson, students, case):
    factories.AttendanceFactory(lesson=lesson, student=students[1], status="PRESENT")
    other = factories.StudentFactory(school=lesson.class_group.school)
    api_client.force_authenticate(teacher.user)

    response = post(api_client, lesson, BAD_MARKS[case](students, other))

    assert response.status_code == 400
    assert list(response.data) == ["marks"]
    assert marks_of(lesson) == {students[1].pk: "PRESENT"}


def test_an_error_names_the_entry_and_its_field(api_client, teacher, lesson, students):
    other = factories.StudentFactory(school=lesson.class_group.school)
    api_client.force_authenticate(teacher.user)

    response = post(
        api_client,
        lesson,
        [{"student_id": students[0].pk, "status": "PRESENT"}, {"student_id": other.pk, "status": "LATE"}],
    )

    assert response.data == {"marks": [f"marks[1].student_id: student {other.pk} is not in the lesson's class."]}


def test_missing_marks_are_refused(api_client, teacher, lesson):
    api_client.force_authenticate(teacher.user)

    response = api_client.post(url(lesson), {}, format="json")

    assert response.status_code == 400
    assert response.data["marks"] == ["This field is required."]


def test_malformed_json_is_refused(api_client, teacher, lesson, students):
    api_client.force_authenticate(teacher.user)

    response = api_client.post(url(lesson), '{"marks": [', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.data["detail"]
    assert marks_of(lesson) == {}


def test_a_body_above_the_upload_limit_is_refused(api_client, teacher, lesson, students, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    api_client.force_authenticate(teacher.user)
    body = json.dumps({"marks": [{"student_id": students[0].pk, "status": "PRESENT", "note": "x" * 2000}]})

    response = api_client.post(url(lesson), body, content_type="application/json")

    assert response.status_code == 400
    assert response.data == {"detail": "The request body is too large."}
    assert marks_of(lesson) == {}


def test_a_lesson_dated_outside_every_term_is_refused(api_client, teacher, class_group, students):
    lesson = factories.LessonFactory(class_group=class_group, teacher=teacher, date=datetime.date(2027, 1, 4))
    api_client.force_authenticate(teacher.user)

    response = post(api_client, lesson, [{"student_id": students[0].pk, "status": "PRESENT"}])

    assert response.status_code == 400
    assert response.data == {"lesson": ["The lesson's date 2027-01-04 is not within any term of the school."]}
    assert marks_of(lesson) == {}


def test_the_roll_call_tells_listeners_which_marks_changed(teacher, lesson, students, api_client):
    kept, changed, removed = students
    added = factories.StudentFactory(school=lesson.class_group.school, class_group=lesson.class_group)
    factories.AttendanceFactory(lesson=lesson, student=kept, status="PRESENT")
    factories.AttendanceFactory(lesson=lesson, student=changed, status="PRESENT")
    factories.AttendanceFactory(lesson=lesson, student=removed, status="PRESENT")
    received = []

    def receiver(sender, lesson_ids, student_ids, **kwargs):
        received.append((sender, lesson_ids, student_ids, connection.in_atomic_block, marks_of(lesson)))

    marks_bulk_changed.connect(receiver)
    try:
        api_client.force_authenticate(teacher.user)
        marks = [
            {"student_id": kept.pk, "status": "PRESENT"},
            {"student_id": changed.pk, "status": "LATE"},
            {"student_id": added.pk, "status": "ABSENT"},
        ]
        assert post(api_client, lesson, marks).status_code == 200
        assert post(api_client, lesson, marks).status_code == 200  # nothing changes: nothing to tell
    finally:
        marks_bulk_changed.disconnect(receiver)

    after = {kept.pk: "PRESENT", changed.pk: "LATE", added.pk: "ABSENT"}
    assert received == [(Attendance, {lesson.pk}, {changed.pk, removed.pk, added.pk}, True, after)]


def test_a_failing_listener_rolls_the_roll_call_back(teacher, lesson, students, api_client):
    def receiver(**kwargs):
        raise RuntimeError("listener failed")

    marks_bulk_changed.connect(receiver)
    api_client.raise_request_exception = True
    try:
        api_client.force_authenticate(teacher.user)
        with pytest.raises(RuntimeError):
            post(api_client, lesson, [{"student_id": students[0].pk, "status": "PRESENT"}])
    finally:
        marks_bulk_changed.disconnect(receiver)

    assert marks_of(lesson) == {}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),
        ("student", 403),
        ("guardian", 403),
        ("teacher of another class", 404),
        ("admin of another school", 404),
        ("teacher holding the lesson", 200),
        ("teacher of the class", 200),
        ("admin of the school", 200),
        ("district operator", 200),
    ],
)
def test_who_may_take_the_roll_call(api_client, teacher, lesson, students, who, expected):
    school = lesson.class_group.school
    users = {
        "student": lambda: factories.StudentFactory(school=school, user=factories.UserFactory()).user,
        "guardian": lambda: factories.GuardianFactory(school=school, students=students).user,
        "teacher of another class": lambda: factories.TeachingAssignmentFactory(teacher__school=school).teacher.user,
        "admin of another school": lambda: factories.SchoolAdminFactory().user,
        "teacher holding the lesson": lambda: _substitute(lesson).user,
        "teacher of the class": lambda: teacher.user,
        "admin of the school": lambda: factories.SchoolAdminFactory(school=school).user,
        "district operator": lambda: factories.UserFactory(is_superuser=True),
    }
    if who in users:
        api_client.force_authenticate(users[who]())

    response = post(api_client, lesson, [{"student_id": students[0].pk, "status": "PRESENT"}])

    assert response.status_code == expected
    assert marks_of(lesson) == ({students[0].pk: "PRESENT"} if expected == 200 else {})


def _substitute(lesson):
    """A teacher with no assignment for the class who holds this one lesson."""
    lesson.teacher = factories.TeacherFactory(school=lesson.class_group.school)
    lesson.save()
    return lesson.teacher
