"""Every demo role's pages in a real Chromium (Playwright for Python driving the system's Chromium).

For each role: sign in through the page, the home shows the role's figures, every chart has drawn (a canvas
with painted pixels), no console error or uncaught exception, no failed request and no request to another
host, no horizontal scroll at 375 px, and the Tab key reaches every control. A screenshot of each page, 1280
and 375 px wide, is saved in docs/screenshots/ (SCREENSHOT_DIR to save them elsewhere).

Skipped, with the reason, when no Chromium is found (CHROMIUM, else `chromium` on the PATH) or Playwright is
not installed; with CI_REQUIRE_BROWSER=1 that skip is a failure instead (CI must run these).
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

# The host ReDoc's bundle fetches its logo from: blocked by the pages' Content-Security-Policy.
REDOC_LOGO_HOST = "cdn.redoc.ly"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or settings.PROJECT_DIR / "docs" / "screenshots")

PAINTED = """() => Array.from(document.querySelectorAll('canvas')).map(canvas => {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  return [canvas.dataset.chart, painted];
})"""
CONTROLS = """() => {
  const all = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary');
  const shown = Array.from(all).filter(
    el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden');
  shown.forEach((el, i) => el.setAttribute('data-kb', i));
  return shown.length;
}"""
OVERFLOW = "() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"


def _browser_missing() -> str | None:
    if not CHROMIUM:
        return "no Chromium found (apt-get install chromium, or set CHROMIUM): the browser tests are skipped"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: the browser tests are skipped"
    return None


@pytest.fixture(scope="module")
def chromium():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CI_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, so Django takes every ORM call of the test
    # for one made from async code; they are not (Django's documented switch for such tools).
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if allowed is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


@pytest.fixture
def demo(monkeypatch, settings):
    """The demo of `make demo` (a smaller school): its logins and its school, simulated up to now."""
    from simulation import demo as demo_module
    from simulation.services import DEMO_PASSWORD, demo_users_ensure

    monkeypatch.setattr(demo_module, "DEMO_STUDENTS", 60)
    monkeypatch.setattr(demo_module, "DEMO_WEEKS", 3)
    # Demo logins (a public password) are made only with DJANGO_DEBUG on, as `make demo` runs; the pages
    # are then served as in production (DEBUG off).
    settings.DEBUG = True
    school, _ = demo_module.demo_school_ensure(now=timezone.now())
    demo_module.demo_superuser_ensure()
    users = demo_users_ensure(school=school)
    settings.DEBUG = False
    return school, users, DEMO_PASSWORD


class Watch:
    """What a page did wrong: console errors, uncaught exceptions, failed requests, requests elsewhere."""

    def __init__(self, page, origin: str):
        self.problems: list[str] = []
        self.expected: set[tuple[int, str]] = set()  # (status, URL) of answers the test asked for
        self.answered: list[tuple[int, str]] = []

        def console(message):
            # Chromium logs every 4xx answer as an error; those the test asked for are checked in `response`.
            expected_answer = message.text.startswith("Failed to load resource") and any(
                answer in self.expected for answer in self.answered
            )
            if message.type == "error" and not expected_answer:
                self.problems.append(f"console: {message.text}")

        def response(answer):
            if answer.status >= 400:
                self.answered.append((answer.status, answer.url))
                if (answer.status, answer.url) not in self.expected:
                    self.problems.append(f"{answer.status}: {answer.url}")

        page.on("console", console)
        page.on("response", response)
        page.on("pageerror", lambda error: self.problems.append(f"exception: {error}"))
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url} ({request.failure})"))

        def request(request):
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}" != origin:
                self.problems.append(f"another host: {request.url}")

        page.on("request", request)


def check_page(page, name: str) -> list[str]:
    """Charts drawn, no horizontal scroll at 375 px, every control reached by Tab; screenshots saved."""
    problems = []
    page.wait_for_load_state("networkidle")
    for chart, painted in page.evaluate(PAINTED):
        if not painted:
            problems.append(f"{name}: chart {chart} is empty")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    count = page.evaluate(CONTROLS)
    reached = set()
    # Tab from the top of the page, whatever was focused or scrolled to before.
    page.evaluate(
        "() => { const start = document.createElement('span'); start.tabIndex = -1;"
        " document.body.prepend(start); start.focus(); }"
    )
    # A date input takes a Tab per part (day, month, year): allow a few presses more than controls.
    for _ in range(count * 2 + 5):
        page.keyboard.press("Tab")
        index = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('data-kb')")
        if index is not None:
            reached.add(int(index))
        if len(reached) == count:
            break
    if len(reached) < count:
        missed = page.evaluate(
            "(reached) => Array.from(document.querySelectorAll('[data-kb]'))"
            ".filter(el => !reached.includes(+el.dataset.kb)).map(el => el.outerHTML.slice(0, 80))",
            sorted(reached),
        )
        problems.append(f"{name}: Tab does not reach {missed}")

    width = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(150)  # the charts redraw at the new width
    if page.evaluate(OVERFLOW) > 0:
        problems.append(f"{name}: scrolls sideways at 375 px ({page.evaluate(OVERFLOW)} px)")
    for chart, painted in page.evaluate(PAINTED):
        if not painted:
            problems.append(f"{name}: chart {chart} is empty at 375 px")
    page.screenshot(path=SCREENSHOTS / f"{name}-375.png", full_page=True)
    page.set_viewport_size(width)
    return problems


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/sign-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def figure(page, name: str, scope: str = "") -> str:
    return page.locator(f"{scope} [data-figure='{name}']".strip()).first.inner_text().strip()


NUMBER = re.compile(r"^\d[\d,]*(\.\d\d)?%?$")
POSITION = re.compile(r"^\d+(st|nd|rd|th) of \d+$")


def test_every_demo_role_in_chromium(chromium, live_server, demo):
    from analytics import selectors

    school, users, password = demo
    base = live_server.url
    child = users["student"].student
    term = selectors.current_term(school=school)
    overview = selectors.student_overview(student=child, term=term)
    period = selectors.health_period(schools=[school], term=term)
    health = selectors.school_health(schools=[school], term=term, date_from=period[0], date_to=period[1])
    problems = []

    def visit(username, login_password, pages):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        watch = Watch(page, base)
        sign_in(page, base, username, login_password)
        for name, path, check in pages:
            if path:
                page.goto(f"{base}{path}")
            problems.extend(check(page, watch) or [])
            problems.extend(check_page(page, name))
        problems.extend(f"{username}: {problem}" for problem in watch.problems)
        context.close()

    def guardian_home(page, watch):
        assert page.url == f"{base}/children/"
        card = f"[data-student='{child.pk}']"
        assert figure(page, "overall-average", card) == f"{overview['overall']['average_grade']}%"
        assert POSITION.match(figure(page, "overall-position", card))

    def report(page, watch):
        assert figure(page, "overall-average") == f"{overview['overall']['average_grade']}%"
        assert POSITION.match(figure(page, "overall-position"))
        assert page.locator("canvas").count() == 5  # grades, attendance, homework, behaviour, position

    def teacher_home(page, watch):
        assert page.url == f"{base}/teacher/"
        assert page.locator("table.classes tbody tr").count() >= 1
        assert NUMBER.match(page.locator("table.classes [data-figure='attendance']").first.inner_text())
        assert page.locator("canvas").count() == 4

    def class_page(page, watch):
        page.click("table.classes a >> nth=0")
        page.wait_for_load_state("networkidle")
        assert re.search(r"/classes/\d+/$", page.url)
        assert NUMBER.match(figure(page, "attendance", "table.roster"))
        page.click("table.roster thead a:has-text('Attendance')")
        page.wait_for_load_state("networkidle")
        assert "sort=attendance" in page.url

    def teacher_input(page, watch):
        url = f"{base}/students/{child.pk}/report/"
        page.goto(url)
        # A day outside every term: refused by the same service as the API's, the error beside its field.
        watch.expected.add((400, url))
        page.fill("#id_behaviour-date", "2001-01-01")
        page.fill("#id_behaviour-score", "4")
        page.click("#behaviour button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "is not within any term" in page.locator("#id_behaviour-date_error").inner_text()
        assert page.locator(".field.has-error #id_behaviour-date").count() == 1
        day = overview["attendance_weekly"][0]["week_start"]  # a Monday of the term with roll calls
        page.fill("#id_behaviour-date", day.isoformat())
        page.fill("#id_behaviour-score", "5")
        page.click("#behaviour button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.url == f"{url}#behaviour"
        assert page.locator(".messages").inner_text() == "Behaviour score saved."
        assert [point["score"] for point in selectors.student_overview(student=child, term=term)["behavior"]
                if point["date"] == day] == [5]  # fmt: skip

    def admin_home(page, watch):
        assert page.url == f"{base}/schools/{school.pk}/health/"
        assert figure(page, "revenue") == f"{health['revenue']:,.2f}"
        assert figure(page, "attendance") == f"{health['attendance_rate']}%"
        assert page.locator("table.below tbody tr").count() == (health["low_attendance"]["students"] or 1)

    def operator_home(page, watch):
        assert page.url == f"{base}/schools/"
        assert figure(page, "attendance", f"[data-school='{school.pk}']") == f"{health['attendance_rate']}%"

    child_report = f"/students/{child.pk}/report/"
    visit(users["guardian"].username, password, [("guardian-children", None, guardian_home),
                                                 ("guardian-report", child_report, report)])  # fmt: skip
    visit(users["student"].username, password, [("student-report", None, report)])
    visit(users["teacher"].username, password, [("teacher-home", None, teacher_home),
                                                ("teacher-class", None, class_page),
                                                ("teacher-report-entry", None, teacher_input)])  # fmt: skip
    visit(users["admin"].username, password, [("admin-school-health", None, admin_home)])
    visit("admin", "admin", [("superuser-schools", None, operator_home)])

    assert not problems, "\n".join(problems)


def test_swagger_ui_and_redoc_load_everything_from_this_server(chromium, live_server):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page, base)
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_load_state("networkidle")
    assert "School analytics backend API" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto(f"{base}/api/redoc/")
    page.wait_for_selector("h1")
    page.wait_for_selector("text=API docs by Redocly")  # the sidebar with its off-site logo, which is blocked
    page.wait_for_load_state("networkidle")
    assert "School analytics backend API" in page.locator("h1").first.inner_text()
    context.close()
    # ReDoc's bundle asks for its logo from its maker's host; the page's policy blocks it in the browser, before
    # anything leaves (the request is seen, and fails as blocked). Anything else is a problem.
    blocked = [
        problem
        for problem in watch.problems
        if problem.startswith("failed: ")
        and problem.endswith(" (csp)")
        and urlsplit(problem.split()[1]).hostname == REDOC_LOGO_HOST
    ]
    assert blocked, watch.problems
    problems = [problem for problem in watch.problems if f"//{REDOC_LOGO_HOST}/" not in problem]
    assert not problems, "\n".join(problems)
