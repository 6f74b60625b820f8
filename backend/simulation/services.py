"""Simulate schools: draw a plan (``simulation.plan``), write it (``simulation.writers``), check the analytics.

``schools_simulate`` is the entry point. The same plan is written in one of two modes:

- service mode (small runs): every record through the write paths of real use, so the per-row and
  roll-call signals keep the summary tables up to date as they do in production;
- bulk mode (``bulk=True``, and automatically for large runs, see ``bulk_mode_chosen``): the source rows
  inserted in bulk week by week, bypassing the signals, then one set-based ``analytics_rebuild`` per school.

Both end with the scheduled jobs (when installed) and ``analytics_verify``. ``demo_users_ensure`` gives a
school one login per role.
"""

import datetime
import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command, get_commands, load_command_class
from django.db import transaction
from django.db.models import Count

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from analytics.services import Difference, analytics_verify
from core.models import User
from schools.models import Guardian, School, SchoolAdmin, Student, Teacher
from simulation.plan import school_plan_make
from simulation.writers import BulkWriter, ServiceWriter, SimulatedSchool

# Service mode writes every record with its per-row summary refresh (tens of milliseconds each), so larger
# runs are written in bulk unless asked otherwise.
BULK_ABOVE_STUDENTS = 300
BULK_ABOVE_STUDENT_WEEKS = 600
MIN_STUDENTS_PER_SCHOOL = 20
# Demo-only credentials, printed by the command; never use them on a server others can reach: they are
# created only with DJANGO_DEBUG on (demo_logins_refuse_outside_debug).
DEMO_PASSWORD = "demo1234"  # noqa: S105
DEMO_USERNAMES = {
    "admin": "demo-admin",
    "teacher": "demo-teacher",
    "guardian": "demo-guardian",
    "student": "demo-student",
}
RANKS_COMMAND = "calculate_class_ranks"
TEACHER_METRICS_COMMAND = "generate_teacher_metrics"

Progress = Callable[[str], None]

# The names of the counts in a SimulationResult, in the order they are reported.
COUNTED = (
    "schools",
    "terms",
    "subjects",
    "class groups",
    "users",
    "school admins",
    "teachers",
    "teaching assignments",
    "students",
    "guardians",
    "lessons",
    "attendance marks",
    "homework",
    "submissions",
    "grades",
    "communications",
    "invoices",
    "payments",
    "behaviour scores",
    "teacher comments",
)


@dataclass
class SimulationResult:
    mode: str  # "service" or "bulk"
    schools: list[SimulatedSchool] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    summary_rows: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    jobs: list[str] = field(default_factory=list)  # one line per job run (or skipped)
    jobs_failed: int = 0
    differences: list[Difference] = field(default_factory=list)
    demo_users: dict[str, User] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())


def bulk_mode_chosen(*, students: int, weeks: int) -> bool:
    """Whether a run of this size is written in bulk when no mode is asked for."""
    return students > BULK_ABOVE_STUDENTS or students * weeks > BULK_ABOVE_STUDENT_WEEKS


def default_start(*, weeks: int, today: datetime.date) -> datetime.date:
    """The Monday ``weeks`` weeks before the week of ``today``: the simulated weeks end last Sunday."""
    return today - datetime.timedelta(days=today.weekday(), weeks=weeks)


