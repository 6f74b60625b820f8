"""A teacher writes only for the class and subject pairs of their teaching assignments (SPEC §5, docs/security.md
"Scope"): through the API of every app, with the one definition in schools.selectors."""

import datetime
from decimal import Decimal

import pytest

from analytics.models import StudentDailySummary, StudentTermPerformance
from attendance.models import Attendance, Lesson
from communication.models import Communication
from homework.models import Grade, Homework, HomeworkSubmission
from schools.selectors import students_taught_by, taught_by, teaches
from tests import factories

pytestmark = pytest.mark.django_db

DAY = factories.TERM_START + datetime.timedelta(days=1)


@pytest.fixture
def setting(school):
    """Class 7A taught maths by ``maths`` and English by ``english``; class 7B taught maths by ``other_class``."""
    seven_a = factories.ClassGroupFactory(school=school, name="7A")
    seven_b = factories.ClassGroupFactory(school=school, name="7B")
    maths = factories.SubjectFactory(school=school, name="Maths")
    english = factories.SubjectFactory(school=school, name="English")
    teachers = {
        "maths": factories.TeachingAssignmentFactory(teacher__school=school, class_group=seven_a, subject=maths),
        "english": factories.TeachingAssignmentFactory(teacher__school=school, class_group=seven_a, subject=english),
        "other_class": factories.TeachingAssignmentFactory(teacher__school=school, class_group=seven_b, subject=maths),
    }
    pupils = factories.StudentFactory.create_batch(2, school=school, class_group=seven_a)
    return {
        "school": school,
        "7A": seven_a,
        "7B": seven_b,
        "maths": maths,
        "english": english,
        "teachers": {name: assignment.teacher for name, assignment in teachers.items()},
        "pupils": pupils,
    }


def as_teacher(api_client, setting, name: str):
    api_client.force_authenticate(setting["teachers"][name].user)
    return api_client


def test_taught_by_is_the_assignment_pairs_and_the_daily_register_of_assigned_classes(setting):
    maths_lesson = factories.LessonFactory(class_group=setting["7A"], subject=setting["maths"], date=DAY)
    english_lesson = factories.LessonFactory(class_group=setting["7A"], subject=setting["english"], date=DAY)
    register = factories.LessonFactory(class_group=setting["7A"], subject=None, date=DAY)
    other_register = factories.LessonFactory(class_group=setting["7B"], subject=None, date=DAY)
    maths_user = setting["teachers"]["maths"].user

    assert set(taught_by(Lesson.objects.all(), user=maths_user)) == {maths_lesson, register}
    assert set(taught_by(Lesson.objects.all(), user=setting["teachers"]["english"].user)) == {english_lesson, register}
    assert set(taught_by(Lesson.objects.all(), user=setting["teachers"]["other_class"].user)) == {other_register}
    assert teaches(user=maths_user, class_group=setting["7A"], subject=setting["maths"])
    assert not teaches(user=maths_user, class_group=setting["7A"], subject=setting["english"])
    assert teaches(user=maths_user, class_group=setting["7A"], subject=None)
    assert not teaches(user=maths_user, class_group=setting["7B"], subject=None)
    assert set(students_taught_by(user=maths_user)) == set(setting["pupils"])


def test_the_daily_register_is_taken_by_any_teacher_of_the_class_and_no_other(api_client, setting):
    register = factories.LessonFactory(
        class_group=setting["7A"], subject=None, teacher=setting["teachers"]["maths"], date=DAY
    )
    marks = {"marks": [{"student_id": setting["pupils"][0].pk, "status": "PRESENT"}]}
    url = f"/api/lessons/{register.pk}/roll-call/"

    english = as_teacher(api_client, setting, "english").post(url, marks, format="json")
    assert english.status_code == 200, english.data
    assert Attendance.objects.filter(lesson=register).count() == 1

    # A teacher who held a lesson in 7A once sees the class, but has no assignment there.
    outsider = setting["teachers"]["other_class"]
    factories.LessonFactory(class_group=setting["7A"], subject=setting["maths"], teacher=outsider, date=DAY)
    marks["marks"][0]["status"] = "ABSENT"
    refused = as_teacher(api_client, setting, "other_class").post(url, marks, format="json")
    assert refused.status_code == 403
    assert Attendance.objects.get(lesson=register).status == "PRESENT"


def test_a_teacher_may_not_take_the_roll_call_of_another_subjects_lesson(api_client, setting):
    lesson = factories.LessonFactory(
        class_group=setting["7A"], subject=setting["maths"], teacher=setting["teachers"]["maths"], date=DAY
    )
    marks = {"marks": [{"student_id": setting["pupils"][0].pk, "status": "ABSENT"}]}

    response = as_teacher(api_client, setting, "english").post(f"/api/lessons/{lesson.pk}/roll-call/", marks, "json")

    assert response.status_code == 403
    assert not Attendance.objects.exists()
    assert not StudentDailySummary.objects.exists()


def test_the_teacher_an_admin_named_for_a_lesson_takes_its_roll_call(api_client, setting):
    """A substitute: the admin made the lesson theirs, though they have no assignment for its subject."""
    lesson = factories.LessonFactory(
        class_group=setting["7A"], subject=setting["maths"], teacher=setting["teachers"]["english"], date=DAY
    )
    marks = {"marks": [{"student_id": setting["pupils"][0].pk, "status": "LATE"}]}

    response = as_teacher(api_client, setting, "english").post(f"/api/lessons/{lesson.pk}/roll-call/", marks, "json")

    assert response.status_code == 200, response.data


