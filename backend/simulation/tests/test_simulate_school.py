import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import User
from schools.models import School

SMALL_RUN = ("--students=22", "--weeks=1", "--seed=2", "--start=2026-09-09", "--bulk", "--no-jobs")


@pytest.mark.django_db
def test_command_prints_progress_summary_and_logins(capsys, settings):
    settings.DEBUG = True
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


@pytest.mark.django_db
def test_service_mode_in_the_future_is_refused_with_a_message_not_a_traceback(time_machine):
    """Service mode writes as a school does, and a school's payments and submissions cannot be in the future."""
    time_machine.move_to("2026-10-15 10:00:00+00:00", tick=False)

    with pytest.raises(CommandError, match=r"A simulated record is refused: .* cannot be in the future"):
        call_command(
            "simulate_school",
            "--students=20",
            "--weeks=1",
            "--start=2027-03-01",
            "--service",
            "--no-jobs",
            "--no-demo-logins",
        )


@pytest.mark.django_db
def test_command_refuses_the_public_demo_logins_outside_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("simulate_school", *SMALL_RUN)

    assert not School.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_command_simulates_without_demo_logins_when_asked(capsys, settings):
    settings.DEBUG = False

    call_command("simulate_school", *SMALL_RUN, "--no-demo-logins")

    out = capsys.readouterr().out
    assert School.objects.count() == 1
    assert "verify_analytics: 0 differing rows" in out
    assert "demo1234" not in out
    assert not User.objects.filter(username__startswith="demo-").exists()
    # The simulated people have no usable password either.
    assert User.objects.exists()
    assert not any(user.has_usable_password() for user in User.objects.all())
