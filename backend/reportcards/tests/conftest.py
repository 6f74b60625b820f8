import io

import pytest
from pypdf import PdfReader

# The hand-worked Hillcrest school of the analytics API tests (its figures are worked out in that module's
# docstring): the report cards must print the same figures as the API.
from analytics.tests.test_api_content import client_of, frozen, hillcrest  # noqa: F401


@pytest.fixture(autouse=True)
def report_cards_dir(settings, tmp_path):
    settings.REPORT_CARDS_DIR = tmp_path / "reportcards"
    return settings.REPORT_CARDS_DIR


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page of a PDF, whitespace runs folded to one space."""
    reader = PdfReader(io.BytesIO(content))
    return [" ".join(page.extract_text().split()) for page in reader.pages]
