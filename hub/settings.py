"""Settings read from the environment, with embedded defaults.

Unset ``DATABASE_URL``/``REDIS_URL``/``CELERY_BROKER_URL`` give the embedded product:
SQLite in WAL mode, an in-process channel layer and a file-system Celery broker that a
real worker process consumes. Set them and the same code runs on PostgreSQL, Redis and
a broker shared by many machines.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LIVEHUB_DATA_DIR", BASE_DIR / ".data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("SECRET_KEY", "livehub-insecure-development-key-change-me")
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "hub.kernel",
    "oms",
    "channels_sync",
    "live",
    "live.video",
    "social",
    "search",
    "payments",
    "members",
    "checkout",
    "webapp",
]

MIDDLEWARE = [
    "hub.observability.RequestObservabilityMiddleware",
    # gzip for JSON API bodies >= 1 KB only (not HLS/media, not streaming): hub/middleware.py
    "hub.middleware.JsonGZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hub.urls"
ASGI_APPLICATION = "hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "hub" / "templates"],
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

# --- Database ---------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "livehub.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # WAL lets readers run beside the single writer; IMMEDIATE takes the write
                # lock at BEGIN so two writers never deadlock upgrading a read lock.
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            # Tests use a file too: threads and processes must share one real database.
            # One file per test run, so two runs on one machine never collide.
            "TEST": {"NAME": str(DATA_DIR / f"test-livehub-{os.getpid()}.sqlite3")},
        }
    }
DATABASE_VENDOR = DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: one Redis subscription per process per group, fanned out locally,
            # so a group send costs O(processes), not O(consumers) (live rooms, inbox).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "livehub"},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "livehub",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------
# Without a broker URL, a file-system transport under .data/broker carries tasks from the
# web process to a real worker process (started by `hub run`): asynchronous, no eager mode.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or "filesystem://"
BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL == "filesystem://":
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep our JSON log formatter

# --- Search -----------------------------------------------------------------------------
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")
#: Which client speaks to ELASTICSEARCH_URL: "opensearch" (OpenSearch, osmem) or
#: "elasticsearch" (the official client, Elasticsearch 8/9).
ELASTICSEARCH_CLIENT = os.environ.get("ELASTICSEARCH_CLIENT", "opensearch")
SEARCH_INDEX_PREFIX = os.environ.get("SEARCH_INDEX_PREFIX", "livehub-")
#: The embedded engine's own SQLite file (used whatever the main database is).
SEARCH_EMBEDDED_PATH = Path(os.environ.get("SEARCH_EMBEDDED_PATH", DATA_DIR / "search.sqlite3"))

# --- Social: share links, attribution, rewards -------------------------------------------
#: Public base URL of the PWA the share links redirect to (path appended per target).
SOCIAL_PWA_BASE_URL = os.environ.get("SOCIAL_PWA_BASE_URL", "/app")
#: Clicks by one visitor on one link within this many seconds count once.
SOCIAL_CLICK_DEDUP_SECONDS = int(os.environ.get("SOCIAL_CLICK_DEDUP_SECONDS", "1800"))
#: Page views (product, show) by one visitor of one target within this many seconds count once.
SOCIAL_VIEW_DEDUP_SECONDS = int(os.environ.get("SOCIAL_VIEW_DEDUP_SECONDS", "1800"))
#: An order within this many days of a click is attributed to the share.
SOCIAL_ATTRIBUTION_WINDOW_DAYS = int(os.environ.get("SOCIAL_ATTRIBUTION_WINDOW_DAYS", "7"))
#: "last_touch" (default), "first_touch" or "protection" (the first sharer keeps the
#: buyer for SOCIAL_PROTECTION_DAYS, then last touch applies).
SOCIAL_ATTRIBUTION_MODEL = os.environ.get("SOCIAL_ATTRIBUTION_MODEL", "last_touch")
SOCIAL_PROTECTION_DAYS = int(os.environ.get("SOCIAL_PROTECTION_DAYS", "3"))
#: Reward rate on attributed sales, in basis points (1000 = 10%).
SOCIAL_REWARD_RATE_BPS = int(os.environ.get("SOCIAL_REWARD_RATE_BPS", "1000"))
#: Cap on the total reward as a share of attributed sales, in basis points; never above
#: 3000 (30%, the Chinese direct-selling limit) whatever is configured.
SOCIAL_REWARD_CAP_BPS = int(os.environ.get("SOCIAL_REWARD_CAP_BPS", "3000"))
#: WeChat Official Account (JS-SDK share cards, OAuth sign-in); empty disables WeChat.
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com/")

# --- I18N / time ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
#: the built PWA (issue 8, docs/pwa.md); its hashed assets are static files under /static/pwa/
LIVEHUB_PWA_DIST = Path(os.environ.get("LIVEHUB_PWA_DIST", BASE_DIR / "frontend_pwa" / "dist"))
STATICFILES_DIRS = [("pwa", LIVEHUB_PWA_DIST)]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hub.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LiveHub API",
    "DESCRIPTION": "Catalog, stock, holds and orders for every sales channel.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Domain knobs -----------------------------------------------------------------------
LIVEHUB_CHECKOUT_HOLD_SECONDS = int(os.environ.get("LIVEHUB_CHECKOUT_HOLD_SECONDS", "900"))
LIVEHUB_DEFAULT_CURRENCY = os.environ.get("LIVEHUB_DEFAULT_CURRENCY", "CNY")
#: independent audit hash chains; an aggregate's entries stay in one (docs/audit-and-idempotency.md)
LIVEHUB_AUDIT_CHAINS = int(os.environ.get("LIVEHUB_AUDIT_CHAINS", "16"))
#: key for marketplace credentials at rest (Fernet); empty derives one from SECRET_KEY
CHANNELS_SYNC_CREDENTIALS_KEY = os.environ.get("CHANNELS_SYNC_CREDENTIALS_KEY", "")

# --- Payments (docs/payments.md) -----------------------------------------------------------
#: Provider credentials by code (sandbox, wechatpay, alipay); merged over the JSON file,
#: which holds real merchant keys in production and simulator keys in the demo.
#: The demo (`make demo` exports LIVEHUB_DEMO=1): sandbox payments and gateway simulators on.
LIVEHUB_DEMO = env_bool("LIVEHUB_DEMO", default=False)
#: The sandbox lets anyone "pay" without money: on only with DEBUG or the demo unless set;
#: `manage.py check` fails (payments.E001) if it is on with DEBUG off outside the demo.
LIVEHUB_PAYMENT_SANDBOX = env_bool("LIVEHUB_PAYMENT_SANDBOX", default=DEBUG or LIVEHUB_DEMO)
LIVEHUB_PAYMENT_PROVIDERS: dict[str, dict[str, object]] = (
    {"sandbox": {}} if LIVEHUB_PAYMENT_SANDBOX else {}
)
LIVEHUB_PAYMENT_PROVIDERS_FILE = os.environ.get(
    "LIVEHUB_PAYMENT_PROVIDERS_FILE", str(DATA_DIR / "payment-providers.json")
)
#: Base URL gateways reach us on (notify_url); must be public HTTPS in production.
LIVEHUB_PUBLIC_URL = os.environ.get(
    "LIVEHUB_PUBLIC_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
)
#: Mount the WeChat Pay / Alipay gateway simulators: with DEBUG or the demo unless set.
LIVEHUB_PAYMENT_SIMULATORS = env_bool("LIVEHUB_PAYMENT_SIMULATORS", default=DEBUG or LIVEHUB_DEMO)
#: WeChat web OAuth (sign-in): {"app_id", "secret", "redirect_uri", optional "api_base"}.
LIVEHUB_WECHAT_OAUTH: dict[str, str] = {
    k: v
    for k, v in {
        "app_id": os.environ.get("WECHAT_OAUTH_APP_ID", ""),
        "secret": os.environ.get("WECHAT_OAUTH_SECRET", ""),
        "redirect_uri": os.environ.get("WECHAT_OAUTH_REDIRECT_URI", ""),
    }.items()
    if v
}
LIVEHUB_SMS_BACKEND = os.environ.get("LIVEHUB_SMS_BACKEND", "members.sms.ConsoleSmsBackend")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
#: how long a live-drop buy keeps its units before they return to the drop (and waitlist)
LIVEHUB_LIVE_HOLD_SECONDS = int(os.environ.get("LIVEHUB_LIVE_HOLD_SECONDS", "600"))

# --- Live video (live.video): media worker, HLS ------------------------------------------
#: Unix socket of the embedded media worker (used when REDIS_URL is unset).
LIVEHUB_MEDIA_WORKER_SOCKET = os.environ.get(
    "LIVEHUB_MEDIA_WORKER_SOCKET", str(DATA_DIR / "media-worker.sock")
)
LIVEHUB_VIDEO_SEGMENT_SECONDS = float(os.environ.get("LIVEHUB_VIDEO_SEGMENT_SECONDS", "1"))
LIVEHUB_VIDEO_MAX_HEIGHT = int(os.environ.get("LIVEHUB_VIDEO_MAX_HEIGHT", "720"))
#: second, lower HLS rendition (its height; 0 = none); "auto" = 480 on a machine with 4+ cores
LIVEHUB_VIDEO_LOW_HEIGHT = (
    (480 if (os.cpu_count() or 1) >= 4 else 0)
    if os.environ.get("LIVEHUB_VIDEO_LOW_HEIGHT", "auto") == "auto"
    else int(os.environ["LIVEHUB_VIDEO_LOW_HEIGHT"])
)
#: LL-HLS part duration (seconds; 0 = plain HLS without parts)
LIVEHUB_VIDEO_PART_SECONDS = float(os.environ.get("LIVEHUB_VIDEO_PART_SECONDS", "0.333"))
#: WebRTC (WHEP) playback seats per live show for co-hosts/moderators; each costs an encode
LIVEHUB_VIDEO_WHEP_SEATS = int(os.environ.get("LIVEHUB_VIDEO_WHEP_SEATS", "2"))
#: STUN/TURN URLs for the media worker's ICE agent (comma-separated; empty = host only)
LIVEHUB_VIDEO_ICE_SERVERS = [
    u for u in os.environ.get("LIVEHUB_VIDEO_ICE_SERVERS", "").split(",") if u
]
#: days a replay keeps its media after the recording ended (0 = forever); beat prunes the rest
LIVEHUB_VIDEO_RETENTION_DAYS = int(os.environ.get("LIVEHUB_VIDEO_RETENTION_DAYS", "30"))

# --- Web push (webapp): VAPID, docs/pwa.md ------------------------------------------------
#: VAPID private key (base64url, raw 32 bytes); empty = generated once into LIVEHUB_VAPID_FILE
LIVEHUB_VAPID_PRIVATE_KEY = os.environ.get("LIVEHUB_VAPID_PRIVATE_KEY", "")
LIVEHUB_VAPID_FILE = os.environ.get("LIVEHUB_VAPID_FILE", str(DATA_DIR / "vapid.json"))
LIVEHUB_VAPID_SUBJECT = os.environ.get("LIVEHUB_VAPID_SUBJECT", "mailto:ops@livehub.example")
#: push-service hosts allowed over plain http (local simulators only; real ones are https)
LIVEHUB_PUSH_INSECURE_HOSTS = [
    h for h in os.environ.get("LIVEHUB_PUSH_INSECURE_HOSTS", "").split(",") if h
]

# --- Logging: one JSON object per line --------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hub.observability.json_log_formatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "kombu.connection": {"level": "ERROR"},  # the file-system broker has no hostname
    },
}
