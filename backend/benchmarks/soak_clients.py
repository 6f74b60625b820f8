"""The soak's clients, run as their own process: ``python soak_clients.py PLAN.json OUT.jsonl``.

Standard library only, like ``load.py``. The plan (written by ``benchmarks.soak``) names the server's port, the
tokens, the office login and the rows to write to; ``clients`` threads, each with a role and one keep-alive
connection to 127.0.0.1, share a budget of ``max_requests`` requests and stop at ``seconds``. Every request is
one JSON line in OUT (the clock starts once each client has woken the server up with an unrecorded request and
the office has logged in): its kind, status, the client's monotonic clock when it was sent and answered, and the
writes it made, each ``[key, value, outcome]`` (outcome: acknowledged, refused or unknown), for the audit.

Each write carries a unique token (a roll call's note, a grade's feedback, a payment's reference, a comment,
a homework's title) so that a stored value names the request that wrote it. A few requests are invalid on
purpose (a student of another class in a roll call, a score above the maximum, an overpayment, a behaviour
score out of range, a comment too long): they must be refused and leave no trace.
"""

import html.parser
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
STATUSES = ("PRESENT", "PRESENT", "PRESENT", "LATE", "ABSENT", "EXCUSED")
# The roles, given to the clients in this order and then again (8 clients: each once, roll call twice).
ROLES = ("roll-call", "roll-call", "grades", "grades", "office", "payments", "teacher-input", "reader")
IDLE_RECONNECT = 1.0  # seconds a keep-alive connection may sit unused before the next request opens a new one
INVALID_EVERY = 12  # about one request in this many is invalid on purpose, where the role has such a request

ACKNOWLEDGED, REFUSED, UNKNOWN = "acknowledged", "refused", "unknown"


def outcome_of(status, *, success: tuple) -> str:
    if not isinstance(status, int):
        return UNKNOWN  # no answer: the write may or may not have committed
    return ACKNOWLEDGED if status in success else REFUSED


def cents(value: float) -> str:
    return f"{value:.2f}"


