"""The morning burst: every class of a school submits its roll call within a minute while readers run.

The plan (``burst_roll_calls``): each class's first lesson of the school's latest day with marks (the morning's
first period; a class without a lesson that day: its latest lesson with marks), posted by that lesson's teacher
with their API token, every student's status changed (present to late, anything else to present), so each roll
call writes every mark of the class as a morning's first roll call does. ``burst_schedule`` spreads the roll calls
over the minute at seeded random moments and deals them to the clients in turn. The requests are sent by
``burst_clients.py`` in a second process; the originals are restored afterwards with ``roll_call_record`` in this
process, the engine connected, so the summaries are exact again, and ``burst_verify`` recomputes every key the
roll calls touched (a dry run: what differs is listed, nothing is written).
"""

import json
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Max, Min
from rest_framework.authtoken.models import Token

from analytics.engine.machinery import Difference
from analytics.engine.refresh import keys_refresh
from analytics.keys import Keys, marks_keys
from attendance.models import Attendance, AttendanceStatus, Lesson
from attendance.services import roll_call_record
from schools.models import ClassGroup, School

BURST_CLIENTS = 16
BURST_READERS = 4
BURST_SECONDS = 60.0
IDLE_CLASSES = 8  # the roll call alone on an idle server: this many classes, one at a time
READERS_ALONE_SECONDS = 15.0  # the readers alone, before the burst
ROLL_CALL_TARGET = 3  # a roll call's p95 in the burst <= this many times its p50 alone
READ_TARGET_MS = 250  # the reads' p95 in the burst
SEED = 7


@dataclass(frozen=True)
class BurstRollCall:
    class_group_id: int
    lesson_id: int
    teacher_user_id: int
    token: str
    marks: tuple  # the stored marks: ({student_id, status, note}, ...)

    @property
    def path(self) -> str:
        return f"/api/lessons/{self.lesson_id}/roll-call/"

    def body(self) -> dict:
        """Every student's status changed, the notes kept."""
        return {"marks": [{**mark, "status": changed_status(mark["status"])} for mark in self.marks]}


def changed_status(status: str) -> str:
    return AttendanceStatus.LATE if status == AttendanceStatus.PRESENT else AttendanceStatus.PRESENT


def burst_roll_calls(*, school: School) -> list[BurstRollCall]:
    """The roll call of every class of the school that has a lesson with marks (see the module's docstring), in
    the classes' order."""
    marked = Lesson.objects.filter(class_group__school=school, marks__isnull=False)
    day = marked.aggregate(day=Max("date"))["day"]
    roll_calls = []
    for class_group in ClassGroup.objects.filter(school=school).order_by("grade_level", "name", "id"):
        lessons = marked.filter(class_group=class_group).distinct()
        first_period = lessons.filter(date=day).aggregate(period=Min("period"))["period"]
        if first_period is not None:
            lesson = lessons.filter(date=day, period=first_period).order_by("id").first()
        else:
            lesson = lessons.order_by("-date", "period", "id").first()
        if lesson is None:
            continue
        teacher_user = lesson.teacher.user
        marks = tuple(
            Attendance.objects.filter(lesson=lesson).order_by("student_id").values("student_id", "status", "note")
        )
        roll_calls.append(
            BurstRollCall(
                class_group_id=class_group.pk,
                lesson_id=lesson.pk,
                teacher_user_id=teacher_user.pk,
                token=Token.objects.get_or_create(user=teacher_user)[0].key,
                marks=marks,
            )
        )
    return roll_calls


def burst_schedule(count: int, *, clients: int = BURST_CLIENTS, seconds: float = BURST_SECONDS, seed: int = SEED):
    """[(client, moment in seconds)] of ``count`` roll calls: moments drawn uniformly in [0, ``seconds``) (seeded),
    and the roll calls, in the order of their moments, dealt to the clients in turn (so each client's next roll
    call is ``clients`` arrivals later)."""
    generator = random.Random(seed)
    moments = [generator.uniform(0, seconds) for _ in range(count)]
    order = sorted(range(count), key=lambda index: moments[index])
    schedule = [(0, 0.0)] * count
    for turn, index in enumerate(order):
        schedule[index] = (turn % clients, moments[index])
    return schedule


