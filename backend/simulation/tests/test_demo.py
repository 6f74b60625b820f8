import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from core.models import User
from schools.models import School
from simulation import demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_demo(monkeypatch, settings):
    settings.DEBUG = True
    monkeypatch.setattr(demo, "DEMO_STUDENTS", 40)
    monkeypatch.setattr(demo, "DEMO_WEEKS", 2)


def demo_setup() -> str:
    out = io.StringIO()
    call_command("demo_setup", port="8123", stdout=out)
    return out.getvalue()


@time_machine.travel(datetime.datetime(2026, 10, 14, 9, 0, tzinfo=datetime.UTC), tick=False)
def test_demo_setup_simulates_once_and_prints_where_to_look(small_demo, api_client):
    first = demo_setup()
    again = demo_setup()

    assert School.objects.count() == 1
    assert "nothing simulated" in again
    for text in ("http://127.0.0.1:8123/api/", "/api/docs/", "/admin/", "/api/analytics/teacher/my-performance/"):
        assert text in first
    for username in ("demo-admin", "demo-teacher", "demo-guardian", "demo-student", "admin"):
        assert f"{username} / " in first
    assert User.objects.get(username="admin").is_superuser

    student = User.objects.get(username="demo-student").student
    for username in ("demo-student", "demo-guardian", "demo-teacher", "demo-admin"):
        api_client.force_authenticate(User.objects.get(username=username))
        response = api_client.get(f"/api/analytics/student/{student.pk}/overview/")
        assert response.status_code == 200
        assert response.json()["subjects"], username
    assert f"/api/analytics/student/{student.pk}/overview/" in first


def test_demo_setup_refuses_public_logins_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        demo_setup()
    assert not User.objects.exists()


@time_machine.travel(datetime.datetime(2026, 10, 14, 9, 0, tzinfo=datetime.UTC), tick=False)
def test_demo_school_has_todays_roll_calls_and_the_home_url_and_logins_come_first(small_demo):
    from analytics.models import SchoolDailySummary
    from analytics.selectors import school_today

    printed = demo_setup()

    school = School.objects.get()
    today = school_today(school=school)  # Wednesday 14 October (noon in the school's time zone)
    assert today == datetime.date(2026, 10, 14)
    row = SchoolDailySummary.objects.get(school=school, date=today)
    assert row.students_marked > 0
    assert not SchoolDailySummary.objects.filter(school=school, date__gt=today).exists()

    summary = printed[printed.index("Open http://127.0.0.1:8123/ and sign in") :]
    assert summary.index("demo-guardian / demo1234") < summary.index("/api/")
    assert f"/students/{User.objects.get(username='demo-student').student.pk}/report/" in summary


@pytest.mark.parametrize("weekday", range(7))
def test_a_period_cut_short_has_no_event_after_its_last_day(weekday):
    """The demo's last week runs to today: nothing (lessons, homework, notes home, payments) comes after it."""
    from simulation.plan import school_plan_make, school_weeks

    first = datetime.date(2026, 9, 7)
    until = datetime.datetime(2026, 9, 21 + weekday, 9, 0, tzinfo=datetime.UTC)  # 12:00 in the school's zone
    plan = school_plan_make(seed=7, school_index=0, students=60, first_day=first, weeks=3, until=until)
    assert plan.last_day == until.date()

    days = [day for week in school_weeks(plan) for day in week]
    later = [day for day in days if day.date > plan.last_day]
    assert all(
        not (d.lessons or d.homework or d.submissions or d.grades or d.communications or d.payments) for d in later
    )
    if weekday < 5:
        assert next(day for day in days if day.date == plan.last_day).lessons