def schools_simulate(
    *,
    students: int,
    weeks: int,
    seed: int,
    schools: int = 1,
    start: datetime.date,
    bulk: bool | None = None,
    rebuild_batch_size: int = 250,
    run_jobs: bool = True,
    verify: bool = True,
    demo_users: bool = True,
    progress: Progress | None = None,
    until: datetime.datetime | None = None,
) -> SimulationResult:
    """Create ``schools`` schools sharing ``students`` students and fill ``weeks`` weeks from ``start``.

    ``start`` is moved back to its Monday. ``bulk=None`` lets ``bulk_mode_chosen`` decide;
    ``rebuild_batch_size`` is the students per transaction of bulk mode's rebuild. ``until``: stop at that
    moment's date in each school's time zone (a last week cut short).
    Then runs the rank and teacher-metric jobs if installed, verifies the summaries, and gives the first
    school its demo logins.
    """
    if schools < 1 or weeks < 1:
        raise ValueError("Simulate at least one school and one week.")
    if students < MIN_STUDENTS_PER_SCHOOL * schools:
        raise ValueError(f"Give at least {MIN_STUDENTS_PER_SCHOOL} students per school ({schools} schools).")
    if demo_users:
        demo_logins_refuse_outside_debug()  # before anything is written
    start -= datetime.timedelta(days=start.weekday())
    bulk = bulk_mode_chosen(students=students, weeks=weeks) if bulk is None else bulk
    result = SimulationResult(mode="bulk" if bulk else "service")
    say = progress or (lambda message: None)

    for index in range(schools):
        share = students // schools + (1 if index < students % schools else 0)
        started = time.monotonic()
        plan = school_plan_make(
            seed=seed, school_index=index, students=share, first_day=start, weeks=weeks, until=until
        )
        result.phases["plan"] = result.phases.get("plan", 0) + time.monotonic() - started
        say(
            f"School {index + 1}/{schools}: {plan.name} ({plan.timezone}), {share} students in "
            f"{len(plan.classes)} classes, {len(plan.teachers)} teachers, {len(plan.subjects)} subjects, "
            f"{plan.periods_per_day} periods a day; {result.mode} mode"
        )
        if bulk:
            writer = BulkWriter(plan, counts=result.counts, phases=result.phases, rebuild_batch_size=rebuild_batch_size)
        else:
            writer = ServiceWriter(plan, counts=result.counts, phases=result.phases)
        simulated = writer.run(say)
        result.schools.append(simulated)

    if run_jobs:
        started = time.monotonic()
        result.jobs, result.jobs_failed = _jobs_run(schools=result.schools, say=say)
        result.phases["jobs"] = time.monotonic() - started
    if verify:
        started = time.monotonic()
        for simulated in result.schools:
            say(f"Verifying the summaries of {simulated.school.name}")
            result.differences += analytics_verify(school_id=simulated.school.pk)
        result.phases["verify"] = time.monotonic() - started
    school_ids = [simulated.school.pk for simulated in result.schools]
    result.summary_rows = {
        "student daily summaries": StudentDailySummary.objects.filter(school_id__in=school_ids).count(),
        "student term performances": StudentTermPerformance.objects.filter(school_id__in=school_ids).count(),
        "teacher performance metrics": TeacherPerformanceMetric.objects.filter(school_id__in=school_ids).count(),
    }
    if demo_users:
        started = time.monotonic()
        result.demo_users = demo_users_ensure(school=result.schools[0].school)
        result.phases["demo users"] = time.monotonic() - started
    return result


# --- jobs -------------------------------------------------------------------------------------------


def _command_options(name: str, app: str) -> set[str]:
    command = load_command_class(app, name)
    parser = command.create_parser("manage.py", name)
    return {option for action in parser._actions for option in action.option_strings}


def _jobs_run(*, schools: list[SimulatedSchool], say: Progress) -> tuple[list[str], int]:
    """Run the rank and teacher-metric commands for each school if they are installed; their output lines."""
    commands = get_commands()
    lines, failed = [], 0
    for name in (RANKS_COMMAND, TEACHER_METRICS_COMMAND):
        if name not in commands:
            lines.append(f"{name}: not installed, skipped")
            continue
        supported = _command_options(name, commands[name])
        for simulated in schools:
            last_monday = simulated.last_day - datetime.timedelta(days=simulated.last_day.weekday())
            if name == RANKS_COMMAND:
                # The term by id; failing that, the night after the simulated period.
                term = {"--term": simulated.term.pk} if "--term" in supported else {}
                wanted = {"--school": simulated.school.pk, **term}
                if not term:
                    wanted["--date"] = simulated.last_day + datetime.timedelta(days=1)
                elif "--until" in supported:
                    # The nightly standing snapshots of every simulated day, as if the job had run each night.
                    wanted["--date"] = max(simulated.first_day, simulated.term.start_date)
                    wanted["--until"] = simulated.last_day
            else:
                wanted = {"--school": simulated.school.pk, "--from": simulated.first_day, "--to": last_monday}
            args = [f"{option}={value}" for option, value in wanted.items() if option in supported]
            say(f"Running {name} {' '.join(args)}")
            out = io.StringIO()
            try:
                call_command(name, *args, stdout=out, stderr=io.StringIO())
            except Exception as error:  # a failed job is reported, the simulated data stays
                failed += 1
                lines.append(f"{name} {' '.join(args)}: FAILED: {type(error).__name__}: {error}")
            lines += [
                line if line.startswith(name) else f"{name}: {line}"
                for line in out.getvalue().splitlines()
                if line.strip()
            ]
    return lines, failed


