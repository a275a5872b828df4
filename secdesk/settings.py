"""Django settings for secdesk, all from ``SECDESK_*`` environment variables.

The embedded default (no variables set) is a working desk on SQLite under
``./var``. ``SECDESK_PRODUCTION=1`` turns on the production checks: secrets
must come from the environment and the deploy checks must pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dj_database_url

from secdesk import config

BASE_DIR = Path(__file__).resolve().parent
PRODUCTION = config.env_bool("SECDESK_PRODUCTION", False)
DATA_DIR = config.data_dir()
ATTACHMENT_DIR = DATA_DIR / "attachments"
MAIL_DIR = DATA_DIR / "mail"

SECRET_KEY = config.secret_key(PRODUCTION, DATA_DIR)
DEBUG = config.env_bool("SECDESK_DEBUG", False)
ALLOWED_HOSTS = config.env_list(
    "SECDESK_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise config.ConfigError("SECDESK_ALLOWED_HOSTS is required when SECDESK_PRODUCTION=1")
CSRF_TRUSTED_ORIGINS = config.env_list("SECDESK_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = config.env_str("SECDESK_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "django_tasks_db",
    "secdesk.accounts",
    "secdesk.marketplace",
    "secdesk.tickets",
    "secdesk.triage",
    "secdesk.notices",
    "secdesk.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "secdesk.accounts.language.ProfileLanguageMiddleware",  # a saved language beats the cookie and the browser
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "secdesk.urls"
WSGI_APPLICATION = "secdesk.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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


_SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue on
    # the busy timeout instead of failing a lock upgrade mid-transaction.
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": (
        "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;PRAGMA busy_timeout=30000;"
    ),
}


def _database() -> dict[str, object]:
    url = config.env_str("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=config.env_int("SECDESK_DB_CONN_MAX_AGE", 60))
        db["CONN_HEALTH_CHECKS"] = True
        if db["ENGINE"] == "django.db.backends.sqlite3":
            db["OPTIONS"] = {**_SQLITE_OPTIONS, **db.get("OPTIONS", {})}  # a sqlite:/// URL: same pragmas
        return dict(db)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "secdesk.sqlite3"),
        # Reusing connections matters more than anything else for SQLite speed:
        # opening one and setting its pragmas costs more than an insert.
        "CONN_MAX_AGE": config.env_int("SECDESK_DB_CONN_MAX_AGE", 600),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": dict(_SQLITE_OPTIONS),
        "TEST": {"NAME": str(DATA_DIR / "test-secdesk.sqlite3")},
    }


DATABASES = {"default": _database()}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("tr", "Türkçe")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Request limits: JSON bodies are small; attachments have their own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = config.env_int("SECDESK_MAX_BODY_BYTES", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_ATTACHMENT_BYTES = config.env_int("SECDESK_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
MAX_TEXT_CHARS = config.env_int("SECDESK_MAX_TEXT_CHARS", 100_000)

# The desk's business calendar (acknowledgement clock).
CALENDAR = {
    "timezone": config.env_str("SECDESK_CALENDAR_TIMEZONE", "UTC"),
    "country": config.env_str("SECDESK_CALENDAR_COUNTRY", "") or None,
    "subdivision": config.env_str("SECDESK_CALENDAR_SUBDIVISION", "") or None,
    "hours": config.env_str("SECDESK_CALENDAR_HOURS", "09:00-17:00"),
}

# Triage policy: priority suggestion (JSON, see secdesk/domain/priority.py) and remediation targets in days.
PRIORITY_POLICY = config.env_str("SECDESK_PRIORITY_POLICY", "")
REMEDIATION_TARGETS = config.env_str("SECDESK_REMEDIATION_TARGETS", "critical=7,high=30,medium=90,low=180")

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

MAILERS = config.mailers(config.env_str("SECDESK_SMTP_URL"), MAIL_DIR)
DEFAULT_FROM_EMAIL = config.env_str("SECDESK_MAIL_FROM", "secdesk <security@secdesk.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers and cookies.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = config.env_bool("SECDESK_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = config.env_int("SECDESK_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": config.env_str("SECDESK_LOG_LEVEL", "WARNING")},
}

# --- Signing in: django-allauth (OpenID Connect providers, local accounts, TOTP MFA) ---------------
# Providers come from SECDESK_OIDC_PROVIDERS (a JSON list, see secdesk/accounts/oidc.py); a malformed
# value stops start-up. Users are keyed on (provider, sub); e-mail never links accounts by itself.
from secdesk.accounts import oidc as _oidc  # noqa: E402 — settings are read top to bottom

INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.microsoft",
    "allauth.mfa",
]
MIDDLEWARE += [
    "allauth.account.middleware.AccountMiddleware",
    "secdesk.accounts.middleware.RequireStaffMfaMiddleware",
]
TEMPLATES[0]["OPTIONS"]["context_processors"].append("secdesk.accounts.context_processors.sign_in")  # type: ignore[index]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
ACCOUNT_ADAPTER = "secdesk.accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # local accounts verify their address before signing in
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[secdesk] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
SOCIALACCOUNT_ADAPTER = "secdesk.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = _oidc.socialaccount_providers(_oidc.parse_providers(config.env_str(_oidc.ENV_VAR)))
SOCIALACCOUNT_LOGIN_ON_GET = False  # starting a sign-in is a POST (CSRF-checked)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
# The provider vouches for (or not) the address; unverified ones are never used to place people.
SOCIALACCOUNT_EMAIL_VERIFICATION = "optional"
SOCIALACCOUNT_STORE_TOKENS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = config.env_str("SECDESK_MFA_ISSUER", "secdesk")
# Staff (responder, lead, auditor) must activate TOTP; the embedded demo may relax that.
SECDESK_DEMO_RELAX_MFA = config.env_bool("SECDESK_DEMO_RELAX_MFA", False)
if PRODUCTION and SECDESK_DEMO_RELAX_MFA:
    raise config.ConfigError("SECDESK_DEMO_RELAX_MFA is for the demo; it cannot be set when SECDESK_PRODUCTION=1")

# --- Hardening: shared cache, sign-in lockouts, API-token throttling, CSP, audit log --------------
# See secdesk/accounts/throttle.py and secdesk/accounts/audit.py.
from datetime import timedelta  # noqa: E402 — settings are read top to bottom

from django.utils.csp import CSP  # noqa: E402 — settings are read top to bottom

# Every web process and worker must see the same counters (lockouts, rate limits): a shared cache.
# Redis when SECDESK_REDIS_URL is set; otherwise a table in the desk's database, created by
# `secdesk migrate` / `serve` / `demo` (createcachetable) and by the test database set-up.
_REDIS_URL = config.env_str("SECDESK_REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS_URL, "KEY_PREFIX": "secdesk"}
        if _REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "secdesk_cache",
            # Culling would drop throttle counters; an attacker must not be able to flush them.
            "OPTIONS": {"MAX_ENTRIES": 200_000},
        }
    )
}
# The dashboard's figures are computed at most once per period, timezone and this many seconds, and shared by
# the staff who read it in that time (secdesk/triage/recent.py); 0 computes them for every request.
DASHBOARD_CACHE_SECONDS = config.env_int("SECDESK_DASHBOARD_CACHE_SECONDS", 60)
if DASHBOARD_CACHE_SECONDS < 0:
    raise config.ConfigError("SECDESK_DASHBOARD_CACHE_SECONDS must be 0 or more")
# The client's address: REMOTE_ADDR, or behind N trusted reverse proxies the one X-Forwarded-For names.
ALLAUTH_TRUSTED_PROXY_COUNT = config.env_int("SECDESK_TRUSTED_PROXY_COUNT", 0)

# Sign-in lockouts (django-axes): N failures per (e-mail, IP) lock that pair out for the cool-off, even
# with the right password; further failures during it restart it. Successful sign-ins clear the count.
LOGIN_FAILURE_LIMIT = config.env_int("SECDESK_LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = config.env_int("SECDESK_LOGIN_COOLOFF_MINUTES", 15)
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise config.ConfigError("SECDESK_LOGIN_FAILURE_LIMIT and SECDESK_LOGIN_COOLOFF_MINUTES must be at least 1")
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")  # first: refuses locked-out pairs
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "email"
AXES_USERNAME_CALLABLE = "secdesk.accounts.throttle.axes_username"  # allauth posts the address as "login"
AXES_CLIENT_IP_CALLABLE = "secdesk.accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "secdesk.accounts.throttle.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit log
# allauth's own limits stay as a second line (10 failures a minute per IP); its per-address limit is set
# above axes' so that the one who locks a single source out is axes, with its page and audit event.
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"10/m/ip,{max(20, 4 * LOGIN_FAILURE_LIMIT)}/{LOGIN_COOLOFF_MINUTES}m/key",
}

# API tokens: past this many failed bearer authentications from one address (an IPv6 /64) in the window,
# further failures get 429 + Retry-After. Valid tokens are never slowed or refused.
BEARER_FAILURE_LIMIT = config.env_int("SECDESK_BEARER_FAILURE_LIMIT", 20)
BEARER_FAILURE_WINDOW = config.env_int("SECDESK_BEARER_FAILURE_WINDOW_SECONDS", 300)

# Content Security Policy: Django's own (django.middleware.csp, Django 6.0+) rather than django-csp —
# it is built in, maintained and released with Django, and needs no extra dependency. No inline
# script or style anywhere (allauth's and ninja's templates load theirs from files); a page that
# ever needs an inline script adds CSP.NONCE to script-src and renders {{ csp_nonce }}.
# form-action also names the OpenID providers' origins: the sign-in POST answers with a redirect to
# the provider, and browsers apply form-action to that redirect. SECDESK_CSP_FORM_ACTION adds more
# (a provider whose authorization endpoint is on another host than its issuer).
_SIGN_IN_ORIGINS = sorted(
    {p.login_url for p in _oidc.parse_providers(config.env_str(_oidc.ENV_VAR))}
    | set(config.env_list("SECDESK_CSP_FORM_ACTION", []))
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, *_SIGN_IN_ORIGINS],
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), browsing-topics=()"
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")  # type: ignore[index]
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE[_after_security:_after_security] = [
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "secdesk.accounts.security_headers.PermissionsPolicyMiddleware",
    "secdesk.accounts.audit.AuditContextMiddleware",
]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: turns a lockout into the lockout page

# --- Inbound e-mail (secdesk/inbound) and webhooks (secdesk/webhooks) --------------------------------
INSTALLED_APPS += ["secdesk.inbound", "secdesk.webhooks"]
# The reply mailbox polled by secdesk.inbound.imap.poll_mailbox: imaps://user:pass@host/INBOX (or imap:// plain).
IMAP_URL = config.env_str("SECDESK_IMAP_URL")
IMAP_PROCESSED_FOLDER = config.env_str("SECDESK_IMAP_PROCESSED_FOLDER", "Processed")
INBOUND_MAX_BYTES = config.env_int("SECDESK_INBOUND_MAX_BYTES", 40 * 1024 * 1024)
# When set, replies are posted only with an Authentication-Results header from this authserv-id saying dmarc=pass.
INBOUND_AUTHSERV_ID = config.env_str("SECDESK_INBOUND_AUTHSERV_ID", "")
# Webhook deliveries: attempts before giving up, first retry delay (doubling each time), request timeout.
WEBHOOK_MAX_ATTEMPTS = config.env_int("SECDESK_WEBHOOK_MAX_ATTEMPTS", 10)
WEBHOOK_RETRY_BASE_SECONDS = config.env_int("SECDESK_WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_TIMEOUT_SECONDS = config.env_int("SECDESK_WEBHOOK_TIMEOUT_SECONDS", 10)
# Endpoints on loopback/private addresses (and plain http to loopback) are for development only.
WEBHOOK_ALLOW_PRIVATE = config.env_bool("SECDESK_WEBHOOK_ALLOW_PRIVATE", not PRODUCTION)

# --- Outbound e-mail, customer notice delivery, background work (secdesk/notices, secdesk/schedule.py) ---
# Tasks: the database backend (django-tasks-db) by default; SECDESK_TASKS_BACKEND=redis puts them on
# Redis Streams (django-tasks-redis, SECDESK_REDIS_URL); `secdesk worker` runs the matching worker.
TASKS_BACKEND = config.env_str("SECDESK_TASKS_BACKEND", "database").strip().lower()
if TASKS_BACKEND == "redis":
    if not _REDIS_URL:
        raise config.ConfigError("SECDESK_TASKS_BACKEND=redis needs SECDESK_REDIS_URL")
    INSTALLED_APPS += ["django_tasks_redis"]
    TASKS: dict[str, dict[str, object]] = {  # type: ignore[no-redef]
        "default": {
            "BACKEND": "django_tasks_redis.RedisTaskBackend",
            "QUEUES": ["default"],
            "OPTIONS": {"REDIS_URL": _REDIS_URL, "REDIS_KEY_PREFIX": config.env_str("SECDESK_TASKS_PREFIX", "secdesk")},
        }
    }
elif TASKS_BACKEND != "database":
    raise config.ConfigError("SECDESK_TASKS_BACKEND must be database or redis")
# Replies come back to reply+<token>@MAIL_REPLY_DOMAIN (secdesk/notices/addresses.py); Message-IDs use MAIL_DOMAIN.
MAIL_REPLY_DOMAIN = config.env_str("SECDESK_MAIL_REPLY_DOMAIN", "inbound.secdesk.localhost").strip().lower()
MAIL_DOMAIN = config.env_str("SECDESK_MAIL_DOMAIN", "").strip().lower() or (
    DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >").lower() or "secdesk.localhost"
)
# A claimed e-mail not sent after this long is taken back (its worker died); it keeps its Message-ID.
MAIL_CLAIM_TIMEOUT_SECONDS = config.env_int("SECDESK_MAIL_CLAIM_TIMEOUT_SECONDS", 300)
MAIL_MAX_ATTEMPTS = config.env_int("SECDESK_MAIL_MAX_ATTEMPTS", 8)
MAIL_RETRY_BASE_SECONDS = config.env_int("SECDESK_MAIL_RETRY_BASE_SECONDS", 60)  # doubles each attempt, max 6 h
# Customer notices: messages per second per notice (0 = no limit), recipients per SMTP connection,
# workers sharing one notice, and how long one task works before handing over to the queue.
NOTICE_RATE_PER_SECOND = config.env_int("SECDESK_NOTICE_RATE_PER_SECOND", 50)
NOTICE_BATCH_SIZE = config.env_int("SECDESK_NOTICE_BATCH_SIZE", 100)
NOTICE_PARALLEL = config.env_int("SECDESK_NOTICE_PARALLEL", 2)
NOTICE_SLICE_SECONDS = config.env_int("SECDESK_NOTICE_SLICE_SECONDS", 30)
if min(NOTICE_BATCH_SIZE, NOTICE_PARALLEL, NOTICE_SLICE_SECONDS, MAIL_CLAIM_TIMEOUT_SECONDS) < 1 or (
    NOTICE_RATE_PER_SECOND < 0
):
    raise config.ConfigError("SECDESK_NOTICE_* and SECDESK_MAIL_CLAIM_TIMEOUT_SECONDS must be positive")
