"""Settings for the school backend, read from the environment (one file, SQLite by default)."""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our own static files
    "core",
    "schools",
    "attendance",
    "homework",
    "communication",
    "finance",
    "analytics",
    "simulation",
    "benchmarks",
    "reportcards",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.WriteConflictMiddleware",
]

ROOT_URLCONF = os.environ.get("DJANGO_ROOT_URLCONF", "config.urls")
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 0)
PREPARED_AFTER = 5
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=DATABASE_CONN_MAX_AGE,
        # A connection kept between requests may have been closed by the server (a restart, an idle
        # timeout): check it before reuse rather than fail the next request.
        conn_health_checks=DATABASE_CONN_MAX_AGE > 0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue for the database lock instead of failing at once; IMMEDIATE takes the
    # write lock at BEGIN so a read-then-write transaction cannot deadlock on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The reads every request makes (the token's or the session user's, with the profiles: core.prepared) are
    # prepared on the server at their PREPARED_AFTER-th run on a connection, so PostgreSQL plans them once per
    # connection, not on every request. Django's other queries are never prepared. Turn it off behind a pooler
    # that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        PREPARED_AFTER if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None
    )

# The cache every worker shares: throttle histories and sign-in failure counts live here, so four
# workers enforce one limit, not four. Redis when REDIS_URL is set (give it its own database number,
# not the Celery broker's); otherwise a table of the database (created by `migrate`, see core.apps).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "school",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            # Well above the live entries of a school (a few per active user); culling below it would
            # forget failure counts early.
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }

AUTH_USER_MODEL = "core.User"
# Django's model backend, the signed-in user read with their profiles (one query for the role of every page).
# Sessions made under the plain ModelBackend (before this setting) name a backend no longer listed: those users
# sign in once more.
AUTHENTICATION_BACKENDS = ["core.backends.ProfilesModelBackend"]
# The pages' sign-in (dashboards); `/` sends each role to its home.
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "sign-in"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Static files: with DJANGO_DEBUG (the demo) runserver serves them; in production `collectstatic` fills
# STATIC_ROOT and the TLS proxy serves it at /static/ (README, "Production deployment").
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", PROJECT_DIR / "staticfiles"))
# Files written by the bulk report-card jobs (a class's PDF, a school's zip), one folder per job.
REPORT_CARDS_DIR = Path(os.environ.get("REPORT_CARDS_DIR", PROJECT_DIR / "var" / "reportcards"))
# Days a finished report-card job and its file are kept (then removed by the beat task
# reportcards.tasks.expire_report_card_jobs, or `manage.py expire_report_card_jobs`).
# Worker processes laying out the cards of a report-card job (1: in the job's own process); one per core.
REPORT_CARDS_PROCESSES = env_int("REPORT_CARDS_PROCESSES", 1, minimum=1)
REPORT_CARD_JOB_RETENTION_DAYS = env_int("REPORT_CARD_JOB_RETENTION_DAYS", 7, minimum=1)
# Hours after which a job still queued or running is stopped as stuck (its worker was killed), by the same task.
REPORT_CARD_JOB_TIMEOUT_HOURS = env_int("REPORT_CARD_JOB_TIMEOUT_HOURS", 6, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security settings for production; `manage.py check --deploy` is clean with DJANGO_DEBUG=false.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# The browsable API (the API's HTML pages with forms and filters, for people in a browser): served with
# DJANGO_DEBUG, off in production unless DJANGO_BROWSABLE_API=true. Its choices are scoped to the user either way
# (docs/security.md, "Scope").
BROWSABLE_API = env_bool("DJANGO_BROWSABLE_API", DEBUG)

# Sign-in limits (docs/security.md): failed passwords per account and per client address within a
# window counted from the window's first failure; past a limit every attempt is refused, the right
# password too, until the window ends. Behind N reverse proxies that append to X-Forwarded-For, set
# SIGNIN_TRUSTED_PROXIES=N so the client's address is used rather than the proxy's.
SIGNIN_ACCOUNT_FAILURE_LIMIT = env_int("SIGNIN_ACCOUNT_FAILURE_LIMIT", 5, minimum=1)
SIGNIN_ADDRESS_FAILURE_LIMIT = env_int("SIGNIN_ADDRESS_FAILURE_LIMIT", 100, minimum=1)
SIGNIN_WINDOW_SECONDS = env_int("SIGNIN_WINDOW_SECONDS", 900, minimum=1)
SIGNIN_TRUSTED_PROXIES = env_int("SIGNIN_TRUSTED_PROXIES", 0)
# API tokens expire this many hours after they are issued; 0 (the default): they last until revoked.
API_TOKEN_LIFETIME_HOURS = env_int("API_TOKEN_LIFETIME_HOURS", 0)

# Requests per user to the analytics endpoints, counted in the shared cache (one budget for all workers).
ANALYTICS_THROTTLE_RATE = os.environ.get("ANALYTICS_THROTTLE_RATE", "120/minute")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.LifetimeTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if BROWSABLE_API else []),
    ],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # "off" disables it (the benchmark server: it measures the endpoints, not the cache).
        "analytics": None if ANALYTICS_THROTTLE_RATE.lower() == "off" else ANALYTICS_THROTTLE_RATE,
    },
}
# A request body above this size is refused before it is parsed (a roll call of a few hundred
# students is well below it).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

SPECTACULAR_SETTINGS = {
    "TITLE": "School analytics backend API",
    "DESCRIPTION": (
        "Source data of a school (attendance, homework, communications, fees) and the analytics "
        "computed from it: report cards, teacher metrics and school health."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with no broker configured, tasks run inline in the calling process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"

# Every schedule of the project, in one place. The jobs run at a local time in each school's own time
# zone, so beat does not start them directly: every 15 minutes (all UTC offsets in use are multiples of
# 15 minutes) it runs a dispatcher that queues each school's job once the school's local slot has passed
# and no run is recorded for that slot (analytics.jobs.scheduled_runs_due). Cron users run the
# management commands of the same names instead (see the README).
ANALYTICS_JOB_SCHEDULES = {
    "calculate_class_ranks": {"time": "02:00"},  # nightly
    "generate_teacher_metrics": {"time": "18:00", "weekday": 4},  # Fridays (Monday is 0)
    "roll_early_warning_flags": {"time": "00:05"},  # nightly: the flags of the day that starts
}
CELERY_BEAT_SCHEDULE = {
    "analytics-dispatch-scheduled-jobs": {
        "task": "analytics.tasks.dispatch_scheduled_jobs",
        "schedule": crontab(minute="*/15"),
    },
    # Finished report-card jobs older than REPORT_CARD_JOB_RETENTION_DAYS, with their files, and jobs stuck past
    # REPORT_CARD_JOB_TIMEOUT_HOURS: every hour, so that a stuck job is stopped within the hour.
    "reportcards-expire-jobs": {
        "task": "reportcards.tasks.expire_report_card_jobs",
        "schedule": crontab(minute=30),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint reports every rendering step at INFO; a class's PDF would print hundreds of lines.
        "weasyprint": {"level": "WARNING"},
    },
}
