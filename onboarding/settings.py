"""The one settings module. Every knob comes from the environment through `onboarding.env`."""

from pathlib import Path

import dj_database_url

from onboarding.env import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_mapping,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError(
            "SECRET_KEY is required unless DEBUG=true (the Makefile sets DEBUG for local runs)"
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
# Old keys still accepted while SECRET_KEY is rotated (sessions, and webhook signing secrets,
# which are stored encrypted under a key derived from SECRET_KEY).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

# The audit chain is keyed (HMAC-SHA256): whoever can rewrite rows in the database cannot
# recompute their hashes without this key, which is never stored in the database. Old keys stay
# listed after a rotation so that rows they signed still verify (docs/deployment.md).
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ConfigError(
            "AUDIT_HMAC_KEY is required unless DEBUG=true: a long random string, kept in your "
            "secret store, the same on every host (docs/deployment.md)"
        )
    AUDIT_HMAC_KEY = "dev-only-audit-chain-key-never-use-in-production"
AUDIT_HMAC_OLD_KEYS = env_list("AUDIT_HMAC_OLD_KEYS", [])
for _key in (AUDIT_HMAC_KEY, *AUDIT_HMAC_OLD_KEYS):
    if len(_key) < 32:
        raise ConfigError(
            "AUDIT_HMAC_KEY and AUDIT_HMAC_OLD_KEYS entries need 32 characters or more"
        )
# The audit list counts its matches exactly up to this many, and shows the planner's estimate
# (`count_is_estimate: true`) beyond: an exact COUNT(*) of millions of rows costs seconds.
AUDIT_EXACT_COUNT_LIMIT = env_int("AUDIT_EXACT_COUNT_LIMIT", 1_000, minimum=0)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

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
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The project's apps in their layers, lowest first (docs/architecture.md): signal receivers
    # connect in this order.
    "tenants",
    "identity",
    "sso",
    "packs",
    "runtime_config",
    "impact",
    "governance",
    "rollouts",
    "audit",
    "webhooks",
    "console",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # Operability (docs/operability.md): request metrics and the request log line, around
    # everything (the runtime's fast path included).
    "onboarding.observability.RequestObservabilityMiddleware",
    # Then: sends token-authenticated runtime reads down RUNTIME_MIDDLEWARE instead.
    "runtime_config.fastpath.RuntimeFastPathMiddleware",
    "onboarding.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "onboarding.middleware.BodySizeLimitMiddleware",
    "onboarding.middleware.StorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "onboarding.middleware.DatabaseUnavailableMiddleware",
    "onboarding.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "onboarding.wsgi.application"
APPEND_SLASH = False

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
                "onboarding.context_processors.principal",
            ],
            "libraries": {"ui": "onboarding.templatetags.ui"},
        },
    }
]

# Databases: DATABASE_URL, else a SQLite file beside the code (zero setup).
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60, minimum=0))
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["CONN_HEALTH_CHECKS"] = True
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
# Parallel test runs (CI, several developers on one machine) must not share a test database.
_db.setdefault("TEST", {})
if env_str("TEST_DB_NAME"):
    _db["TEST"]["NAME"] = env_str("TEST_DB_NAME")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: the runtime's generation counter must be visible to every process. Redis through
# CACHE_URL in production; unset, Django's database cache (shared by all workers on one DB).
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"CACHE_URL must be a redis:// URL, got {CACHE_URL!r}")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "onboarding_cache",
        }
    }

