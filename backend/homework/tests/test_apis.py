import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models.signals import post_delete, post_save

from homework.models import Grade, Homework, HomeworkSubmission
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 9, 9, 15, 30, tzinfo=datetime.UTC)


@pytest.fixture
def homework(class_group, teacher):
    return factories.HomeworkFactory(class_group=class_group, teacher=teacher, max_score=Decimal("20"))


@pytest.fixture
def student(class_group):
    return factories.StudentFactory(school=class_group.school, class_group=class_group, user=factories.UserFactory())


@pytest.fixture
def submission(homework, student):
    return factories.SubmissionFactory(homework=homework, student=student)


def homework_body(class_group, **change):
    """Homework of the subject the class's teacher (the ``teacher`` fixture) is assigned to teach it, if any."""
    assignment = class_group.assignments.first()
    subject = assignment.subject if assignment else factories.SubjectFactory(school=class_group.school)
    body = {
        "class_group": class_group.pk,
        "subject": subject.pk,
        "title": "Fractions",
        "assigned_date": "2026-09-08",
        "due_date": "2026-09-10",
        "max_score": "25.00",
    }
    return {**body, **change}


def test_a_teacher_sets_homework_for_their_class(api_client, teacher, class_group):
    api_client.force_authenticate(teacher.user)

    response = api_client.post("/api/homework/", homework_body(class_group), format="json")

    assert response.status_code == 201, response.data
    homework = Homework.objects.get()
    assert (homework.teacher, homework.class_group, homework.max_score) == (teacher, class_group, Decimal("25.00"))
    assert response.data["teacher"] == teacher.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_date": "2026-09-07"}, "due_date"),
        ({"max_score": "0"}, "max_score"),
        ({"max_score": "abc"}, "max_score"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_homework_is_refused_naming_the_field(api_client, teacher, class_group, change, field):
    api_client.force_authenticate(teacher.user)

    response = api_client.post("/api/homework/", homework_body(class_group, **change), format="json")

    assert response.status_code == 400
    assert list(response.data) == [field]
    assert not Homework.objects.exists()


def test_a_teacher_may_not_set_homework_for_a_class_they_do_not_teach(api_client, teacher, school):
    api_client.force_authenticate(teacher.user)

    response = api_client.post(
        "/api/homework/", homework_body(factories.ClassGroupFactory(school=school)), format="json"
    )

    assert response.status_code == 400
    assert list(response.data) == ["class_group"]
    assert not Homework.objects.exists()


def test_an_admin_sets_homework_naming_the_teacher(api_client, school_admin, teacher, class_group):
    api_client.force_authenticate(school_admin.user)

    response = api_client.post("/api/homework/", homework_body(class_group, teacher=teacher.pk), format="json")

    assert response.status_code == 201, response.data
    assert Homework.objects.get().teacher == teacher


def test_students_and_guardians_read_homework_but_may_not_set_it(api_client, homework, student, class_group):
    factories.HomeworkFactory(class_group=factories.ClassGroupFactory(school=class_group.school))
    guardian = factories.GuardianFactory(school=class_group.school, students=[student])

    for user in (student.user, guardian.user):
        api_client.force_authenticate(user)
        assert [h["id"] for h in api_client.get("/api/homework/").data["results"]] == [homework.pk]
        assert api_client.post("/api/homework/", homework_body(class_group), format="json").status_code == 403
    assert Homework.objects.count() == 2


@time_machine.travel(NOW, tick=False)
def test_a_student_hands_in_their_own_homework(api_client, homework, student):
    api_client.force_authenticate(student.user)

    response = api_client.post(f"/api/homework/{homework.pk}/submissions/", {"content": "1/2"}, format="json")

    assert response.status_code == 201, response.data
    submission = HomeworkSubmission.objects.get()
    assert (submission.student, submission.content, submission.submitted_at) == (student, "1/2", NOW)
    assert response.data["grade"] is None


def test_a_teacher_records_a_submission_for_a_student_with_its_time(api_client, teacher, homework, student):
    api_client.force_authenticate(teacher.user)
    body = {"student": student.pk, "submitted_at": "2026-09-09T08:00:00Z"}

    response = api_client.post(f"/api/homework/{homework.pk}/submissions/", body, format="json")

    assert response.status_code == 201, response.data
    assert HomeworkSubmission.objects.get().submitted_at == datetime.datetime(2026, 9, 9, 8, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"student": "classmate"}, "student"),
        ({"submitted_at": "2026-09-01T08:00:00Z"}, "submitted_at"),
    ],
)
def test_a_student_may_not_submit_for_others_or_backdate(api_client, homework, student, body, field):
    classmate = factories.StudentFactory(school=student.school, class_group=student.class_group)
    api_client.force_authenticate(student.user)
    body = {key: classmate.pk if value == "classmate" else value for key, value in body.items()}

    response = api_client.post(f"/api/homework/{homework.pk}/submissions/", body, format="json")

    assert response.status_code == 400
    assert list(response.data) == [field]
    assert not HomeworkSubmission.objects.exists()


