"""The benchmark's pieces: percentiles, the floor's payload, the in-process profile, and the on-the-fly
reference equal to the summary."""

import datetime
import json

import pytest
import time_machine
from rest_framework.test import APIClient

from analytics.selectors import school_health
from benchmarks.reference import school_health_reference
from benchmarks.service import ENDPOINTS, bench_school_ensure, floor_name, percentile, ratio, requests_profile
from benchmarks.urls import FLOOR_PAYLOAD, floor_payload
from simulation.services import schools_simulate

START = datetime.date(2026, 9, 7)


def test_percentile_interpolates():
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile(list(map(float, range(101))), 0.95) == pytest.approx(95.0)


def test_ratio_of_missing_figures_is_none():
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0) is None
    assert ratio(3.0, 2.0) == 1.5


def test_floor_payload_has_about_the_size_asked_for():
    assert floor_payload(0) == FLOOR_PAYLOAD
    row = len(json.dumps(FLOOR_PAYLOAD["weekly"][0], separators=(",", ":"))) + 1
    for size in (1_000, 5_000, 17_000, 60_000):
        assert size - row <= len(json.dumps(floor_payload(size), separators=(",", ":"))) <= size + row


@pytest.mark.django_db
@pytest.mark.urls("benchmarks.urls")
def test_floor_endpoint_checks_its_size_and_its_caller(school_admin):
    client = APIClient()
    assert client.get("/bench/floor/").status_code == 401
    client.force_authenticate(school_admin.user)
    response = client.get("/bench/floor/?size=9000")
    assert response.status_code == 200
    assert abs(len(response.content) - 9000) < 200
    response = client.get("/bench/floor/?size=many")
    assert response.status_code == 400
    assert "size" in response.json()


@pytest.mark.django_db(transaction=True)
def test_reference_equals_summary_school_health():
    # Time frozen inside the simulated week (the simulator may leave the day itself without lessons).
    with time_machine.travel(datetime.datetime(2026, 9, 9, 12, tzinfo=datetime.UTC), tick=False):
        result = schools_simulate(students=40, weeks=1, seed=5, start=START, bulk=True, demo_users=False)
        simulated = result.schools[0]
        school, term = simulated.school, simulated.term
        period = {"date_from": term.start_date, "date_to": term.end_date}
        summary = school_health(schools=[school], term=term, **period)
        reference = school_health_reference(school=school, term=term, **period)
    assert summary["attendance_rate"] is not None
    assert summary["weekly"]
    summary["as_of"] = None
    assert reference == summary


@pytest.mark.django_db(transaction=True)
def test_requests_profile_serves_each_endpoint_and_its_floor_in_process():
    with time_machine.travel(datetime.datetime(2026, 9, 9, 12, tzinfo=datetime.UTC), tick=False):
        bench = bench_school_ensure(label="S", students=20, weeks=1, say=lambda message: None)
        profile = requests_profile(benches=[bench], sizes={("S", "student-overview"): 5000}, repeats=2)
    assert set(profile) == {("S", name) for name in ENDPOINTS} | {("S", floor_name(name)) for name in ENDPOINTS}
    for (_, name), figures in profile.items():
        # The floor: the token, read with its user's role (core.authentication); an endpoint reads summaries besides.
        assert figures["queries"] == 1 if name.startswith("floor") else figures["queries"] > 1, (name, figures)
        assert figures["ms"] > figures["db_ms"] > 0


# --- report cards ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_largest_class_counts_active_students_only(school):
    from benchmarks.service import largest_class
    from tests.factories import ClassGroupFactory, StudentFactory

    big, small = ClassGroupFactory(school=school, name="B"), ClassGroupFactory(school=school, name="A")
    StudentFactory.create_batch(2, school=school, class_group=big)
    StudentFactory.create_batch(3, school=school, class_group=big, active=False)
    StudentFactory.create_batch(3, school=school, class_group=small)

    assert largest_class(school=school) == (small, 3)


def test_report_card_figures_are_read_from_the_commands_summary_and_judged():
    from benchmarks.service import PEAK_MEMORY, PER_CARD, BenchResult, report_cards_rows

    summary = "2 file(s) in 9.1s (30 cards, 0.212s per card, 0.180s CPU per card)"
    assert PER_CARD.search(summary).groups() == ("30", "0.212", "0.180")
    peak = "peak memory: 369 MiB in all, 119 MiB this process + 125 + 125 MiB its worker processes"
    assert PEAK_MEMORY.search(peak)[1] == "369"
    result = BenchResult()
    report_cards_rows(
        result,
        {
            "S largest class": {"cards": 30, "per_card": 0.2, "cpu_per_card": 0.19, "seconds": 8.0, "rss_mib": 100.0},
            "4S largest class": {"cards": 32, "per_card": 0.3, "cpu_per_card": 0.2, "seconds": 11.0, "rss_mib": 110.0},
            "S whole school": {"cards": 1000, "per_card": 0.21, "cpu_per_card": None, "seconds": 215.0, "rss_mib": 140},
        },
    )

    assert [(row.figure, row.value, row.verdict) for row in result.rows] == [
        ("S largest class (30 cards): per card (CPU) / wall / peak", "0.200 s (0.190 s) / 8.0 s / 100 MiB", "PASS"),
        ("4S largest class (32 cards): per card (CPU) / wall / peak", "0.300 s (0.200 s) / 11.0 s / 110 MiB", "MISS"),
        ("S whole school (1000 cards): per card (CPU) / wall / peak", "0.210 s (n/a s) / 215.0 s / 140 MiB", "PASS"),
        ("peak memory 4S largest class / S largest class", "1.10", "PASS"),
        ("peak memory S whole school / S largest class", "1.40", "MISS"),
    ]


@pytest.mark.django_db(transaction=True)
def test_writes_profile_prints_each_write_with_and_without_the_engine_and_restores_it():
    from io import StringIO

    from django.core.management import call_command

    from analytics.services import analytics_verify

    with time_machine.travel(datetime.datetime(2026, 9, 9, 12, tzinfo=datetime.UTC), tick=False):
        bench = bench_school_ensure(label="S", students=20, weeks=1, say=lambda message: None)
        out = StringIO()
        call_command("writes_profile", students=20, weeks=1, repeats=3, sql=True, stdout=out)
        assert analytics_verify(school_id=bench.school.pk) == []
    lines = out.getvalue().splitlines()
    for write in ("mark save", "grade save", "roll call (30)"):
        on, off = (
            next(line for line in lines if line.split(write)[-1].lstrip().startswith(e))
            for e in ("engine on", "engine off")
        )
        queries = [int(line.rsplit(";", 1)[1].split()[0]) for line in (on, off)]
        assert queries[0] > queries[1] >= 1, (on, off)
    assert "mark save, one more save:" in out.getvalue()
