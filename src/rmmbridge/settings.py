"""Django settings, read only from environment variables (see .env.example)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from rmmbridge.common.home import DATABASE_FILE, home_dir, secret_key


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable (1/true/yes/on)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


HOME = home_dir()
BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = secret_key()
DEBUG = env_bool("RMMBRIDGE_DEBUG")
ALLOWED_HOSTS = env_list("RMMBRIDGE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("RMMBRIDGE_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rmmbridge.web",
    "rmmbridge.servicedesk",
    "rmmbridge.integrations",
    "rmmbridge.sync",
    "rmmbridge.tickets",
    "rmmbridge.alerts",
    "rmmbridge.integrator",
    "rmmbridge.spreadsheets",
    "ninja", "rmmbridge.buttons", "rmmbridge.api",  # REST API (docs assets from ninja's static files), buttons
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "rmmbridge.web.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "rmmbridge.servicedesk.roles.RoleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Failed logins are throttled per account and per address (django-axes): after RMMBRIDGE_LOGIN_FAILURE_LIMIT
# failures (default 5) that account, and that address, wait RMMBRIDGE_LOGIN_COOLOFF_MINUTES (default 15).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("RMMBRIDGE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("RMMBRIDGE_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False
if env_bool("RMMBRIDGE_TRUST_X_FORWARDED_FOR"):  # behind a reverse proxy that sets it: throttle the real address
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
OTP_TOTP_ISSUER = "rmmbridge"

# Content-Security-Policy of every page: scripts only from our own static files (no inline script anywhere).
CONTENT_SECURITY_POLICY = os.environ.get(
    "RMMBRIDGE_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

ROOT_URLCONF = "rmmbridge.urls"
WSGI_APPLICATION = "rmmbridge.wsgi.application"
ASGI_APPLICATION = "rmmbridge.asgi.application"

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
                "rmmbridge.web.context.navigation",
                "rmmbridge.integrator.context.integrator_banner",
            ],
        },
    },
]

_database_url = os.environ.get("DATABASE_URL", "").strip()
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["ENGINE"] = "rmmbridge.common.sqlite"
else:
    DATABASES = {
        "default": {
            "ENGINE": "rmmbridge.common.sqlite",  # Django's, with its placeholder rewrite remembered
            "NAME": str(HOME / DATABASE_FILE),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                # A checkpoint every 16,000 WAL pages (64 MB) rather than 1,000: 100 commits of 1,000 assets, refs
                # and audit rows took 3.5-3.7 s instead of 4.5-5.5 s (the same index pages are copied back less
                # often). A WAL grown past 128 MB (one long transaction) is cut back to that after a checkpoint.
                # temp_store=MEMORY: SQLite copies each page a statement or savepoint changes into a sub-journal
                # (to undo just that statement); past 64 KiB in one transaction that journal became a temporary
                # file, written 28 pages an alert: 60 of the 65 system calls per alert of the SMTP receiver.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=16000; "
                                "PRAGMA journal_size_limit=134217728; PRAGMA temp_store=MEMORY;",
            },
        }
    }
_test_db = os.environ.get("RMMBRIDGE_TEST_DB_NAME", "").strip()
if _test_db:
    DATABASES["default"]["TEST"] = {"NAME": _test_db}
elif not _database_url:
    # Tests on SQLite use a file like production (WAL, busy timeout), not the shared-cache in-memory database,
    # whose table locks fail at once instead of waiting: concurrency tests must see what a real install sees.
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("RMMBRIDGE_TIME_ZONE", "UTC")
# how numbers written as text are read (spreadsheet imports; each import may choose the other one)
DECIMAL_SEPARATOR = "," if os.environ.get("RMMBRIDGE_DECIMAL_SEPARATOR", ".").strip() == "," else "."
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from the app folders (finders); it only needs the folder
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
# Cookies are marked Secure on every HTTPS request (web.security); RMMBRIDGE_SECURE_COOKIES=1 marks them always.
SESSION_COOKIE_SECURE = env_bool("RMMBRIDGE_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env_bool("RMMBRIDGE_TRUST_X_FORWARDED_PROTO"):  # behind a TLS-terminating proxy that sets it
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Distributed mode (Celery). Embedded mode needs none of these.
REDIS_URL = os.environ.get("RMMBRIDGE_REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.environ.get("RMMBRIDGE_BROKER_URL", "")
RUN_MODE = os.environ.get("RMMBRIDGE_MODE", "embedded")  # embedded | distributed
METRICS_TOKEN = os.environ.get("RMMBRIDGE_METRICS_TOKEN", "")
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged only after it ran: a killed worker's task is redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: an unacknowledged task of a vanished worker is delivered again after this many seconds.
    "visibility_timeout": int(os.environ.get("RMMBRIDGE_BROKER_VISIBILITY_TIMEOUT", "3600")),
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}

LOG_JSON = env_bool("RMMBRIDGE_LOG_JSON")
LOG_LEVEL = os.environ.get("RMMBRIDGE_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "rmmbridge.common.logs.JsonFormatter"},
    },
    "filters": {"redact": {"()": "rmmbridge.common.logs.RedactFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Outgoing mail (integration-health notifications) through Django's SMTP backend; off while RMMBRIDGE_EMAIL_HOST is
# empty. RMMBRIDGE_HEALTH_EMAIL_TO (comma-separated) names the recipients; default: active superusers' addresses.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("RMMBRIDGE_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("RMMBRIDGE_EMAIL_PORT", "25") or "25")
EMAIL_HOST_USER = os.environ.get("RMMBRIDGE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("RMMBRIDGE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("RMMBRIDGE_EMAIL_STARTTLS")
EMAIL_USE_SSL = env_bool("RMMBRIDGE_EMAIL_SSL")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("RMMBRIDGE_EMAIL_FROM", "rmmbridge@localhost")
HEALTH_EMAIL_TO = env_list("RMMBRIDGE_HEALTH_EMAIL_TO")
HEALTH_WEBHOOK_URL = os.environ.get("RMMBRIDGE_HEALTH_WEBHOOK_URL", "")
HEALTH_WEBHOOK_FORMAT = os.environ.get("RMMBRIDGE_HEALTH_WEBHOOK_FORMAT", "json").strip().lower() or "json"
#: The web app's address as admins reach it, for the links in notifications (e.g. https://rmm.example.com).
PUBLIC_URL = os.environ.get("RMMBRIDGE_PUBLIC_URL", "").rstrip("/")
