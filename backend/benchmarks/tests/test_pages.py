"""The bench's page pieces: the first-load weight of a page, the pages' rows and verdicts, and the pages asked
for by the load generator with a session cookie against a live server (nothing here is timed)."""

import datetime
import gzip
from urllib.parse import urlunsplit

import pytest
import time_machine
from django.conf import settings

from benchmarks import load
from benchmarks.pages import (
    GZIP_LEVEL,
    first_load_weight,
    page_fetch,
    page_paths,
    page_users,
    session_cookie,
    static_file,
)
from benchmarks.service import BenchResult, _read_order, bench_school_ensure, page_rows, pages_profile

FONT = b"wOF2" + bytes(range(256)) * 8


def gzipped(content: bytes) -> int:
    return len(gzip.compress(content, compresslevel=GZIP_LEVEL))


@pytest.fixture
def static_dir(tmp_path, settings):
    """A static folder with a stylesheet that imports another and names a font twice (fetched once)."""
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "face.woff2").write_bytes(FONT)
    (tmp_path / "kit" / "more.css").write_text("p { color: red; }\n")
    (tmp_path / "kit" / "main.css").write_text(
        '@import "more.css";\n@font-face { font-family: Kit; src: url("face.woff2") format("woff2"); }\n'
        "h1 { font-family: Kit; background: url(data:image/gif;base64,R0lGOD==); }\n"
        "h2 { font-family: Kit; src: url('./face.woff2'); }\n"
    )
    settings.STATICFILES_DIRS = [tmp_path]
    return tmp_path


def test_first_load_weight_adds_the_page_and_every_file_it_fetches_gzipped(static_dir):
    html = (
        '<!doctype html><html><head><link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/kit/main.css">'
        '<link rel="stylesheet" href="/static/dashboards/css/print.css" media="print">'
        '<link rel="preconnect" href="/static/not-a-stylesheet.css">'
        "</head><body><p>Hello</p>"
        '<script src="/static/vendor/chart-4.6.1.umd.min.js"></script>'
        '<script src="/static/vendor/chart-4.6.1.umd.min.js"></script>'
        "<script>inline()</script></body></html>"
    )
    weight = first_load_weight(html, base="/students/1/report/")

    fetched = {
        "/static/kit/main.css": (static_dir / "kit" / "main.css").read_bytes(),
        "/static/kit/more.css": b"p { color: red; }\n",
        "/static/kit/face.woff2": FONT,
        "/static/dashboards/css/print.css": (
            settings.BASE_DIR / "dashboards/static/dashboards/css/print.css"
        ).read_bytes(),
        "/static/vendor/chart-4.6.1.umd.min.js": (
            settings.BASE_DIR / "dashboards/static/vendor/chart-4.6.1.umd.min.js"
        ).read_bytes(),
    }
    assert set(weight["files"]) == {"/students/1/report/", *fetched}
    for url, content in fetched.items():
        assert weight["files"][url] == (len(content), gzipped(content)), url
    assert weight["html"] == gzipped(html.encode())
    assert weight["assets"] == sum(gzipped(content) for content in fetched.values())
    assert weight["total"] == weight["html"] + weight["assets"]
    # The chart library alone is most of it, and compresses to about a third.
    assert 60_000 < gzipped(fetched["/static/vendor/chart-4.6.1.umd.min.js"]) < 80_000


def test_a_file_not_served_here_is_refused(static_dir):
    with pytest.raises(ValueError, match="not one of this server's static files"):
        # The same path on another host (".invalid": a name that never resolves).
        static_file(urlunsplit(("https", "elsewhere.invalid", "/static/kit/main.css", "", "")))
    with pytest.raises(FileNotFoundError):
        first_load_weight('<script src="/static/kit/missing.js"></script>')


