"""Rate limiting of the analytics endpoints: DRF's ScopedRateThrottle, scope "analytics", per user."""

import pytest
from django.core.cache import caches
from django.core.cache.backends import locmem
from rest_framework.throttling import ScopedRateThrottle

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(monkeypatch):
    # The rates are read from settings when DRF is imported; the class attribute is what a throttle consults.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": "3/minute"})


def test_the_rate_is_configured_for_the_analytics_scope(settings):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["analytics"]

    assert ScopedRateThrottle().parse_rate(rate)[0] > 0


def test_exceeding_the_rate_gives_429_with_retry_after(api_client, three_a_minute, school_admin):
    api_client.force_authenticate(school_admin.user)

    statuses = [api_client.get("/api/analytics/admin/school-health/").status_code for _ in range(4)]
    refused = api_client.get("/api/analytics/admin/school-health/")

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in str(refused.data["detail"]).lower()


def test_the_budget_is_shared_by_the_analytics_endpoints_and_counted_per_user(
    api_client, three_a_minute, school, teacher
):
    student = factories.StudentFactory(school=school, class_group=teacher.assignments.get().class_group)
    other_teacher = factories.TeacherFactory(school=school)
    api_client.force_authenticate(teacher.user)

    statuses = [
        api_client.get(url).status_code
        for url in (
            "/api/analytics/teacher/my-performance/",
            f"/api/analytics/student/{student.pk}/overview/",
            "/api/analytics/teacher/my-performance/",
            f"/api/analytics/student/{student.pk}/overview/",
        )
    ]
    api_client.force_authenticate(other_teacher.user)
    other = api_client.get("/api/analytics/teacher/my-performance/")

    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200


def test_time_passing_lets_the_caller_in_again(api_client, three_a_minute, school_admin, time_machine):
    time_machine.move_to("2026-09-23 08:00:00+00:00", tick=False)
    api_client.force_authenticate(school_admin.user)
    for _ in range(3):
        api_client.get("/api/analytics/admin/school-health/")
    assert api_client.get("/api/analytics/admin/school-health/").status_code == 429

    time_machine.move_to("2026-09-23 08:01:01+00:00", tick=False)

    assert api_client.get("/api/analytics/admin/school-health/").status_code == 200


def test_the_budget_is_kept_in_the_cache_every_worker_shares(api_client, three_a_minute, school_admin, monkeypatch):
    """Four workers must not get four budgets: another worker's requests (its own cache client, nothing of this
    process's memory) are counted against the same budget."""
    api_client.force_authenticate(school_admin.user)
    for _ in range(3):
        assert api_client.get("/api/analytics/admin/school-health/").status_code == 200

    # Another worker: a cache client of its own, and no process-local cache memory (which would be its own).
    monkeypatch.setattr(locmem, "_caches", {})
    monkeypatch.setattr(ScopedRateThrottle, "cache", caches.create_connection("default"))
    refused = api_client.get("/api/analytics/admin/school-health/")

    assert refused.status_code == 429
