"""Safe defaults only. Everything environment-specific comes from MATCHMAKER_* variables."""
from datetime import timedelta


class Defaults:
    DATABASE_URL = None  # resolved in create_app: a SQLite file under instance/
    REDIS_URL = None  # None: in-process fallbacks (rate limits in memory, jobs in a thread)
    JOBS_BACKEND = "auto"  # auto: RQ when REDIS_URL is set, else a thread; tests: inline
    JOBS_QUEUE = "matchmaker"  # the RQ queue name (and key prefix of its Redis keys)
    # processes ranking a `match --all` part: None = every core when jobs run in this process
    # (forked children rank while this process writes), 1 on RQ workers; 1 = never fork
    MATCH_PROCESSES = None
    # the busiest pages are served from Redis while nothing they read changed (web/pagecache.py);
    # only with REDIS_URL. Seconds a stored page is kept at most
    PAGE_CACHE = True
    PAGE_CACHE_SECONDS = 300
    LOG_LEVEL = "INFO"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    WTF_I18N_ENABLED = True
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024  # uploads above 20 MB answer 413
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # registration answers the same whoever is registered; the account works once the link
    # mailed to it is opened (issue 19). Off: the account works at once (the suite's default)
    REGISTRATION_CONFIRM_BY_MAIL = True
    # audit entries and revoked consents are deleted by the retention.prune job after this
    # many days (at least 183: six months; the database refuses younger audit deletes)
    RETENTION_DAYS = 366
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"  # per address
    # per account (the e-mail typed, registered or not: the same answer either way), counting
    # failed attempts only, from any address: growing waits, the longest an hour
    LOGIN_ACCOUNT_LIMIT = "5 per minute;10 per 10 minutes;20 per hour"
    INVITATION_HOURS = 72
    PASSWORD_RESET_HOURS = 2
    MAIL_SERVER = None  # None: mail goes to instance/outbox/*.eml
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_SENDER = "noreply@matchmaker.local"
    PAGE_SIZE = 20
    BASE_URL = None  # MATCHMAKER_BASE_URL: absolute links in mail sent outside a request
    PROXY_HOPS = 0  # MATCHMAKER_PROXY_HOPS=1 behind one reverse proxy (nginx)
