"""What happens at a simulated school, drawn from a seed: pure Python, no database.

``school_plan_make`` draws a school (calendar, subjects, classes, timetable, teachers, students, families,
fees) and ``school_weeks`` then yields, week after week, the days of source records to write: lessons with
their roll calls, homework, submissions, grades, messages to guardians, payments and behaviour scores.
Both write modes (per-row services and bulk) write the same plan, so they end with the same data.

Every draw comes from a ``random.Random`` of the plan's own (one stream per concern, seeded from the run's
seed, the school's index and the stream's name) and from a ``Faker`` seeded per school: the same seed
gives the same school, and adding draws to one concern does not shift the others.
"""

import datetime
import math
import random
import re
import unicodedata
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from faker import Faker

PRESENT, LATE, ABSENT, EXCUSED = "PRESENT", "LATE", "ABSENT", "EXCUSED"
CENT = Decimal("0.01")

# Schools are placed in these time zones in turn; fees are in the local currency.
LOCATIONS = (
    # time zone, Faker locale, currency, yearly fee of the lowest grade, payment methods and weights, language
    ("Africa/Nairobi", "en_KE", "KES", 45000, {"MOBILE": 6, "BANK": 3, "CASH": 1}, "Kiswahili"),
    ("America/Los_Angeles", "en_US", "USD", 1800, {"CARD": 5, "BANK": 4, "CHEQUE": 1}, "Spanish"),
    ("Europe/London", "en_GB", "GBP", 2400, {"BANK": 6, "CARD": 4}, "French"),
    ("Asia/Kolkata", "en_IN", "INR", 38000, {"BANK": 5, "CARD": 3, "CASH": 2}, "Hindi"),
    ("Australia/Sydney", "en_AU", "AUD", 3200, {"BANK": 6, "CARD": 4}, "Japanese"),
    ("Africa/Lagos", "en_NG", "NGN", 150000, {"BANK": 5, "MOBILE": 3, "CASH": 2}, "Yoruba"),
)
SCHOOL_KINDS = ("High School", "Secondary School", "Academy", "College", "Community School")

# name, code, weight in the weekly timetable, homework set per week, maximum scores used
CORE_SUBJECTS = (
    ("Mathematics", "MATH", 5, 2, (20, 25, 50)),
    ("English", "ENG", 5, 2, (10, 20, 50)),
    ("Biology", "BIO", 3, 1, (20, 50)),
    ("Chemistry", "CHEM", 3, 1, (20, 50)),
    ("Physics", "PHY", 3, 1, (20, 25, 50)),
    ("History", "HIST", 3, 1, (20, 30, 100)),
    ("Geography", "GEO", 2, 1, (20, 50)),
    ("Physical Education", "PE", 2, 0, (10,)),
)
EXTRA_SUBJECTS = (
    ("Computer Science", "CS", 2, 1, (10, 20)),
    ("Art", "ART", 2, 0.5, (10, 20)),
    ("Music", "MUS", 1, 0.5, (10,)),
    ("{language}", "LANG", 3, 1, (10, 20)),
)
HOMEWORK_KINDS = ("Worksheet", "Exercises", "Reading", "Problem set", "Revision quiz", "Short essay", "Project step")
GRADE_LEVELS = (7, 8, 9, 10, 11, 12)
TEACHER_MAX_PERIODS = 24  # of a week's periods, so every teacher has free periods for the timetable to use
MAX_SUBJECTS_A_TEACHER = 2
# Roll calls a teacher forgets to take: this share of the lessons of past days has no marks at all (never the
# last simulated day, the demo's today, so its attendance today stays whole), drawn from a stream of its own.
ROLL_CALL_FORGOTTEN = 0.02
FIRST_PERIOD_STARTS = datetime.time(8, 0)
PERIOD_MINUTES = 55

EXCUSED_NOTES = ("Illness, parent called", "Sick note received", "Medical appointment", "Family emergency")
LATE_NOTES = ("", "", "Bus delayed", "Overslept", "Traffic")
FEEDBACK = {
    85: ("Excellent work.", "Outstanding, well done.", "Very thorough."),
    70: ("Good work.", "Solid answers; check the last question.", "Well done."),
    55: ("Fair effort; review your notes.", "Some good points, some gaps.", ""),
    0: ("See me about this one.", "Please redo the corrections.", "Needs more care."),
}
COMMENTS = {
    85: ("{name} has done excellent work in {subject} this term.", "Outstanding effort and results in {subject}."),
    70: ("{name} is making good progress in {subject}.", "Consistent, careful work in {subject}; keep it up."),
    55: ("{name} is working at a fair level in {subject}; more practice at home will help.",),
    0: ("{name} finds {subject} difficult; let us meet to agree on extra support.",),
}


# --- the plan's records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    username: str  # unique within the school; the writer makes it unique in the database
    email: str


@dataclass(frozen=True)
class SubjectPlan:
    name: str
    code: str
    weekly_periods: int
    homework_per_week: float
    max_scores: tuple[int, ...]


@dataclass
class TeacherPlan:
    person: Person
    subjects: list[int] = field(default_factory=list)
    load: int = 0  # periods a week


@dataclass
class ClassPlan:
    name: str
    grade_level: int
    students: list[int]  # student indexes
    teacher_of: dict[int, int] = field(default_factory=dict)  # subject index -> teacher index
    timetable: list[list[int]] = field(default_factory=list)  # [weekday][period] -> subject index
    form_teacher: int = 0


