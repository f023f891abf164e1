"""Settings for the BCP application, driven by environment variables.

Every variable is documented in README.md. A bad value fails loudly at start:
production mode (DEBUG off) refuses to start without SECRET_KEY.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BCP_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Turn DATABASE_URL into a DATABASES entry: sqlite:///path or mysql://user:pass@host:port/name."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if url.startswith("sqlite:////"):
            name = path
        else:
            name = str(BASE_DIR / path.lstrip("/")) if path.lstrip("/") else str(VAR_DIR / "bcp.sqlite3")
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    if parsed.scheme in {"mysql", "mariadb"}:
        options = {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"}
        for key, values in parse_qs(parsed.query).items():
            options[key] = values[-1]
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "127.0.0.1",
            "PORT": str(parsed.port or 3306),
            "OPTIONS": options,
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL={url!r}: unsupported scheme {parsed.scheme!r} (use sqlite:/// or mysql://)."
    )


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG off) refuses to start without it: "
            "set SECRET_KEY to a long random string, or DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Links in emails are absolute: they start with this address.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "bcp_site.apps.AdminConfig",  # django.contrib.admin with the product's admin site (bcp_site.admin_base)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "simple_history",
    "axes",
    "csp",
    "django_tasks",  # Django's tasks API (the backport of django.tasks): see "Background tasks" below
    "django_tasks_db",  # the database queue (its table exists whatever the backend: queue health reads it)
    "django_rq",  # RQ on Redis, and its `rqworker` command (its admin dashboard is off: RQ_SHOW_ADMIN_LINK)
    "templates_app",
    "plans",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "bcp_site.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its page
]

ROOT_URLCONF = "bcp_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviews.attention.navigation",  # "needs my attention" counts, read on first use
            ],
            # Filters every template needs without a {% load %}: people's names (display_name).
            "builtins": ["bcp_site.template_filters"],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

WSGI_APPLICATION = "bcp_site.wsgi.application"

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///var/bcp.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in before any password check
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it, even before collectstatic
WHITENOISE_USE_FINDERS = DEBUG

# Files (attachments, exports). Local files live under var/files and are never served
# as public media: every download goes through a permission-checked view.
MEDIA_ROOT = Path(os.environ.get("BCP_MEDIA_ROOT", VAR_DIR / "files"))
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local").lower()
if STORAGE_BACKEND == "local":
    default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
elif STORAGE_BACKEND == "s3":
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if not default_storage["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND={STORAGE_BACKEND!r}: use 'local' or 's3'.")
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
BCP_ATTACHMENT_MAX_BYTES = env_int("BCP_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Email: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "bcp@localhost")

# Acknowledgement links.
BCP_ACK_LINK_DAYS = env_int("BCP_ACK_LINK_DAYS", 30)
# The outbox (plans.outbox): every email is a bc_notification row delivered by the task workers.
# A worker claims BCP_MAIL_BATCH_SIZE rows at a time and sends them over one SMTP connection; rows
# whose worker died are queued again once their lease expires (`manage.py outbox_sweep`, from cron).
# Temporary failures retry after BCP_OUTBOX_BACKOFF_SECONDS, doubled each time up to the maximum;
# after BCP_OUTBOX_MAX_ATTEMPTS tries a row is given up (the admin can send it again).
BCP_MAIL_BATCH_SIZE = env_int("BCP_MAIL_BATCH_SIZE", 100)
BCP_OUTBOX_LEASE_SECONDS = env_int("BCP_OUTBOX_LEASE_SECONDS", 600)
BCP_OUTBOX_MAX_ATTEMPTS = env_int("BCP_OUTBOX_MAX_ATTEMPTS", 8)
BCP_OUTBOX_BACKOFF_SECONDS = env_int("BCP_OUTBOX_BACKOFF_SECONDS", 30)
BCP_OUTBOX_BACKOFF_MAX_SECONDS = env_int("BCP_OUTBOX_BACKOFF_MAX_SECONDS", 3600)
for _name in ("BCP_MAIL_BATCH_SIZE", "BCP_OUTBOX_LEASE_SECONDS", "BCP_OUTBOX_MAX_ATTEMPTS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} must be 1 or more.")

# Background tasks: Django's tasks API (the django-tasks backport; `django.tasks` from Django 6).
# BCP_TASKS_BACKEND: "database" (default; workers run `manage.py db_worker`, several on MariaDB,
# one on SQLite), "rq" (RQ on Redis at REDIS_URL; workers run `manage.py rqworker default --with-scheduler`),
# or "immediate" (tasks run inside the request that enqueues them: no worker, for tests and demos).
BCP_TASKS_BACKEND = (os.environ.get("BCP_TASKS_BACKEND") or "database").strip().lower()
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if BCP_TASKS_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"BCP_TASKS_BACKEND={BCP_TASKS_BACKEND!r}: use one of {', '.join(TASK_BACKENDS)}."
    )
TASK_QUEUES = ["default"]
TASKS = {"default": {"BACKEND": TASK_BACKENDS[BCP_TASKS_BACKEND], "QUEUES": TASK_QUEUES}}
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
if urlparse(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r}: use redis://host:port/db, rediss://... or unix://...")
# A job may run this long before RQ stops it (a large plan's PDF takes seconds, not minutes).
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in TASK_QUEUES}
# Workers (`manage.py rqworker default`) run jobs as django-tasks' own job class, which calls the task.
RQ = {"JOB_CLASS": "django_tasks_rq.backend.Job"}
RQ_SHOW_ADMIN_LINK = False  # the queue's health is shown to superusers in the admin (bcp_site.tasks_admin)

# Rate limits (plans.ratelimit) count in one place every process shares: "database" (default,
# the bc_rate_counter table) or "redis" (INCR on REDIS_URL). Never in process memory.
BCP_RATE_LIMIT_BACKEND = (os.environ.get("BCP_RATE_LIMIT_BACKEND") or "database").strip().lower()
if BCP_RATE_LIMIT_BACKEND not in {"database", "redis"}:
    raise ImproperlyConfigured(f"BCP_RATE_LIMIT_BACKEND={BCP_RATE_LIMIT_BACKEND!r}: use database or redis.")

# Password reset by email (plans.accounts): requests are counted per address and per client
# address (bcp_site.security.client_ip) in hourly windows; past either limit the person sees the
# usual "if an account exists, we sent an email" page and nothing is sent. The link in the mail
# works once, for PASSWORD_RESET_TIMEOUT (Django's setting, here BCP_PASSWORD_RESET_HOURS).
BCP_PASSWORD_RESET_PER_ADDRESS_PER_HOUR = env_int("BCP_PASSWORD_RESET_PER_ADDRESS_PER_HOUR", 3)
BCP_PASSWORD_RESET_PER_IP_PER_HOUR = env_int("BCP_PASSWORD_RESET_PER_IP_PER_HOUR", 10)
PASSWORD_RESET_TIMEOUT = env_int("BCP_PASSWORD_RESET_HOURS", 24) * 3600
for _name in ("BCP_PASSWORD_RESET_PER_ADDRESS_PER_HOUR", "BCP_PASSWORD_RESET_PER_IP_PER_HOUR"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} must be 1 or more.")
if PASSWORD_RESET_TIMEOUT < 3600:
    raise ImproperlyConfigured("BCP_PASSWORD_RESET_HOURS must be 1 or more.")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"  # Django's default, said out loud (the link pages rely on it)

# HTTPS. Behind a TLS-terminating proxy, SECURE_SSL_REDIRECT needs SECURE_PROXY_SSL_HEADER
# (the proxy's X-Forwarded-Proto), or every request looks like plain HTTP and redirects forever.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS} must be 0 (off) or more.")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# Content-Security-Policy (django-csp): everything the pages need is served by the app, with
# no inline script or style (styles are classes in static/css, scripts files in static/js).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Browser features no page uses (bcp_site.middleware.PermissionsPolicyMiddleware): () = nobody.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb", "xr-spatial-tracking",
    )
}

# Sign-in throttling (django-axes), on the site's and the admin's login: a username is locked
# *from one address* after BCP_LOGIN_FAILURE_LIMIT failures, for BCP_LOGIN_COOLOFF_MINUTES after
# the last attempt, so nobody can lock a colleague out from elsewhere. BCP Admins unlock people
# of their organisation (people admin, "Unlock sign-in"); lockouts are audited (plans.people).
AXES_FAILURE_LIMIT = env_int("BCP_LOGIN_FAILURE_LIMIT", 5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured(f"BCP_LOGIN_FAILURE_LIMIT={AXES_FAILURE_LIMIT} must be 1 or more.")
_cool_off_minutes = env_int("BCP_LOGIN_COOLOFF_MINUTES", 15)
if _cool_off_minutes < 1:
    raise ImproperlyConfigured(f"BCP_LOGIN_COOLOFF_MINUTES={_cool_off_minutes} must be 1 or more.")
AXES_COOLOFF_TIME = timedelta(minutes=_cool_off_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful sign-in forgets that username's failures from that address
AXES_USERNAME_CALLABLE = "bcp_site.security.login_username"
AXES_LOCKOUT_CALLABLE = "bcp_site.security.lockout_response"
# The client address: REMOTE_ADDR, or behind BCP_TRUSTED_PROXY_COUNT proxies the address the
# outermost proxy appended to X-Forwarded-For (bcp_site.security.client_ip; axes' own
# django-ipware settings, AXES_IPWARE_*, are not used). The acknowledgement rate limit uses it too.
BCP_TRUSTED_PROXY_COUNT = env_int("BCP_TRUSTED_PROXY_COUNT", 0)
if BCP_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"BCP_TRUSTED_PROXY_COUNT={BCP_TRUSTED_PROXY_COUNT} must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "bcp_site.security.client_ip"
# Failed attempts are kept (table axes_accessattempt) until the cool-off ends; successful sign-ins
# are not logged by axes. Its admin is for superusers only (plans/people_admin.py registers it).
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False

# One console handler, on the root logger: every record is printed once. (Django's own logging
# set-up gives the "django" logger a console handler of its own in debug mode, which printed
# every request warning twice; naming the logger here removes it.) A refusal (403) is one
# warning naming the path and the person, without a traceback (bcp_site.log_filters).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals": {"()": "bcp_site.log_filters.RefusalFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "django.request": {"filters": ["refusals"]},
        "django.security.csrf": {"filters": ["refusals"]},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},  # failures and lockouts; not a line for every successful sign-in
    },
}

# mysql.W003 warns that a unique CharField over 255 characters may not be indexable. It is on
# MariaDB 10.3+ and MySQL 5.7+ (InnoDB DYNAMIC rows index keys up to 3072 bytes): the longest,
# bc_attachment.storage_path (500 utf8mb4 characters, 2000 bytes), migrates and is enforced there.
SILENCED_SYSTEM_CHECKS = ["mysql.W003"]
