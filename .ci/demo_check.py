"""After `make demo-setup`, with the demo served: ask each analytics endpoint with the printed demo logins, and
download report cards (a guardian their child's, the admin the school's archive).

Usage: demo_check.py BASE_URL [--print]. Exits non-zero on any failure.
"""

import json
import sys
import urllib.parse
import urllib.request

PASSWORD = "demo1234"  # noqa: S105 (the demo's public password)


def fetch(url: str, *, token: str | None = None, data: dict | None = None, timeout: int = 60) -> bytes:
    body = urllib.parse.urlencode(data).encode() if data else None
    request = urllib.request.Request(url, data=body)  # noqa: S310 (a local URL given by CI)
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.read()


def call(url: str, *, token: str | None = None, data: dict | None = None, timeout: int = 60) -> dict:
    return json.loads(fetch(url, token=token, data=data, timeout=timeout))


def sign_in(base: str, username: str, password: str) -> tuple[str, str]:
    """Sign in through the sign-in page (CSRF token and cookies as a browser); the URL landed on and its page."""
    import http.cookiejar
    import re

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(f"{base}/", timeout=60).read().decode()  # signed out: the sign-in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(f"{base}/sign-in/?next=/", data=body.encode())  # noqa: S310
    request.add_header("Referer", f"{base}/sign-in/")
    with opener.open(request, timeout=60) as response:
        return response.geturl(), response.read().decode()


def main(base: str, show: bool) -> None:
    tokens = {
        role: call(f"{base}/api/auth/token/", data={"username": f"demo-{role}", "password": PASSWORD})["token"]
        for role in ("admin", "teacher", "guardian", "student")
    }
    student_id = call(f"{base}/api/me/", token=tokens["student"])["profile_id"]
    # The demo student is the demo guardian's child, in a class of the demo teacher, at the demo admin's school.
    overviews = [
        call(f"{base}/api/analytics/student/{student_id}/overview/", token=tokens[role])
        for role in ("student", "guardian", "teacher", "admin")
    ]
    performance = call(f"{base}/api/analytics/teacher/my-performance/", token=tokens["teacher"])
    health = call(f"{base}/api/analytics/admin/school-health/", token=tokens["admin"])

    overview = overviews[0]
    assert all(other == overview for other in overviews), "every role sees the same overview"
    assert overview["subjects"] and overview["grades"] and overview["attendance_weekly"], "the overview has data"
    assert any(week["classes_taught"] for week in performance["weeks"]), "the teacher's weeks have lessons"
    assert health["attendance_rate"] is not None and health["students_count"] > 0, "the school has figures"
    print("demo check: the four demo logins reach every analytics endpoint, with data")

    # Report cards: the guardian downloads their child's; the admin the whole school's as one archive (no broker
    # in CI: the job runs inline within the POST, so the answer may take a minute).
    term_id = overview["term"]["id"]
    card = fetch(f"{base}/reports/student/{student_id}/term/{term_id}/card.pdf", token=tokens["guardian"])
    assert card.startswith(b"%PDF-"), "the guardian's download is a PDF"
    started = call(f"{base}/api/reportcards/jobs/", token=tokens["admin"], data={"term": term_id}, timeout=900)
    job = call(f"{base}/api/reportcards/jobs/{started['id']}/", token=tokens["admin"])
    assert job["status"] == "SUCCEEDED" and job["done"] == job["total"] > 0, f"the school's job ran: {job}"
    archive = fetch(job["download_url"], token=tokens["admin"], timeout=300)
    assert archive.startswith(b"PK"), "the admin's download is a zip archive"
    print(f"demo check: report cards: the guardian's PDF ({len(card)} bytes), the school's zip ({job['total']} cards)")
    for username, password, home in (
        ("demo-guardian", PASSWORD, "/children/"),
        ("demo-student", PASSWORD, f"/students/{student_id}/report/"),
        ("demo-teacher", PASSWORD, "/teacher/"),
        ("demo-admin", PASSWORD, "/schools/"),
        ("admin", "admin", "/schools/"),
    ):
        landed, page = sign_in(base, username, password)
        assert landed.startswith(f"{base}{home}"), f"{username} lands on {landed}, not {home}"
        assert "data-figure=" in page or "data-chart=" in page, f"{username}'s home shows no figure"
    print("demo check: each demo login signs in on the pages and lands on its home, with figures")
    if show:
        print(json.dumps({"overview": overview, "my_performance": performance, "school_health": health}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), "--print" in sys.argv)
