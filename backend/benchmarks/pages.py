"""The pages in the benchmark: which page is compared with which endpoint, the session a page is asked for with,
and the first-load weight of a page (its HTML and every stylesheet, script and font it references, gzipped).

Used by ``benchmarks.service``; standard library and Django only.
"""

import gzip
import http.client
import re
from html.parser import HTMLParser
from importlib import import_module
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.contrib.staticfiles import finders
from django.test.utils import override_settings

from core.models import User

# Each page and the endpoints serving its figures (as the same user, with the same query): a page showing the
# content of several endpoints is compared with the sum of their p50s, since a client needs all of them to draw
# the same page. Empty: no endpoint has the page's figures (the class page's students are a page-only table).
PAGE_PAIRS = {
    "report page": ("student-overview",),
    "teacher page": ("teacher-performance 8 weeks",),
    "class page": (),
    "school-health page": ("school-health", "students at risk (first page)", "missing-data 4 weeks", "most-improved"),
}
# The superuser's page of every school, against the API's table of every school's own health (the page's
# CSV link): measured once, over every school in the database, so it has no 4S/S.
SCHOOLS_PAIR = ("schools page", "school-health of each school (CSV)")
PAGE_TARGET = 1.5  # page p50 / its endpoint's p50
WEIGHT_TARGET_BYTES = 300_000
GZIP_LEVEL = 6  # gzip's own default, and the usual setting of a proxy's gzip


def endpoints_compared() -> set[str]:
    """Every endpoint some page is compared with."""
    return {endpoint for endpoints in PAGE_PAIRS.values() for endpoint in endpoints}


def page_group(name: str) -> str | None:
    """The first endpoint of the page ``name`` is, or is compared with (None for a name of neither): a page and
    every endpoint it is compared with are measured back to back under that name."""
    for page, endpoints in PAGE_PAIRS.items():
        if endpoints and (name == page or name in endpoints):
            return endpoints[0]
    return None


def page_paths(bench) -> dict[str, str]:
    """{name: path} of the S or 4S school's pages: the report of the bench's student as the school's admin, the
    teacher's home, the student's class and school health (the admin)."""
    return {
        "report page": f"/students/{bench.student_id}/report/",
        "teacher page": "/teacher/",
        "class page": f"/classes/{bench.class_group_id}/",
        "school-health page": f"/schools/{bench.school.pk}/health/",
    }


def page_users(bench) -> dict[str, User]:
    return {
        "report page": bench.admin,
        "teacher page": bench.teacher,
        "class page": bench.teacher,
        "school-health page": bench.admin,
    }


def bench_superuser() -> User:
    user, _ = User.objects.get_or_create(
        username="bench-superuser", defaults={"is_superuser": True, "first_name": "Bench", "last_name": "Superuser"}
    )
    return user


def session_cookie(user: User, *, secret: str) -> str:
    """A signed-in session of ``user`` as the server whose ``SECRET_KEY`` is ``secret`` reads it (what
    ``Client.force_login`` stores): the ``Cookie`` header's value."""
    with override_settings(SECRET_KEY=secret):
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def sessions_delete(cookies) -> None:
    """Forget the bench's sessions (database-backed sessions; another engine keeps them until they expire)."""
    keys = [cookie.split("=", 1)[1] for cookie in cookies]
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        Session.objects.filter(session_key__in=keys).delete()


def page_fetch(*, port: int, path: str, cookie: str) -> str:
    """The page's HTML as the bench's server answers it to the signed-in session."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html", "Host": "127.0.0.1"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: status {response.status}")
    return body.decode()


class _Assets(HTMLParser):
    """The stylesheets and scripts an HTML page references (``<link rel=stylesheet href>``, ``<script src>``)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"])
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or "").split() and attributes.get("href"):
            self.urls.append(attributes["href"])


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def static_file(url: str) -> bytes:
    """The bytes of a file under ``STATIC_URL`` as ``collectstatic`` would serve it (found by the static finders)."""
    prefix = "/" + settings.STATIC_URL.lstrip("/")
    path = urlsplit(url).path
    if urlsplit(url).netloc or not path.startswith(prefix):
        raise ValueError(f"{url}: not one of this server's static files")
    found = finders.find(path.removeprefix(prefix))
    if not found:
        raise FileNotFoundError(f"{url}: no such static file")
    with open(found, "rb") as handle:
        return handle.read()


def first_load_weight(html: str, *, base: str = "/") -> dict:
    """What a browser with an empty cache fetches for the page: {"files": {url: (bytes, gzipped bytes)}, "html",
    "assets", "total"} (gzipped bytes, gzip level ``GZIP_LEVEL``). The files: the page, its stylesheets (print
    ones too: a browser fetches them), its scripts, and what the stylesheets reference (fonts, images, imports),
    each once; ``data:`` URLs are in the page already."""
    files = {base: (len(html.encode()), len(gzip.compress(html.encode(), compresslevel=GZIP_LEVEL)))}
    parser = _Assets()
    parser.feed(html)
    pending = [urljoin(base, url) for url in parser.urls if not url.startswith("data:")]
    while pending:
        url = pending.pop(0)
        if url in files:
            continue
        content = static_file(url)
        files[url] = (len(content), len(gzip.compress(content, compresslevel=GZIP_LEVEL)))
        if PurePosixPath(urlsplit(url).path).suffix == ".css":
            for match in CSS_URL.finditer(content.decode()):
                reference = (match[1] or match[2]).strip()
                if not reference.startswith(("data:", "#")):
                    pending.append(urljoin(url, reference))
    page = files[base][1]
    total = sum(zipped for _, zipped in files.values())
    return {"files": files, "html": page, "assets": total - page, "total": total}