# --- demo users -------------------------------------------------------------------------------------


class DemoLoginsRefused(ValueError):
    pass


def demo_logins_refuse_outside_debug() -> None:
    """Raise DemoLoginsRefused unless DJANGO_DEBUG is on: logins with a public password are for a local demo."""
    if not settings.DEBUG:
        raise DemoLoginsRefused(
            "Demo logins have a public password: they are created only with DJANGO_DEBUG on "
            "(simulate without them: --no-demo-logins, or demo_users=False)."
        )


def demo_users_ensure(*, school: School) -> dict[str, User]:
    """Give the school one login per role (demo-admin, -teacher, -guardian, -student; password DEMO_PASSWORD).

    Existing people of the school get the logins: the first school admin (one is created if there is
    none), the guardian with the most children, that guardian's first child and a teacher of that child's
    class. Idempotent. A demo username held by someone else (say of an earlier demo school) is renamed
    "<name>-<id>" to free it. Demo only: the password is public, so outside DJANGO_DEBUG it raises
    DemoLoginsRefused and changes nothing.
    """
    demo_logins_refuse_outside_debug()
    with transaction.atomic():
        guardian = (
            Guardian.objects.filter(school=school, students__active=True, students__class_group__isnull=False)
            .annotate(children=Count("students"))
            .order_by("-children", "id")
            .select_related("user")
            .first()
        )
        if guardian is None:
            raise ValueError(f"{school} has no guardian of an active student in a class: simulate it first.")
        student = guardian.students.filter(active=True, class_group__isnull=False).order_by("id").first()
        teacher = (
            Teacher.objects.filter(school=school, assignments__class_group_id=student.class_group_id)
            .annotate(classes=Count("assignments"))
            .order_by("-classes", "id")
            .select_related("user")
            .first()
        )
        if teacher is None:
            raise ValueError(f"Nobody teaches {student.class_group} at {school}: simulate the school first.")
        admin = SchoolAdmin.objects.filter(school=school).order_by("id").select_related("user").first()
        # One hash for the four logins: hashing is slow by design, and the password is public anyway.
        password = make_password(DEMO_PASSWORD)
        if admin is None:
            user = _demo_user_claim(
                DEMO_USERNAMES["admin"], None, password=password, first_name="Demo", last_name="Admin"
            )
            admin = SchoolAdmin.objects.create(user=user, school=school)
        users = {
            "admin": _demo_user_claim(DEMO_USERNAMES["admin"], admin.user, password=password),
            "teacher": _demo_user_claim(DEMO_USERNAMES["teacher"], teacher.user, password=password),
            "guardian": _demo_user_claim(DEMO_USERNAMES["guardian"], guardian.user, password=password),
            "student": _demo_user_claim(
                DEMO_USERNAMES["student"],
                student.user,
                password=password,
                first_name=student.first_name,
                last_name=student.last_name,
            ),
        }
        if student.user_id != users["student"].pk:
            Student.objects.filter(user=users["student"]).exclude(pk=student.pk).update(user=None)
            student.user = users["student"]
            student.save(update_fields=["user", "updated_at"])
    return users


def _demo_user_claim(
    username: str, user: User | None, *, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """``user`` (or a new user) under ``username`` with the (hashed) ``password``; another holder is renamed."""
    holder = User.objects.filter(username=username).first()
    if holder is not None and (user is None or holder.pk != user.pk):
        if user is None and not _has_role(holder):
            user = holder  # a leftover login with no role: reuse it
        else:
            holder.username = f"{username}-{holder.pk}"
            holder.save(update_fields=["username"])
    if user is None:
        user = User(username=username, first_name=first_name, last_name=last_name)
    user.username = username
    user.is_active = True
    user.password = password
    user.save()
    return user


def _has_role(user: User) -> bool:
    return any(hasattr(user, role) for role in ("school_admin", "teacher", "guardian", "student"))
