import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from core.models import User
from schools.models import School
from schools.services import DEMO_SCHOOL_NAME, demo_school_ensure

pytestmark = pytest.mark.django_db


def demo_setup() -> str:
    out = io.StringIO()
    call_command("demo_setup", port="8123", stdout=out)
    return out.getvalue()


@time_machine.travel(datetime.datetime(2026, 10, 14, 9, 0, tzinfo=datetime.UTC), tick=False)
def test_demo_setup_is_idempotent(settings):
    settings.DEBUG = True
    first = demo_setup()
    again = demo_setup()

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    school = School.objects.get(name=DEMO_SCHOOL_NAME)
    term = school.terms.get()
    assert term.start_date < datetime.date(2026, 10, 14) < term.end_date
    for url in ("http://127.0.0.1:8123/admin/", "/api/docs/", "/api/schema/", "admin / admin"):
        assert url in first
    assert "demo" in first.lower()
    assert "existed already" in again


def test_demo_setup_refuses_to_create_a_public_login_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        demo_setup()
    assert not User.objects.exists()


def test_the_demo_school_gets_a_new_term_when_the_last_one_is_over():
    first = demo_school_ensure(today=datetime.date(2026, 10, 14)).terms.get()
    school = demo_school_ensure(today=first.end_date + datetime.timedelta(days=3))
    second = school.terms.exclude(pk=first.pk).get()
    assert second.start_date == first.end_date + datetime.timedelta(days=1)
    assert second.contains(first.end_date + datetime.timedelta(days=3))
