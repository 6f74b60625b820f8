import datetime

import pytest

from schools.models import AcademicTerm, ClassGroup, Guardian, School, Student, Subject, Teacher
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db


def post_add(client, model, values: dict):
    return post_changeform(client, admin_url(model, "add"), values)


def test_an_office_sets_up_a_school(admin_client):
    """School, term, class, subject, teacher (user first), student and guardian, each from its add page."""
    response = post_add(admin_client, School, {"name": "Hillside", "timezone": "Africa/Nairobi"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    school = School.objects.get(name="Hillside")
    term = {"school": school.pk, "name": "Term 1", "start_date": "2026-01-05", "end_date": "2026-04-02"}
    assert post_add(admin_client, AcademicTerm, term).status_code == 302
    assert (
        post_add(admin_client, ClassGroup, {"school": school.pk, "name": "Grade 7B", "grade_level": 7}).status_code
        == 302
    )
    assert post_add(admin_client, Subject, {"school": school.pk, "name": "Mathematics"}).status_code == 302
    users = [factories.UserFactory(username=name) for name in ("teacher", "parent")]
    assert post_add(admin_client, Teacher, {"school": school.pk, "user": users[0].pk}).status_code == 302
    student = {
        "school": school.pk,
        "class_group": ClassGroup.objects.get(name="Grade 7B").pk,
        "first_name": "Amina",
        "last_name": "Otieno",
        "student_number": "H001",
        "active": True,
    }
    assert post_add(admin_client, Student, student).status_code == 302
    amina = Student.objects.get(student_number="H001")
    guardian = {"school": school.pk, "user": users[1].pk, "students": [amina.pk]}
    assert post_add(admin_client, Guardian, guardian).status_code == 302
    assert list(Guardian.objects.get(user=users[1]).students.all()) == [amina]
    assert school.terms.get().end_date == datetime.date(2026, 4, 2)
    assert Teacher.objects.get(user=users[0]).school == school


def test_an_overlapping_term_is_refused_and_nothing_is_written(admin_client):
    term = factories.TermFactory()
    overlapping = {
        "school": term.school.pk,
        "name": "Overlap",
        "start_date": str(term.end_date - datetime.timedelta(days=3)),
        "end_date": str(term.end_date + datetime.timedelta(days=60)),
    }
    response = post_add(admin_client, AcademicTerm, overlapping)
    assert response.status_code == 200
    assert "overlaps" in str(response.context["adminform"].form.errors["start_date"])
    assert AcademicTerm.objects.count() == 1


def test_a_guardian_cannot_be_given_a_child_of_another_school(admin_client):
    guardian = factories.GuardianFactory()
    stranger = factories.StudentFactory()
    response = post_add(
        admin_client,
        Guardian,
        {"school": guardian.school.pk, "user": factories.UserFactory().pk, "students": [stranger.pk]},
    )
    assert response.status_code == 200
    assert "students" in response.context["adminform"].form.errors
    assert Guardian.objects.count() == 1


def test_teaching_assignments_are_entered_on_the_saved_teacher(admin_client):
    assignment = factories.TeachingAssignmentFactory()
    add_page = admin_client.get(admin_url(Teacher, "add"))
    assert add_page.context["inline_admin_formsets"] == []
    other_school_class = factories.ClassGroupFactory()
    response = post_changeform(
        admin_client,
        admin_url(Teacher, "change", assignment.teacher.pk),
        {"assignments-1-class_group": other_school_class.pk, "assignments-1-subject": assignment.subject.pk},
    )
    assert response.status_code == 200
    assert "same school" in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert assignment.teacher.assignments.count() == 1