def test_page_rows_compare_each_page_with_its_endpoint_and_judge_growth_and_weight():
    def read(p50):
        return {"p50": p50, "p95": p50 * 1.5, "rps": 10.0, "bytes": 1000}

    reads = {}
    for label, scale in (("S", 1.0), ("4S", 1.2)):
        reads[label, "report page"] = read(30 * scale)
        reads[label, "student-overview"] = read(20 * scale)
        reads[label, "teacher page"] = read(40 * scale)
        reads[label, "teacher-performance 8 weeks"] = read(20 * scale)
        reads[label, "class page"] = read(25 * scale)
        reads[label, "school-health page"] = read(30 * (scale if label == "S" else 1.5))
        reads[label, "school-health"] = read(20 * scale)
        reads[label, "students at risk (first page)"] = read(4 * scale)
        reads[label, "missing-data 4 weeks"] = read(3 * scale)
        reads[label, "most-improved"] = read(3 * scale)
    reads["all", "schools page"] = read(50)
    reads["all", "school-health of each school (CSV)"] = read(40)
    reads["weight", "report page"] = {
        "files": {"a": 0, "b": 0, "c": 0},
        "html": 5_000,
        "assets": 75_000,
        "total": 80_000,
    }
    reads["weight", "schools page"] = {"files": {"a": 0}, "html": 301_000, "assets": 0, "total": 301_000}
    result = BenchResult()
    page_rows(result, reads, ["S", "4S"])

    verdicts = {row.figure: (row.value, row.verdict) for row in result.rows if row.verdict}
    rows = {(row.section, row.figure): (row.value, row.verdict) for row in result.rows if row.verdict}
    assert rows["page S", "report page / student-overview (p50)"] == ("1.50x", "PASS")
    assert rows["page S", "teacher page / teacher-performance 8 weeks (p50)"] == ("2.00x", "MISS")
    # The school-health page against the sum of its four endpoints: 45 / (1.2 x (20 + 4 + 3 + 3)) = 45 / 36.
    health = (
        "school-health page / school-health + students at risk (first page) + missing-data 4 weeks + most-improved"
        " (p50)"
    )
    assert rows["page 4S", health] == ("1.25x", "PASS")
    assert rows["page S", health] == ("1.00x", "PASS")
    parts = {row.figure: row.value for row in result.rows if row.section == "page 4S" and "sum of p50s" in row.figure}
    assert parts == {"school-health page's endpoints, sum of p50s": "24.0 + 4.8 + 3.6 + 3.6 = 36.0 ms"}
    assert rows["page all", "schools page / school-health of each school (CSV) (p50)"] == ("1.25x", "PASS")
    assert verdicts["report page 4S/S (p50)"] == ("1.20", "PASS")
    assert verdicts["school-health page 4S/S (p50)"] == ("1.50", "MISS")
    assert verdicts["class page 4S/S (p50)"] == ("1.20", "PASS")
    assert "class page / " not in " ".join(verdicts)  # no endpoint to compare with
    assert verdicts["heaviest page (schools page), gzipped"] == ("301.0 kB", "MISS")
    weights = {row.figure: row.value for row in result.rows if row.section == "first load 4S" and not row.verdict}
    assert weights == {
        "report page: HTML + 2 CSS/JS/font files, gzipped": "5.0 kB + 75.0 kB = 80.0 kB",
        "schools page: HTML + 0 CSS/JS/font files, gzipped": "301.0 kB + 0.0 kB = 301.0 kB",
    }


@pytest.mark.django_db(transaction=True)
def test_the_pages_answer_the_load_generator_signed_in_with_a_session_cookie(live_server):
    with time_machine.travel(datetime.datetime(2026, 9, 9, 12, tzinfo=datetime.UTC), tick=False):
        bench = bench_school_ensure(label="S", students=20, weeks=1, say=lambda message: None)
        port = int(live_server.url.rsplit(":", 1)[1])
        users = page_users(bench)
        for name, path in page_paths(bench).items():
            cookie = session_cookie(users[name], secret=settings.SECRET_KEY)
            result = load.run(port=port, path=path, cookie=cookie, count=3, seconds=30, concurrency=2)
            assert (len(result["latencies"]), result["error_count"]) == (3, 0), (name, result["errors"])
            html = page_fetch(port=port, path=path, cookie=cookie)
            assert f"{users[name].get_full_name()}" in html  # signed in as the page's user
            weight = first_load_weight(html, base=path)
            # site.css and print.css on every page; the chart library and its script where there are charts.
            assert len(weight["files"]) == (3 if name == "class page" else 5), name
        # Without the session: the sign-in page (a redirect), which the load generator counts as a failure.
        path = page_paths(bench)["report page"]
        signed_out = load.run(port=port, path=path, cookie="sessionid=nobody", count=2, seconds=30, concurrency=1)
        assert (signed_out["latencies"], signed_out["error_count"], signed_out["errors"]) == ([], 2, ["302", "302"])
        # A session signed with another key is no session either.
        forged = session_cookie(users["report page"], secret="another key")
        assert load.run(port=port, path=path, cookie=forged, count=1, seconds=30)["errors"] == ["302"]

        profile = pages_profile(benches=[bench], repeats=1)
    assert set(profile) == {
        ("S", name)
        for name in [
            *page_paths(bench),
            "student-overview",
            "teacher-performance 8 weeks",
            "school-health",
            "students at risk (first page)",
            "missing-data 4 weeks",
            "most-improved",
        ]
    }
    for figures in profile.values():
        # The session and the user, the role, then the page's own reads.
        assert figures["queries"] > 3
        assert figures["ms"] > figures["db_ms"] > 0


def test_each_page_is_measured_right_after_every_endpoint_it_is_compared_with_at_the_same_size():
    names = [
        "school-health page",
        "most-improved",
        "floor like school-health",
        "report page",
        "missing-data 4 weeks",
        "students at risk (first page)",
        "school-health",
        "student-overview",
        "on-the-fly school-health",
    ]
    order = sorted([(label, name) for label in ("4S", "S") for name in names], key=_read_order)
    health = [
        "school-health",
        "floor like school-health",
        "missing-data 4 weeks",
        "most-improved",
        "students at risk (first page)",
        "school-health page",
    ]
    assert order == [
        *[("S", name) for name in health],
        *[("4S", name) for name in health],
        ("S", "student-overview"),
        ("S", "report page"),
        ("4S", "student-overview"),
        ("4S", "report page"),
        ("S", "on-the-fly school-health"),
        ("4S", "on-the-fly school-health"),
    ]
