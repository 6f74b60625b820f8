"""The bulk report-card jobs over the API: start (POST), progress (GET), download; who may do what."""

import io
import zipfile

import pytest
from django.urls import reverse

from reportcards.models import ReportCardJob
from reportcards.services import report_card_job_run
from reportcards.tests.conftest import pdf_pages
from tests.admin_forms import admin_url
from tests.factories import ClassGroupFactory, SchoolAdminFactory, StudentFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

JOBS = "/api/reportcards/jobs/"


def start(client, payload, capture):
    with capture(execute=True):
        return client.post(JOBS, payload, format="json")


def test_an_admin_gets_the_schools_archive(hillcrest, client_of, django_capture_on_commit_callbacks):
    w = hillcrest
    client = client_of(w.admin.user)

    response = start(client, {"term": w.term.pk}, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.data
    assert (response.json()["status"], response.json()["total"]) == ("QUEUED", 3)
    # No broker: the job ran inline once the request's transaction committed.
    job = client.get(f"{JOBS}{response.json()['id']}/").json()
    assert {key: job[key] for key in ("school", "term", "class_group", "status", "done", "total", "error")} == {
        "school": w.school.pk,
        "term": w.term.pk,
        "class_group": None,
        "status": "SUCCEEDED",
        "done": 3,
        "total": 3,
        "error": "",
    }
    assert job["download_url"] == f"http://testserver{JOBS}{job['id']}/download/"

    download = client.get(f"{JOBS}{job['id']}/download/")

    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == 'attachment; filename="hillcrest-term-1.zip"'
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as bundle:
        assert bundle.namelist() == ["hillcrest-term-1-grade-7a.pdf"]
        pages = pdf_pages(bundle.read("hillcrest-term-1-grade-7a.pdf"))
    assert [page.split(" STUDENT NUMBER ")[0].split("STUDENT ")[-1] for page in pages] == [
        "Ann Abara",
        "Ben Bello",
        "Cat Chege",
    ]


def test_a_teacher_gets_a_class_they_teach(hillcrest, client_of, django_capture_on_commit_callbacks):
    w = hillcrest
    client = client_of(w.moss.user)

    response = start(client, {"term": w.term.pk, "class_group": w.klass.pk}, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.data
    job = client.get(f"{JOBS}{response.json()['id']}/").json()
    assert (job["status"], job["done"], job["total"], job["class_group"]) == ("SUCCEEDED", 3, 3, w.klass.pk)
    download = client.get(f"{JOBS}{job['id']}/download/")
    assert download["Content-Type"] == "application/pdf"
    assert len(pdf_pages(b"".join(download.streaming_content))) == 3


@pytest.mark.parametrize(
    ("who", "payload", "field"),
    [
        ("teacher", {"term": "{term}"}, "class_group"),  # a teacher prints classes, not the school
        ("teacher", {"term": "{term}", "class_group": "{other_class}"}, "class_group"),  # not taught
        ("admin", {"term": "{term}", "class_group": "{foreign_class}"}, "class_group"),  # another school's
        ("admin", {"term": "{term}", "school": "{foreign_school}"}, "school"),
        ("admin", {"term": "{foreign_term}"}, "term"),
        ("admin", {"term": "999999"}, "term"),
        ("admin", {}, "term"),
        ("admin", {"term": "x"}, "term"),
        ("admin", {"term": "{term}", "class_group": "0"}, "class_group"),
        ("admin", {"term": "{term}", "class_group": "{klass}", "school": "{foreign_school}"}, "school"),
        ("superuser", {"term": "{term}"}, "school"),  # every school is theirs: which one?
    ],
)
def test_bad_requests_are_400_naming_the_field_and_start_nothing(hillcrest, client_of, who, payload, field):
    w = hillcrest
    foreign = StudentFactory()
    foreign_term = foreign.school.terms.create(name="T", start_date=w.term.start_date, end_date=w.term.end_date)
    ids = {
        "term": w.term.pk,
        "klass": w.klass.pk,
        "other_class": ClassGroupFactory(school=w.school).pk,
        "foreign_class": foreign.class_group_id,
        "foreign_school": foreign.school_id,
        "foreign_term": foreign_term.pk,
    }
    user = {"teacher": w.moss.user, "admin": w.admin.user, "superuser": UserFactory(is_superuser=True)}[who]

    response = client_of(user).post(JOBS, {key: value.format(**ids) for key, value in payload.items()}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not ReportCardJob.objects.exists()


def test_a_superuser_names_the_school(hillcrest, client_of, django_capture_on_commit_callbacks):
    w = hillcrest
    client = client_of(UserFactory(is_superuser=True))

    response = start(client, {"term": w.term.pk, "school": w.school.pk}, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert response.json()["total"] == 3


@pytest.mark.parametrize("who", ["guardian", "student", "no role"])
def test_only_teachers_and_admins_start_jobs(hillcrest, client_of, who):
    w = hillcrest
    user = {
        "guardian": w.ben.guardians.get().user,
        "student": UserFactory(),
        "no role": UserFactory(),
    }[who]
    if who == "student":
        w.ben.user = user
        w.ben.save(update_fields=["user"])

    response = client_of(user).post(JOBS, {"term": w.term.pk, "class_group": w.klass.pk}, format="json")

    assert response.status_code == 403
    assert not ReportCardJob.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("the teacher who started it", 200),
        ("the school's admin", 200),
        ("a superuser", 200),
        ("another teacher of the school", 404),
        ("an admin of another school", 404),
        ("the guardian", 403),
    ],
)
def test_download_access_matrix(hillcrest, client_of, report_cards_dir, who, status):
    """Status and download of a finished job started by Moss for his class: role x own / other."""
    w = hillcrest
    job = ReportCardJob.objects.create(
        school=w.school,
        term=w.term,
        class_group=w.klass,
        requested_by=w.moss.user,
        status=ReportCardJob.Status.SUCCEEDED,
        file_name="job-1/cards.pdf",
    )
    (report_cards_dir / "job-1").mkdir(parents=True)
    (report_cards_dir / "job-1" / "cards.pdf").write_bytes(b"%PDF-1.7 stand-in")
    job = {"id": job.pk}
    user = {
        "the teacher who started it": w.moss.user,
        "the school's admin": w.admin.user,
        "a superuser": UserFactory(is_superuser=True),
        "another teacher of the school": TeacherFactory(school=w.school).user,
        "an admin of another school": SchoolAdminFactory().user,
        "the guardian": w.ben.guardians.get().user,
    }[who]
    client = client_of(user)

    assert client.get(f"{JOBS}{job['id']}/").status_code == status
    assert client.get(f"{JOBS}{job['id']}/download/").status_code == status


def test_download_before_the_job_finished_is_409(hillcrest, client_of):
    w = hillcrest
    job = ReportCardJob.objects.create(school=w.school, term=w.term, class_group=w.klass, requested_by=w.admin.user)
    client = client_of(w.admin.user)

    status = client.get(f"{JOBS}{job.pk}/").json()
    response = client.get(f"{JOBS}{job.pk}/download/")

    assert (status["status"], status["done"], status["download_url"]) == ("QUEUED", 0, None)
    assert response.status_code == 409
    assert response.json()["status"] == "QUEUED"


def test_a_job_of_nothing_404(hillcrest, client_of):
    client = client_of(hillcrest.admin.user)

    assert client.get(f"{JOBS}999999/").status_code == 404
    assert client.get(f"{JOBS}999999/download/").status_code == 404


# --- the admin ------------------------------------------------------------------------------------


def test_the_admin_lists_jobs_read_only_with_a_download_link(hillcrest, client, report_cards_dir):
    w = hillcrest
    done = ReportCardJob.objects.create(school=w.school, term=w.term, class_group=w.klass, requested_by=w.moss.user)
    report_card_job_run(job_id=done.pk)
    queued = ReportCardJob.objects.create(school=w.school, term=w.term, requested_by=w.admin.user, total=3)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = admin_url(ReportCardJob, "changelist")

    page = client.get(changelist)

    assert page.status_code == 200
    rows = {row.pk: row for row in page.context["cl"].result_list}
    assert set(rows) == {done.pk, queued.pk}
    html = page.content.decode()
    download = reverse("report-card-job-download", kwargs={"job_id": done.pk})
    assert f'<a href="{download}">hillcrest-term-1-grade-7a.pdf</a>' in html
    assert html.count("/download/") == 1  # the queued job has no file yet
    assert "3/3" in html and "0/3" in html and "(whole school)" in html
    # The superuser's link answers with the file.
    assert client.get(download)["Content-Type"] == "application/pdf"
    # Read-only: no adding, changing or deleting here.
    assert page.context["has_add_permission"] is False
    assert client.get(admin_url(ReportCardJob, "add")).status_code == 403
    change = client.get(admin_url(ReportCardJob, "change", queued.pk))
    assert (change.status_code, change.context["has_change_permission"]) == (200, False)
    assert client.post(admin_url(ReportCardJob, "change", queued.pk), {"status": "FAILED"}).status_code == 403
    assert client.get(admin_url(ReportCardJob, "delete", queued.pk)).status_code == 403
    assert ReportCardJob.objects.get(pk=queued.pk).status == ReportCardJob.Status.QUEUED


def test_the_admin_jobs_are_for_superusers_only(hillcrest, client):
    w = hillcrest
    w.admin.user.is_staff = True  # a school's staff, even with the model's permissions
    w.admin.user.save()
    client.force_login(w.admin.user)
    response = client.get(admin_url(ReportCardJob, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