# Rate limits (onboarding.ratelimit): per principal and per client, counted in the cache above.
# Each scope's limit is `<count>/<period>` from RATE_LIMIT_<SCOPE>.
RATE_LIMITS = {
    # Redelivery re-sends an event to a receiver: a burst of them floods it (issue 25).
    "webhook_redeliver": env_rate("RATE_LIMIT_WEBHOOK_REDELIVER", "10/m"),
    # The expensive endpoints (issue 26, docs/operability.md): a pack's validation (up to
    # PACK_MAX_BYTES of schema, CEL and self-test work), imports (the same, then stored),
    # evaluations, and decision impacts (every sample under two configurations).
    "pack_validate": env_rate("RATE_LIMIT_PACK_VALIDATE", "60/m"),
    "pack_import": env_rate("RATE_LIMIT_PACK_IMPORT", "30/m"),
    "evaluate": env_rate("RATE_LIMIT_EVALUATE", "600/m"),
    "impact": env_rate("RATE_LIMIT_IMPACT", "60/m"),
    # Password guessing: per client address, and per username tried from anywhere.
    "login": env_rate("RATE_LIMIT_LOGIN", "10/m"),
}
# The request META key holding the client's address: REMOTE_ADDR, or behind a proxy the header
# it sets (e.g. HTTP_X_REAL_IP; with HTTP_X_FORWARDED_FOR the last hop counts).
RATE_LIMIT_CLIENT_META = env_str("RATE_LIMIT_CLIENT_META", "REMOTE_ADDR")
# When the cache cannot be reached: let calls through (and log) rather than refuse them all.
RATE_LIMIT_FAIL_OPEN = env_bool("RATE_LIMIT_FAIL_OPEN", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/admin/tenants"
LOGOUT_REDIRECT_URL = "/login"

# --- SSO (OpenID Connect, sso app; docs/sso.md) ---
# Sign-in through an OpenID provider (authorization code + PKCE) when OIDC_ISSUER and
# OIDC_CLIENT_ID are set; OIDC_GROUP_ROLES maps the provider's groups to platform roles
# (`ops-admins=ADMIN,ops=VIEWER`). LOCAL_LOGIN=false refuses every password login.
OIDC_ISSUER = (env_str("OIDC_ISSUER") or "").rstrip("/")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid email profile groups")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUP_ROLES = env_mapping("OIDC_GROUP_ROLES", ("ADMIN", "VIEWER"))
OIDC_HTTP_TIMEOUT = env_float("OIDC_HTTP_TIMEOUT", 10.0, minimum=0.1)
LOCAL_LOGIN = env_bool("LOCAL_LOGIN", True)
if bool(OIDC_ISSUER) != bool(OIDC_CLIENT_ID):
    raise ConfigError("OIDC_ISSUER and OIDC_CLIENT_ID are set together (or neither)")
if not LOCAL_LOGIN and not OIDC_ISSUER:
    raise ConfigError(
        "LOCAL_LOGIN=false needs SSO (OIDC_ISSUER, OIDC_CLIENT_ID): nobody could log in"
    )
# Passwords are checked only while LOCAL_LOGIN is on (sso.backends).
AUTHENTICATION_BACKENDS = ["sso.backends.PasswordBackend"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve straight from the static folders too, so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "onboarding.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy: HTTPS_ONLY turns on secure cookies and the redirect to https,
# TRUST_X_FORWARDED_PROTO lets Django see that the original request was https.
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Pack limits and policy.
PACK_MAX_BYTES = env_int("PACK_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
PACK_MAX_DEPTH = env_int("PACK_MAX_DEPTH", 64, minimum=2)
# Django would refuse larger bodies with an HTML 400 before our code runs; our middleware answers
# 413 problem+json above PACK_MAX_BYTES, so Django's own limit sits just above the envelope.
DATA_UPLOAD_MAX_MEMORY_SIZE = PACK_MAX_BYTES + 256 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
PACK_ACTIVATION_REQUIRES_APPROVAL = env_bool("PACK_ACTIVATION_REQUIRES_APPROVAL", False)

# Decision impact (DESIGN §14): a tenant's sample set is at most IMPACT_MAX_SAMPLES JSON Lines of
# at most IMPACT_SAMPLE_MAX_LINE_BYTES each; an impact stops after IMPACT_TIME_BUDGET_MS and says
# it is partial (a preview must answer, whatever the samples cost), and lists at most
# IMPACT_MAX_CHANGES changed samples.
IMPACT_MAX_SAMPLES = env_int("IMPACT_MAX_SAMPLES", 10_000, minimum=1)
IMPACT_SAMPLE_MAX_LINE_BYTES = env_int("IMPACT_SAMPLE_MAX_LINE_BYTES", 64 * 1024, minimum=256)
IMPACT_TIME_BUDGET_MS = env_int("IMPACT_TIME_BUDGET_MS", 3000, minimum=1)
IMPACT_MAX_CHANGES = env_int("IMPACT_MAX_CHANGES", 100, minimum=1)

# API tokens (identity, DESIGN §15): lifetime when none is asked for, the longest allowed, and
# how often a token's last_used_at is written (per process).
TOKEN_DEFAULT_DAYS = env_int("TOKEN_DEFAULT_DAYS", 90, minimum=1)
TOKEN_MAX_DAYS = env_int("TOKEN_MAX_DAYS", 365, minimum=1)
TOKEN_LAST_USED_SECONDS = env_int("TOKEN_LAST_USED_SECONDS", 60, minimum=0)

# Runtime configuration cache.
RUNTIME_CONFIG_TTL = env_float("RUNTIME_CONFIG_TTL", 30.0, minimum=0.0)
RUNTIME_CONFIG_CHECK_INTERVAL = env_float("RUNTIME_CONFIG_CHECK_INTERVAL", 1.0, minimum=0.0)
# Push propagation and convergence (docs/deployment.md, "Runtime propagation"): each serving
# process runs a listener thread (PostgreSQL LISTEN or Redis pub/sub; the generation poll alone
# on SQLite) that also writes its convergence heartbeat every RUNTIME_HEARTBEAT_INTERVAL.
RUNTIME_LISTENER = env_bool("RUNTIME_LISTENER", True)
RUNTIME_HEARTBEAT_INTERVAL = env_float("RUNTIME_HEARTBEAT_INTERVAL", 5.0, minimum=0.1)
# GET /runtime/tenants/{id}/config with a token takes a short middleware chain (the security
# headers, nothing that needs a session); off, it takes the full stack like every other path.
RUNTIME_FAST_PATH = env_bool("RUNTIME_FAST_PATH", True)
RUNTIME_MIDDLEWARE = [
    "onboarding.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "onboarding.middleware.StorableInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "onboarding.middleware.SecurityHeadersMiddleware",
]
PACKS_FILE_FALLBACK_DIR = env_str("PACKS_FILE_FALLBACK_DIR")
if PACKS_FILE_FALLBACK_DIR and not Path(PACKS_FILE_FALLBACK_DIR).is_dir():
    raise ConfigError(f"PACKS_FILE_FALLBACK_DIR={PACKS_FILE_FALLBACK_DIR!r} is not a directory")

# Background work (DESIGN §14 *Worker*): django-tasks with its database backend, run by
# `python manage.py run_worker`. Tasks are rows in this database, written in the transaction of
# the change that needs them; workers on any host claim them with SELECT ... FOR UPDATE SKIP
# LOCKED (PostgreSQL) or an exclusive transaction (SQLite).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "webhooks", "webhooks_slow", "activations", "rollouts", "impact"],
    }
}
WORKER_POLL_INTERVAL = env_float("WORKER_POLL_INTERVAL", 0.5, minimum=0.01)
# Webhook delivery loops per worker process (queue `webhooks`), and loops of the slow lane (queue
# `webhooks_slow`: endpoints that time out, fail to connect or answer slowly).
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 4, minimum=1)
WEBHOOK_SLOW_LANE_CONCURRENCY = env_int("WEBHOOK_SLOW_LANE_CONCURRENCY", 2, minimum=1)
WORKER_RECOVERY_INTERVAL = env_float("WORKER_RECOVERY_INTERVAL", 10.0, minimum=0.1)

