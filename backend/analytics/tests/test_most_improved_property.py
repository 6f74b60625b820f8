"""The most improved students, picked in the database (the rise in whole hundredths, ranked, ties at the cut
kept), equal a plain recomputation in Python from the snapshot rows: many random schools with ties on the rise
and on the names, students without a baseline or whose average fell, and a limit cutting through a tie."""

import datetime
import random
from decimal import Decimal

import pytest

from analytics.models import StudentStandingSnapshot
from analytics.progress import most_improved
from schools.models import Student
from tests import factories

pytestmark = pytest.mark.django_db

LATEST = datetime.date(2026, 10, 6)
EARLY = LATEST - datetime.timedelta(days=28)
AVERAGES = ["40.00", "40.50", "50.00", "50.50", "55.25", "60.00", "61.00", "70.50", "99.99"]
NAMES = ["Abbot", "Birch", "birch", "Cole", "Çelik", "Dunn"]


def expected(rows: dict, people: dict, limit: int) -> list[tuple]:
    """Plainly: every student with both dates whose average rose, by rise, then family name, given name, id."""
    rises = {
        sid: days[LATEST] - days[EARLY]
        for sid, days in rows.items()
        if EARLY in days and LATEST in days and days[LATEST] > days[EARLY]
    }
    order = sorted(rises, key=lambda sid: (-rises[sid], people[sid][1], people[sid][0], sid))[:limit]
    return [(sid, rows[sid][EARLY], rows[sid][LATEST], rises[sid]) for sid in order]


@pytest.mark.parametrize("seed", range(40))
def test_most_improved_equals_a_plain_recomputation(seed):
    rng = random.Random(seed)
    school = factories.SchoolFactory()
    term = factories.TermFactory(school=school)
    klass = factories.ClassGroupFactory(school=school)
    students = [
        factories.StudentFactory(
            school=school, class_group=klass, first_name=rng.choice(["Amy", "Bo"]), last_name=rng.choice(NAMES)
        )
        for _ in range(rng.randint(0, 14))
    ]
    # A student of the same school left out of the queryset asked about: never listed.
    outsider = factories.StudentFactory(school=school, class_group=klass)
    rows, snapshots = {}, []
    for student in [*students, outsider]:
        for day in (EARLY, LATEST):
            if rng.random() < 0.85:
                average = Decimal(rng.choice(AVERAGES))
                rows.setdefault(student.pk, {})[day] = average
                snapshots.append(
                    StudentStandingSnapshot(student=student, term=term, school=school, date=day, average=average)
                )
    StudentStandingSnapshot.objects.bulk_create(snapshots)
    # A subject's rows on the same dates never count.
    subject = factories.SubjectFactory(school=school)
    StudentStandingSnapshot.objects.bulk_create(
        StudentStandingSnapshot(student=s, term=term, school=school, date=LATEST, subject=subject, average=100)
        for s in students
    )
    rows.pop(outsider.pk, None)
    people = {s.pk: (s.first_name, s.last_name) for s in students}
    limit = rng.randint(1, 6)

    result = most_improved(term=term, students=Student.objects.filter(pk__in=people), limit=limit)

    got = [(row["student"]["id"], row["average_from"], row["average_to"], row["change"]) for row in result["students"]]
    assert got == expected(rows, people, limit), (seed, limit)
    for row in result["students"]:
        first, last = people[row["student"]["id"]]
        assert row["student"]["name"] == f"{first} {last}"
        assert row["class_group"] == {"id": klass.pk, "name": klass.name}
