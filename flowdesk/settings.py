"""Django settings for Flowdesk, read from environment variables (see docs/configuration.md)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


DATA_DIR = Path(os.environ.get("FLOWDESK_DATA_DIR") or "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The configured key, or one generated once and kept in the data dir."""
    if key := os.environ.get("FLOWDESK_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("FLOWDESK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("FLOWDESK_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "flowdesk.directory",
    "flowdesk.workflows",
    "flowdesk.catalog",
    "flowdesk.tickets",
    "flowdesk.api",
    "flowdesk.web",
    "flowdesk.demo",
    "flowdesk.client",
    "flowdesk.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "flowdesk.web.middleware.TimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "flowdesk.audit.recording.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flowdesk.urls"
WSGI_APPLICATION = "flowdesk.wsgi.application"

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
                "flowdesk.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'flowdesk.sqlite3'}",
        conn_max_age=int(os.environ.get("FLOWDESK_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for the lock instead of failing at once; IMMEDIATE takes the write lock at
    # BEGIN so two actions on one ticket serialise instead of deadlocking on lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("FLOWDESK_LANGUAGE", "en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = os.environ.get("FLOWDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
FLOWDESK_MAX_UPLOAD_BYTES = int(os.environ.get("FLOWDESK_MAX_UPLOAD_MB", "50")) * 2**20

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOCALE_PATHS = [BASE_DIR / "locale"]

# The REST API (flowdesk/api): owned by the API app; see docs/api.md.
INSTALLED_APPS += ["drf_spectacular_sidecar"]  # Swagger UI served from our static files, no CDN
REST_FRAMEWORK = {
    # Token first: its challenge makes anonymous requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "flowdesk.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["flowdesk.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "flowdesk.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "flowdesk.api.problems.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flowdesk API",
    "VERSION": "1",
    "DESCRIPTION": "Change and release management. Guide: docs/api.md.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "flowdesk.tickets.models.Ticket.Status",
        "TaskStatusEnum": "flowdesk.tickets.models.Task.Status",
        "TaskActionEnum": "flowdesk.api.serializers.tickets.TASK_ACTIONS",
        "TicketActionEnum": "flowdesk.api.serializers.tickets.TICKET_ACTIONS",
    },
}

# --- Security (docs/hardening.md) -------------------------------------------------------------
# Cookies and transport: Secure cookies, HTTPS redirect and HSTS when served over HTTPS.
HTTPS = env_bool("FLOWDESK_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = int(os.environ.get("FLOWDESK_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FLOWDESK_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("FLOWDESK_HSTS_PRELOAD", False)
if env_bool("FLOWDESK_BEHIND_TLS_PROXY", False):
    # Only behind a proxy that sets this header itself; a client could send it otherwise.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Content-Security-Policy (django-csp): only our own static files run. Alpine.js evaluates its
# x-data/@click expressions with new Function(), hence 'unsafe-eval'; no inline script or style.
from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS += ["csp", "axes", "flowdesk.security"]
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]  # axes last
CONTENT_SECURITY_POLICY = {
    # Swagger UI (drf-spectacular) starts itself with an inline script.
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, "'unsafe-eval'"],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap's icons in CSS are data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login throttling (django-axes): N failures per username and address lock that pair out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out attempts
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("FLOWDESK_LOGIN_THROTTLING", True)
AXES_FAILURE_LIMIT = int(os.environ.get("FLOWDESK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("FLOWDESK_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "flowdesk.security.auth_events.axes_username"
AXES_LOCKOUT_TEMPLATE = "security/locked_out.html"

# API tokens: lifetime of a new token when its creator names none (days; 0 = no expiry).
FLOWDESK_TOKEN_DEFAULT_DAYS = int(os.environ.get("FLOWDESK_TOKEN_DEFAULT_DAYS", "0"))

# --- Single sign-on: LDAP and/or OpenID Connect when configured (flowdesk/directory/sso.py,
# docs/security.md); local accounts keep working. ---
from flowdesk.directory.sso_settings import sso_settings  # noqa: E402 – needs no app loaded

_sso = sso_settings(os.environ)
globals().update(_sso)
_local = AUTHENTICATION_BACKENDS.index("django.contrib.auth.backends.ModelBackend")
AUTHENTICATION_BACKENDS[_local:_local] = _sso["FLOWDESK_SSO_BACKENDS"]
# --- end of single sign-on ---

# --- Background work, notifications and e-mail (docs/operations.md) ---------------------------
# Tasks go through Django's tasks API (the django-tasks backport). `database`: a queue in the
# same database, worked by `flowdesk worker`; `redis`: RQ on FLOWDESK_REDIS_URL, for several
# workers on several machines. The outbox rows stay in the database either way: the queue only
# wakes a worker quickly, and each worker's periodic sweep sends whatever is due.
FLOWDESK_TASKS_BACKEND = os.environ.get("FLOWDESK_TASKS_BACKEND", "database")
FLOWDESK_TICK_SECONDS = float(os.environ.get("FLOWDESK_TICK_SECONDS", "5"))
# How long a worker holds a delivery it is sending (renewed before each message); after a
# worker dies, its deliveries go out again once this has passed. Must exceed the longest send
# (FLOWDESK_EMAIL_TIMEOUT, FLOWDESK_WEBHOOK_TIMEOUT).
FLOWDESK_OUTBOX_LEASE_SECONDS = float(os.environ.get("FLOWDESK_OUTBOX_LEASE_SECONDS", "120"))
INSTALLED_APPS += [
    "django_tasks",
    "django_tasks_db",
    "flowdesk.notify",
    "flowdesk.sla",
    "flowdesk.automation",
]
# The queues, in the order a worker takes them: automation runs (a ticket waits on them) before
# e-mails and webhooks.
TASK_QUEUES = ["automation", "default"]
if FLOWDESK_TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}}
elif FLOWDESK_TASKS_BACKEND == "redis":
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
    redis_queue = {
        "URL": os.environ.get("FLOWDESK_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DEFAULT_TIMEOUT": 300,
    }
    RQ_QUEUES = dict.fromkeys(TASK_QUEUES, redis_queue)
else:
    raise ImproperlyConfigured(
        f"FLOWDESK_TASKS_BACKEND must be 'database' or 'redis', not {FLOWDESK_TASKS_BACKEND!r}"
    )

# The address pages are reached at, for the links in e-mails and chat messages.
FLOWDESK_BASE_URL = os.environ.get("FLOWDESK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Seconds a chat tool or webhook receiver may take to answer before the attempt counts as failed.
FLOWDESK_WEBHOOK_TIMEOUT = float(os.environ.get("FLOWDESK_WEBHOOK_TIMEOUT", "10"))

# --- E-mail (docs/notifications.md) -----------------------------------------------------------
# No FLOWDESK_EMAIL_HOST: the embedded mode – mails go to the console and stay in the outbox,
# where admins read them (Notifications → E-mails). With a host: Django's SMTP backend.
EMAIL_HOST = os.environ.get("FLOWDESK_EMAIL_HOST", "")
EMAIL_USE_TLS = env_bool("FLOWDESK_EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("FLOWDESK_EMAIL_USE_SSL", False)  # TLS from the start, usually 465
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "Set FLOWDESK_EMAIL_USE_TLS (STARTTLS) or FLOWDESK_EMAIL_USE_SSL (TLS from the start), "
        "not both: a mail server speaks one of them on a port."
    )
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
_email_port = os.environ.get("FLOWDESK_EMAIL_PORT") or (
    "465" if EMAIL_USE_SSL else "587" if EMAIL_USE_TLS else "25"
)
if not _email_port.isdigit():
    raise ImproperlyConfigured(f"FLOWDESK_EMAIL_PORT must be a port number, not {_email_port!r}")
EMAIL_PORT = int(_email_port)
EMAIL_HOST_USER = os.environ.get("FLOWDESK_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("FLOWDESK_EMAIL_PASSWORD", "")
EMAIL_TIMEOUT = float(os.environ.get("FLOWDESK_EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = SERVER_EMAIL = os.environ.get(
    "FLOWDESK_EMAIL_FROM", "Flowdesk <flowdesk@localhost>"
)

# --- Automation steps (docs/automation.md) ----------------------------------------------------
# Secrets the templates of automation steps name as `secrets.NAME`: FLOWDESK_SECRET_<NAME>
# (NAME in upper case). FLOWDESK_SECRET_KEY is Django's own key and never one of them.
FLOWDESK_SECRETS = {
    name.removeprefix("FLOWDESK_SECRET_"): value
    for name, value in os.environ.items()
    if name.startswith("FLOWDESK_SECRET_") and name != "FLOWDESK_SECRET_KEY"
}
# Hosts automation steps may call and download from (comma-separated); empty: any host.
FLOWDESK_AUTOMATION_ALLOWED_HOSTS = [
    h.strip().lower()
    for h in os.environ.get("FLOWDESK_AUTOMATION_ALLOWED_HOSTS", "").split(",")
    if h.strip()
]
# The checksum check: the largest package it downloads, and how long the server may be silent.
FLOWDESK_CHECKSUM_MAX_MB = int(os.environ.get("FLOWDESK_CHECKSUM_MAX_MB", "2048"))
FLOWDESK_CHECKSUM_TIMEOUT = float(os.environ.get("FLOWDESK_CHECKSUM_TIMEOUT", "60"))
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] |= {
    "AutomationRunStatusEnum": "flowdesk.automation.models.AutomationRun.Status",
    "AutomationRunActionEnum": "flowdesk.automation.queries.RUN_ACTIONS",
}
