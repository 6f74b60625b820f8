"""The report card as a page and as PDF: what is printed (read back from the PDF with pypdf), who may download it,
and a look at the result (the first page as PNG in docs/screenshots/, shown in docs/report-cards.md)."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.shortcuts import resolve_url

from reportcards.tests.conftest import pdf_pages
from tests.factories import GuardianFactory, StudentFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

SCREENSHOT = Path(settings.PROJECT_DIR) / "docs" / "screenshots" / "report-card.png"


@pytest.fixture
def quick_pdf(monkeypatch):
    """Access tests need the answer's status, not the rendering (tested above): a stand-in PDF."""
    monkeypatch.setattr("reportcards.services.card_pdf", lambda **kwargs: b"%PDF-1.7 stand-in")


def card_url(student, term, pdf=True) -> str:
    return f"/reports/student/{student.pk}/term/{term.pk}/card{'.pdf' if pdf else '/'}"


def test_the_pdf_holds_bens_figures(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.ben.guardians.get().user).get(card_url(w.ben, w.term))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report-card-ben-bello-h002-term-1.pdf"'
    pages = pdf_pages(response.content)
    assert len(pages) == 1
    text = pages[0]
    for printed in (
        "Hillcrest",
        "Term report card",
        "Term 1, 7 Sep 2026 to 18 Dec 2026",
        "Ben Bello",
        "H002",
        "Grade 7A",
        # Overall average and position (labels are set in capitals by the stylesheet).
        "OVERALL AVERAGE 79.17% OVERALL POSITION 1st of 3",
        # Per subject: name, teacher, average, position, attendance (attended/counted), comment.
        "English Eve Ellis 83.33% 1st of 3 66.67% (2/3)",
        "Maths Mia Moss 75.00% 2nd of 3 75.00% (3/4) Strong start; hand homework in on time.",
        # Days by status, then the lessons' attendance of the term.
        "PRESENT 4 OF WHICH LATE 2 ABSENT 1 EXCUSED 0 LESSONS ATTENDED 71.43%",
        "Due 4 Handed in on time 2 Handed in late 1 Missing 1 Completion (on time) 50.00%",
        "Days scored 2 Average score (scale 1 to 5) 3.0 Lowest / highest 2 / 4",
        "Class teacher's remarks",
        "Head's remarks",
        "Signature",
        "Printed on 23 Sep 2026",
        "Figures as of 23 Sep 2026, 09:00 (Africa/Nairobi)",
    ):
        assert printed in text, printed


def test_the_page_is_the_same_card_with_a_download_link(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.admin.user).get(card_url(w.ben, w.term, pdf=False))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert f'href="{card_url(w.ben, w.term)}"' in page
    assert "@page { size: A4" in page
    assert "@media print" in page
    assert "Strong start; hand homework in on time." in page
    assert "83.33%" in page


def test_the_page_sends_someone_signed_out_to_sign_in(hillcrest, api_client):
    response = api_client.get(card_url(hillcrest.ben, hillcrest.term, pdf=False))

    assert response.status_code == 302
    # LOGIN_URL is the pages' sign-in by its URL name: the page sends the visitor there, coming back after.
    assert (
        response["Location"]
        == f"{resolve_url(settings.LOGIN_URL)}?next={card_url(hillcrest.ben, hillcrest.term, pdf=False)}"
    )


def test_the_pdf_refuses_someone_signed_out(hillcrest, api_client):
    assert api_client.get(card_url(hillcrest.ben, hillcrest.term)).status_code in (401, 403)


@pytest.mark.parametrize("pdf", [True, False])
@pytest.mark.parametrize(
    ("who", "own", "other"),
    [
        # (role, status for a student in scope, status for a student out of scope)
        ("guardian", 200, 404),
        ("teacher", 200, 404),
        ("admin", 200, 404),
        ("student", 200, 404),
        ("superuser", 200, 200),
        ("no role", 404, 404),
    ],
)
def test_access_matrix(hillcrest, client_of, quick_pdf, who, own, other, pdf):
    """Own: Ben (the guardian's child, in the teacher's class, at the admin's school; the student is Ben).
    Other: a student of another school (for the guardian and teacher also Ann, who is not theirs)."""
    w = hillcrest
    elsewhere = StudentFactory()
    elsewhere_term = elsewhere.school.terms.create(name="T", start_date=w.term.start_date, end_date=w.term.end_date)
    ben_user = UserFactory()
    w.ben.user = ben_user
    w.ben.save(update_fields=["user"])
    user = {
        "guardian": w.ben.guardians.get().user,
        "teacher": w.moss.user,
        "admin": w.admin.user,
        "student": ben_user,
        "superuser": UserFactory(is_superuser=True, is_staff=True),
        "no role": UserFactory(),
    }[who]
    client = client_of(user)

    assert client.get(card_url(w.ben, w.term, pdf)).status_code == own
    assert client.get(card_url(elsewhere, elsewhere_term, pdf)).status_code == other
    if who in ("guardian", "student"):
        assert client.get(card_url(w.ann, w.term, pdf)).status_code == 404


def test_a_teacher_of_another_class_gets_404(hillcrest, client_of, quick_pdf):
    w = hillcrest
    stranger = TeacherFactory(school=w.school)

    assert client_of(stranger.user).get(card_url(w.ben, w.term)).status_code == 404


def test_a_term_of_another_school_or_none_is_404(hillcrest, client_of, quick_pdf):
    w = hillcrest
    other = StudentFactory()
    other_term = other.school.terms.create(name="T", start_date=w.term.start_date, end_date=w.term.end_date)
    client = client_of(w.admin.user)

    assert client.get(card_url(w.ben, other_term)).status_code == 404
    assert client.get(f"/reports/student/{w.ben.pk}/term/999999/card.pdf").status_code == 404
    assert client.get(f"/reports/student/999999/term/{w.term.pk}/card.pdf").status_code == 404


def test_a_guardian_of_two_children_gets_both(hillcrest, client_of, quick_pdf):
    w = hillcrest
    parent = GuardianFactory(school=w.school, students=[w.ann, w.cat])
    client = client_of(parent.user)

    assert client.get(card_url(w.ann, w.term)).status_code == 200
    assert client.get(card_url(w.cat, w.term)).status_code == 200
    assert client.get(card_url(w.ben, w.term)).status_code == 404


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_first_page_as_png_for_the_docs(hillcrest, client_of, tmp_path):
    """Writes docs/screenshots/report-card.png: Ben's card as a parent downloads it."""
    w = hillcrest
    pdf = client_of(w.ben.guardians.get().user).get(card_url(w.ben, w.term)).content
    (tmp_path / "card.pdf").write_bytes(pdf)

    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "card.pdf", "card"],  # noqa: S607
        cwd=tmp_path,
        check=True,
    )

    png = (tmp_path / "card.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png)


def test_card_downloads_share_the_analytics_rate_limit(hillcrest, client_of, quick_pdf, monkeypatch):
    """Each card is a fraction of a second of rendering: the analytics scope's rate applies (per user)."""
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": "2/minute"})
    w = hillcrest
    client = client_of(w.admin.user)

    statuses = [client.get(card_url(w.cat, w.term, pdf=False)).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert client.get(card_url(w.cat, w.term)).status_code == 429
