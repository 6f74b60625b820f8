"""reads_profile --plans: each query of one call under EXPLAIN, its planning and execution times."""

import io

import pytest
from django.core.management import CommandError
from django.db import connection

from benchmarks.management.commands.reads_profile import Command, _plan_figure
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_figures_are_read_from_explains_summary():
    lines = ["Seq Scan on t  (cost=0.00..1.05 rows=1 width=57)", "Planning Time: 3.104 ms", "Execution Time: 0.15 ms"]
    assert _plan_figure(lines, "Planning Time") == 3.104
    assert _plan_figure(lines, "Execution Time") == 0.15


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN's summary is PostgreSQL's")
def test_each_select_of_the_call_is_printed_with_its_plan_and_run():
    school = factories.SchoolFactory(name="Plans")
    out = io.StringIO()
    command = Command(stdout=out)

    def call():
        assert type(school).objects.filter(pk=school.pk).values_list("name", flat=True).get() == "Plans"

    command.plans(call)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].split()[0] == "plan" and " run " in lines[0]
    assert '"schools_school"' in lines[0]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="elsewhere there is no EXPLAIN to read")
def test_elsewhere_the_plans_are_refused():
    with pytest.raises(CommandError, match="PostgreSQL"):
        Command(stdout=io.StringIO()).plans(lambda: None)
