import pytest

from communication.models import Communication
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(class_group):
    return factories.StudentFactory(school=class_group.school, class_group=class_group)


@pytest.fixture
def guardian(school, child):
    return factories.GuardianFactory(school=school, students=[child])


def test_a_teacher_logs_a_call_to_a_guardian_about_their_child(api_client, teacher, guardian, child):
    api_client.force_authenticate(teacher.user)
    body = {"recipient": guardian.pk, "student": child.pk, "channel": "phone", "subject": "Absences"}

    response = api_client.post("/api/communications/", body, format="json")

    assert response.status_code == 201, response.data
    logged = Communication.objects.get()
    assert (logged.school, logged.sender, logged.recipient, logged.student, logged.channel) == (
        guardian.school,
        teacher.user,
        guardian,
        child,
        "phone",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": "guardian of another school"}, "recipient"),
        ({"student": "not their child"}, "student"),
        ({"student": "child of another class"}, "student"),
        ({"channel": "pigeon"}, "channel"),
        ({"subject": ""}, "subject"),
        ({"sent_at": "yesterday"}, "sent_at"),
    ],
)
def test_bad_communications_are_refused_naming_the_field(api_client, teacher, guardian, child, change, field):
    school = guardian.school
    references = {
        "guardian of another school": lambda: factories.GuardianFactory().pk,
        "not their child": lambda: factories.StudentFactory(school=school, class_group=child.class_group).pk,
        "child of another class": lambda: _child_of_another_class(guardian).pk,
    }
    body = {"recipient": guardian.pk, "student": child.pk, "channel": "email", "subject": "Progress"}
    body.update({key: references[value]() if value in references else value for key, value in change.items()})
    api_client.force_authenticate(teacher.user)

    response = api_client.post("/api/communications/", body, format="json")

    assert response.status_code == 400
    assert list(response.data) == [field]
    assert not Communication.objects.exists()


def _child_of_another_class(guardian):
    sibling = factories.StudentFactory(school=guardian.school)
    guardian.students.add(sibling)
    return sibling


def test_a_teacher_sees_what_they_sent_and_what_concerns_their_students(api_client, teacher, guardian, child):
    school = guardian.school
    sent = factories.CommunicationFactory(school=school, sender=teacher.user, recipient=guardian)
    about_child = factories.CommunicationFactory(school=school, recipient=guardian, student=child)
    factories.CommunicationFactory(school=school, recipient=guardian)
    api_client.force_authenticate(teacher.user)

    response = api_client.get("/api/communications/")

    assert response.status_code == 200
    assert {c["id"] for c in response.data["results"]} == {sent.pk, about_child.pk}


def test_an_admin_sees_the_log_of_their_school_only(api_client, school_admin, guardian):
    ours = factories.CommunicationFactory(school=guardian.school, recipient=guardian)
    factories.CommunicationFactory()
    api_client.force_authenticate(school_admin.user)

    response = api_client.get("/api/communications/")

    assert [c["id"] for c in response.data["results"]] == [ours.pk]


def test_guardians_may_not_use_the_log(api_client, guardian):
    api_client.force_authenticate(guardian.user)

    assert api_client.get("/api/communications/").status_code == 403
    assert api_client.post("/api/communications/", {}, format="json").status_code == 403