def test_a_second_submission_is_refused(api_client, submission, student):
    api_client.force_authenticate(student.user)

    response = api_client.post(f"/api/homework/{submission.homework_id}/submissions/", {}, format="json")

    assert response.status_code == 400
    assert list(response.data) == ["non_field_errors"]
    assert HomeworkSubmission.objects.count() == 1


def test_submissions_of_homework_outside_scope_are_not_found(api_client, student, teacher, school):
    elsewhere = factories.HomeworkFactory(class_group=factories.ClassGroupFactory(school=school))
    url = f"/api/homework/{elsewhere.pk}/submissions/"

    for user in (student.user, teacher.user):
        api_client.force_authenticate(user)
        assert api_client.get(url).status_code == 404
        assert api_client.post(url, {"student": "not even an id"}, format="json").status_code == 404
    assert not HomeworkSubmission.objects.exists()


def test_a_guardian_may_not_submit(api_client, homework, student):
    guardian = factories.GuardianFactory(school=student.school, students=[student])
    api_client.force_authenticate(guardian.user)

    response = api_client.post(f"/api/homework/{homework.pk}/submissions/", {"student": student.pk}, format="json")

    assert response.status_code == 403


def grade_url(submission) -> str:
    return f"/api/submissions/{submission.pk}/grade/"


def test_a_teacher_grades_and_regrades_through_the_model(api_client, teacher, submission):
    saves = []

    def receiver(sender, instance, created, **kwargs):
        saves.append((instance.score, created, connection.in_atomic_block))

    post_save.connect(receiver, sender=Grade)
    try:
        api_client.force_authenticate(teacher.user)
        graded = api_client.post(grade_url(submission), {"score": "15.5", "feedback": "Good"}, format="json")
        regraded = api_client.post(grade_url(submission), {"score": "18"}, format="json")
    finally:
        post_save.disconnect(receiver, sender=Grade)

    assert (graded.status_code, regraded.status_code) == (201, 200)
    grade = Grade.objects.get()
    assert (grade.score, grade.max_score, grade.feedback, grade.graded_by) == (
        Decimal("18"),
        Decimal("20"),
        "",
        teacher.user,
    )
    assert regraded.data["score"] == "18.00"
    assert saves == [(Decimal("15.5"), True, True), (Decimal("18"), False, True)]


@pytest.mark.parametrize("score", ["20.01", "-1", "abc", "1.234", None])
def test_a_score_outside_zero_to_max_is_refused(api_client, teacher, submission, score):
    factories.GradeFactory(submission=submission, score=Decimal("12"))
    api_client.force_authenticate(teacher.user)

    response = api_client.post(grade_url(submission), {"score": score}, format="json")

    assert response.status_code == 400
    assert list(response.data) == ["score"]
    assert Grade.objects.get().score == Decimal("12")


def test_the_full_score_is_accepted(api_client, teacher, submission):
    api_client.force_authenticate(teacher.user)

    assert api_client.post(grade_url(submission), {"score": "20"}, format="json").status_code == 201


def test_deleting_a_grade_removes_it_through_the_model(api_client, teacher, submission):
    factories.GradeFactory(submission=submission)
    deleted = []

    def receiver(sender, instance, **kwargs):
        deleted.append(instance.submission_id)

    post_delete.connect(receiver, sender=Grade)
    api_client.force_authenticate(teacher.user)
    try:
        first = api_client.delete(grade_url(submission))
        second = api_client.delete(grade_url(submission))
    finally:
        post_delete.disconnect(receiver, sender=Grade)

    assert (first.status_code, second.status_code) == (204, 404)
    assert deleted == [submission.pk]
    assert HomeworkSubmission.objects.filter(pk=submission.pk).exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 401), ("student", 403), ("teacher of another class", 404), ("admin of another school", 404)],
)
def test_who_may_not_grade(api_client, submission, student, who, expected):
    users = {
        "student": lambda: student.user,
        "teacher of another class": lambda: (
            factories.TeachingAssignmentFactory(teacher__school=student.school).teacher.user
        ),
        "admin of another school": lambda: factories.SchoolAdminFactory().user,
    }
    if who in users:
        api_client.force_authenticate(users[who]())

    response = api_client.post(grade_url(submission), {"score": "10"}, format="json")

    assert response.status_code == expected
    assert not Grade.objects.exists()
