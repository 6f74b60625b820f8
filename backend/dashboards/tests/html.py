"""Reading figures off a page: every element marked ``data-figure``, keyed by the nearest row or card."""

from html.parser import HTMLParser

SCOPES = ("data-student", "data-subject", "data-class", "data-school", "data-week", "data-teacher")
VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr", "area", "base", "embed", "track"}


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str | None, str | None]] = []  # (tag, scope, figure)
        self.figures: dict[tuple[str | None, str], str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attrs = dict(attrs)
        scope = next((f"{name[5:]}:{attrs[name]}" for name in SCOPES if name in attrs), None)
        self.stack.append((tag, scope, attrs.get("data-figure")))
        if attrs.get("data-figure"):
            self.text = []

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            open_tag, _, figure = self.stack.pop()
            if figure:
                scope = next((s for _, s, _ in reversed(self.stack) if s), None)
                self.figures[scope, figure] = " ".join("".join(self.text).split())
            if open_tag == tag:
                break

    def handle_data(self, data):
        self.text.append(data)


def figures(html: str) -> dict[tuple[str | None, str], str]:
    """(scope such as "student:12" or None, figure name) -> the figure's text on the page."""
    parser = _Figures()
    parser.feed(html)
    return parser.figures