def idle_sample(roll_calls: list, count: int = IDLE_CLASSES) -> list:
    """``count`` of the roll calls spread over the list (classes of every grade, small and large)."""
    if len(roll_calls) <= count:
        return list(roll_calls)
    step = len(roll_calls) / count
    return [roll_calls[int(turn * step)] for turn in range(count)]


def clients_run(plan: dict) -> dict:
    """``burst_clients.py`` with ``plan`` in a second process; its JSON output."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-burst-") as plan_file:
        json.dump(plan, plan_file)
        plan_file.flush()
        output = subprocess.run(  # noqa: S603 (our own argv)
            [sys.executable, str(Path(__file__).parent / "burst_clients.py"), plan_file.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(output)


def idle_plan(*, port: int, roll_calls: list) -> dict:
    """The roll calls one at a time by one client, each as soon as the previous one is answered; no readers."""
    calls = [
        {"client": 0, "at": 0.0, "path": call.path, "token": call.token, "body": call.body()} for call in roll_calls
    ]
    return {"port": port, "roll_calls": calls, "readers": [], "reader_threads": 0}


def readers_plan(*, port: int, readers: list, seconds: float, reader_threads: int = BURST_READERS) -> dict:
    """The readers alone for ``seconds``: what the reads cost on this server and machine without the roll calls."""
    return {
        "port": port,
        "roll_calls": [],
        "readers": [list(reader) for reader in readers],
        "reader_threads": reader_threads,
        "read_seconds": seconds,
    }


def burst_plan(*, port: int, roll_calls: list, readers: list, reader_threads: int = BURST_READERS, **schedule) -> dict:
    """Every roll call at its moment of ``burst_schedule``; ``readers``: [(name, path, token)]."""
    moments = burst_schedule(len(roll_calls), **schedule)
    calls = [
        {"client": client, "at": at, "path": call.path, "token": call.token, "body": call.body()}
        for call, (client, at) in zip(roll_calls, moments, strict=True)
    ]
    return {
        "port": port,
        "roll_calls": calls,
        "readers": [list(reader) for reader in readers],
        "reader_threads": reader_threads,
    }


def roll_calls_restore(roll_calls: list) -> None:
    """Each lesson's stored marks as they were, recorded by its teacher (the engine, connected, recomputes the
    summaries)."""
    for call in roll_calls:
        lesson = Lesson.objects.select_related("teacher__user").get(pk=call.lesson_id)
        roll_call_record(lesson=lesson, marks=[dict(mark) for mark in call.marks], recorded_by=lesson.teacher.user)


def burst_verify(roll_calls: list) -> list[Difference]:
    """Every summary row the roll calls' marks feed that differs from its recomputation from source (nothing
    written)."""
    keys = Keys()
    for call in roll_calls:
        keys |= marks_keys(lesson_ids={call.lesson_id}, student_ids={mark["student_id"] for mark in call.marks})
    with transaction.atomic():
        return keys_refresh(keys=keys, dry_run=True).differences


def burst_verdicts(figures: dict) -> dict:
    """{name: (target, passed)}: the roll call's p95 in the burst within ``ROLL_CALL_TARGET`` times its p50 alone,
    the reads' p95 within ``READ_TARGET_MS``, no error. A figure missing (every request failed) is a miss."""
    idle, p95, reads = figures["idle_p50"], figures["roll_call_p95"], figures["read_p95"]
    return {
        "roll call": (
            f"<= {ROLL_CALL_TARGET}x",
            idle is not None and p95 is not None and p95 <= ROLL_CALL_TARGET * idle,
        ),
        "reads": (f"<= {READ_TARGET_MS} ms", reads is not None and reads <= READ_TARGET_MS),
        "errors": ("0", figures["errors"] == 0),
    }