@dataclass
class StudentPlan:
    first_name: str
    last_name: str
    number: str
    date_of_birth: datetime.date
    class_index: int = 0
    family: int = 0
    profile: str = "regular"  # regular, often late, chronically absent, sliding grades
    ability: float = 65.0  # expected percentage in an average subject
    subject_bias: dict[int, float] = field(default_factory=dict)
    diligence: float = 0.9  # chance of handing homework in
    punctuality: float = 0.95  # chance of handing it in on time, when handed in
    absence_start: float = 0.01  # chance a day starts a spell of absence
    excused_share: float = 0.7  # share of spells of absence that are authorised
    late_rate: float = 0.02  # chance of arriving late on a day
    skip_rate: float = 0.0  # chance of missing a single lesson while in school
    conduct: float = 4.0  # typical behaviour score
    slide: float = 0.0  # points a week the grades fall by in the second half of the simulated period
    # Simulation state.
    spell_left: int = 0
    spell_excused: bool = False
    unexcused_days: int = 0


@dataclass(frozen=True)
class GuardianPlan:
    person: Person
    phone: str
    children: tuple[int, ...]


@dataclass(frozen=True)
class PaymentPlan:
    invoice: int
    amount: Decimal
    paid_at: datetime.datetime
    method: str
    reference: str


@dataclass
class InvoicePlan:
    student: int
    description: str
    amount: Decimal
    issued_on: datetime.date
    due_date: datetime.date
    status: str = "OPEN"


@dataclass(frozen=True)
class LessonPlan:
    ref: int
    class_index: int
    subject: int
    teacher: int
    date: datetime.date
    period: int
    marks: tuple[tuple[int, str, str], ...]  # (student index, status, note)

    @property
    def starts_at(self) -> datetime.time:
        minutes = FIRST_PERIOD_STARTS.hour * 60 + (self.period - 1) * PERIOD_MINUTES
        return datetime.time(minutes // 60, minutes % 60)


@dataclass(frozen=True)
class HomeworkPlan:
    ref: int
    class_index: int
    subject: int
    teacher: int
    title: str
    description: str
    assigned_date: datetime.date
    due_date: datetime.date
    max_score: Decimal


@dataclass(frozen=True)
class SubmissionPlan:
    ref: int
    homework: int
    student: int
    submitted_at: datetime.datetime


@dataclass(frozen=True)
class GradePlan:
    submission: int
    homework: int
    max_score: Decimal
    score: Decimal
    teacher: int
    graded_at: datetime.datetime
    feedback: str


@dataclass(frozen=True)
class CommunicationPlan:
    teacher: int | None  # None: sent by the school office (the head)
    guardian: int
    student: int
    channel: str
    sent_at: datetime.datetime
    subject: str
    body: str


@dataclass(frozen=True)
class BehaviourPlan:
    student: int
    date: datetime.date
    score: int


@dataclass
class DayPlan:
    date: datetime.date
    lessons: list[LessonPlan] = field(default_factory=list)
    homework: list[HomeworkPlan] = field(default_factory=list)
    submissions: list[SubmissionPlan] = field(default_factory=list)
    grades: list[GradePlan] = field(default_factory=list)
    communications: list[CommunicationPlan] = field(default_factory=list)
    payments: list[PaymentPlan] = field(default_factory=list)
    behaviour: list[BehaviourPlan] = field(default_factory=list)


@dataclass(frozen=True)
class CommentPlan:
    student: int
    subject: int
    text: str


@dataclass
class SchoolPlan:
    index: int
    seed: int
    name: str
    timezone: str
    locale: str
    currency: str
    domain: str
    periods_per_day: int
    term_name: str
    term_start: datetime.date
    term_end: datetime.date
    first_day: datetime.date  # the simulated period (whole weeks, Monday to Sunday)
    last_day: datetime.date
    holidays: dict[datetime.date, str]
    subjects: list[SubjectPlan]
    head: Person
    teachers: list[TeacherPlan]
    classes: list[ClassPlan]
    students: list[StudentPlan]
    guardians: list[GuardianPlan]
    invoices: list[InvoicePlan]
    payments: list[PaymentPlan]
    comments: list[CommentPlan] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)
    timetable_clashes: int = 0

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def school_days(self) -> list[datetime.date]:
        """Weekdays of the simulated period on which lessons are held."""
        days = (self.first_day + datetime.timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1))
        return [day for day in days if day.weekday() < 5 and day not in self.holidays]

    def guardians_of(self) -> dict[int, list[int]]:
        """Student index -> guardian indexes, the first one the main contact."""
        result = defaultdict(list)
        for index, guardian in enumerate(self.guardians):
            for child in guardian.children:
                result[child].append(index)
        return result


# --- helpers ---------------------------------------------------------------------------------------


def stream(*, seed: int, school_index: int, name: str) -> random.Random:
    """An independent random stream of one concern of one school."""
    return random.Random(f"simulation:{seed}:{school_index}:{name}")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower()) or "x"


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _at(day: datetime.date, tz: zoneinfo.ZoneInfo, *, hour: int, minute: int = 0) -> datetime.datetime:
    # Hours used here are never in a daylight-saving gap (those are at night).
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)


def _random_time(
    rng: random.Random, day: datetime.date, tz: zoneinfo.ZoneInfo, first_hour: int, last_hour: int
) -> datetime.datetime:
    return _at(day, tz, hour=rng.randint(first_hour, last_hour), minute=rng.randrange(60))


def _band(value: float, bands: dict[int, tuple]) -> tuple:
    for floor in sorted(bands, reverse=True):
        if value >= floor:
            return bands[floor]
    return bands[0]