# Webhooks (DESIGN §14). Private, loopback, link-local, multicast and reserved addresses are
# refused unless WEBHOOK_ALLOW_PRIVATE (development and tests with a local receiver).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_CONNECT_TIMEOUT = env_float("WEBHOOK_CONNECT_TIMEOUT", 5.0, minimum=0.1)
WEBHOOK_READ_TIMEOUT = env_float("WEBHOOK_READ_TIMEOUT", 10.0, minimum=0.1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 30.0, minimum=0.0)
WEBHOOK_RETRY_MAX_DELAY_SECONDS = env_float("WEBHOOK_RETRY_MAX_DELAY_SECONDS", 12 * 3600, minimum=0)
# The wall-clock limit of one attempt, DNS to the last byte read: the connect and read timeouts
# are per socket operation, which a receiver sending one byte at a time would stretch for ever.
WEBHOOK_ATTEMPT_TIMEOUT = env_float(
    "WEBHOOK_ATTEMPT_TIMEOUT", WEBHOOK_CONNECT_TIMEOUT + WEBHOOK_READ_TIMEOUT, minimum=0.2
)
# How long a worker owns a delivery it is attempting; past it the delivery is handed to another
# worker. At least twice the attempt's hard limit, so it cannot run out under a running attempt.
WEBHOOK_LEASE_SECONDS = env_float("WEBHOOK_LEASE_SECONDS", 120.0, minimum=1.0)
if WEBHOOK_LEASE_SECONDS <= 2 * WEBHOOK_ATTEMPT_TIMEOUT:
    raise ConfigError(
        f"WEBHOOK_LEASE_SECONDS must exceed twice WEBHOOK_ATTEMPT_TIMEOUT "
        f"({2 * WEBHOOK_ATTEMPT_TIMEOUT:g} s), or a slow attempt would be handed to a second "
        "worker while it still runs"
    )