class FormFields(html.parser.HTMLParser):
    """The fields a browser would submit from the admin's change form (``form_id``): inputs, selects, textareas."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.in_form = form_id, False
        self.fields: list[tuple[str, str]] = []
        self._select = self._textarea = None
        self._textarea_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == self.form_id
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.append((self._select, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, []

    def handle_data(self, data):
        if self._textarea:
            self._textarea_text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._textarea_text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_fields(page: str, *, form_id: str) -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(page)
    return parser.fields


class Recorder:
    """Writes one JSON line per request; hands out the request budget."""

    def __init__(self, path: str, *, max_requests: int, deadline: float):
        self.file = open(path, "w")  # noqa: SIM115 (closed by close())
        self.lock = threading.Lock()
        self.remaining = max_requests
        self.deadline = deadline

    def take(self) -> bool:
        with self.lock:
            if self.remaining <= 0 or time.monotonic() >= self.deadline:
                return False
            self.remaining -= 1
            return True

    def record(self, entry: dict) -> None:
        line = json.dumps(entry)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()

    def close(self) -> None:
        self.file.close()


class Client:
    def __init__(self, *, index: int, plan: dict, recorder: Recorder):
        self.index, self.plan, self.recorder = index, plan, recorder
        self.role = ROLES[index % len(ROLES)]
        self.random = random.Random(plan["seed"] * 1000 + index)
        self.connection = None
        self.cookies: dict[str, str] = {}
        self.count = 0
        self.ready = True
        self.last_answer = 0.0

    # --- HTTP -------------------------------------------------------------------------------------

    def token(self) -> str:
        self.count += 1
        return f"soak {self.plan['run']}-{self.index}-{self.count}"

    def request(self, method: str, path: str, *, body=None, form=None, token=None) -> tuple:
        """(status or the exception's name, body text, sent, received, headers)."""
        headers = {"Host": HOST, "Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Token {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Accept"] = "text/html"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.connection is not None and time.monotonic() - self.last_answer > IDLE_RECONNECT:
            # The server may be closing an idle keep-alive connection right now (gunicorn: after 2 s); a request
            # sent into it fails without the server having read it. A fresh connection avoids the race.
            self.connection.close()
            self.connection = None
        if self.connection is None:
            self.connection = http.client.HTTPConnection(HOST, self.plan["port"], timeout=self.plan["timeout"])
        sent = time.monotonic()
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            status = response.status
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            answer = dict(response.getheaders())
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            self.connection = None
            status, text, answer = type(error).__name__, "", {}
        self.last_answer = time.monotonic()
        return status, text, sent, self.last_answer, answer

    def log(self, kind: str, result: tuple, writes=(), note: str = "") -> None:
        status, text, sent, received, _ = result
        entry = {"client": self.index, "kind": kind, "status": status, "sent": sent, "received": received}
        if writes:
            entry["writes"] = [list(write) for write in writes]
        if isinstance(status, int) and status >= 500:
            entry["body"] = text[:300]
        if note:
            entry["note"] = note
        self.recorder.record(entry)

    def invalid(self) -> bool:
        return self.random.randrange(INVALID_EVERY) == 0

    # --- the roles --------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Before the clock starts: one request to wake the server's worker up, and the office's login (a
        password hash that takes a while on purpose)."""
        self.request("GET", "/api/")
        self.ready = self.role != "office" or self.office_login()

    def run(self) -> None:
        if not self.ready:
            return
        step = getattr(self, "step_" + self.role.replace("-", "_"))
        while self.recorder.take():
            step()
        if self.connection:
            self.connection.close()

    def step_roll_call(self) -> None:
        lesson = self.random.choice(self.plan["lessons"])
        students = list(lesson["students"])
        left_out = set(self.random.sample(students, self.random.randint(0, min(3, len(students) - 1))))
        note = self.token()
        marks = [
            {"student_id": student, "status": self.random.choice(STATUSES), "note": note}
            for student in students
            if student not in left_out
        ]
        invalid = self.invalid()
        if invalid:
            marks.append({"student_id": lesson["outsider"], "status": "PRESENT", "note": note})
        result = self.request(
            "POST", f"/api/lessons/{lesson['id']}/roll-call/", body={"marks": marks}, token=self.admin
        )
        outcome = outcome_of(result[0], success=(200,))
        writes = [[["mark", lesson["id"], mark["student_id"]], [mark["status"], note], outcome] for mark in marks]
        if not invalid or outcome == ACKNOWLEDGED:
            # A refused roll call's "no mark" for a student left out is no trace to look for; its marks are.
            writes += [[["mark", lesson["id"], student], None, outcome] for student in left_out]
        self.log("roll call" + (" (invalid)" if invalid else ""), result, writes)

    def step_grades(self) -> None:
        submission = self.random.choice(self.plan["submissions"])
        path = f"/api/submissions/{submission['id']}/grade/"
        key = ["grade", submission["id"]]
        if self.random.random() < 0.25:
            result = self.request("DELETE", path, token=self.admin)
            if result[0] == 404:  # nothing to delete: not a write
                self.log("grade delete", result)
            else:
                self.log("grade delete", result, [[key, None, outcome_of(result[0], success=(204,))]])
            return
        low, high = submission["low"], submission["high"]
        invalid = self.invalid()
        if invalid:
            score = high + 1 + self.random.randrange(5)
        elif self.random.random() < 0.8:
            score = self.random.randrange(int(low * 2) + 1) / 2
        else:
            score = low + self.random.randrange(int((high - low) * 2) + 1) / 2  # valid only while the maximum is high
        feedback = self.token()
        result = self.request("POST", path, body={"score": cents(score), "feedback": feedback}, token=self.admin)
        write = [key, [cents(score), feedback], outcome_of(result[0], success=(200, 201))]
        self.log("grade" + (" (invalid)" if invalid else ""), result, [write])

    def office_login(self) -> bool:
        result = self.request("GET", "/admin/login/")
        self.log("admin login", result)
        fields = dict(form_fields(result[1], form_id="login-form"))
        form = {
            "csrfmiddlewaretoken": fields.get("csrfmiddlewaretoken", ""),
            "username": self.plan["office"]["username"],
            "password": self.plan["office"]["password"],
            "next": "/admin/",
        }
        result = self.request("POST", "/admin/login/", form=form)
        self.log("admin login", result)
        return result[0] == 302 and "sessionid" in self.cookies

    def step_office(self) -> None:
        homework = self.random.choice(self.plan["homework"])
        path = f"/admin/homework/homework/{homework['id']}/change/"
        page = self.request("GET", path)
        self.log("admin homework form", page)
        if page[0] != 200 or not self.recorder.take():
            return
        fields = [(name, value) for name, value in form_fields(page[1], form_id="homework_form")]
        maximum = cents(self.random.choice((homework["low"], homework["high"])))
        title = f"{homework['title']} [{self.token()}]"
        form = [(name, value) for name, value in fields if name not in ("max_score", "title")]
        form += [("max_score", maximum), ("title", title), ("_save", "Save")]
        result = self.request("POST", path, form=form)
        # The admin redirects after a save and shows the form again with its errors when it refuses one.
        outcome = outcome_of(result[0], success=(302,))
        self.log("admin homework max_score", result, [[["homework", homework["id"]], [maximum, title], outcome]])

    def step_payments(self) -> None:
        invoice = self.random.choice(self.plan["invoices"])
        invalid = self.invalid()
        amount = invoice["amount"] + 1 if invalid else self.random.randrange(100, 6000) / 100
        reference = self.token()
        body = {"invoice": invoice["id"], "amount": cents(amount), "method": "CASH", "reference": reference}
        result = self.request("POST", "/api/payments/", body=body, token=self.admin)
        write = [["payment", reference], [cents(amount), reference], outcome_of(result[0], success=(201,))]
        self.log("payment" + (" (invalid)" if invalid else ""), result, [write])

    def step_teacher_input(self) -> None:
        invalid = self.invalid()
        if self.random.random() < 0.5:
            target = self.random.choice(self.plan["behaviour"])
            score = 99 if invalid else self.random.choice((1, 2, 3, 4, 5, None))
            path = f"/api/analytics/student/{target['student']}/behavior/"
            result = self.request("PUT", path, body={"date": target["date"], "score": score}, token=self.admin)
            key = ["behaviour", target["student"], target["date"]]
            self.log(
                "behaviour" + (" (invalid)" if invalid else ""),
                result,
                [[key, score, outcome_of(result[0], success=(200,))]],
            )
            return
        target = self.random.choice(self.plan["comments"])
        comment = "" if self.random.random() < 0.2 else self.token()
        if invalid:
            comment = self.token() + " " + "x" * 5000
        body = {"term": target["term"], "subject": target["subject"], "comment": comment}
        result = self.request(
            "PUT", f"/api/analytics/student/{target['student']}/teacher-comment/", body=body, token=self.admin
        )
        key = ["comment", target["student"], target["term"], target["subject"]]
        self.log(
            "comment" + (" (invalid)" if invalid else ""),
            result,
            [[key, comment, outcome_of(result[0], success=(200,))]],
        )

    def step_reader(self) -> None:
        name, path, token = self.plan["readers"][self.count % len(self.plan["readers"])]
        self.count += 1
        self.log(name, self.request("GET", path, token=token))

    @property
    def admin(self) -> str:
        return self.plan["admin_token"]


def run(plan: dict, out: str) -> None:
    """Every client prepared (at once), then the clock started: ``seconds`` or ``max_requests``, whichever first."""
    recorder = Recorder(out, max_requests=plan["max_requests"], deadline=float("inf"))
    clients = [Client(index=index, plan=plan, recorder=recorder) for index in range(plan["clients"])]
    for phase in ("prepare", "run"):
        if phase == "run":
            recorder.deadline = time.monotonic() + plan["seconds"]
        threads = [threading.Thread(target=getattr(client, phase), daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    recorder.close()


if __name__ == "__main__":
    with open(sys.argv[1]) as plan_file:
        run(json.load(plan_file), sys.argv[2])