class _People:
    """Names from Faker, usernames unique within the school."""

    def __init__(self, fake: Faker, domain: str):
        self.fake = fake
        self.domain = domain
        self.taken: set[str] = set()

    def person(self, *, last_name: str | None = None, female: bool | None = None, role: str) -> Person:
        first = self.fake.first_name_female() if female else self.fake.first_name_male()
        last = last_name or self.fake.last_name()
        base = f"{_slug(first)}.{_slug(last)}"
        username, n = base, 1
        while username in self.taken:
            n += 1
            username = f"{base}{n}"
        self.taken.add(username)
        return Person(first, last, username, f"{username}@{role}.{self.domain}")


# --- the school ------------------------------------------------------------------------------------


def school_plan_make(
    *,
    seed: int,
    school_index: int,
    students: int,
    first_day: datetime.date,
    weeks: int,
    until: datetime.datetime | None = None,
) -> SchoolPlan:
    """Draw a school of ``students`` students whose simulated period is ``weeks`` weeks from ``first_day``.

    ``until``: a moment the simulated period stops at, taken as a date in the school's own time zone
    (the demo runs to today there, so its school has today's roll calls); the weeks are drawn alike.
    """
    if first_day.weekday() != 0:
        raise ValueError(f"The simulated period starts on a Monday, not on {first_day:%A %Y-%m-%d}.")
    if students < 1 or weeks < 1:
        raise ValueError("A school needs at least one student and one week.")
    rng = stream(seed=seed, school_index=school_index, name="school")
    tz_name, locale, currency, fee, methods, language = LOCATIONS[school_index % len(LOCATIONS)]
    fake = Faker(locale)
    fake.seed_instance(rng.getrandbits(32))

    place = fake.last_name()
    name = f"{place} {rng.choice(SCHOOL_KINDS)}"
    if school_index >= len(LOCATIONS):
        name = f"{name} {school_index // len(LOCATIONS) + 1}"
    domain = f"{_slug(place)}-{school_index + 1}.example.org"
    people = _People(fake, domain)
    last_day = first_day + datetime.timedelta(weeks=weeks, days=-1)
    if until is not None:
        last_day = max(first_day, min(last_day, until.astimezone(zoneinfo.ZoneInfo(tz_name)).date()))

    # The term holds the simulated weeks; a short run is the start of a term of at least twelve weeks.
    term_end = first_day + datetime.timedelta(weeks=max(weeks, 12), days=-3)
    season = {1: "Spring", 2: "Spring", 3: "Spring", 4: "Summer", 5: "Summer", 6: "Summer", 7: "Summer"}
    term_name = f"{season.get(first_day.month, 'Autumn')} term {first_day.year}"
    holidays = _holidays(rng, first_day=first_day, weeks=weeks)

    subjects = _subjects(rng, language=language)
    periods_per_day = rng.choice((5, 6, 6))
    _allocate_periods(subjects, slots=5 * periods_per_day)

    student_plans, guardians = _families(rng, people, fake, students=students, first_day=first_day)
    classes = _classes(rng, student_plans)
    teachers = _teachers(rng, people, subjects, classes)
    clashes = _timetables(rng, subjects, classes, periods_per_day)
    _profiles(rng, student_plans, classes, subjects, year_now=first_day.year)
    plan = SchoolPlan(
        index=school_index,
        seed=seed,
        name=name,
        timezone=tz_name,
        locale=locale,
        currency=currency,
        domain=domain,
        periods_per_day=periods_per_day,
        term_name=term_name,
        term_start=first_day,
        term_end=term_end,
        first_day=first_day,
        last_day=last_day,
        holidays=holidays,
        subjects=subjects,
        head=people.person(female=rng.random() < 0.5, role="staff"),
        teachers=teachers,
        classes=classes,
        students=student_plans,
        guardians=guardians,
        invoices=[],
        payments=[],
        methods=methods,
        timetable_clashes=clashes,
    )
    _fees(plan, fee=fee)
    _comments(plan)
    return plan


