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
