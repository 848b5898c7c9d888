"""Settings for offlabel, read from the environment.

Defaults give a working local app with no servers: SQLite and kombu's filesystem broker
under ``var/``. Production (``DJANGO_DEBUG=false``) must set a secret key, the allowed
hosts, ``DATABASE_URL`` and ``CELERY_BROKER_URL``; see ``.env.example``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from offlabel.env import env_bool, env_int, env_list, env_str

# Lets classes be subscripted at runtime (ModelAdmin[Hospital]) for django-stubs typing.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OFFLABEL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", default=True)

if DEBUG:
    # Only ever used on a developer's machine: production has no default key.
    SECRET_KEY = env_str(
        "DJANGO_SECRET_KEY", "dev-only-insecure-key-offlabel-0123456789-abcdefghij"
    )
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates, found by the TemplatesSetting renderer
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    # Issue 16: OpenID Connect sign-in, TOTP and recovery codes (second factors).
    "mozilla_django_oidc",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "audit",
    "evidence",
    "prescriptions",
    "regulatory",
    "consent",
    "pharmacy",
    "followup",
    "reports",
    "signatures",  # electronic signatures with their meaning, re-authentication (issue 16)
    "signing",  # PAdES seals, the demo PKI, the public verification page (issue 16)
]

MIDDLEWARE = [
    # First, so load balancers and compose health checks get an answer without a Host check.
    "offlabel.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, except that an htmx poll does not extend an idle session.
    "offlabel.middleware.SessionMiddleware",
    # The interface language: the person's choice (cookie), else the browser's, else English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): a second factor was given in this session (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "accounts.mfa.SecondFactorMiddleware",  # owed second factor: only the 2FA pages
    # Cache-Control: no-store on every response to a signed-in user (patient data).
    "offlabel.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "offlabel.urls"
WSGI_APPLICATION = "offlabel.wsgi.application"

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
                "accounts.context_processors.roles",
            ],
            # Data in the reader's language, money, labels of codes: the platform's filters
            # (offlabel/templatetags) with those that read the apps' choices (top layer).
            "libraries": {"offlabel_i18n": "reports.templatetags.offlabel_i18n"},
        },
    },
]

# Widgets render with the project's templates, so templates/django/forms/ may override one.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'offlabel.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:  # unknown scheme or malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# A persistent connection the database dropped is replaced before use, not answered with a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-offlabel.sqlite3")}
    # IMMEDIATE: a transaction takes the write lock when it starts, so the web server and the
    # worker queue up for it instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The role that owns the tables (runs migrate and db_roles); DATABASE_URL is the app's role,
# which may only SELECT and INSERT audit events. Tests use the default database for both.
DATABASE_OWNER_URL = env_str("DATABASE_OWNER_URL", DATABASE_URL)
try:
    DATABASES["owner"] = dj_database_url.parse(DATABASE_OWNER_URL)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_OWNER_URL is not a valid database URL: {exc}") from None
DATABASES["owner"]["TEST"] = {"MIRROR": "default"}
# Behind PgBouncer in transaction mode consecutive transactions may run on different server
# connections: no server-side cursor (a WITH HOLD cursor would be lost), no prepared
# statement (psycopg prepares a query run 5 times), and no persistent client connection
# (PgBouncer pools them; a kept connection only holds a pool slot).
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", default=False)
if DATABASE_PGBOUNCER:
    for _alias in ("default", "owner"):
        if DATABASES[_alias]["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured("DATABASE_PGBOUNCER=true needs a PostgreSQL DATABASE_URL.")
        DATABASES[_alias]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES[_alias]["CONN_MAX_AGE"] = 0
        DATABASES[_alias].setdefault("OPTIONS", {})["prepare_threshold"] = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Validates nothing: its password_changed hook revokes the user's API tokens.
    {"NAME": "accounts.token.TokensRevokedOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "Europe/Rome")
USE_I18N = True
USE_TZ = True
# --- Interface language (the catalogues in locale/ are compiled by offlabel.i18n) ------------
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["offlabel.formats"]  # English dates stay ISO and 24-hour
# The chosen language (set_language) outlives the session: a year, this site only.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# --- File storage of rendered PDFs and uploads (issue 17: beyond one machine) ---------------
# "filesystem" (default): MEDIA_ROOT, one machine (or a volume every node mounts). "s3": a
# private bucket of an S3-compatible object store (django-storages), shared by every web and
# worker node. Every read and write goes through the storage API (FieldFile.open/save), and
# every download through the permission-checked views: no object is public, no URL is handed
# out. Credentials may be empty to use the machine's own (an instance role).
OFFLABEL_STORAGE = env_str("OFFLABEL_STORAGE", "filesystem")
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL", "")  # empty: Amazon S3 itself
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "")
# Self-hosted stores (MinIO, Ceph) answer on one host name: bucket in the path, not the host.
AWS_S3_ADDRESSING_STYLE = env_str(
    "AWS_S3_ADDRESSING_STYLE", "path" if AWS_S3_ENDPOINT_URL else "auto"
)
if OFFLABEL_STORAGE == "s3":
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("OFFLABEL_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL or None,
            "region_name": AWS_S3_REGION_NAME or None,
            "access_key": AWS_ACCESS_KEY_ID or None,
            "secret_key": AWS_SECRET_ACCESS_KEY or None,
            "addressing_style": AWS_S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            # No ACL header: objects stay private to the bucket's owner (and a bucket with
            # ACLs disabled accepts the upload).
            "default_acl": None,
            # Like the filesystem: a new name instead of overwriting, so a replaced document
            # is kept until the transaction that replaced it commits, then deleted.
            "file_overwrite": False,
        },
    }
elif OFFLABEL_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"OFFLABEL_STORAGE={OFFLABEL_STORAGE!r}: expected filesystem or s3")
# --- Input limits (offlabel/uploads.py, offlabel/parsers.py) ---------------------------------
# Uploaded PDFs are parsed: at most this size, pages and decompressed content.
UPLOAD_MAX_BYTES = env_int("OFFLABEL_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
UPLOAD_PDF_MAX_PAGES = env_int("OFFLABEL_UPLOAD_PDF_MAX_PAGES", 200)
UPLOAD_PDF_MAX_DECOMPRESSED_BYTES = env_int(
    "OFFLABEL_UPLOAD_PDF_MAX_DECOMPRESSED_BYTES", 100 * 1024 * 1024
)
# A JSON body of the API, and a form's fields without its files: 1 MB holds any real input
# (the longest free text is 5000 characters); more is refused with a 400.
API_MAX_JSON_BYTES = env_int("OFFLABEL_API_MAX_JSON_BYTES", 1024 * 1024)
API_MAX_JSON_DEPTH = env_int("OFFLABEL_API_MAX_JSON_DEPTH", 20)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_JSON_BYTES

# --- Security (production values when DEBUG is off) ------------------------------------------
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions end after this many idle minutes (each request a person makes extends them) and when
# the browser closes: shared ward computers. The extension is written at most once every
# OFFLABEL_SESSION_RENEW_SECONDS (offlabel.middleware.SessionMiddleware), so an idle session ends
# up to that much earlier, never later.
SESSION_COOKIE_AGE = 60 * env_int("DJANGO_SESSION_IDLE_MINUTES", 30)
SESSION_SAVE_EVERY_REQUEST = False
OFFLABEL_SESSION_RENEW_SECONDS = env_int("OFFLABEL_SESSION_RENEW_SECONDS", 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling and lockout (django-axes): after this many failures for one username from
# one address, that pair is locked out for the cool-off; every lockout is in the audit trail.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.OfflabelBackend",
]
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False
# Behind a reverse proxy: how many proxies in front of the app append to X-Forwarded-For.
# 0 (the default) ignores the header: the peer address is the client. The lockout and the
# audit trail read the address from the same function.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXY_COUNT must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "offlabel.middleware.client_ip_address"

# Content Security Policy (django-csp): only our own scripts and styles; no inline script,
# no CDN. Charts are SVG images (data: URIs), which keep their own styles to themselves.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

if env_bool("DJANGO_BEHIND_TLS_PROXY", default=not DEBUG):
    # gunicorn sits behind the hospital's TLS-terminating proxy.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # django-rest-knox: tokens stored hashed, with an expiry, revoked at sign-out.
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["offlabel.filters.QueryStringFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "offlabel.exceptions.api_exception_handler",
    # JSON only, within a size and a depth; upload endpoints name their multipart parser.
    "DEFAULT_PARSER_CLASSES": ["offlabel.parsers.LimitedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (django-rest-knox): valid this many hours from issue, never extended by use.
API_TOKEN_TTL_HOURS = env_int("DJANGO_API_TOKEN_TTL_HOURS", 8)
if API_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured("DJANGO_API_TOKEN_TTL_HOURS must be 1 or more.")
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    # The schema and the docs describe the API to signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "TITLE": "offlabel API",
    "DESCRIPTION": "Off-label prescriptions: studies, requests, pathways, consent, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: hospital networks block CDNs.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per shared choice set (several fields use each).
    "ENUM_NAME_OVERRIDES": {
        "YesNoUnknownEnum": "prescriptions.models.YesNoUnknown",
        "LabStatusEnum": "prescriptions.models.LabStatus",
        "RequestStatusEnum": "prescriptions.models.OffLabelRequest.Status",
        "BodyEnum": "regulatory.models.Body",
        "RenderStatusEnum": "regulatory.models.Dossier.Status",
    },
}

# --- Audit checkpoints (signed chain heads kept outside the database) ------------------------
# Ed25519 private key (PEM) that signs checkpoints; never in the database. Development gets a
# key generated in var/ (manage.py audit_keygen --if-missing); production must set a path.
AUDIT_SIGNING_KEY = env_str(
    "AUDIT_SIGNING_KEY", str(VAR_DIR / "audit-signing-key.pem") if DEBUG else ""
)
# The public key verify_audit checks signatures with; default: derived from the private key.
AUDIT_VERIFY_KEY = env_str("AUDIT_VERIFY_KEY", "")
# Where checkpoints are written, one subfolder per database (production: write-once storage).
AUDIT_ANCHOR_DIR = Path(env_str("AUDIT_ANCHOR_DIR", str(VAR_DIR / "audit-anchors")))
AUDIT_CHECKPOINT_MINUTES = env_int("AUDIT_CHECKPOINT_MINUTES", 60)
if AUDIT_CHECKPOINT_MINUTES < 1:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_MINUTES must be at least 1.")

# --- Shared cache (rate limits of the public verification page) ---------------------------
# Production: Redis, shared by every gunicorn worker. Development: this process's memory.
CACHE_URL = env_str("CACHE_URL", "locmem://")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL={CACHE_URL!r}: expected redis://, rediss:// or locmem://"
    )
# With Redis, sessions are read from the cache and written through to the database (cached_db):
# every node sees the same session, a request costs no session query, and a Redis restart
# signs nobody out. Django's own RedisCache (redis-py), so django-redis is not needed.
if CACHE_URL.startswith(("redis://", "rediss://")):
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Single sign-on: OpenID Connect (issue 16, accounts/oidc.py) ---------------------------
# mozilla-django-oidc reads the OIDC_* names; offlabel's own are OFFLABEL_OIDC_*. Off by
# default: the demo signs in with passwords. README "Single sign-on" walks through each.
OFFLABEL_OIDC_ENABLED = env_bool("OFFLABEL_OIDC_ENABLED", default=False)
# The provider's name on the sign-in button ("Sign in with <name>").
OFFLABEL_OIDC_PROVIDER_NAME = env_str("OFFLABEL_OIDC_PROVIDER_NAME", "the hospital sign-in")
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
# The issuer (its /.well-known/openid-configuration is read, and cached for an hour) or the
# endpoints one by one; an endpoint set here wins over the discovered one.
OIDC_OP_DISCOVERY = env_str("OIDC_OP_DISCOVERY", "")
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_LOGOUT_ENDPOINT = env_str("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True  # RFC 9700: PKCE for confidential clients too
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)  # seconds for each call to the provider
OIDC_CREATE_USER = True  # the backend decides, per hospital (Hospital.oidc_create_users)
OIDC_AUTHENTICATE_CLASS = "accounts.oidc_views.OidcSignInView"
OIDC_CALLBACK_CLASS = "accounts.oidc_views.OidcCallbackView"
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.logout_destination"  # its /oidc/logout/ as ours
# Which claims carry the username, the hospital and the roles, and how their values map to a
# Hospital.code and to role codes (JSON objects; {} keeps the values as they are; a role mapped
# to null is ignored).
OFFLABEL_OIDC_CLAIM_USERNAME = env_str("OFFLABEL_OIDC_CLAIM_USERNAME", "preferred_username")
OFFLABEL_OIDC_CLAIM_HOSPITAL = env_str("OFFLABEL_OIDC_CLAIM_HOSPITAL", "hospital")
OFFLABEL_OIDC_CLAIM_ROLES = env_str("OFFLABEL_OIDC_CLAIM_ROLES", "roles")


def _oidc_value_map(name: str) -> dict[str, str | None]:
    import json

    raw = env_str(name, "{}")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        raise ImproperlyConfigured(f'{name} must be a JSON object of strings: {{"claim": "ours"}}')
    return value


OFFLABEL_OIDC_HOSPITAL_MAP = _oidc_value_map("OFFLABEL_OIDC_HOSPITAL_MAP")
OFFLABEL_OIDC_ROLE_MAP = _oidc_value_map("OFFLABEL_OIDC_ROLE_MAP")
# The provider's own second factor counts as ours when its ID token says so (RFC 8176 amr
# values, or one of these acr values).
OFFLABEL_OIDC_MFA_AMR = env_list("OFFLABEL_OIDC_MFA_AMR", ["mfa", "otp", "hwk", "swk"])
OFFLABEL_OIDC_MFA_ACR = env_list("OFFLABEL_OIDC_MFA_ACR", [])
# "Re-authenticate with the provider" (prompt=login, max_age=0) is accepted only when the
# returned auth_time is no older than the request, give or take this clock difference.
OFFLABEL_OIDC_CLOCK_SKEW_SECONDS = env_int("OFFLABEL_OIDC_CLOCK_SKEW_SECONDS", 30)
if OFFLABEL_OIDC_ENABLED:
    if not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "OFFLABEL_OIDC_ENABLED needs OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET."
        )
    if not OIDC_OP_DISCOVERY and not (
        OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT and OIDC_OP_USER_ENDPOINT
    ):
        raise ImproperlyConfigured(
            "OFFLABEL_OIDC_ENABLED needs OIDC_OP_DISCOVERY (the issuer) or the authorization, "
            "token and userinfo endpoints."
        )
    AUTHENTICATION_BACKENDS.append("accounts.oidc.OfflabelOIDCBackend")
    # The sign-out form posts here and is redirected to the provider's end-session page; the
    # browser checks that redirect against form-action.
    from urllib.parse import urlsplit as _urlsplit

    for _url in (OIDC_OP_DISCOVERY, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_LOGOUT_ENDPOINT):
        if _url:
            _origin = "{0.scheme}://{0.netloc}".format(_urlsplit(_url))
            if _origin not in CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]:
                CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(_origin)

# --- Second factors (issue 16, accounts/mfa.py) -------------------------------------------
# Roles whose users must give a second factor (TOTP, a passkey or a recovery code) at every
# sign-in; a hospital may set its own list (Hospital.mfa_required_roles).
MFA_REQUIRED_ROLES = env_list(
    "OFFLABEL_MFA_REQUIRED_ROLES", ["pharmacist", "hospital_admin", "rule_steward"]
)
# Passkeys (WebAuthn): the relying party is the site's domain (no scheme, no port); a passkey
# made for one RP ID works only there. Origins: the addresses the browser shows (scheme, host,
# port). Production: https://<RP ID>. Development (empty): the address the request came to,
# when its host is the RP ID (http://localhost:<any port>; browsers refuse 127.0.0.1).
OTP_TOTP_ISSUER = "offlabel"  # the account's name in the authenticator app
WEBAUTHN_RP_ID = env_str("OFFLABEL_WEBAUTHN_RP_ID", "localhost")
WEBAUTHN_ORIGINS = env_list(
    "OFFLABEL_WEBAUTHN_ORIGINS", [] if DEBUG else [f"https://{WEBAUTHN_RP_ID}"]
)

# --- Signatures with a meaning (issue 16, signatures/) ------------------------------------
# A signature needs the password or a second factor again unless the signer authenticated
# (signed in, or re-authenticated) within this many minutes (21 CFR 11.200(a)(1)).
SIGNATURE_REAUTH_MINUTES = env_int("OFFLABEL_SIGNATURE_REAUTH_MINUTES", 5)
if SIGNATURE_REAUTH_MINUTES < 0:
    raise ImproperlyConfigured("OFFLABEL_SIGNATURE_REAUTH_MINUTES must be 0 or more.")

# --- PAdES seals (issue 16, signing/) -----------------------------------------------------
# Every PDF is sealed with the hospital's certificate (a PKCS#12 file) at PAdES B-T: the seal
# carries an RFC 3161 timestamp from the time-stamping authority at OFFLABEL_TSA_URL. With
# DEBUG on the defaults are the invented demo PKI that `manage.py make_demo_pki` writes into
# var/pki/ and the demo TSA `manage.py run_demo_tsa` serves; production must set all four and
# refuses to start with a demo certificate (signing/apps.py).
SEAL_PKI_DIR = VAR_DIR / "pki"
SEAL_PKCS12 = env_str(
    "OFFLABEL_SEAL_PKCS12", str(SEAL_PKI_DIR / "hospital-seal.p12") if DEBUG else ""
)
# The demo file's password is the invented one make_demo_pki writes (signing/demo_pki.py).
SEAL_PKCS12_PASSWORD = env_str(
    "OFFLABEL_SEAL_PKCS12_PASSWORD", "demo-only-not-secret" if DEBUG else ""
)
# PEM file of the CA certificate(s) the seal must chain to; the verification page trusts these.
SEAL_TRUST_ROOTS = env_str(
    "OFFLABEL_SEAL_TRUST_ROOTS", str(SEAL_PKI_DIR / "demo-ca.pem") if DEBUG else ""
)
SEAL_TSA_URL = env_str("OFFLABEL_TSA_URL", "http://127.0.0.1:8077/" if DEBUG else "")
SEAL_TSA_TIMEOUT_SECONDS = env_int("OFFLABEL_TSA_TIMEOUT_SECONDS", 10)
# The public verification page (/verify/): checks per client address (django-ratelimit).
SEAL_VERIFY_RATE = env_str("OFFLABEL_VERIFY_RATE", "30/m")

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
# Redis: a task left unacknowledged by a dead worker (acks_late) is delivered again after this
# many seconds. It must exceed the longest task; the consent render takes seconds.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu sweeps for abandoned messages every interval x throttle seconds (100 s by
    # default); one cheap Redis query every few seconds keeps recovery close to the timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "unacked_restore_interval": min(10, max(1, CELERY_VISIBILITY_TIMEOUT // 3)),
        "unacked_restore_throttle": 1,
    }
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "filesystem://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: expected redis://, rediss://, amqp:// or filesystem://"
    )
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "offlabel")
# Two queues: PDF rendering (seconds of CPU and memory: WeasyPrint and the seal) on
# "<default>.pdf", so a burst of renders never delays reminders, mail and the audit tasks on the
# default queue; each has its own worker (docker-compose.yml). The router names the PDF queue
# after the default queue at send time (offlabel.celery.pdf_queue_name).
CELERY_TASK_ROUTES = ("offlabel.celery.task_route",)
CELERY_TIMEZONE = TIME_ZONE
# Rendered PDFs (offlabel.rendering): a render is killed after the time limit; a row left
# 'rendering' longer than the stale window is reclaimed (its worker died), a 'queued' one is
# queued again after the requeue window; after max attempts it stays 'failed' with the reason.
RENDER_TIME_LIMIT_SECONDS = env_int("RENDER_TIME_LIMIT_SECONDS", 300)
RENDER_STALE_AFTER_SECONDS = env_int("RENDER_STALE_AFTER_SECONDS", RENDER_TIME_LIMIT_SECONDS + 30)
RENDER_REQUEUE_AFTER_SECONDS = env_int("RENDER_REQUEUE_AFTER_SECONDS", 60)
RENDER_MAX_ATTEMPTS = env_int("RENDER_MAX_ATTEMPTS", 5)
RENDER_SWEEP_EVERY_SECONDS = env_int("RENDER_SWEEP_EVERY_SECONDS", 60)
RENDER_RETRY_AFTER_SECONDS = 60  # the Retry-After of a 503 when the broker is down
CELERY_IMPORTS = ("offlabel.rendering",)  # render_sweep_task
CELERY_BEAT_SCHEDULE = {
    "render-sweep": {
        "task": "offlabel.rendering.render_sweep_task",
        "schedule": RENDER_SWEEP_EVERY_SECONDS,
    },
    "raise-deadline-reminders-daily": {
        "task": "regulatory.tasks.reminders_raise_task",
        "schedule": 24 * 60 * 60,
    },
    "verify-audit-chain-nightly": {
        "task": "audit.tasks.audit_chain_verify_task",
        "schedule": 24 * 60 * 60,
    },
    "audit-checkpoint": {
        "task": "audit.tasks.audit_checkpoint_task",
        "schedule": 60 * AUDIT_CHECKPOINT_MINUTES,
    },
}

# --- E-mail (reminders). The console backend prints mails; production sets SMTP. -----------
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "offlabel@localhost")

# --- Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_one_line": {"()": "offlabel.log_filters.ForbiddenWithoutTraceback"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # WeasyPrint logs every layout step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # Django's default configuration gives "django" a console handler of its own (with
        # DEBUG on) and lets its records reach the root's console too: every refusal and error
        # was printed twice. The root's handler prints them once.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 403 is one line (path and status), without the traceback of the refusal.
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
