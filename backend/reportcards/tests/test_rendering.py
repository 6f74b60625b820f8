"""The PDF renderer's shortcuts (the card's stylesheet parsed once, WeasyPrint's default stylesheet without the
pseudo-element rules a card never uses) change nothing on the page."""

import pytest
import weasyprint
from django.conf import settings
from weasyprint.formatting_structure import boxes

from reportcards import selectors, services

pytestmark = pytest.mark.django_db


def page_boxes(document) -> list[list[tuple]]:
    """Each page's boxes: kind, position, size and text, rounded to a hundredth of a CSS pixel."""
    pages = []
    for page in document.pages:
        pages.append(
            [
                (
                    type(box).__name__,
                    *(round(value, 2) for value in (box.position_x, box.position_y, box.width, box.height)),
                    box.text if isinstance(box, boxes.TextBox) else None,
                )
                for box in page._page_box.descendants()
            ]
        )
    return pages


def test_the_lean_renderer_lays_a_card_out_as_weasyprint_does(hillcrest):
    w = hillcrest
    card = selectors.report_card_data(student=w.ben, term=w.term)
    # WeasyPrint's defaults, the styles inside the page: what the page's print view gets.
    reference = weasyprint.HTML(string=services.cards_html(cards=[card], title="t"), base_url=str(settings.BASE_DIR))

    lean = services._render(services.cards_html(cards=[card], title="t", for_pdf=True))

    expected = page_boxes(reference.render())
    assert len(expected) == 1
    assert len(expected[0]) > 100  # the whole card, not an empty page
    assert page_boxes(lean) == expected


def universal_pseudo_elements(stylesheet) -> set[str]:
    """The pseudo-elements a stylesheet gives every element (selectors not tied to a tag, class or id)."""
    return {pseudo for _, _, _, pseudo, _ in stylesheet.matcher.other_selectors if pseudo}


def test_the_default_stylesheet_is_replaced_where_weasyprint_reads_it():
    # The shortcut overrides a method of WeasyPrint's HTML; a WeasyPrint without it would silently render at
    # the old speed.
    (default,) = weasyprint.HTML(string="<p>x</p>")._ua_stylesheets()
    (lean,) = services._Renderer().html_class(string="<p>x</p>")._ua_stylesheets()

    assert universal_pseudo_elements(default) >= {"marker", "footnote-call", "footnote-marker", "note-call"}
    assert universal_pseudo_elements(lean) == set()
    assert "marker" in [pseudo for *_, pseudo, _ in lean.matcher.lower_local_name_selectors["li"]]
