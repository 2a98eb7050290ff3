"""Base settings of dikom. Every value comes from the environment.

``dev.py``, ``ci.py`` and ``production.py`` only set environment defaults and
then import this module; see ``docs/configuration.md`` for every setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from dikom.conf.env import env_bool, env_int, env_list, env_secret, env_str

SRC_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = SRC_DIR.parent.parent

ENVIRONMENT = env_str(
    "DIKOM_ENVIRONMENT",
    "production",
    "Which kind of installation this is: development, ci or production. Production refuses unsafe settings.",
)
IS_PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DIKOM_DEBUG", False, "Show Django's debug pages. Never on in production.")
SECRET_KEY = env_secret("DIKOM_SECRET_KEY", None, "Secret key for signing sessions and tokens (50+ random characters).")
ALLOWED_HOSTS = env_list(
    "DIKOM_ALLOWED_HOSTS", [], "Host names this installation answers to, comma-separated (no '*' in production)."
)
CSRF_TRUSTED_ORIGINS = env_list(
    "DIKOM_CSRF_TRUSTED_ORIGINS", [], "Origins (scheme://host) trusted for CSRF when behind a proxy."
)
SITE_URL = env_str("DIKOM_SITE_URL", "http://127.0.0.1:8000", "Public base URL, used in e-mails and API documents.")

DATA_DIR = Path(
    env_str(
        "DIKOM_DATA_DIR",
        None,
        "Folder for the embedded SQLite database and uploaded files. Unset: var/ in the project.",
    )
    or BASE_DIR / "var"
)

# --- Applications ------------------------------------------------------------------

INSTALLED_APPS = [
    "dikom.accounts.admin_config.PlatformAdminConfig",  # django.contrib.admin without its own log-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "dikom.conf",
    "dikom.web",
    "dikom.audit",
    "dikom.municipalities",
    "dikom.accounts",
    "dikom.api",
    "dikom.analytics",
    "dikom.analytics.collect",
    "dikom.analytics.figures",
    "dikom.analytics.dashboards",
    "dikom.analytics.sharing",
    "dikom.eservices",
    "dikom.authproviders",
    "dikom.payments",
    "dikom.scanning",
    "dikom.portal",
    "dikom.handover",
    "dikom.cases",
    "dikom.cases.automation",
    "dikom.competences",
    "dikom.forum",
    "dikom.sensors",
    "dikom.smartcity",
    "dikom.opendata",
    "dikom.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dikom.api.middleware.ApiRequestSizeLimitMiddleware",
    "dikom.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Without DIKOM_DATABASE_REPLICA_URLS it only passes the request on.
    "dikom.lib.replicas.ReplicaReadsMiddleware",
    "dikom.web.middleware.GermanByDefaultLocaleMiddleware",
    "dikom.web.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "dikom.audit.context.AuditContextMiddleware",
    "dikom.accounts.middleware.TwoFactorEnforcementMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's middleware with the policy text built once per process (dikom.web.csp).
    "dikom.web.csp.CachedPolicyCSPMiddleware",
]

ROOT_URLCONF = "dikom.urls"
WSGI_APPLICATION = "dikom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Looked up before the apps' templates: corrections of Django admin templates
        # (the admin app comes first in INSTALLED_APPS, so an app cannot override them).
        "DIRS": [SRC_DIR / "web" / "admin_overrides"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "dikom.web.context_processors.platform",
            ],
            # ``{% extends %}`` that finds the root template's blocks once (dikom.web.templatetags.rootblocks).
            "builtins": ["dikom.web.templatetags.rootblocks"],
        },
    },
]

# --- Database ----------------------------------------------------------------------

DATABASE_URL = env_str(
    "DATABASE_URL",
    None,
    "Database to use, e.g. postgres://user:pass@host:5432/dikom. Unset: the embedded SQLite database in DIKOM_DATA_DIR.",
)
DB_CONN_MAX_AGE = env_int(
    "DIKOM_DB_CONN_MAX_AGE",
    600,
    "Seconds a server thread keeps its database connection between requests (0: a new one per request). "
    "Checked before reuse; a broken connection is replaced.",
    minimum=0,
)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            # Django's SQLite backend with one write transaction at a time per process (dikom.lib.sqlite_backend).
            "ENGINE": "dikom.lib.sqlite_backend",
            "NAME": str(DATA_DIR / "dikom.sqlite3"),
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE takes the
                # write lock at BEGIN so concurrent writers queue instead of failing; they wait up to
                # 20 s (busy_timeout, the same as "timeout") before "database is locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Kept open per server thread, like PostgreSQL's: connecting, the four PRAGMAs and reading
            # the schema again cost about 1.8 ms per request (issue 21); now once per connection.
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replicas (PostgreSQL streaming replicas): see dikom.lib.replicas and docs/scaling.md.
DIKOM_DATABASE_REPLICA_URLS = env_list(
    "DIKOM_DATABASE_REPLICA_URLS",
    [],
    "Comma-separated URLs of PostgreSQL streaming replicas of DATABASE_URL, e.g. "
    "postgres://dikom@replica1:5432/dikom. Reads that may lag (dashboards, comparison, open data, catalogue, "
    "SensorThings, search) of GET requests go to a healthy replica; everything else to the primary.",
)
DIKOM_REPLICA_MAX_LAG_SECONDS = env_int(
    "DIKOM_REPLICA_MAX_LAG_SECONDS",
    30,
    "A replica further behind the primary than this (pg_last_xact_replay_timestamp) is skipped until it catches up.",
    minimum=0,
)
DIKOM_REPLICA_STICKY_SECONDS = env_int(
    "DIKOM_REPLICA_STICKY_SECONDS",
    15,
    "After a client's write (POST, PUT, PATCH, DELETE) its reads go to the primary for this long, so that it "
    "reads its own writes (a cookie; for API clients a mark in the cache under a hash of the Authorization header).",
    minimum=0,
)
DIKOM_REPLICA_CHECK_SECONDS = env_int(
    "DIKOM_REPLICA_CHECK_SECONDS",
    5,
    "How often each process checks a replica's reachability and lag (one small query).",
    minimum=1,
)
DIKOM_REPLICA_CONNECT_TIMEOUT_SECONDS = env_int(
    "DIKOM_REPLICA_CONNECT_TIMEOUT_SECONDS",
    2,
    "Connection timeout for replicas: a replica that does not answer within it is skipped.",
    minimum=1,
)
DIKOM_REPLICA_APPS = env_list(
    "DIKOM_REPLICA_APPS",
    [
        "analytics",
        "analytics_dashboards",
        "analytics_figures",
        "analytics_sharing",
        "opendata",
        "sensors",
        "eservices",
    ],
    "App labels whose reads may come from a replica (in GET requests of clients that did not just write).",
)
DIKOM_REPLICA_ALIASES: list[str] = []
DATABASE_ROUTERS: list[str] = []
if DIKOM_DATABASE_REPLICA_URLS:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DIKOM_DATABASE_REPLICA_URLS needs DATABASE_URL to name a PostgreSQL primary.")
    for _number, _url in enumerate(DIKOM_DATABASE_REPLICA_URLS, start=1):
        _replica = dj_database_url.parse(_url, conn_max_age=60, conn_health_checks=True)
        if _replica["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured(f"DIKOM_DATABASE_REPLICA_URLS: {_url!r} is not a PostgreSQL URL.")
        _replica["OPTIONS"] = {**_replica.get("OPTIONS", {}), "connect_timeout": DIKOM_REPLICA_CONNECT_TIMEOUT_SECONDS}
        # Tests read the test database through "default"; the router's own tests open the real replica.
        _replica["TEST"] = {"MIRROR": "default"}
        DATABASES[f"replica{_number}"] = _replica
        DIKOM_REPLICA_ALIASES.append(f"replica{_number}")
    DATABASE_ROUTERS = ["dikom.lib.replicas.ReplicaRouter"]

# --- Web server processes and the cache they share ----------------------------------

DIKOM_WEB_PROCESSES = env_int(
    "DIKOM_WEB_PROCESSES",
    0,
    "`manage.py serve`: web server processes (each with --threads threads). 0: one per CPU core. More than one "
    "needs a shared cache: DIKOM_CACHE_URL, or else the database cache is used.",
    minimum=0,
)
DIKOM_PAGE_CACHE_SECONDS = env_int(
    "DIKOM_PAGE_CACHE_SECONDS",
    5,
    "Seconds each web process keeps the landing page, a city's portal and a service page for visitors without a "
    "session (dikom.lib.pagecache); a change shows to them after at most this long, to signed-in users and "
    "citizens in an application at once. 0: every request renders the page.",
    minimum=0,
)
CACHE_URL = env_str(
    "DIKOM_CACHE_URL",
    None,
    "Cache for rate-limit counters and throttles, e.g. redis://127.0.0.1:6379/0 (atomic counters, no database "
    "writes). Unset: the database cache (table dikom_cache), shared by all server processes; with "
    "DIKOM_WEB_PROCESSES=1 the memory of the one server process.",
)
DIKOM_CACHE_TIMEOUT_SECONDS = env_int(
    "DIKOM_CACHE_TIMEOUT_SECONDS",
    1,
    "Connect and read timeout for the Redis cache; while it does not answer, requests are served without "
    "shared rate limits (logged), never refused for it.",
    minimum=1,
)
CACHES: dict[str, dict[str, Any]]
if CACHE_URL:
    CACHES = {
        "default": {
            # Redis down costs the shared limits, not the requests (dikom.lib.resilient_cache).
            "BACKEND": "dikom.lib.resilient_cache.ResilientRedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": DIKOM_CACHE_TIMEOUT_SECONDS,
                "socket_timeout": DIKOM_CACHE_TIMEOUT_SECONDS,
            },
        }
    }
elif DIKOM_WEB_PROCESSES == 1:
    # One process: counters in memory cost no database write per request.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dikom"}}
else:
    # Several processes (the default: one per core) must count rate limits together.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "dikom_cache"}}

# --- Accounts and security ---------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
# Passwords are checked by the platform's sign-in only; authenticate() signs nobody in.
AUTHENTICATION_BACKENDS = ["dikom.accounts.backends.SignInOnlyBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:landing"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "dikom.accounts.validators.CharacterClassValidator"},
    # zxcvbn's estimate with the user's names and the cities as known words (score 0-4).
    {"NAME": "dikom.accounts.validators.StrengthValidator", "OPTIONS": {"min_score": 3}},
]

DIKOM_REQUIRE_2FA_FOR_STAFF = env_bool(
    "DIKOM_REQUIRE_2FA_FOR_STAFF",
    True,
    "Staff (users with a role in a municipality) must set up and use TOTP two-factor authentication.",
)
DIKOM_ALLOW_STAFF_WITHOUT_2FA = env_bool(
    "DIKOM_ALLOW_STAFF_WITHOUT_2FA",
    False,
    "Production only: let it start with DIKOM_REQUIRE_2FA_FOR_STAFF=false (refused otherwise); "
    "a warning is logged at every start.",
)
DIKOM_LOGIN_MAX_FAILURES = env_int(
    "DIKOM_LOGIN_MAX_FAILURES",
    5,
    "Failed logins in a row for one account before it is only checked again after a delay (from browsers "
    "that never signed in to it).",
    minimum=1,
)
DIKOM_LOGIN_BACKOFF_SECONDS = env_int(
    "DIKOM_LOGIN_BACKOFF_SECONDS",
    60,
    "First delay of an account after DIKOM_LOGIN_MAX_FAILURES failed logins; it doubles with every further failure.",
    minimum=1,
)
DIKOM_LOGIN_LOCKOUT_MINUTES = env_int(
    "DIKOM_LOGIN_LOCKOUT_MINUTES",
    15,
    "Longest delay of an account after failed logins (the doubling stops here).",
    minimum=1,
)
DIKOM_LOGIN_CLIENT_WINDOW_MINUTES = env_int(
    "DIKOM_LOGIN_CLIENT_WINDOW_MINUTES",
    15,
    "Window of the per-client login throttle (client = IP address, IPv6 /64 network).",
    minimum=1,
)
DIKOM_LOGIN_CLIENT_MAX_FAILURES = env_int(
    "DIKOM_LOGIN_CLIENT_MAX_FAILURES",
    30,
    "Failed logins from one client within the window before its attempts are refused unchecked.",
    minimum=1,
)
DIKOM_LOGIN_CLIENT_MAX_ACCOUNTS = env_int(
    "DIKOM_LOGIN_CLIENT_MAX_ACCOUNTS",
    10,
    "Different account names with failed logins from one client within the window before its attempts are "
    "refused unchecked.",
    minimum=1,
)
DIKOM_LOGIN_SPRAY_MAX_ACCOUNTS = env_int(
    "DIKOM_LOGIN_SPRAY_MAX_ACCOUNTS",
    20,
    "Different accounts one wrong password may fail for within an hour, from any client, before that password "
    "is refused unchecked for every account (password spraying).",
    minimum=2,
)
DIKOM_TWO_FACTOR_CLIENT_MAX_FAILURES = env_int(
    "DIKOM_TWO_FACTOR_CLIENT_MAX_FAILURES",
    20,
    "Wrong second-factor codes from one client (any account) within DIKOM_LOGIN_CLIENT_WINDOW_MINUTES before "
    "its codes are refused unchecked.",
    minimum=1,
)
DIKOM_PASSWORD_RESET_CLIENT_MAX_REQUESTS = env_int(
    "DIKOM_PASSWORD_RESET_CLIENT_MAX_REQUESTS",
    10,
    "Password-reset requests from one client within DIKOM_LOGIN_CLIENT_WINDOW_MINUTES before further ones are "
    "refused (no mail is sent).",
    minimum=1,
)
DIKOM_PASSWORD_RESET_ACCOUNT_MAX_REQUESTS = env_int(
    "DIKOM_PASSWORD_RESET_ACCOUNT_MAX_REQUESTS",
    3,
    "Password-reset requests for one e-mail address (whether an account has it or not), from any client, within "
    "an hour before further ones are refused (no mail is sent).",
    minimum=1,
)
DIKOM_LOGIN_DEVICE_DAYS = env_int(
    "DIKOM_LOGIN_DEVICE_DAYS",
    90,
    "Lifetime of the trusted-device cookie a browser gets after a complete sign-in; such a browser is not held "
    "up by the delay of its account.",
    minimum=1,
)

# Database sessions, read with one statement prepared per process instead of an ORM query (dikom.lib.sessions).
SESSION_ENGINE = "dikom.lib.sessions"
SESSION_COOKIE_AGE = env_int("DIKOM_SESSION_AGE_SECONDS", 8 * 3600, "Session lifetime in seconds.", minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Under /api/ a failed CSRF check is a problem+json answer like every other API error.
CSRF_FAILURE_VIEW = "dikom.api.problems.csrf_failure"
SECURE_COOKIES = env_bool(
    "DIKOM_SECURE_COOKIES", True, "Send session and CSRF cookies only over HTTPS (switch off only for local HTTP)."
)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("DIKOM_SSL_REDIRECT", True, "Redirect plain HTTP requests to HTTPS.")
SECURE_HSTS_SECONDS = env_int(
    "DIKOM_HSTS_SECONDS", 31536000, "Strict-Transport-Security max-age; 0 switches HSTS off.", minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0 and env_bool(
    "DIKOM_HSTS_PRELOAD", True, "Add 'preload' to Strict-Transport-Security (for the browsers' HSTS preload list)."
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool(
    "DIKOM_BEHIND_PROXY",
    False,
    "Trust X-Forwarded-Proto from a TLS-terminating reverse proxy in Django itself (for WSGI servers other than "
    "`manage.py serve`, which must then strip the header from other clients; with `serve` use DIKOM_TRUSTED_PROXY).",
):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DIKOM_TRUSTED_PROXY = env_str(
    "DIKOM_TRUSTED_PROXY",
    None,
    "`manage.py serve` (waitress): IP address of the reverse proxy in front, whose X-Forwarded-* headers are "
    "trusted (waitress' trusted_proxy; '*' trusts every peer, only when nothing else can reach the port). "
    "Headers from any other peer are removed.",
)
DIKOM_TRUSTED_PROXY_HEADERS = env_list(
    "DIKOM_TRUSTED_PROXY_HEADERS",
    ["x-forwarded-proto", "x-forwarded-for"],
    "`manage.py serve`: the proxy headers taken from DIKOM_TRUSTED_PROXY (waitress' trusted_proxy_headers): "
    "x-forwarded-proto makes HTTPS requests count as secure, x-forwarded-for gives the client address for the "
    "login throttle.",
)
DIKOM_TRUSTED_PROXY_COUNT = env_int(
    "DIKOM_TRUSTED_PROXY_COUNT",
    1,
    "`manage.py serve`: how many proxies in a row add to X-Forwarded-For (waitress' trusted_proxy_count).",
    minimum=1,
)

# Content-Security-Policy: no inline scripts, no third-party origins. Inline <style>
# blocks carry a per-request nonce (municipality branding).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- E-mail ------------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "DIKOM_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend",
    "Django e-mail backend; the development set-up prints mails to the console.",
)
EMAIL_HOST = env_str("DIKOM_EMAIL_HOST", "localhost", "SMTP server host.")
EMAIL_PORT = env_int("DIKOM_EMAIL_PORT", 587, "SMTP server port.", minimum=1)
EMAIL_HOST_USER = env_str("DIKOM_EMAIL_USER", "", "SMTP user name.")
EMAIL_HOST_PASSWORD = env_secret("DIKOM_EMAIL_PASSWORD", "", "SMTP password.")
EMAIL_USE_TLS = env_bool("DIKOM_EMAIL_USE_TLS", True, "Use STARTTLS for SMTP.")
DEFAULT_FROM_EMAIL = env_str("DIKOM_DEFAULT_FROM_EMAIL", "dikom <noreply@dikom.invalid>", "Sender of platform mails.")
DIKOM_INBOUND_MAIL_DOMAIN = (
    (
        env_str(
            "DIKOM_INBOUND_MAIL_DOMAIN",
            "",
            "Mail domain of the cases' reply addresses (antwort+<token>@<domain>); empty: no inbound e-mail. "
            "Case e-mails to citizens then carry the case's reply address as Reply-To (see docs/cases.md).",
        )
        or ""
    )
    .strip()
    .lower()
)
DIKOM_INBOUND_MAIL_MAX_BYTES = env_int(
    "DIKOM_INBOUND_MAIL_MAX_BYTES",
    25 * 1024 * 1024,
    "Largest inbound e-mail accepted (bytes, as received, before decoding); larger ones are refused.",
    minimum=1024,
)
DIKOM_INBOUND_MAIL_MAX_ATTACHMENTS = env_int(
    "DIKOM_INBOUND_MAIL_MAX_ATTACHMENTS",
    20,
    "Attachments of one inbound e-mail stored in the case file; further ones are listed but not stored.",
    minimum=0,
)

# --- Internationalisation ----------------------------------------------------------

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # also creates DATA_DIR for the embedded database
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "DIKOM_MAX_REQUEST_BYTES",
    10 * 1024 * 1024,
    "Largest request body accepted (bytes); larger ones get 413.",
    minimum=1024,
)

# --- PDF documents (letters, receipts, automation documents, reports) -------------

DIKOM_PDF_TIMEOUT_SECONDS = env_int(
    "DIKOM_PDF_TIMEOUT_SECONDS",
    60,
    "Longest one PDF may take to render; a render that takes longer is stopped and reported as an error.",
    minimum=1,
)
DIKOM_PDF_MEMORY_MB = env_int(
    "DIKOM_PDF_MEMORY_MB",
    1024,
    "Address space (MiB) the process that renders one PDF may use; 0 sets no limit.",
    minimum=0,
)

# --- Background tasks --------------------------------------------------------------

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DIKOM_TASK_MAX_ATTEMPTS = env_int(
    "DIKOM_TASK_MAX_ATTEMPTS", 5, "How often a failing background task is tried before it stays failed.", minimum=1
)
DIKOM_TASK_LEASE_SECONDS = env_int(
    "DIKOM_TASK_LEASE_SECONDS",
    60,
    "A worker running a background task renews the task's lease every quarter of this; a running task whose "
    "lease is older (its worker was killed or lost its machine) is put back in the queue by the clock "
    "(checked every half of this) and run by another worker, at most DIKOM_TASK_MAX_ATTEMPTS times in all.",
    minimum=2,
)

# --- Sensors (SensorThings API) ---------------------------------------------------------

DIKOM_STA_MQTT_URL = env_str(
    "DIKOM_STA_MQTT_URL",
    None,
    "MQTT broker to which new SensorThings observations are published, e.g. mqtt://127.0.0.1:1883 "
    "(topics v1.1/Datastreams(<id>)/Observations and v1.1/Observations), with dikom's broker account as "
    "mqtt://dikom:<password>@host:1883 where the broker requires it; also where manage.py sta_mqtt_ingest "
    "listens for published Observations. Unset: no MQTT.",
)
DIKOM_MQTT_AUTOSTART = env_bool(
    "DIKOM_MQTT_AUTOSTART",
    False,
    "manage.py serve without DIKOM_STA_MQTT_URL: use a broker on 127.0.0.1:1883, or start the installed "
    "mosquitto there (loopback only, anonymous, persistence in DIKOM_DATA_DIR), and publish/receive "
    "SensorThings observations through it. On in the development settings (make run).",
)
DIKOM_LORAWAN_MQTT_SOURCES = env_list(
    "DIKOM_LORAWAN_MQTT_SOURCES",
    [],
    "LoRaWAN uplinks read from The Things Stack's MQTT server, one entry per city: "
    "<city>=mqtts://<application>%40<tenant>:<API key>@<host>:8883 (the @ of the user name written %40). "
    "manage.py serve then starts manage.py lorawan_mqtt_ingest. Empty: uplinks only through the webhooks.",
)
DIKOM_STA_RAW_RETENTION_DAYS = env_int(
    "DIKOM_STA_RAW_RETENTION_DAYS",
    0,
    "Days SensorThings observations are kept (by their phenomenonTime); 0 keeps them all. On PostgreSQL the "
    "daily job sensors.partitions drops a month's partition whole once its last day is past the retention "
    "(observations are kept up to a month longer); on SQLite it deletes the rows.",
    minimum=0,
)

# --- Smart city: tree inventory import -----------------------------------------------------

DIKOM_TREE_IMPORT_MAX_ROWS = env_int(
    "DIKOM_TREE_IMPORT_MAX_ROWS",
    2_000_000,
    "Most rows (CSV) or features (GeoJSON) a tree inventory file may hold; a larger file is refused as a whole, "
    "before any tree is changed.",
    minimum=1,
)
DIKOM_MAP_TILE_URL = env_str(
    "DIKOM_MAP_TILE_URL",
    "",
    "Tile URL template of the base map under the citizen app's tree map, e.g. https://tiles.example/{z}/{x}/{y}.png "
    "(its host must also be allowed in the Content-Security-Policy's img-src). Empty: the trees are drawn without a "
    "base map.",
)
DIKOM_TREE_IMPORT_MAX_BYTES = env_int(
    "DIKOM_TREE_IMPORT_MAX_BYTES",
    512 * 1024 * 1024,
    "Largest tree inventory file (bytes) a city may upload; it is stored and read by the task worker in a stream.",
    minimum=1024,
)

# --- API ---------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dikom.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["dikom.api.parsers.LimitedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["dikom.api.throttling.ApiKeyRateThrottle", "dikom.api.throttling.AnonBurstThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env_str("DIKOM_API_KEY_RATE", "6000/min", "Requests per API key (N/s, N/min, N/hour)."),
        "anon": env_str("DIKOM_API_ANON_RATE", "120/min", "Requests per anonymous client on public API endpoints."),
        "ingest": env_str(
            "DIKOM_API_INGEST_RATE",
            "120000/min",
            "Requests per API key on ingestion endpoints (usage events), which have their own budget.",
        ),
    },
    "DEFAULT_SCHEMA_CLASS": "dikom.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "dikom.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "dikom API",
    "DESCRIPTION": (
        "REST API of dikom, the open platform of intermunicipal digital administration. "
        "Machine clients authenticate with per-municipality API keys (header `Authorization: Api-Key <key>`). "
        "Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The committed openapi.yaml must not depend on the active language.
    "DEFAULT_GENERATOR_CLASS": "dikom.api.schema.EnglishSchemaGenerator",
    # Every operation documents the problem answers any endpoint may give (400, 401, 403, 404, 429).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dikom.api.schema.add_generic_problem_responses",
    ],
    "LICENSE": {"name": "EUPL-1.2", "url": "https://joinup.ec.europa.eu/collection/eupl/eupl-text-eupl-12"},
    # Cases and tasks both have a "status"; named here so neither gets a hash-suffixed enum name.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "dikom.cases.models.Case.Status",
        "TaskStatusEnum": "dikom.cases.models.Task.Status",
        "TaskKindEnum": "dikom.cases.models.Task.Kind",
        "DocumentKindEnum": "dikom.cases.models.CaseDocument.Kind",
        "OutcomeEnum": "dikom.cases.models.Case.Outcome",
        "MessageOutcomeEnum": "dikom.cases.platform_messages.OUTCOME_CHOICES",
    },
}

# --- Demo --------------------------------------------------------------------------

DIKOM_DEMO = env_bool(
    "DIKOM_DEMO", False, "This installation runs the demo cooperation: shows a demo banner on every page."
)

# --- Citizen sign-in and payments ---------------------------------------------------

DIKOM_AUTH_PROVIDERS = env_list(
    "DIKOM_AUTH_PROVIDERS",
    ["demo"] if DIKOM_DEMO else [],
    "Enabled citizen sign-in providers, comma-separated (demo only with DIKOM_DEMO; refused in production).",
)
DIKOM_AUTH_IDENTITY_MAX_AGE_SECONDS = env_int(
    "DIKOM_AUTH_IDENTITY_MAX_AGE_SECONDS", 3600, "Seconds a citizen sign-in counts before signing in again.", minimum=60
)
DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE = env_int(
    "DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE",
    30,
    "Citizen sign-in: requests per minute one client address (an IPv6 /64) may make to each of the start, "
    "return and ACS addresses; more are answered 429. Counted in the shared cache.",
    minimum=1,
)
DIKOM_SAML_SP_ENTITY_ID = env_str(
    "DIKOM_SAML_SP_ENTITY_ID",
    None,
    "BundID (SAML) sign-in: entity id of this installation as registered at the identity provider "
    "(usually its metadata URL, https://<host>/anmeldung/bundid/metadata/).",
)
DIKOM_SAML_SP_KEY = env_secret(
    "DIKOM_SAML_SP_KEY",
    None,
    "BundID (SAML) sign-in: RSA private key (PEM, unencrypted) that signs requests and decrypts assertions.",
)
DIKOM_SAML_SP_CERT_FILE = env_str(
    "DIKOM_SAML_SP_CERT_FILE", None, "BundID (SAML) sign-in: file with the PEM certificate of DIKOM_SAML_SP_KEY."
)
DIKOM_SAML_SP_NEXT_KEY = env_secret(
    "DIKOM_SAML_SP_NEXT_KEY",
    None,
    "BundID (SAML) sign-in, key rollover: the next private key; published in the metadata and tried for "
    "decryption, not used for signing yet.",
)
DIKOM_SAML_SP_NEXT_CERT_FILE = env_str(
    "DIKOM_SAML_SP_NEXT_CERT_FILE",
    None,
    "BundID (SAML) sign-in, key rollover: file with the certificate of the next key.",
)
DIKOM_SAML_IDP_ENTITY_ID = env_str(
    "DIKOM_SAML_IDP_ENTITY_ID", None, "BundID (SAML) sign-in: entity id of the identity provider (its Issuer)."
)
DIKOM_SAML_IDP_SSO_URL = env_str(
    "DIKOM_SAML_IDP_SSO_URL",
    None,
    "BundID (SAML) sign-in: single sign-on URL of the identity provider for the HTTP-Redirect binding.",
)
DIKOM_SAML_IDP_CERT_FILE = env_str(
    "DIKOM_SAML_IDP_CERT_FILE",
    None,
    "BundID (SAML) sign-in: file with the identity provider's signing certificate(s) in PEM; several "
    "certificates in the file are all accepted (rollover).",
)
DIKOM_SAML_LABEL = env_str("DIKOM_SAML_LABEL", None, "BundID (SAML) sign-in: name shown to citizens (unset: BundID).")
DIKOM_SAML_METHODS = env_list(
    "DIKOM_SAML_METHODS",
    ["bundid", "eid", "elster"],
    "BundID (SAML) sign-in: authentication methods offered through it, comma-separated (bundid, eid, elster).",
)
DIKOM_SAML_DEFAULT_LEVEL = env_str(
    "DIKOM_SAML_DEFAULT_LEVEL",
    "low",
    "BundID (SAML) sign-in: trust level requested when the service does not say (low, substantial, high).",
)
DIKOM_SAML_SUBJECT_ATTRIBUTE = env_str(
    "DIKOM_SAML_SUBJECT_ATTRIBUTE",
    "urn:oid:1.3.6.1.4.1.25484.494450.3",
    "BundID (SAML) sign-in: attribute holding the citizen's pseudonym (default: bPK2); the NameID when absent.",
)
DIKOM_SAML_ATTRIBUTES = env_list(
    "DIKOM_SAML_ATTRIBUTES",
    [],
    "BundID (SAML) sign-in: attributes requested and kept (in the session only), comma-separated "
    "name=SAML attribute name pairs, e.g. 'given_name=urn:oid:2.5.4.42,family_name=urn:oid:2.5.4.4'.",
)
DIKOM_SAML_CLOCK_SKEW_SECONDS = env_int(
    "DIKOM_SAML_CLOCK_SKEW_SECONDS",
    60,
    "BundID (SAML) sign-in: clock difference tolerated when checking validity times of assertions.",
    minimum=0,
)
DIKOM_SAML_ORGANIZATION_DISPLAY_NAME = env_str(
    "DIKOM_SAML_ORGANIZATION_DISPLAY_NAME",
    None,
    "BundID (SAML) sign-in: organisation name BundID shows to the citizen before returning (optional).",
)
DIKOM_SAML_ONLINE_SERVICE_ID = env_str(
    "DIKOM_SAML_ONLINE_SERVICE_ID",
    None,
    "BundID (SAML) sign-in: online service id assigned at registration (optional).",
)
DIKOM_SAML_SIGN_METADATA = env_bool(
    "DIKOM_SAML_SIGN_METADATA",
    True,
    "BundID (SAML) sign-in: sign the service provider metadata with DIKOM_SAML_SP_KEY.",
)
DIKOM_OIDC_ISSUER = env_str(
    "DIKOM_OIDC_ISSUER",
    None,
    "OpenID Connect sign-in: issuer URL of the identity provider, exactly as in its discovery document "
    "(https only in production).",
)
DIKOM_OIDC_CLIENT_ID = env_str(
    "DIKOM_OIDC_CLIENT_ID", None, "OpenID Connect sign-in: client id registered for this installation."
)
DIKOM_OIDC_CLIENT_SECRET = env_secret("DIKOM_OIDC_CLIENT_SECRET", None, "OpenID Connect sign-in: client secret.")
DIKOM_OIDC_TOKEN_AUTH_METHOD = env_str(
    "DIKOM_OIDC_TOKEN_AUTH_METHOD",
    "client_secret_basic",
    "OpenID Connect sign-in: client authentication at the token endpoint, client_secret_basic or client_secret_post.",
)
DIKOM_OIDC_SCOPES = env_list(
    "DIKOM_OIDC_SCOPES",
    ["openid", "profile", "email"],
    "OpenID Connect sign-in: scopes requested, comma-separated (openid is always added).",
)
DIKOM_OIDC_LABEL = env_str(
    "DIKOM_OIDC_LABEL", None, "OpenID Connect sign-in: name shown to citizens (unset: 'Service account', translated)."
)
DIKOM_OIDC_METHODS = env_list(
    "DIKOM_OIDC_METHODS",
    [],
    "OpenID Connect sign-in: authentication methods the identity provider stands for (bundid, elster, eid, "
    "eu_wallet, organisation_account, none), comma-separated; the first is recorded for each sign-in. "
    "Unset: the provider is not offered.",
)
DIKOM_OIDC_ACR_TRUST_LEVELS = env_list(
    "DIKOM_OIDC_ACR_TRUST_LEVELS",
    [],
    "OpenID Connect sign-in: acr claim values mapped to trust levels (none, low, substantial, high), "
    "comma-separated acr=level pairs, e.g. 'urn:city:loa:low=low,urn:city:loa:high=high'.",
)
DIKOM_OIDC_DEFAULT_TRUST_LEVEL = env_str(
    "DIKOM_OIDC_DEFAULT_TRUST_LEVEL",
    None,
    "OpenID Connect sign-in: trust level when the acr claim is missing or not mapped (unset: such sign-ins are "
    "refused).",
)
DIKOM_OIDC_CLAIMS = env_list(
    "DIKOM_OIDC_CLAIMS",
    ["given_name", "family_name", "email"],
    "OpenID Connect sign-in: claims kept (in the session only) as attributes of the identity; all others are dropped.",
)
DIKOM_OIDC_HTTP_TIMEOUT_SECONDS = env_int(
    "DIKOM_OIDC_HTTP_TIMEOUT_SECONDS",
    10,
    "OpenID Connect sign-in: timeout of each request to the identity provider (discovery, keys, token, userinfo).",
    minimum=1,
)
DIKOM_PAYMENT_PROVIDERS = env_list(
    "DIKOM_PAYMENT_PROVIDERS",
    ["demo"] if DIKOM_DEMO else [],
    "Enabled payment platforms, comma-separated; the first is the default (demo only with DIKOM_DEMO).",
)
DIKOM_PAYMENT_PENDING_TIMEOUT_SECONDS = env_int(
    "DIKOM_PAYMENT_PENDING_TIMEOUT_SECONDS",
    3600,
    "Seconds a started payment attempt may stay pending before it can be replaced by a new attempt.",
    minimum=300,
)
DIKOM_PAYMENT_DEMO_SECRET = env_secret(
    "DIKOM_PAYMENT_DEMO_SECRET", None, "HMAC key of the demo payment platform (unset: derived from the secret key)."
)
DIKOM_PMPAYMENT_URL = env_str(
    "DIKOM_PMPAYMENT_URL",
    None,
    "pmPayment: base URL of the platform, e.g. https://payment.govconnect.de (operator's test system: "
    "https://payment-test.govconnect.de); https only in production. Unset: the pmpayment provider is not offered.",
)
DIKOM_PMPAYMENT_CLIENTS = env_secret(
    "DIKOM_PMPAYMENT_CLIENTS",
    None,
    "pmPayment: access per municipality as JSON keyed by the municipality's AGS, "
    '{"06631009": {"procedure": "<Verfahren>", "secret": "<salt>", "accounting_record": "<optional>"}}.',
)
DIKOM_PMPAYMENT_TIMEOUT_SECONDS = env_int(
    "DIKOM_PMPAYMENT_TIMEOUT_SECONDS",
    10,
    "pmPayment: timeout of each request to the platform (starting a payment, status queries), in seconds.",
    minimum=1,
)
DIKOM_PMPAYMENT_DESCRIPTION_MAX_LENGTH = env_int(
    "DIKOM_PMPAYMENT_DESCRIPTION_MAX_LENGTH",
    27,
    "pmPayment: longest purpose text (desc) sent to the platform; longer texts are cut.",
    minimum=1,
)
DIKOM_PMPAYMENT_SIGNED_RETURN = env_bool(
    "DIKOM_PMPAYMENT_SIGNED_RETURN",
    True,
    "pmPayment: apply the hash-signed result the citizen brings back; off: only the platform's notification counts.",
)

# --- Logging -----------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DIKOM_LOG_LEVEL", "INFO", "Log level of the root logger.")},
}

# --- Refuse unsafe production configurations ------------------------------------------

if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("DIKOM_SECRET_KEY (or DIKOM_SECRET_KEY_FILE) must be set in production.")
    SECRET_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"  # noqa: S105 - refused in production
if IS_PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DIKOM_DEBUG must be off in production.")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("DIKOM_SECRET_KEY must be at least 50 random characters in production.")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("DIKOM_ALLOWED_HOSTS must name the hosts explicitly in production (no '*').")
    if not SECURE_COOKIES:
        raise ImproperlyConfigured("DIKOM_SECURE_COOKIES must stay on in production.")
    if DIKOM_DEMO:
        raise ImproperlyConfigured("DIKOM_DEMO must be off in production.")
    if not DIKOM_REQUIRE_2FA_FOR_STAFF and not DIKOM_ALLOW_STAFF_WITHOUT_2FA:
        raise ImproperlyConfigured(
            "DIKOM_REQUIRE_2FA_FOR_STAFF must stay on in production; to run without it anyway, also set "
            "DIKOM_ALLOW_STAFF_WITHOUT_2FA=true (a warning is logged at every start)."
        )

# --- Usage analytics ---------------------------------------------------------------

DIKOM_ANALYTICS_RAW_RETENTION_DAYS = env_int(
    "DIKOM_ANALYTICS_RAW_RETENTION_DAYS",
    400,
    "Days raw usage events are kept before `manage.py analytics_housekeeping` deletes them; daily rollups stay.",
    minimum=1,
)
DIKOM_ANALYTICS_RETENTION_BY_MONTH = env_bool(
    "DIKOM_ANALYTICS_RETENTION_BY_MONTH",
    False,
    "PostgreSQL: remove raw usage events only a whole month at a time (DROP of the month's partition once its last "
    "day is past DIKOM_ANALYTICS_RAW_RETENTION_DAYS; no row DELETE, no VACUUM), so events are kept up to one month "
    "longer. Off: events are deleted as they pass the retention, and months past it are dropped.",
)
DIKOM_ANALYTICS_MAX_EVENT_AGE_DAYS = env_int(
    "DIKOM_ANALYTICS_MAX_EVENT_AGE_DAYS",
    400,
    "Usage events whose occurred_at lies further back than this many days are rejected.",
    minimum=1,
)
DIKOM_ANALYTICS_MAX_FUTURE_SECONDS = env_int(
    "DIKOM_ANALYTICS_MAX_FUTURE_SECONDS",
    300,
    "Clock skew tolerated: usage events more than this many seconds in the future are rejected.",
    minimum=0,
)
DIKOM_ANALYTICS_MAX_BATCH = env_int(
    "DIKOM_ANALYTICS_MAX_BATCH",
    10000,
    "Most usage events accepted in one batch request; larger batches get 413.",
    minimum=1,
)
DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS = env_int(
    "DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS",
    30,
    "At most one rollup update per city and day in this many seconds, however many events arrive "
    "(the dashboards lag the events by up to this much). 0: update after every batch.",
    minimum=0,
)
DIKOM_ANALYTICS_ROLLUP_COMMIT_LAG_SECONDS = env_int(
    "DIKOM_ANALYTICS_ROLLUP_COMMIT_LAG_SECONDS",
    120,
    "PostgreSQL: the longest an ingestion transaction may take from inserting events to its commit; "
    "incremental rollups look back this far for events committed out of id order (SQLite commits in order).",
    minimum=1,
)
DIKOM_ANALYTICS_FAST_PATH = env_bool(
    "DIKOM_ANALYTICS_FAST_PATH",
    True,
    "Answer plainly valid POST /api/v1/analytics/events requests in a lean WSGI layer in front of Django, with "
    "group commit of concurrent requests (same checks and answers; see docs/benchmarks.md). false: Django only.",
)
DIKOM_ANALYTICS_FIGURES_MAX_UPLOAD_BYTES = env_int(
    "DIKOM_ANALYTICS_FIGURES_MAX_UPLOAD_BYTES",
    5 * 1024 * 1024,
    "Largest CSV/XLSX file of aggregated figures accepted (bytes); larger uploads are refused with 413.",
    minimum=1024,
)
DIKOM_ANALYTICS_FIGURES_INLINE_BYTES = env_int(
    "DIKOM_ANALYTICS_FIGURES_INLINE_BYTES",
    256 * 1024,
    "Figures files up to this size (bytes) are read during the upload request, so the preview shows at once; "
    "larger ones are read by the task worker while their page shows the progress.",
    minimum=0,
)
DIKOM_ANALYTICS_FIGURES_MAX_PARSE_SECONDS = env_int(
    "DIKOM_ANALYTICS_FIGURES_MAX_PARSE_SECONDS",
    60,
    "Longest time reading one figures workbook may take (seconds); a file that takes longer fails with a message.",
    minimum=0,
)
DIKOM_ANALYTICS_FIGURES_MAX_ROWS = env_int(
    "DIKOM_ANALYTICS_FIGURES_MAX_ROWS",
    50_000,
    "Most data rows of one figures file or API request; more fails the file (413 in the API).",
    minimum=1,
)
DIKOM_ANALYTICS_COMPARISON_MIN_STARTS = env_int(
    "DIKOM_ANALYTICS_COMPARISON_MIN_STARTS",
    20,
    "Starts a city needs in the period to enter the rates of the city comparison.",
    minimum=1,
)
DIKOM_ANALYTICS_OPEN_DATA_K = env_int(
    "DIKOM_ANALYTICS_OPEN_DATA_K",
    5,
    "Fewest perturbed ratings behind a satisfaction average in the open usage tables (counts themselves are "
    "protected by the cell key method).",
    minimum=2,
)
DIKOM_ANALYTICS_CELL_KEY_SECRET = env_secret(
    "DIKOM_ANALYTICS_CELL_KEY_SECRET",
    None,
    "Secret of the cell key method that perturbs the open usage tables and the city comparison; derived from the "
    "secret key when unset. Changing it changes the noise of months not yet published.",
)
DIKOM_ANALYTICS_COLLECT_RATE = env_str(
    "DIKOM_ANALYTICS_COLLECT_RATE",
    "3000/min",
    "Hits per collection site (anonymous Matomo requests and the JavaScript collector) as a token bucket: a burst "
    "of N, refilled at N per period (N/s, N/min, N/hour). The ceiling for all clients of a site together.",
)
DIKOM_ANALYTICS_COLLECT_CLIENT_RATE = env_str(
    "DIKOM_ANALYTICS_COLLECT_CLIENT_RATE",
    "300/min",
    "Hits per client (a keyed hash of its address, never stored) and collection site, as a token bucket; a client "
    "over it is refused (429, or the rest of a bulk refused by index) while the site's other visitors still get "
    "through. Refused hits cost nothing.",
)

# --- Online services library ---------------------------------------------------------

DIKOM_ESERVICES_RELEASE_QUORUM = env_int(
    "DIKOM_ESERVICES_RELEASE_QUORUM",
    2,
    "Approvals from different cooperation cities (other than the authoring one) that release a service version "
    "into the shared library.",
    minimum=1,
)

# --- Citizen portal ------------------------------------------------------------------

DIKOM_PORTAL_DRAFT_DAYS = env_int(
    "DIKOM_PORTAL_DRAFT_DAYS", 30, "Days after their last change when unsubmitted portal drafts are deleted.", minimum=1
)
DIKOM_PORTAL_MAX_UPLOAD_BYTES = env_int(
    "DIKOM_PORTAL_MAX_UPLOAD_BYTES",
    25 * 1024 * 1024,
    "Largest file a citizen may upload in the portal (bytes; the request limit DIKOM_MAX_REQUEST_BYTES applies too).",
    minimum=1024,
)
DIKOM_UPLOAD_SCANNER = env_str(
    "DIKOM_UPLOAD_SCANNER",
    "none",
    "Virus scanner for every stored upload (portal files, answers to information requests, staff imports): "
    "none (files kept as 'unscanned'), clamd (ClamAV daemon at DIKOM_CLAMD_ADDRESS) or the dotted path of an "
    "UploadScanner class. The EICAR test file is refused in any case.",
)
DIKOM_CLAMD_ADDRESS = env_str(
    "DIKOM_CLAMD_ADDRESS",
    "",
    "Where clamd listens, for DIKOM_UPLOAD_SCANNER=clamd: tcp://host:port or unix:///path/to/clamd.ctl.",
)
DIKOM_CLAMD_TIMEOUT = env_int(
    "DIKOM_CLAMD_TIMEOUT", 30, "Seconds to wait for clamd; no answer in time refuses the upload.", minimum=1
)

# --- Case processing: e-file export (xdomea) -----------------------------------------

DIKOM_EFILE_CONNECTOR = env_str(
    "DIKOM_EFILE_CONNECTOR",
    "",
    "E-file connector that receives the xdomea package of every closed case: filedrop or webhook "
    "(empty: no e-file system connected, cases are not exported).",
)
DIKOM_EFILE_DROP_DIR = env_str(
    "DIKOM_EFILE_DROP_DIR",
    None,
    "File drop connector: folder the DMS watches for xdomea ZIP packages (must exist; packages are never overwritten).",
)
DIKOM_EFILE_WEBHOOK_URL = env_str(
    "DIKOM_EFILE_WEBHOOK_URL",
    None,
    "Webhook connector: https URL the xdomea ZIP is POSTed to (redirects are not followed).",
)
DIKOM_EFILE_WEBHOOK_SECRET = env_secret(
    "DIKOM_EFILE_WEBHOOK_SECRET",
    None,
    "Webhook connector: shared secret for the HMAC-SHA256 signature header X-Dikom-Signature-256.",
)
DIKOM_EFILE_TIMEOUT_SECONDS = env_int(
    "DIKOM_EFILE_TIMEOUT_SECONDS",
    30,
    "Webhook connector: network timeout of one transfer attempt (seconds).",
    minimum=1,
)
DIKOM_XDOMEA_XSD_DIR = env_str(
    "DIKOM_XDOMEA_XSD_DIR",
    None,
    "Folder with the xdomea 3.0.0 XSDs (xdomea.xsd) the export is validated against "
    "(unset: ../shared/standards/xdomea/3.0.0 next to the repository).",
)

# --- roadMAP: competences of staff --------------------------------------------------------

DIKOM_COMPETENCES_RETENTION_DAYS = env_int(
    "DIKOM_COMPETENCES_RETENTION_DAYS",
    180,
    "Default days a departed staff member's roadMAP assessments and evidence are kept before they are deleted; "
    "each city may set its own period.",
    minimum=0,
)
DIKOM_COMPETENCES_MAX_DOCUMENT_BYTES = env_int(
    "DIKOM_COMPETENCES_MAX_DOCUMENT_BYTES",
    25 * 1024 * 1024,
    "Largest file staff may upload to a cluster's document library in the Virtual Competence Center "
    "(bytes; the request limit DIKOM_MAX_REQUEST_BYTES applies too).",
    minimum=1024,
)

# --- Hand-over of submitted applications to back-office systems ----------------------

DIKOM_HANDOVER_MAX_ATTEMPTS = env_int(
    "DIKOM_HANDOVER_MAX_ATTEMPTS",
    12,
    "Attempts to deliver a submitted application to one back-office target before the delivery stays failed.",
    minimum=1,
)
DIKOM_HANDOVER_BACKOFF_SECONDS = env_int(
    "DIKOM_HANDOVER_BACKOFF_SECONDS",
    60,
    "Wait before the first retry of a failed delivery (seconds); doubles with every attempt, capped at six hours.",
    minimum=0,
)
DIKOM_HANDOVER_TIMEOUT_SECONDS = env_int(
    "DIKOM_HANDOVER_TIMEOUT_SECONDS",
    15,
    "Network timeout of one webhook or SMTP delivery attempt (seconds).",
    minimum=1,
)
DIKOM_HANDOVER_MAX_ATTACHMENT_BYTES = env_int(
    "DIKOM_HANDOVER_MAX_ATTACHMENT_BYTES",
    20 * 1024 * 1024,
    "Largest total size of uploaded files sent along with a delivery (bytes); larger sets go as metadata only.",
    minimum=0,
)
DIKOM_HANDOVER_ALLOW_HTTP = env_bool(
    "DIKOM_HANDOVER_ALLOW_HTTP",
    False,
    "Allow webhook targets with plain http:// addresses (local tests only; applications contain personal data).",
)
DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS = env_bool(
    "DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS",
    False,
    "Allow webhook targets on private and loopback addresses (a back office in the city's own network).",
)

# --- Case processing: automation rules (call_webhook action) -------------------------

DIKOM_AUTOMATION_WEBHOOK_TIMEOUT_SECONDS = env_int(
    "DIKOM_AUTOMATION_WEBHOOK_TIMEOUT_SECONDS",
    10,
    "Network timeout of one webhook call by an automation rule (seconds); the case stays locked meanwhile.",
    minimum=1,
)
DIKOM_AUTOMATION_ALLOW_HTTP = env_bool(
    "DIKOM_AUTOMATION_ALLOW_HTTP",
    False,
    "Allow automation webhooks to plain http:// addresses (local tests only).",
)
DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS = env_bool(
    "DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS",
    False,
    "Allow automation webhooks to private and loopback addresses (a system in the city's own network).",
)

# --- Case API: webhooks of case events to specialist procedures -----------------------

DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS = env_int(
    "DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS",
    12,
    "Attempts to deliver one case event to one webhook subscription before the delivery stays failed.",
    minimum=1,
)
DIKOM_CASE_WEBHOOK_BACKOFF_SECONDS = env_int(
    "DIKOM_CASE_WEBHOOK_BACKOFF_SECONDS",
    60,
    "Wait before the first retry of a failed case webhook (seconds); doubles with every attempt, capped at six hours.",
    minimum=0,
)
DIKOM_CASE_WEBHOOK_TIMEOUT_SECONDS = env_int(
    "DIKOM_CASE_WEBHOOK_TIMEOUT_SECONDS",
    10,
    "Network timeout of one case webhook attempt (seconds).",
    minimum=1,
)
DIKOM_CASE_WEBHOOK_ALLOW_HTTP = env_bool(
    "DIKOM_CASE_WEBHOOK_ALLOW_HTTP",
    False,
    "Allow case webhook subscriptions to plain http:// addresses (local tests only).",
)
DIKOM_CASE_WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool(
    "DIKOM_CASE_WEBHOOK_ALLOW_PRIVATE_TARGETS",
    False,
    "Allow case webhook subscriptions to private and loopback addresses (a specialist procedure in the city's "
    "own network).",
)

# --- FIM code lists (genericode) for select fields of imported schemas ------------------

DIKOM_FIM_CODELIST_URLS = env_list(
    "DIKOM_FIM_CODELIST_URLS",
    [],
    "FIM import: https addresses of genericode code lists (e.g. XRepository downloads), comma-separated, fetched by "
    "manage.py import_codelists --configured; each version is kept.",
)
DIKOM_FIM_CODELIST_ALLOW_PRIVATE = env_bool(
    "DIKOM_FIM_CODELIST_ALLOW_PRIVATE",
    False,
    "FIM code lists: allow addresses on private and loopback networks (a mirror in the own network).",
)

# Open data portal.
DIKOM_OPENDATA_CONTRIBUTOR_ID = env_str(
    "DIKOM_OPENDATA_CONTRIBUTOR_ID",
    "",
    "Open data: the dcatde:contributorID GovData assigned to this portal (an IRI from the dcat-ap.de contributor "
    "list); empty: none is sent, unless an organisation has its own.",
)
DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE = env_bool(
    "DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE",
    False,
    "Open data: allow harvest sources at private and loopback addresses (a portal in the city's own network). "
    "Link-local and metadata addresses are refused regardless.",
)
DIKOM_OPENDATA_HARVEST_TIMEOUT_SECONDS = env_int(
    "DIKOM_OPENDATA_HARVEST_TIMEOUT_SECONDS",
    30,
    "Open data: seconds a harvest source may take to answer one request.",
    minimum=1,
)
DIKOM_OPENDATA_HARVEST_MAX_PAGES = env_int(
    "DIKOM_OPENDATA_HARVEST_MAX_PAGES",
    200,
    "Open data: most pages read from one harvest source in one run (a source that pages forever is stopped).",
    minimum=1,
)
