import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from schools.models import School


@pytest.mark.django_db
def test_command_prints_progress_summary_and_logins(capsys):
    call_command(
        "simulate_school", "--students=22", "--weeks=1", "--seed=2", "--start=2026-09-09", "--bulk", "--no-jobs"
    )
    out = capsys.readouterr().out
    assert "week 1/1 (2026-09-07)" in out  # moved back to the Monday
    assert "attendance marks" in out
    assert "verify_analytics: 0 differing rows" in out
    assert "demo-guardian" in out and "demo1234" in out
    assert School.objects.count() == 1


@pytest.mark.django_db
def test_command_refuses_bad_input():
    with pytest.raises(CommandError, match="--start"):
        call_command("simulate_school", "--start=yesterday")
    with pytest.raises(CommandError, match="at least 20 students"):
        call_command("simulate_school", "--students=5", "--weeks=1")
