import pytest

from attendance.models import Lesson
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_teacher_creates_a_lesson_of_their_own_for_a_class_they_teach(api_client, teacher, class_group):
    api_client.force_authenticate(teacher.user)

    response = api_client.post(
        "/api/lessons/", {"class_group": class_group.pk, "date": "2026-09-08", "period": 2}, format="json"
    )

    assert response.status_code == 201, response.data
    lesson = Lesson.objects.get()
    assert (lesson.class_group, lesson.teacher, str(lesson.date), lesson.period) == (
        class_group,
        teacher,
        "2026-09-08",
        2,
    )
    assert response.data == {
        "id": lesson.pk,
        "class_group": class_group.pk,
        "subject": None,
        "teacher": teacher.pk,
        "date": "2026-09-08",
        "period": 2,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "2027-01-04"}, "date"),
        ({"date": "not a date"}, "date"),
        ({"class_group": "another class"}, "class_group"),
        ({"teacher": "a colleague"}, "teacher"),
        ({"subject": "a subject of another school"}, "subject"),
        ({"period": -1}, "period"),
    ],
)
def test_bad_lessons_are_refused_naming_the_field(api_client, teacher, class_group, change, field):
    school = class_group.school
    references = {
        "another class": lambda: factories.ClassGroupFactory(school=school).pk,
        "a colleague": lambda: factories.TeacherFactory(school=school).pk,
        "a subject of another school": lambda: factories.SubjectFactory().pk,
    }
    body = {"class_group": class_group.pk, "date": "2026-09-08"}
    body.update({key: references[value]() if value in references else value for key, value in change.items()})
    api_client.force_authenticate(teacher.user)

    response = api_client.post("/api/lessons/", body, format="json")

    assert response.status_code == 400
    assert list(response.data) == [field]
    assert not Lesson.objects.exists()


def test_the_same_period_twice_is_refused(api_client, teacher, class_group):
    factories.LessonFactory(class_group=class_group, teacher=teacher, date=factories.TERM_START, period=1)
    api_client.force_authenticate(teacher.user)

    response = api_client.post(
        "/api/lessons/", {"class_group": class_group.pk, "date": str(factories.TERM_START), "period": 1}, format="json"
    )

    assert response.status_code == 400
    assert list(response.data) == ["non_field_errors"]
    assert Lesson.objects.count() == 1


def test_an_admin_names_the_teacher(api_client, school_admin, teacher, class_group):
    api_client.force_authenticate(school_admin.user)
    body = {"class_group": class_group.pk, "date": "2026-09-08"}

    missing = api_client.post("/api/lessons/", body, format="json")
    named = api_client.post("/api/lessons/", {**body, "teacher": teacher.pk}, format="json")

    assert missing.status_code == 400
    assert missing.data == {"teacher": ["This field is required."]}
    assert named.status_code == 201
    assert Lesson.objects.get().teacher == teacher


def test_lessons_are_listed_within_scope(api_client, teacher, class_group):
    mine = factories.LessonFactory(class_group=class_group, teacher=teacher)
    factories.LessonFactory(class_group=factories.ClassGroupFactory(school=class_group.school))
    api_client.force_authenticate(teacher.user)

    response = api_client.get("/api/lessons/")

    assert response.status_code == 200
    assert [lesson["id"] for lesson in response.data["results"]] == [mine.pk]


def test_students_may_not_list_lessons(api_client, class_group):
    student = factories.StudentFactory(school=class_group.school, class_group=class_group, user=factories.UserFactory())
    api_client.force_authenticate(student.user)

    assert api_client.get("/api/lessons/").status_code == 403