# Fairness: attempts running at once for one endpoint, and for all endpoints of one tenant (the
# platform's own subscriptions count as one more tenant). Keep the tenant cap below
# WORKER_CONCURRENCY, so that one tenant's hanging receivers leave loops to the others.
WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = env_int("WEBHOOK_ENDPOINT_MAX_IN_FLIGHT", 1, minimum=1)
WEBHOOK_TENANT_MAX_IN_FLIGHT = env_int("WEBHOOK_TENANT_MAX_IN_FLIGHT", 2, minimum=1)
# A task whose endpoint answered goes on with that endpoint's next waiting deliveries for at most
# this long (0: one delivery per task), then gives its loop back to the queue.
WEBHOOK_CHAIN_SECONDS = env_float("WEBHOOK_CHAIN_SECONDS", 5.0, minimum=0.0)
# An attempt at least this long (or one that timed out or could not connect) moves its endpoint
# to the slow lane; a success quicker than this moves it back.
WEBHOOK_SLOW_SECONDS = env_float("WEBHOOK_SLOW_SECONDS", 2.0, minimum=0.01)
# Circuit breaker: this many failed attempts in a row pause an endpoint for the cool-down, then
# one probe attempt decides; an ADMIN may resume it at once.
WEBHOOK_BREAKER_THRESHOLD = env_int("WEBHOOK_BREAKER_THRESHOLD", 5, minimum=1)
WEBHOOK_BREAKER_COOLDOWN_SECONDS = env_float("WEBHOOK_BREAKER_COOLDOWN_SECONDS", 300.0, minimum=1)
# Subscriptions per tenant (and platform-wide ones): each one multiplies every event.
WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT = env_int(
    "WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT", 25, minimum=1
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Hashed, named, scoped, expiring tokens (identity.tokens), `Token` or `Bearer`.
        "identity.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: browsers are answered by the page door, never by the browsable API.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["onboarding.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "onboarding.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": "format",
}

SPECTACULAR_SETTINGS = {
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "onboarding.api.document_common_problems",
    ],
    "TITLE": "Tenant & Pack Onboarding API",
    "DESCRIPTION": "Onboard tenants, import and validate packs, activate configurations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TenantStatusEnum": "tenants.models.TenantStatus",
        "PackStatusEnum": "packs.models.PackStatus",
        "PackTypeEnum": ["domain", "tenant"],
        "ChangeRequestStatusEnum": "runtime_config.models.ChangeRequestStatus",
        "RolloutStatusEnum": "rollouts.models.RolloutStatus",
    },
}

# Operability (docs/operability.md). Metrics: GET /metrics; under gunicorn set
# PROMETHEUS_MULTIPROC_DIR (read by prometheus_client itself) and
# `-c python:onboarding.gunicorn_config`.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
# `manage.py serve_metrics`: /metrics without authentication on this (private) address.
METRICS_BIND = env_str("METRICS_BIND", "127.0.0.1:9464")
# Logs: `text` (one plain line a record, the default) or `json` (one JSON object a line, with the
# request's fields at its top level); LOG_REQUESTS: one record per request on onboarding.request.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ConfigError(f"LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")
LOG_REQUESTS = env_bool("LOG_REQUESTS", True)
# --- Rollouts (DESIGN §16, docs/rollouts.md) ---
# A plan's preview and change request sum the decision impact of at most this many tenants.
ROLLOUT_IMPACT_MAX_TENANTS = env_int("ROLLOUT_IMPACT_MAX_TENANTS", 200, minimum=1)
# A RUNNING or BAKING rollout whose wave is overdue this long lost its task (a worker died):
# the worker's recovery step runs it.
ROLLOUT_RECOVERY_GRACE_SECONDS = env_float("ROLLOUT_RECOVERY_GRACE_SECONDS", 5.0, minimum=0.0)
# Canary shadow counts: each serving process flushes its in-memory counts at most this often.
CANARY_SHADOW_FLUSH_SECONDS = env_float("CANARY_SHADOW_FLUSH_SECONDS", 1.0, minimum=0.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    # No log line holds a credential (URL userinfo and query values, tokens): onboarding.redaction.
    "filters": {"redact": {"()": "onboarding.redaction.RedactingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
