"""Settings, all read from the environment with safe development defaults."""

import os

DEV_SECRET_KEY = "dev-not-secret-change-me"  # noqa: S105 (refused outside debug)
#: The development key-encryption key (a fixed, public 32-byte value); refused outside debug and testing.
DEV_TICKET_KEK = "ZGV2LW5vdC1zZWNyZXQtdGlja2V0LWtlay0zMmJ5dGU="  # noqa: S105


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    """Production-ready defaults; every value can be overridden by an environment variable."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    #: Key-encryption key for secrets stored in the database (rally signing keys, ticket-page tokens):
    #: base64 of 32 random bytes, kept outside the database and its backups (README, "Ticket keys").
    TICKET_KEK = os.environ.get("TICKET_KEK", DEV_TICKET_KEK)
    #: Earlier KEKs, comma-separated: still opened until `flask rotate-ticket-kek` has resealed everything.
    TICKET_KEK_OLD = os.environ.get("TICKET_KEK_OLD", "")
    #: Empty means a SQLite file in the instance folder (resolved in create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    #: PostgreSQL: pooled connections older than this (s) are replaced (pool_recycle; every checkout is
    #: also pre-pinged). Keep it below any proxy's or firewall's idle timeout.
    DB_POOL_RECYCLE_SECONDS = _int("DB_POOL_RECYCLE_SECONDS", 1800)
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 30000)
    #: Retry-After (s) on the 503 served while the database cannot be reached.
    DB_DOWN_RETRY_AFTER = _int("DB_DOWN_RETRY_AFTER", 30)

    # The public base URL, used for absolute links in email and door-link QR codes.
    SERVER_NAME = os.environ.get("SERVER_NAME") or None
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "https")
    BASE_URL = os.environ.get("BASE_URL", "http://localhost:5000")

    #: Write static files' gzip copies at start-up when missing or stale (rallies/static_files.py); 0 where
    #: static/ is read-only and the copies are built at deploy time.
    COMPRESS_STATIC = _bool("COMPRESS_STATIC", True)

    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # forms left open on a phone for hours must still post

    # Rate limits (Flask-Limiter). Redis when REDIS_URL is set, memory otherwise.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    #: Redis down: count in each worker's memory until it is back, rather than failing every request.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = _bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    RATELIMIT_RSVP_IP = os.environ.get("RATELIMIT_RSVP_IP", "30 per minute;300 per hour")
    RATELIMIT_RSVP_EMAIL = os.environ.get("RATELIMIT_RSVP_EMAIL", "5 per minute;20 per hour")
    #: Accepted RSVPs to one rally from one client address (one address cannot fill a rally).
    RATELIMIT_RSVP_RALLY_IP = os.environ.get("RATELIMIT_RSVP_RALLY_IP", "5 per hour")
    #: A repeat RSVP re-sends the ticket link at most once per this many minutes per mailbox and rally.
    RSVP_RESEND_MINUTES = _int("RSVP_RESEND_MINUTES", 10)
    RATELIMIT_PUBLIC = os.environ.get("RATELIMIT_PUBLIC", "120 per minute")
    RATELIMIT_AUTH = os.environ.get("RATELIMIT_AUTH", "10 per minute")
    #: Door JSON API, per device credential (scanners at one venue often share an IP).
    RATELIMIT_DOOR = os.environ.get("RATELIMIT_DOOR", "600 per minute")
    #: Door-link openings per IP (each opening names a new device).
    RATELIMIT_DOOR_LINK = os.environ.get("RATELIMIT_DOOR_LINK", "10 per minute;60 per hour")
    #: Devices one door link may have signed in at once.
    DOOR_DEVICES_PER_LINK = int(os.environ.get("DOOR_DEVICES_PER_LINK", "20"))

    # Geocoding: "nominatim" (default, falls back to offline on network errors) or "offline".
    GEOCODER = os.environ.get("GEOCODER", "nominatim")
    GEOCODER_USER_AGENT = os.environ.get("GEOCODER_USER_AGENT", "rallies/1.0 (self-hosted)")
    GEOCODER_TIMEOUT = float(os.environ.get("GEOCODER_TIMEOUT", "5"))
    GEOCODER_MIN_DELAY = float(os.environ.get("GEOCODER_MIN_DELAY", "1.0"))
    #: Days a "not found" answer stays cached before the address is looked up again (hits are kept for good).
    GEOCODE_MISS_TTL_DAYS = _int("GEOCODE_MISS_TTL_DAYS", 30)

    # Maps: tiles are fetched by the browser, never by the server.
    MAP_TILES_URL = os.environ.get("MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    MAP_TILES_ATTRIBUTION = os.environ.get(
        "MAP_TILES_ATTRIBUTION",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    )

    # Mail: with no SMTP_HOST, messages are written to files in the instance folder.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = _int("SMTP_PORT", 587)
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", True)
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "Rallies <rallies@localhost>")
    #: Outbox sender: a claim older than this is taken over (the sender died); retries back off
    #: exponentially from BASE to CAP seconds; after MAX_ATTEMPTS a message is marked failed.
    #: The claim is renewed just before DATA, so the timeout only has to outlast one DATA exchange
    #: (a few SMTP_TIMEOUTs); keep it well above SMTP_TIMEOUT.
    OUTBOX_CLAIM_TIMEOUT = _int("OUTBOX_CLAIM_TIMEOUT", 120)
    OUTBOX_BACKOFF_BASE = _int("OUTBOX_BACKOFF_BASE", 30)
    OUTBOX_BACKOFF_CAP = _int("OUTBOX_BACKOFF_CAP", 3600)
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 12)
    #: Emails per second each sender hands to SMTP (the provider's limit, divided among the workers); 0: unpaced.
    MAIL_RATE_PER_SECOND = float(os.environ.get("MAIL_RATE_PER_SECOND", "0"))
    #: /healthz reports "outbox": "backlog" when a due message has waited longer than this (s); 0: never.
    #: It is reported, not a 503: slow mail must not take web servers out of a load balancer.
    OUTBOX_BACKLOG_SECONDS = _int("OUTBOX_BACKLOG_SECONDS", 900)
    #: The automatic messages (rsvp/automatic.py): the day-before reminder goes to rallies starting within
    #: REMINDER_HOURS, the day-of reminder DAYOF_REMINDER_HOURS before doors open (or the start), the
    #: thank-you and missed-you within AFTER_RALLY_HOURS of the end; the missed-you lists the campaign's
    #: rallies within MISSED_YOU_RADIUS_KM of the supporter's ZIP.
    REMINDER_HOURS = _int("REMINDER_HOURS", 36)
    DAYOF_REMINDER_HOURS = _int("DAYOF_REMINDER_HOURS", 3)
    AFTER_RALLY_HOURS = _int("AFTER_RALLY_HOURS", 24)
    MISSED_YOU_RADIUS_KM = _int("MISSED_YOU_RADIUS_KM", 80)

    # SMS (issue 13): Twilio when TWILIO_ACCOUNT_SID is set, else texts are written to instance/sms/*.txt.
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    #: The sending number (E.164), or a Messaging Service SID (which wins when both are set).
    TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
    TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
    #: Twilio's API base URL; only tests and benchmarks change it (to a local stand-in).
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "")
    #: Texts per second the sender hands to Twilio (a US long code takes 1).
    SMS_RATE_PER_SECOND = float(os.environ.get("SMS_RATE_PER_SECOND", "1"))
    SMS_TIMEOUT = float(os.environ.get("SMS_TIMEOUT", "10"))
    #: Region for phone numbers typed without a country code.
    SMS_DEFAULT_REGION = os.environ.get("SMS_DEFAULT_REGION", "US")
    #: The most texts one rally sends a supporter (ticket, day-before and day-of reminders, a change, a cancellation):
    #: the consent names it.
    SMS_MAX_TEXTS_PER_RALLY = _int("SMS_MAX_TEXTS_PER_RALLY", 5)
    #: Twilio's inbound webhook, per client address.
    RATELIMIT_SMS_INBOUND = os.environ.get("RATELIMIT_SMS_INBOUND", "120 per minute")

    PASSWORD_RESET_MAX_AGE = _int("PASSWORD_RESET_MAX_AGE", 3600)
    #: Seconds an emailed "confirm your address" link works.
    EMAIL_VERIFY_MAX_AGE = _int("EMAIL_VERIFY_MAX_AGE", 3 * 24 * 3600)
    #: Resending that link, per account (on top of RATELIMIT_AUTH per IP).
    RATELIMIT_VERIFY = os.environ.get("RATELIMIT_VERIFY", "3 per hour")
    #: Organizer messages sent or scheduled, per campaign (messaging/views.py).
    RATELIMIT_MESSAGES_CAMPAIGN = os.environ.get("RATELIMIT_MESSAGES_CAMPAIGN", "10 per hour")
    #: werkzeug's hashing method for new passwords (old hashes keep working whatever it is).
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    INVITE_MAX_AGE_DAYS = _int("INVITE_MAX_AGE_DAYS", 7)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    #: Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust.
    PROXY_FIX_HOPS = _int("PROXY_FIX_HOPS", 0)
    #: Strict-Transport-Security on HTTPS responses (HTTPS as seen after ProxyFix); 0 turns it off.
    #: Plain-HTTP responses never carry it, so local development over http is unaffected.
    HSTS_SECONDS = _int("HSTS_SECONDS", 31536000)
    HSTS_INCLUDE_SUBDOMAINS = _bool("HSTS_INCLUDE_SUBDOMAINS", False)
    HSTS_PRELOAD = _bool("HSTS_PRELOAD", False)


class TestingConfig(Config):
    """Used by the test suite: a throw-away database, no network, fast hashing."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    GEOCODER = "offline"
    BASE_URL = "http://localhost"
    SMTP_HOST = ""
    TWILIO_ACCOUNT_SID = ""  # texts go to instance/sms unless a test points Twilio at its stand-in
    TWILIO_AUTH_TOKEN = ""
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 (fast for tests; production uses scrypt)