def _holidays(rng: random.Random, *, first_day: datetime.date, weeks: int) -> dict[datetime.date, str]:
    """A public holiday in the second week (or the only one), and a half-term week in longer runs."""
    holidays = {}
    holiday_week = min(1, weeks - 1)
    day = first_day + datetime.timedelta(weeks=holiday_week, days=rng.randrange(5))
    holidays[day] = "Public holiday"
    if weeks >= 10:
        monday = first_day + datetime.timedelta(weeks=weeks // 2)
        for n in range(5):
            holidays[monday + datetime.timedelta(days=n)] = "Half-term break"
    return holidays


def _subjects(rng: random.Random, *, language: str) -> list[SubjectPlan]:
    count = rng.randint(8, 10)
    extras = list(EXTRA_SUBJECTS)
    rng.shuffle(extras)
    chosen = list(CORE_SUBJECTS) + extras[: count - len(CORE_SUBJECTS)]
    return [
        SubjectPlan(name.format(language=language), code, weight, homework, scores)
        for name, code, weight, homework, scores in chosen
    ]


def _allocate_periods(subjects: list[SubjectPlan], *, slots: int) -> None:
    """Share the week's periods among subjects by weight (largest remainder), at least one each."""
    weights = [subject.weekly_periods for subject in subjects]
    total = sum(weights)
    shares = [max(1, math.floor(slots * w / total)) for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (slots * weights[i] / total - shares[i], -i), reverse=True)
    position = 0
    while sum(shares) < slots:
        shares[order[position % len(order)]] += 1
        position += 1
    while sum(shares) > slots:
        largest = max(range(len(shares)), key=lambda i: shares[i])
        shares[largest] -= 1
    for index, subject in enumerate(subjects):
        subjects[index] = SubjectPlan(
            subject.name, subject.code, shares[index], subject.homework_per_week, subject.max_scores
        )


def _families(
    rng: random.Random, people: _People, fake: Faker, *, students: int, first_day: datetime.date
) -> tuple[list[StudentPlan], list[GuardianPlan]]:
    """Families of one to three children with one or two guardians; children get their grade level later."""
    plans: list[StudentPlan] = []
    guardians: list[GuardianPlan] = []
    family = 0
    while len(plans) < students:
        size = min(rng.choices((1, 2, 3), weights=(78, 18, 4))[0], students - len(plans))
        surname = fake.last_name()
        children = []
        for _ in range(size):
            female = rng.random() < 0.5
            first = fake.first_name_female() if female else fake.first_name_male()
            children.append(len(plans))
            plans.append(
                StudentPlan(
                    first_name=first,
                    last_name=surname,
                    number="",
                    date_of_birth=first_day,
                    family=family,
                )
            )
        first_guardian = people.person(last_name=surname, female=rng.random() < 0.7, role="home")
        guardians.append(GuardianPlan(first_guardian, fake.phone_number()[:32], tuple(children)))
        if rng.random() < 0.55:
            second_name = surname if rng.random() < 0.85 else None
            second = people.person(last_name=second_name, female=rng.random() < 0.3, role="home")
            guardians.append(GuardianPlan(second, fake.phone_number()[:32], tuple(children)))
        family += 1
    return plans, guardians


def _class_sizes(total: int) -> list[int]:
    """Classes of 20 to 35 students (fewer than 20 students make one small class)."""
    count = max(1, round(total / 28))
    while count > 1 and total / count < 20:
        count -= 1
    while total / count > 35:
        count += 1
    base, extra = divmod(total, count)
    return [base + (1 if n < extra else 0) for n in range(count)]


def _classes(rng: random.Random, students: list[StudentPlan]) -> list[ClassPlan]:
    sizes = _class_sizes(len(students))
    # Vary the sizes a little, staying within 20 to 35.
    for _ in range(len(sizes) * 3):
        if len(sizes) < 2:
            break
        a, b = rng.sample(range(len(sizes)), 2)
        step = rng.randint(1, 3)
        if sizes[a] - step >= 20 and sizes[b] + step <= 35:
            sizes[a] -= step
            sizes[b] += step
    levels = min(len(GRADE_LEVELS), len(sizes))
    per_level = math.ceil(len(sizes) / levels)
    order = list(range(len(students)))
    rng.shuffle(order)
    # Siblings apart: a family's children are spread over the shuffled order, so classes mix families.
    classes, position = [], 0
    for index, size in enumerate(sizes):
        level = GRADE_LEVELS[min(index // per_level, levels - 1)]
        stream_letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index % per_level]
        members = order[position : position + size]
        position += size
        classes.append(ClassPlan(name=f"Grade {level}{stream_letter}", grade_level=level, students=members))
    for class_index, class_plan in enumerate(classes):
        class_plan.students.sort()
        for student in class_plan.students:
            students[student].class_index = class_index
    return classes


def _teachers(
    rng: random.Random, people: _People, subjects: list[SubjectPlan], classes: list[ClassPlan]
) -> list[TeacherPlan]:
    """Pack each subject's classes into teachers of up to TEACHER_MAX_PERIODS a week; pair light loads.

    A teacher teaches one subject, or two where neither fills a timetable (a small school's music teacher
    also teaches art).
    """
    groups: list[tuple[list[int], list[tuple[int, int]], int]] = []  # (subjects, [(class, subject)], load)
    for subject_index, subject in enumerate(subjects):
        current: list[tuple[int, int]] = []
        load = 0
        for class_index in range(len(classes)):
            if load + subject.weekly_periods > TEACHER_MAX_PERIODS and current:
                groups.append(([subject_index], current, load))
                current, load = [], 0
            current.append((class_index, subject_index))
            load += subject.weekly_periods
        groups.append(([subject_index], current, load))
    # A small school does not employ a music teacher for two periods a week: light loads are combined.
    groups.sort(key=lambda group: (group[2], group[0]))
    merged = []
    while groups:
        group = groups.pop(0)
        if group[2] < TEACHER_MAX_PERIODS // 2:
            partner = next(
                (
                    g
                    for g in groups
                    if g[2] + group[2] <= TEACHER_MAX_PERIODS and len(g[0]) + len(group[0]) <= MAX_SUBJECTS_A_TEACHER
                ),
                None,
            )
            if partner is not None:
                groups.remove(partner)
                group = (group[0] + partner[0], group[1] + partner[1], group[2] + partner[2])
                groups.append(group)
                groups.sort(key=lambda g: (g[2], g[0]))
                continue
        merged.append(group)
    merged.sort(key=lambda group: (min(group[0]), group[1][0]))
    teachers = []
    for teacher_index, (subject_ids, units, load) in enumerate(merged):
        teachers.append(TeacherPlan(people.person(female=rng.random() < 0.6, role="staff"), sorted(subject_ids), load))
        for class_index, subject_index in units:
            classes[class_index].teacher_of[subject_index] = teacher_index
    for class_plan in classes:
        periods = defaultdict(int)
        for subject_index, teacher_index in class_plan.teacher_of.items():
            periods[teacher_index] += subjects[subject_index].weekly_periods
        class_plan.form_teacher = min(periods, key=lambda t: (-periods[t], t))
    return teachers


def _timetables(rng: random.Random, subjects: list[SubjectPlan], classes: list[ClassPlan], periods: int) -> int:
    """A weekly timetable per class, with no teacher in two rooms at once as far as it can be arranged.

    A greedy fill in random orders, each repaired by swapping a clashing lesson with another of the same
    class; keeps the attempt with the fewest clashes and returns that number.
    """
    best, best_clashes = None, None
    for _ in range(12):
        attempt, clashes = _timetable_attempt(rng, subjects, classes, periods)
        if best_clashes is None or clashes < best_clashes:
            best, best_clashes = attempt, clashes
        if clashes == 0:
            break
    for class_plan, timetable in zip(classes, best, strict=True):
        class_plan.timetable = timetable
    return best_clashes


def _timetable_attempt(rng, subjects, classes, periods) -> tuple[list[list[list[int]]], int]:
    remaining = [{s: subjects[s].weekly_periods for s in range(len(subjects))} for _ in classes]
    tables = [[[0] * periods for _ in range(5)] for _ in classes]
    clashes = 0
    for weekday in range(5):
        today = [defaultdict(int) for _ in classes]
        for period in range(periods):
            busy: set[int] = set()
            order = list(range(len(classes)))
            rng.shuffle(order)
            for c in order:
                left = remaining[c]
                days_left = 5 - weekday
                options = [s for s, n in left.items() if n > 0]
                free = [s for s in options if classes[c].teacher_of[s] not in busy]
                # At most one lesson of a subject a day, unless it has more lessons left than days.
                spread = [s for s in free if today[c][s] == 0 or left[s] > days_left]
                pool = spread or free or options
                if not (spread or free):
                    clashes += 1
                weights = [left[s] ** 2 for s in pool]
                chosen = rng.choices(pool, weights=weights)[0]
                left[chosen] -= 1
                today[c][chosen] += 1
                busy.add(classes[c].teacher_of[chosen])
                tables[c][weekday][period] = chosen
    if clashes:
        clashes = _timetable_repair(tables, classes)
    return tables, clashes


def _timetable_repair(tables: list[list[list[int]]], classes: list[ClassPlan]) -> int:
    """Swap clashing lessons with other lessons of their class where that frees the teacher; remaining clashes."""
    slots = [(day, period) for day in range(len(tables[0])) for period in range(len(tables[0][0]))]
    busy = defaultdict(lambda: defaultdict(int))  # slot -> teacher -> classes taught then
    for c, table in enumerate(tables):
        for day, period in slots:
            busy[day, period][classes[c].teacher_of[table[day][period]]] += 1

    def teacher(c: int, slot: tuple[int, int]) -> int:
        return classes[c].teacher_of[tables[c][slot[0]][slot[1]]]

    improved = True
    while improved:
        improved = False
        for c in range(len(tables)):
            for a in slots:
                t = teacher(c, a)
                if busy[a][t] < 2:
                    continue
                for b in slots:
                    u = teacher(c, b)
                    if b == a or u == t or busy[b][t] or busy[a][u]:
                        continue
                    tables[c][a[0]][a[1]], tables[c][b[0]][b[1]] = tables[c][b[0]][b[1]], tables[c][a[0]][a[1]]
                    busy[a][t] -= 1
                    busy[b][u] -= 1
                    busy[b][t] += 1
                    busy[a][u] += 1
                    improved = True
                    break
    return sum(n - 1 for slot in busy.values() for n in slot.values() if n > 1)


def _profiles(
    rng: random.Random,
    students: list[StudentPlan],
    classes: list[ClassPlan],
    subjects: list[SubjectPlan],
    *,
    year_now: int,
) -> None:
    """Numbers, birthdays, and the traits that drive attendance, homework and grades."""
    for index, student in enumerate(students):
        # Aged 12 at the start of grade 7.
        year = year_now - classes[student.class_index].grade_level - 5
        student.date_of_birth = datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
        student.number = f"S{index + 1:05d}"
    for class_plan in classes:
        members = list(class_plan.students)
        rng.shuffle(members)
        chronic = max(1, round(len(members) * 0.08))
        late = round(len(members) * 0.10)
        sliding = round(len(members) * 0.05)
        for position, student_index in enumerate(members):
            student = students[student_index]
            if position < chronic:
                student.profile = "chronically absent"
            elif position < chronic + late:
                student.profile = "often late"
            elif position < chronic + late + sliding:
                # Grades that fall week after week (the early-warning "grades" flag is there to catch them).
                student.profile = "sliding grades"
                student.slide = 6.0
    for student in students:
        student.ability = _clamp(rng.gauss(67, 11), 48, 92)
        student.subject_bias = {s: _clamp(rng.gauss(0, 6), -12, 12) for s in range(len(subjects))}
        # Most students hand nearly everything in on time; the few who do not are the ones to notice (with ten
        # subjects a class is set about 24 homework a fortnight, and the early-warning flag starts at 3 missed).
        student.diligence = _clamp(rng.gauss(0.985, 0.015), 0.9, 0.998)
        student.punctuality = _clamp(rng.gauss(0.985, 0.015), 0.9, 0.998)
        student.conduct = _clamp(rng.gauss(4.0, 0.5), 2.5, 4.9)
        student.absence_start = rng.uniform(0.004, 0.018)
        student.excused_share = rng.uniform(0.6, 0.9)
        student.late_rate = rng.uniform(0.005, 0.03)
        if student.profile == "often late":
            student.late_rate = rng.uniform(0.12, 0.25)
        elif student.profile == "chronically absent":
            student.absence_start = rng.uniform(0.07, 0.12)
            student.excused_share = rng.uniform(0.2, 0.4)
            student.skip_rate = rng.uniform(0.02, 0.05)
            student.diligence = _clamp(student.diligence - 0.2, 0.45, 0.8)
            student.conduct = _clamp(student.conduct - 0.8, 2.0, 4.0)


def _fees(plan: SchoolPlan, *, fee: int) -> None:
    """A tuition invoice per student for the term (some with an activities invoice), and who pays when."""
    rng = stream(seed=plan.seed, school_index=plan.index, name="fees")
    tz = plan.tzinfo
    due = plan.term_start + datetime.timedelta(days=18)  # the Friday of the third week
    payer_of_family: dict[int, str] = {}
    for student_index, student in enumerate(plan.students):
        level = plan.classes[student.class_index].grade_level
        tuition = Decimal(fee) * (1 + Decimal("0.05") * (level - GRADE_LEVELS[0])) / 3  # a third of the year
        invoices = [(f"Tuition, {plan.term_name}", tuition.quantize(Decimal("1")))]
        if rng.random() < 0.2:
            invoices.append((f"Activities and trips, {plan.term_name}", (Decimal(fee) / 20).quantize(Decimal("1"))))
        # Siblings' fees are paid by the same household, the same way.
        payer = payer_of_family.setdefault(
            student.family, rng.choices(("prompt", "instalments", "late", "none"), weights=(55, 25, 12, 8))[0]
        )
        for description, amount in invoices:
            invoice_index = len(plan.invoices)
            invoice = InvoicePlan(student_index, description, amount, plan.term_start, due)
            plan.invoices.append(invoice)
            paid = Decimal(0)
            for offset_days, share in _payment_schedule(rng, payer):
                day = plan.term_start + datetime.timedelta(days=offset_days)
                if day > plan.last_day:
                    break
                amount_now = (amount * share).quantize(CENT) if share < 1 else amount - paid
                amount_now = min(amount_now, amount - paid)
                if amount_now <= 0:
                    break
                paid += amount_now
                method = _weighted(rng, plan.methods)
                plan.payments.append(
                    PaymentPlan(
                        invoice_index,
                        amount_now,
                        _random_time(rng, day, tz, 8, 18),
                        method,
                        f"{method[:3]}-{rng.randrange(10**6, 10**7)}",
                    )
                )
            invoice.status = "PAID" if paid >= amount else "PARTIAL" if paid > 0 else "OPEN"


def _payment_schedule(rng: random.Random, payer: str) -> list[tuple[int, Decimal]]:
    """(days after the term starts, share of the invoice) of each payment a household makes."""
    if payer == "prompt":
        if rng.random() < 0.7:
            return [(rng.randint(0, 16), Decimal(1))]
        return [(rng.randint(0, 9), Decimal("0.5")), (rng.randint(10, 20), Decimal(1))]
    if payer == "instalments":
        first = rng.randint(3, 14)
        return [(first, Decimal("0.34")), (first + 28, Decimal("0.33")), (first + 56, Decimal(1))]
    if payer == "late":
        return [(rng.randint(25, 45), Decimal("0.5")), (rng.randint(60, 80), Decimal(1))]
    return []


def _comments(plan: SchoolPlan) -> None:
    """End-of-period teacher comments on about a quarter of the (student, subject) report lines."""
    rng = stream(seed=plan.seed, school_index=plan.index, name="comments")
    for student_index, student in enumerate(plan.students):
        for subject_index in sorted(plan.classes[student.class_index].teacher_of):
            if rng.random() >= 0.25:
                continue
            expected = student.ability + student.subject_bias[subject_index]
            template = rng.choice(_band(expected, COMMENTS))
            text = template.format(name=student.first_name, subject=plan.subjects[subject_index].name)
            plan.comments.append(CommentPlan(student_index, subject_index, text))


# --- the weeks -------------------------------------------------------------------------------------


class _Week:
    """The events of the simulated period, day by day, scheduled ahead when they follow later."""

    def __init__(self, plan: SchoolPlan):
        self.plan = plan
        self.days: dict[datetime.date, DayPlan] = {}
        self.lesson_refs = 0
        self.homework_refs = 0
        self.submission_refs = 0

    def day(self, date: datetime.date) -> DayPlan | None:
        if not self.plan.first_day <= date <= self.plan.last_day:
            return None
        return self.days.setdefault(date, DayPlan(date))


def school_weeks(plan: SchoolPlan) -> Iterator[list[DayPlan]]:
    """Yield the simulated weeks in order, each a list of its seven days with their events."""
    for student in plan.students:  # a replay starts afresh
        student.spell_left, student.spell_excused, student.unexcused_days = 0, False, 0
    tz = plan.tzinfo
    events = _Week(plan)
    attendance_rng = stream(seed=plan.seed, school_index=plan.index, name="attendance")
    homework_rng = stream(seed=plan.seed, school_index=plan.index, name="homework")
    message_rng = stream(seed=plan.seed, school_index=plan.index, name="messages")
    behaviour_rng = stream(seed=plan.seed, school_index=plan.index, name="behaviour")
    forgotten_rng = stream(seed=plan.seed, school_index=plan.index, name="forgotten roll calls")
    guardians_of = plan.guardians_of()
    school_days = plan.school_days()
    open_days = set(school_days)
    lesson_days = {cls: _lesson_days(plan, cls, school_days) for cls in range(len(plan.classes))}

    for payment in plan.payments:
        events.day(payment.paid_at.astimezone(tz).date()).payments.append(payment)
    _fee_reminders(plan, events, message_rng, guardians_of)

    monday = plan.first_day
    while monday <= plan.last_day:
        week_days = [monday + datetime.timedelta(days=n) for n in range(7)]
        for class_index in range(len(plan.classes)):
            _homework_week(plan, events, homework_rng, message_rng, guardians_of, class_index, week_days, lesson_days)
        for day in week_days:
            if day in open_days:
                _school_day(plan, events, attendance_rng, message_rng, behaviour_rng, forgotten_rng, guardians_of, day)
        _praise_week(plan, events, message_rng, guardians_of, week_days)
        yield [events.days.pop(day, DayPlan(day)) for day in week_days]
        monday += datetime.timedelta(weeks=1)


def _lesson_days(plan: SchoolPlan, class_index: int, school_days: list[datetime.date]) -> dict[int, list]:
    """Subject index -> the school days (sorted) on which the class has a lesson of it."""
    timetable = plan.classes[class_index].timetable
    days = defaultdict(list)
    for day in school_days:
        for subject in sorted(set(timetable[day.weekday()])):
            days[subject].append(day)
    return days


def _school_day(plan, events, rng, message_rng, behaviour_rng, forgotten_rng, guardians_of, day: datetime.date) -> None:
    """Roll calls of every lesson of the day (but the few forgotten on past days: the lesson without marks), and
    the follow-ups of absences; behaviour scores."""
    today = events.day(day)
    presence = {}  # student -> per period status and note
    periods = plan.periods_per_day
    for student_index, student in enumerate(plan.students):
        presence[student_index] = _student_day(rng, student, periods)
    for class_index, class_plan in enumerate(plan.classes):
        for period in range(periods):
            subject = class_plan.timetable[day.weekday()][period]
            marks = tuple((student_index, *presence[student_index][period]) for student_index in class_plan.students)
            # Drawn for every lesson, so which are forgotten does not depend on the period's length.
            if forgotten_rng.random() < ROLL_CALL_FORGOTTEN and day < plan.last_day:
                marks = ()
            events.lesson_refs += 1
            today.lessons.append(
                LessonPlan(
                    events.lesson_refs,
                    class_index,
                    subject,
                    class_plan.teacher_of[subject],
                    day,
                    period + 1,
                    marks,
                )
            )
    tz = plan.tzinfo
    for student_index, student in enumerate(plan.students):
        statuses = [status for status, _ in presence[student_index]]
        whole_day_absent = statuses and all(status == ABSENT for status in statuses)
        if whole_day_absent:
            student.unexcused_days += 1
            # The form teacher calls home on the second unexcused day, and every second one after.
            if student.unexcused_days % 2 == 0 and guardians_of.get(student_index):
                class_plan = plan.classes[student.class_index]
                meeting = student.unexcused_days >= 6 and student.unexcused_days % 6 == 0
                channel = "meeting" if meeting else message_rng.choice(("phone", "sms", "phone"))
                subject = "Meeting about attendance" if meeting else f"Absence of {student.first_name} today"
                body = (
                    f"{student.first_name} has missed {student.unexcused_days} days this term without an "
                    "explanation. Please get in touch with the school office."
                )
                today.communications.append(
                    CommunicationPlan(
                        class_plan.form_teacher,
                        guardians_of[student_index][0],
                        student_index,
                        channel,
                        _random_time(message_rng, day, tz, 10, 15),
                        subject,
                        body,
                    )
                )
        if behaviour_rng.random() < 0.2:
            score = round(_clamp(behaviour_rng.gauss(student.conduct, 0.6), 1, 5))
            today.behaviour.append(BehaviourPlan(student_index, day, score))


def _student_day(rng: random.Random, student: StudentPlan, periods: int) -> list[tuple[str, str]]:
    """A student's status at each period of a school day."""
    if student.spell_left == 0 and rng.random() < student.absence_start:
        student.spell_left = rng.choices((1, 2, 3, 5), weights=(55, 25, 15, 5))[0]
        student.spell_excused = rng.random() < student.excused_share
    if student.spell_left:
        student.spell_left -= 1
        if student.spell_excused:
            return [(EXCUSED, rng.choice(EXCUSED_NOTES[:2]))] * periods
        return [(ABSENT, "")] * periods
    day = [(PRESENT, "")] * periods
    if rng.random() < student.late_rate:
        day[0] = (LATE, rng.choice(LATE_NOTES))
    if rng.random() < 0.004:
        leaving = rng.randint(1, 2)
        for period in range(periods - leaving, periods):
            day[period] = (EXCUSED, "Medical appointment")
    if student.skip_rate and rng.random() < student.skip_rate * periods:
        day[rng.randrange(1, periods)] = (ABSENT, "")
    return day


def _homework_week(plan, events, rng, message_rng, guardians_of, class_index, week_days, lesson_days) -> None:
    """The homework a class is set this week, who hands it in when, the grades, and missing-work notes."""
    class_plan = plan.classes[class_index]
    tz = plan.tzinfo
    for subject_index, subject in enumerate(plan.subjects):
        count = int(subject.homework_per_week)
        if rng.random() < subject.homework_per_week - count:
            count += 1
        days = [day for day in lesson_days[class_index].get(subject_index, []) if week_days[0] <= day <= week_days[-1]]
        if not count or not days:
            continue
        all_days = lesson_days[class_index][subject_index]
        for assigned in sorted(rng.sample(days, min(count, len(days)))):
            later = [day for day in all_days if day > assigned + datetime.timedelta(days=1)]
            if not later or later[0] > plan.last_day:
                continue  # due after the simulated period: not set
            due = later[0]
            teacher = class_plan.teacher_of[subject_index]
            events.homework_refs += 1
            homework = HomeworkPlan(
                events.homework_refs,
                class_index,
                subject_index,
                teacher,
                f"{subject.name}: {rng.choice(HOMEWORK_KINDS)} {events.homework_refs}",
                "",
                assigned,
                due,
                Decimal(rng.choice(subject.max_scores)),
            )
            events.day(assigned).homework.append(homework)
            difficulty = rng.gauss(0, 5)
            for student_index in class_plan.students:
                _submission(plan, events, rng, message_rng, guardians_of, homework, student_index, difficulty, tz)


def _submission(plan, events, rng, message_rng, guardians_of, homework, student_index, difficulty, tz) -> None:
    student = plan.students[student_index]
    if rng.random() >= student.diligence:
        # Missing: now and then the subject teacher writes home the day after.
        if rng.random() < 0.3 and guardians_of.get(student_index):
            day = events.day(homework.due_date + datetime.timedelta(days=1))
            if day is not None:
                subject = plan.subjects[homework.subject].name
                day.communications.append(
                    CommunicationPlan(
                        homework.teacher,
                        guardians_of[student_index][0],
                        student_index,
                        message_rng.choice(("email", "in-app")),
                        _random_time(message_rng, day.date, tz, 9, 17),
                        f"Missing {subject} homework",
                        f"{student.first_name} has not handed in \u201c{homework.title}\u201d, due "
                        f"{homework.due_date:%A %d %B}. Please check it is done this week.",
                    )
                )
        return
    late = rng.random() >= student.punctuality
    if late:
        handed_in = homework.due_date + datetime.timedelta(days=rng.randint(1, 3))
        submitted_at = _random_time(rng, handed_in, tz, 7, 21)
    else:
        span = (homework.due_date - homework.assigned_date).days
        handed_in = homework.assigned_date + datetime.timedelta(days=rng.randint(0, span))
        if handed_in == homework.due_date:
            submitted_at = _random_time(rng, handed_in, tz, 6, 7)
        else:
            submitted_at = _random_time(rng, handed_in, tz, 16, 22)
    submit_day = events.day(handed_in)
    if submit_day is None:
        return  # would be handed in after the simulated period
    events.submission_refs += 1
    submission = SubmissionPlan(events.submission_refs, homework.ref, student_index, submitted_at)
    submit_day.submissions.append(submission)

    percent = student.ability + student.subject_bias[homework.subject] + difficulty + rng.gauss(0, 7)
    if student.slide:
        middle = plan.first_day + (plan.last_day - plan.first_day) / 2
        percent -= student.slide * max(0, (homework.due_date - middle).days) / 7
    if late:
        percent -= 8
    percent = _clamp(percent, 0, 100)
    maximum = homework.max_score
    step = 2 if maximum <= 25 else 1  # halves on short marking scales
    units = round(percent / 100 * float(maximum) * step)
    score = min(Decimal(units) / step, maximum).quantize(CENT)
    grading_day = max(homework.due_date, handed_in) + datetime.timedelta(days=rng.randint(1, 5))
    graded = events.day(grading_day)
    if graded is None:
        return  # not graded yet when the simulated period ends
    feedback = rng.choice(_band(float(score / maximum * 100), FEEDBACK))
    graded.grades.append(
        GradePlan(
            submission.ref,
            homework.ref,
            maximum,
            score,
            homework.teacher,
            _random_time(rng, grading_day, tz, 15, 21),
            feedback,
        )
    )


def _praise_week(plan, events, rng, guardians_of, week_days) -> None:
    """Half the teachers send one good-news note home in a week."""
    tz = plan.tzinfo
    # A last week cut short (``until``) has only the days up to its end.
    school_days = [day for day in week_days if day.weekday() < 5 and day not in plan.holidays and day <= plan.last_day]
    if not school_days:
        return
    students_of_teacher = defaultdict(set)
    for class_plan in plan.classes:
        for teacher in class_plan.teacher_of.values():
            students_of_teacher[teacher].update(class_plan.students)
    for teacher_index in range(len(plan.teachers)):
        if rng.random() >= 0.5 or not students_of_teacher[teacher_index]:
            continue
        candidates = sorted(s for s in students_of_teacher[teacher_index] if guardians_of.get(s))
        if not candidates:
            continue
        student_index = max(rng.sample(candidates, min(3, len(candidates))), key=lambda s: plan.students[s].ability)
        student = plan.students[student_index]
        day = rng.choice(school_days)
        events.day(day).communications.append(
            CommunicationPlan(
                teacher_index,
                rng.choice(guardians_of[student_index]),
                student_index,
                rng.choice(("email", "in-app", "email")),
                _random_time(rng, day, tz, 12, 18),
                f"Good news about {student.first_name}",
                f"I wanted to let you know that {student.first_name} did very well in class this week.",
            )
        )


def _fee_reminders(plan, events, rng, guardians_of) -> None:
    """The office reminds households of unpaid tuition a week after the due date."""
    tz = plan.tzinfo
    day = events.day(plan.invoices[0].due_date + datetime.timedelta(days=7)) if plan.invoices else None
    if day is None:
        return
    paid_by = defaultdict(Decimal)
    for payment in plan.payments:
        if payment.paid_at.astimezone(tz).date() < day.date:
            paid_by[payment.invoice] += payment.amount
    for invoice_index, invoice in enumerate(plan.invoices):
        if invoice.description.startswith("Tuition") and paid_by[invoice_index] < invoice.amount:
            guardians = guardians_of.get(invoice.student)
            if not guardians:
                continue
            outstanding = invoice.amount - paid_by[invoice_index]
            day.communications.append(
                CommunicationPlan(
                    None,
                    guardians[0],
                    invoice.student,
                    "email",
                    _random_time(rng, day.date, tz, 9, 12),
                    "Reminder: school fees",
                    f"{outstanding} {plan.currency} of the {plan.term_name} tuition is outstanding. "
                    "Please contact the office if you need a payment plan.",
                )
            )
