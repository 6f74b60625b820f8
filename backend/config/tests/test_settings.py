"""Settings read from the environment: the shared cache, the sign-in limits, persistent connections."""

import os
import runpy
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "settings.py"
READ = (
    "REDIS_URL",
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "DATABASE_PREPARED_STATEMENTS",
    "SIGNIN_ACCOUNT_FAILURE_LIMIT",
    "SIGNIN_ADDRESS_FAILURE_LIMIT",
    "SIGNIN_WINDOW_SECONDS",
    "SIGNIN_TRUSTED_PROXIES",
    "API_TOKEN_LIFETIME_HOURS",
    "ANALYTICS_THROTTLE_RATE",
    "DJANGO_DEBUG",
)


def settings_with(monkeypatch, **env) -> dict:
    """The settings module's names as it computes them from this environment (nothing else of it)."""
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_without_redis_the_cache_is_a_database_table(monkeypatch):
    cache_settings = settings_with(monkeypatch)["CACHES"]["default"]

    assert cache_settings["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert cache_settings["LOCATION"] == "django_cache"


def test_with_redis_url_the_cache_is_redis(monkeypatch):
    cache_settings = settings_with(monkeypatch, REDIS_URL="redis://cache.internal:6379/2")["CACHES"]["default"]

    assert cache_settings["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache_settings["LOCATION"] == "redis://cache.internal:6379/2"


def test_the_sign_in_limits_and_token_lifetime_defaults_and_overrides(monkeypatch):
    defaults = settings_with(monkeypatch)
    changed = settings_with(
        monkeypatch,
        SIGNIN_ACCOUNT_FAILURE_LIMIT="8",
        SIGNIN_ADDRESS_FAILURE_LIMIT="300",
        SIGNIN_WINDOW_SECONDS="3600",
        SIGNIN_TRUSTED_PROXIES="1",
        API_TOKEN_LIFETIME_HOURS="720",
    )
    names = (
        "SIGNIN_ACCOUNT_FAILURE_LIMIT",
        "SIGNIN_ADDRESS_FAILURE_LIMIT",
        "SIGNIN_WINDOW_SECONDS",
        "SIGNIN_TRUSTED_PROXIES",
        "API_TOKEN_LIFETIME_HOURS",
    )

    assert [defaults[name] for name in names] == [5, 100, 900, 0, 0]
    assert [changed[name] for name in names] == [8, 300, 3600, 1, 720]
    assert defaults["REST_FRAMEWORK"]["DEFAULT_AUTHENTICATION_CLASSES"][0] == (
        "core.authentication.LifetimeTokenAuthentication"
    )


@pytest.mark.parametrize(("value", "rate"), [(None, "120/minute"), ("30/minute", "30/minute"), ("off", None)])
def test_the_analytics_throttle_rate(monkeypatch, value, rate):
    env = {} if value is None else {"ANALYTICS_THROTTLE_RATE": value}

    assert settings_with(monkeypatch, **env)["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"] == {"analytics": rate}


@pytest.mark.parametrize(
    ("name", "value"),
    [("SIGNIN_ACCOUNT_FAILURE_LIMIT", "0"), ("SIGNIN_WINDOW_SECONDS", "15m"), ("API_TOKEN_LIFETIME_HOURS", "-1")],
)
def test_a_bad_limit_stops_the_start_naming_the_variable(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        settings_with(monkeypatch, **{name: value})


@pytest.mark.parametrize(("max_age", "health_checks"), [("", False), ("0", False), ("60", True)])
def test_connections_kept_open_are_checked_before_reuse(monkeypatch, max_age, health_checks):
    database = settings_with(monkeypatch, DATABASE_CONN_MAX_AGE=max_age)["DATABASES"]["default"]

    assert database["CONN_MAX_AGE"] == int(max_age or 0)
    assert database["CONN_HEALTH_CHECKS"] is health_checks


@pytest.mark.parametrize(("setting", "threshold"), [("", 5), ("true", 5), ("false", None)])
def test_prepared_statements_are_on_for_postgresql_unless_turned_off(monkeypatch, setting, threshold):
    postgresql = settings_with(
        monkeypatch, DATABASE_URL="postgres://school@db.internal:5432/school", DATABASE_PREPARED_STATEMENTS=setting
    )["DATABASES"]["default"]
    sqlite = settings_with(monkeypatch, DATABASE_URL="sqlite:////tmp/school.sqlite3")["DATABASES"]["default"]

    assert postgresql["OPTIONS"]["prepare_threshold"] == threshold
    assert "prepare_threshold" not in sqlite["OPTIONS"]


@pytest.mark.django_db
def test_migrate_creates_the_database_cache_table(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table_probe"}
    }
    assert "cache_table_probe" not in connection.introspection.table_names()

    call_command("migrate", verbosity=0)

    assert "cache_table_probe" in connection.introspection.table_names()
    cache.set("probe", 41)
    assert cache.get("probe") == 41


@pytest.mark.django_db
@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="REDIS_URL is set: the cache is Redis")
def test_the_cache_in_use_is_the_database_table():
    cache.set("shared", "by every worker")

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_cache WHERE cache_key LIKE %s", ["%shared"])
        assert cursor.fetchone()[0] == 1


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL)")
def test_the_cache_in_use_is_redis():
    import redis

    cache.set("shared", "by every worker")

    assert django_settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis.Redis.from_url(os.environ["REDIS_URL"]).exists(cache.make_key("shared")) == 1