@pytest.mark.parametrize(("path", "model"), [("/api/lessons/", Lesson), ("/api/homework/", Homework)])
def test_a_teacher_records_lessons_and_homework_only_for_their_subjects(api_client, setting, path, model):
    body = {
        "class_group": setting["7A"].pk,
        "subject": setting["maths"].pk,
        "date": DAY,
        "title": "Fractions",
        "assigned_date": DAY,
        "due_date": DAY + datetime.timedelta(days=2),
        "max_score": "10",
    }

    refused = as_teacher(api_client, setting, "english").post(path, body, format="json")
    assert refused.status_code == 400
    assert list(refused.data) == ["subject"]
    assert not model.objects.exists()

    accepted = as_teacher(api_client, setting, "maths").post(path, body, format="json")
    assert accepted.status_code == 201, accepted.data
    assert model.objects.get().teacher == setting["teachers"]["maths"]


def test_a_teacher_records_the_daily_register_only_in_a_class_they_are_assigned_to(api_client, setting):
    body = {"class_group": setting["7A"].pk, "subject": None, "date": DAY, "period": 8}
    factories.LessonFactory(
        class_group=setting["7A"],
        subject=setting["maths"],
        teacher=setting["teachers"]["other_class"],
        date=DAY,
        period=1,
    )

    refused = as_teacher(api_client, setting, "other_class").post("/api/lessons/", body, format="json")
    assert (refused.status_code, list(refused.data)) == (400, ["class_group"])

    accepted = as_teacher(api_client, setting, "english").post("/api/lessons/", body, format="json")
    assert accepted.status_code == 201, accepted.data


def test_grades_and_submissions_of_another_subject_are_refused(api_client, setting):
    homework = factories.HomeworkFactory(
        class_group=setting["7A"], subject=setting["maths"], teacher=setting["teachers"]["maths"]
    )
    ungraded = factories.SubmissionFactory(homework=homework, student=setting["pupils"][0])
    graded = factories.SubmissionFactory(homework=homework, student=setting["pupils"][1])
    grade = factories.GradeFactory(submission=graded, score=Decimal("8"))
    english = as_teacher(api_client, setting, "english")

    assert english.post(f"/api/submissions/{ungraded.pk}/grade/", {"score": "5"}, "json").status_code == 403
    assert english.post(f"/api/submissions/{graded.pk}/grade/", {"score": "1"}, "json").status_code == 403
    assert english.delete(f"/api/submissions/{graded.pk}/grade/").status_code == 403
    third = factories.StudentFactory(school=setting["school"], class_group=setting["7A"])
    body = {"student": third.pk}
    assert english.post(f"/api/homework/{homework.pk}/submissions/", body, "json").status_code == 403
    # Reading stays open to a teacher of the class.
    assert english.get(f"/api/homework/{homework.pk}/submissions/").status_code == 200

    assert list(Grade.objects.values_list("pk", "score")) == [(grade.pk, Decimal("8"))]
    assert HomeworkSubmission.objects.count() == 2
    assert (
        not StudentTermPerformance.objects.filter(average_grade__isnull=False)
        .exclude(student=setting["pupils"][1])
        .exists()
    )

    maths = as_teacher(api_client, setting, "maths")
    assert maths.post(f"/api/submissions/{ungraded.pk}/grade/", {"score": "5"}, "json").status_code == 201
    assert maths.delete(f"/api/submissions/{graded.pk}/grade/").status_code == 204


def test_behaviour_scores_by_teachers_assigned_to_the_class_only(api_client, setting):
    pupil = setting["pupils"][0]
    url = f"/api/analytics/student/{pupil.pk}/behavior/"
    factories.LessonFactory(
        class_group=setting["7A"], subject=setting["maths"], teacher=setting["teachers"]["other_class"], date=DAY
    )

    refused = as_teacher(api_client, setting, "other_class").put(url, {"date": DAY, "score": 1}, format="json")
    assert refused.status_code == 403
    assert not StudentDailySummary.objects.filter(behavior_score__isnull=False).exists()

    accepted = as_teacher(api_client, setting, "english").put(url, {"date": DAY, "score": 4}, format="json")
    assert accepted.status_code == 200, accepted.data
    assert StudentDailySummary.objects.get(student=pupil, date=DAY).behavior_score == 4


def test_a_teacher_logs_messages_only_to_guardians_of_students_they_teach(api_client, setting):
    taught, untaught = (
        setting["pupils"][0],
        factories.StudentFactory(school=setting["school"], class_group=setting["7B"]),
    )
    parent = factories.GuardianFactory(school=setting["school"], students=[taught, untaught])
    stranger = factories.GuardianFactory(school=setting["school"], students=[untaught])
    maths = as_teacher(api_client, setting, "maths")
    body = {"channel": "phone", "subject": "Trip", "sent_at": "2026-09-10T10:00:00Z"}

    assert maths.post("/api/communications/", {**body, "recipient": stranger.pk}, "json").status_code == 400
    about_untaught = maths.post(
        "/api/communications/", {**body, "recipient": parent.pk, "student": untaught.pk}, "json"
    )
    assert (about_untaught.status_code, list(about_untaught.data)) == (400, ["student"])
    assert not Communication.objects.exists()

    about_taught = maths.post("/api/communications/", {**body, "recipient": parent.pk, "student": taught.pk}, "json")
    assert about_taught.status_code == 201, about_taught.data
    assert Communication.objects.get().student == taught
