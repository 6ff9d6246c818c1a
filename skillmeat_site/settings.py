"""Settings for SkillMeat Site, read from the environment (see .env.example).

The defaults give a working local site on SQLite; every deployment knob is an environment variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url

from skillmeat_site.env import (
    env_bool,
    env_choice,
    env_fernet_keys,
    env_float,
    env_int,
    env_list,
    env_str,
    load_env_file,
)
from skillmeat_site.github_hosts import default_github_web_url
from skillmeat_site.secret_key import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
# A `.env` in the project root (or the file DJANGO_ENV_FILE names) fills in what the real
# environment does not set; the real environment always wins.
ENV_FILE = load_env_file(BASE_DIR / ".env")
# Local state (the SQLite database, the test database) lives in var/, out of the source tree.
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# With DEBUG off and no DJANGO_SECRET_KEY the site refuses to start; a development site makes a
# random key once and keeps it in DJANGO_SECRET_KEY_FILE (default var/secret_key, mode 0600).
SECRET_KEY = secret_key(
    configured=env_str("DJANGO_SECRET_KEY"),
    debug=DEBUG,
    key_file=Path(env_str("DJANGO_SECRET_KEY_FILE") or VAR_DIR / "secret_key"),
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "collections_app",
    # After rest_framework.authtoken, whose token admin it replaces.
    "api_tokens",
    # Before django_tasks_db: refresher's db_worker command adds the periodic jobs to its worker.
    "refresher",
    "django_tasks_db",
    # Login attempts limited per user and address (the admin's and the browsable API's forms).
    "axes",
]

MIDDLEWARE = [
    "skillmeat_site.request_id.RequestIDMiddleware",
    "skillmeat_site.body_limit.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out (user, address) before any password is checked.
# API tokens do not authenticate through these backends and are never counted or locked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "skillmeat_site.urls"
WSGI_APPLICATION = "skillmeat_site.wsgi.application"
ASGI_APPLICATION = "skillmeat_site.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the task worker write while the web process reads; the busy timeout makes a
    # writer wait for the other's lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The largest request body (bytes, files aside) read into memory; a bigger one is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)

# The cache is shared by every web process and worker (refresh throttling counts per user across
# them), so it lives in the database unless a deployment points it elsewhere. Its table is
# created by a migration (refresher 0003), so `migrate` is the only set-up step.
CACHES = {
    "default": {
        "BACKEND": env_str("CACHE_BACKEND", "django.core.cache.backends.db.DatabaseCache"),
        "LOCATION": env_str("CACHE_LOCATION", "skillmeat_cache"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise looks here even before the first collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str("STATICFILES_STORAGE", "whitenoise.storage.CompressedStaticFilesStorage")
    },
}
# Without collectstatic (a development or test run) WhiteNoise serves from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/admin/login/"
# Failed logins (admin, browsable API) are counted per username and client address together, so
# nobody can lock a user out from elsewhere; after AXES_FAILURE_LIMIT failures in a row that
# pair is refused (429, the same answer whether the user exists or not) for AXES_COOLOFF_MINUTES.
# A success resets the count. `manage.py axes_reset` lifts every lockout at once.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AXES_COOLOFF_MINUTES", 15.0, minimum=0.1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Where the browsable API's login (/api-auth/login/) goes when no `?next=` says otherwise.
LOGIN_REDIRECT_URL = "/api/v1/"
# Messages wait in the server-side session, not in a cookie: a cookie's messages are trusted
# once its signature checks, HTML included, so a leaked key would let anyone inject markup.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes an anonymous request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own parsers, with JSON nested too deeply for the interpreter a 400 (SPEC 18).
    "DEFAULT_PARSER_CLASSES": [
        "skillmeat_site.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "collections_app.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "skillmeat_site.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "refresh": env_str("REFRESH_THROTTLE_RATE", "30/min"),
        "import": env_str("IMPORT_THROTTLE_RATE", "10/min"),
        # Manifest reads by share link, per client address (they need no login).
        "share_link": env_str("SHARE_LINK_THROTTLE_RATE", "60/min"),
    },
    # The reverse proxies in front of the site: 0 (the default) throttles anonymous clients by
    # the socket's address and ignores X-Forwarded-For, which any client can write; behind one
    # proxy that sets it, 1. Unset, DRF would trust the header and a forged one a fresh budget.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
    "EXCEPTION_HANDLER": "skillmeat_site.errors.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SkillMeat Site API",
    "DESCRIPTION": (
        "Collections of Claude Code artifacts (skills, commands, agents, hooks, MCP configs) "
        "kept fresh from their GitHub sources. Every error has the RefreshError shape."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ArtifactTypeEnum": "collections_app.models.ArtifactType.choices",
        "RefreshModeEnum": "refresher.models.Mode.choices",
        "RunStatusEnum": "refresher.models.RunStatus.choices",
        "EntryStatusEnum": "refresher.models.EntryStatus.choices",
        "RunTriggerEnum": "refresher.models.Trigger.choices",
        "DiscoveryStatusEnum": "collections_app.discovery_serializers.DISCOVERY_STATUSES",
        "EntryErrorCodeEnum": "refresher.models.EntryErrorCode.choices",
        "CredentialKindEnum": "collections_app.models.CredentialKind.choices",
    },
}

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# The TASKS alias background refreshes are queued on.
REFRESH_TASK_BACKEND = env_str("REFRESH_TASK_BACKEND", "default")

# Upstream and refresh behaviour (SPEC section 8).
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com").rstrip("/")
GITHUB_TOKEN = env_str("GITHUB_TOKEN")
# The web host whose source URLs (`https://<host>/owner/repo/...`) are read from GITHUB_API_URL:
# github.com, unless the API is a GitHub Enterprise server (`https://ghe.example.com/api/v3`),
# whose web host is its own. A source URL of any other host is `unsupported_source`.
# Where this site is reached from outside (share-link URLs, SPEC 15); empty = the request's host.
SITE_URL = env_str("SITE_URL").rstrip("/")
GITHUB_WEB_URL = env_str("GITHUB_WEB_URL", default_github_web_url(GITHUB_API_URL)).rstrip("/")
# GitHub's GraphQL endpoint (SPEC 10). Empty: derived from GITHUB_API_URL when the client is
# built (`/graphql` beside it; `/api/v3` becomes `/api/graphql`), so the two always agree.
GITHUB_GRAPHQL_URL = env_str("GITHUB_GRAPHQL_URL").rstrip("/")
# Credentials users store for private repositories (SPEC 16) are encrypted with these Fernet
# keys: the first encrypts, every one decrypts (`manage.py rotate_credential_keys` re-encrypts
# with the first). Empty: no credential can be stored.
CREDENTIAL_KEYS = env_fernet_keys("CREDENTIAL_KEYS")
# Whose collections the site's own GITHUB_TOKEN may read private repositories for: `staff`
# (collections of staff users), `all`, or `none`. Everyone else reads private repositories with
# a credential of their own.
SITE_TOKEN_PRIVATE_REPOS = env_choice("SITE_TOKEN_PRIVATE_REPOS", "staff", ("staff", "all", "none"))
# Which read plan reads GitHub: graphql (needs a token), rest, or auto (graphql with a token).
REFRESH_UPSTREAM = env_choice("REFRESH_UPSTREAM", "auto", ("auto", "graphql", "rest"))

# Git sources of other hosts (SPEC section 12), read with the `git` command line.
# Hosts whose git+https sources may be read (comma-separated; empty: none).
GIT_ALLOWED_HOSTS = env_list("GIT_ALLOWED_HOSTS", [])
# git+file sources (repositories on this machine's disk) are refused unless this is true.
GIT_ALLOW_LOCAL = env_bool("GIT_ALLOW_LOCAL", False)
# The directories (comma-separated) whose git repositories git+file sources may read, judged
# after symbolic links are resolved; default: the project's var/, where the offline demo lives.
GIT_LOCAL_ROOTS = env_list("GIT_LOCAL_ROOTS", [str(VAR_DIR)])
# Bare cache repositories, one per repository URL (named by a hash of it).
GIT_CACHE_DIR = Path(env_str("GIT_CACHE_DIR") or VAR_DIR / "git-cache")
# Seconds one git command may run before it is stopped.
GIT_TIMEOUT = env_float("GIT_TIMEOUT", 60.0, minimum=1.0)
# The git executable.
GIT_BINARY = env_str("GIT_BINARY", "git")
# A PEM file of the certificates git trusts for git+https hosts (a private CA); empty: the
# system's. Git's clean environment reads no config or variable of the account otherwise.
GIT_SSL_CA_BUNDLE = env_str("GIT_SSL_CA_BUNDLE")

REFRESH_CONCURRENCY = env_int("REFRESH_CONCURRENCY", 8, minimum=1)
REFRESH_HTTP_TIMEOUT = env_float("REFRESH_HTTP_TIMEOUT", 10.0, minimum=0.1)
REFRESH_MAX_RETRIES = env_int("REFRESH_MAX_RETRIES", 3, minimum=0)
REFRESH_RETRY_BACKOFF = env_float("REFRESH_RETRY_BACKOFF", 0.5)
REFRESH_INLINE_DEADLINE = env_float("REFRESH_INLINE_DEADLINE", 25.0, minimum=0.1)
REFRESH_SYNC_MAX_ARTIFACTS = env_int("REFRESH_SYNC_MAX_ARTIFACTS", 200, minimum=0)
REFRESH_MAX_INLINE_WAIT = env_float("REFRESH_MAX_INLINE_WAIT", 10.0)
# A running background run that has not beaten its heartbeat for this long is taken as dead.
REFRESH_RUN_LEASE_SECONDS = env_int("REFRESH_RUN_LEASE_SECONDS", 300, minimum=10)
# A queued run that no worker has started after this long is failed (is a worker running?).
REFRESH_QUEUE_TIMEOUT_SECONDS = env_int("REFRESH_QUEUE_TIMEOUT_SECONDS", 3600, minimum=10)

# The largest collection.toml an import accepts (bytes; SPEC 11: 5 MiB); a larger one is a 413.
COLLECTION_IMPORT_MAX_BYTES = env_int("COLLECTION_IMPORT_MAX_BYTES", 5 * 1024 * 1024, minimum=1)
# The most artifacts one import may hold (API and `manage.py import_collection`); SPEC 18.
IMPORT_MAX_ARTIFACTS = env_int("IMPORT_MAX_ARTIFACTS", 5000, minimum=1)

# The HTTP cache in front of GitHub: entries no refresh has used for this many days are pruned
# by the task worker.
HTTP_CACHE_MAX_AGE_DAYS = env_int("HTTP_CACHE_MAX_AGE_DAYS", 30, minimum=1)
# Seconds between two heartbeats of a task worker (what /healthz reports as `worker`).
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 30, minimum=1)

# Keeping collections fresh without being asked (SPEC 13).
# The shortest period a collection's refresh_schedule may have.
REFRESH_SCHEDULE_MIN_MINUTES = env_int("REFRESH_SCHEDULE_MIN_MINUTES", 15, minimum=1)
# Seconds between two looks for due schedules in each task worker.
REFRESH_SCHEDULER_EVERY = env_float("REFRESH_SCHEDULER_EVERY", 30.0, minimum=1.0)
# The secret of GitHub push webhooks; empty turns POST /api/v1/webhooks/github off (404).
GITHUB_WEBHOOK_SECRET = env_str("GITHUB_WEBHOOK_SECRET")
# Notifications may go to http and to private or loopback addresses (development, tests only).
NOTIFY_ALLOW_PRIVATE = env_bool("NOTIFY_ALLOW_PRIVATE", False)
# Seconds one notification request may take.
NOTIFY_TIMEOUT = env_float("NOTIFY_TIMEOUT", 10.0, minimum=0.1)
# Attempts of one notification (network errors and 5xx are retried) and the first retry's delay
# in seconds (each further retry waits four times longer).
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5, minimum=1)
NOTIFY_RETRY_BACKOFF = env_float("NOTIFY_RETRY_BACKOFF", 30.0)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# `plain` for people reading a terminal; `json` (one object per line) for log collectors.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "log_context": {"()": "skillmeat_site.logs.LogContextFilter"},
        # Share links' tokens out of every line (Django logs the path of each 4xx and 5xx).
        "redact_share_tokens": {"()": "skillmeat_site.logs.RedactShareTokens"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(run_id)s] %(message)s"
        },
        "json": {"()": "skillmeat_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["log_context", "redact_share_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "refresher": {"level": LOG_LEVEL},
        "collections_app": {"level": LOG_LEVEL},
        "skillmeat_site": {"level": LOG_LEVEL},
        # Redacted where they are written, before Django's own handlers (mail_admins) see them.
        "django.request": {"filters": ["redact_share_tokens"]},
        # The development server's request lines, through the redacting console.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
    # A site served only over HTTPS: redirect plain HTTP and ask browsers to remember it.
    # Behind a proxy that ends TLS, DJANGO_SECURE_PROXY_SSL_HEADER=true trusts its
    # X-Forwarded-Proto (only when the proxy sets that header itself, whatever clients send).
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
