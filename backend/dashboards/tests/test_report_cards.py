"""The report-card forms of the pages: school health starts the school's archive, the class page the class's
PDF (the API's job, run inline without a broker), and the page then shows the job's progress and download link."""

import io
import re
import zipfile

import pytest
from django.test import Client

from reportcards.models import ReportCardJob
from reportcards.tests.conftest import pdf_pages
from tests.factories import ClassGroupFactory, SchoolAdminFactory, SchoolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def report_cards_dir(settings, tmp_path):
    settings.REPORT_CARDS_DIR = tmp_path / "reportcards"
    return settings.REPORT_CARDS_DIR


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def form_of(html: str, action: str) -> dict:
    form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', html, re.S)
    assert form, action
    return dict(re.findall(r'name="([\w-]+)" value="([^"]*)"', form[1]))


def download_link(html: str) -> str:
    return re.search(r'<a href="([^"]+)" data-download>', html)[1]


def test_school_health_form_starts_the_schools_cards_and_shows_the_download(
    hillcrest, django_capture_on_commit_callbacks
):
    w = hillcrest
    client = csrf_client(w.admin.user)
    page_url = f"/schools/{w.school.pk}/health/"
    action = f"/schools/{w.school.pk}/report-cards/"
    html = client.get(page_url).content.decode()
    assert "data-download" not in html  # no job yet
    fields = form_of(html, action)
    assert fields["term"] == str(w.term.pk)

    assert client.post(action, {"term": w.term.pk}).status_code == 403  # no CSRF token
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action, fields)
    assert response.status_code == 302
    assert response["Location"] == f"{page_url}?term={w.term.pk}#report-cards"

    job = ReportCardJob.objects.get()
    assert (job.school, job.term, job.class_group, job.requested_by) == (w.school, w.term, None, w.admin.user)
    assert (job.status, job.done, job.total) == ("SUCCEEDED", 3, 3)

    html = client.get(response["Location"]).content.decode()
    assert f'data-job="{job.pk}" data-status="SUCCEEDED"' in html and "3 of 3 cards" in html
    link = download_link(html)
    assert link == f"/api/reportcards/jobs/{job.pk}/download/"
    archive = client.get(link)
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))) as bundle:
        assert bundle.namelist() == ["hillcrest-term-1-grade-7a.pdf"]
        pages = pdf_pages(bundle.read("hillcrest-term-1-grade-7a.pdf"))
    # One card per student, in the class's order (Abara, Bello, Chege).
    names = [next(name for name in ("Ann Abara", "Ben Bello", "Cat Chege") if name in page) for page in pages]
    assert names == sorted(names) and set(names) == {"Ann Abara", "Ben Bello", "Cat Chege"}


def test_a_job_in_progress_shows_its_progress(hillcrest):
    w = hillcrest
    job = ReportCardJob.objects.create(
        school=w.school, term=w.term, requested_by=w.admin.user, status="RUNNING", done=1, total=3
    )
    html = csrf_client(w.admin.user).get(f"/schools/{w.school.pk}/health/").content.decode()
    assert f'data-job="{job.pk}" data-status="RUNNING"' in html
    assert '<progress max="3" value="1">' in html and "data-download" not in html


def test_class_page_form_starts_the_class_pdf(hillcrest, django_capture_on_commit_callbacks):
    w = hillcrest
    client = csrf_client(w.moss.user)
    page_url = f"/classes/{w.klass.pk}/"
    action = f"/classes/{w.klass.pk}/report-cards/"
    fields = form_of(client.get(page_url).content.decode(), action)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action, fields)
    assert response.status_code == 302

    job = ReportCardJob.objects.get()
    assert (job.class_group, job.status, job.done, job.total) == (w.klass, "SUCCEEDED", 3, 3)
    link = download_link(client.get(response["Location"]).content.decode())
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    pages = pdf_pages(b"".join(pdf.streaming_content))
    assert "Ann Abara" in pages[0] and "Cat Chege" in pages[-1]
    # The school's admin sees the class's job on the class page too (an admin sees every job of the school).
    assert f"/api/reportcards/jobs/{job.pk}/download/" in csrf_client(w.admin.user).get(page_url).content.decode()


def test_report_card_forms_refuse_bad_input_and_other_scopes(hillcrest):
    w = hillcrest
    admin = csrf_client(w.admin.user)
    admin.get(f"/schools/{w.school.pk}/health/")
    token = admin.cookies["csrftoken"].value

    def post(client, url, data):
        return client.post(url, {**data, "csrfmiddlewaretoken": token})

    for term in ("", "abc", "999999"):
        response = post(admin, f"/schools/{w.school.pk}/report-cards/", {"term": term})
        assert response.status_code == 400
        assert "<strong>term</strong>" in response.content.decode()
    other = SchoolFactory(name="Lakeside")
    other_term = other.terms.create(name="Term 1", start_date=w.term.start_date, end_date=w.term.end_date)
    assert post(admin, f"/schools/{w.school.pk}/report-cards/", {"term": other_term.pk}).status_code == 400
    assert post(admin, f"/schools/{other.pk}/report-cards/", {"term": other_term.pk}).status_code == 404
    other_class = ClassGroupFactory(school=other)
    assert post(admin, f"/classes/{other_class.pk}/report-cards/", {"term": other_term.pk}).status_code == 404
    assert admin.get(f"/schools/{w.school.pk}/report-cards/").status_code == 405

    teacher = csrf_client(w.moss.user)
    teacher.get(f"/classes/{w.klass.pk}/")
    token = teacher.cookies["csrftoken"].value
    assert post(teacher, f"/schools/{w.school.pk}/report-cards/", {"term": w.term.pk}).status_code == 403
    lakeside_admin = csrf_client(SchoolAdminFactory(school=other).user)
    lakeside_admin.get(f"/schools/{other.pk}/health/")
    token = lakeside_admin.cookies["csrftoken"].value
    assert post(lakeside_admin, f"/classes/{w.klass.pk}/report-cards/", {"term": w.term.pk}).status_code == 404
    assert ReportCardJob.objects.count() == 0
