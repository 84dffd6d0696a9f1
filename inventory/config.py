"""Configuration read from the environment, with defaults that are safe on a bare machine."""

import datetime as dt
import os
import secrets
from pathlib import Path


def default_instance_path() -> Path:
    return Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


def load_secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, else the one kept in instance/, made on first start."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when several workers start at once, exactly one writes the key and all read it.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def from_environment() -> dict:
    """Build the configuration mapping from environment variables."""
    instance_path = default_instance_path()
    public_base_url = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    over_https = public_base_url.startswith("https://")
    return {
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance_path / 'inventory.db'}"
        ),
        "PUBLIC_BASE_URL": public_base_url,
        "BABEL_DEFAULT_LOCALE": os.environ.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"),
        # Cookies are marked Secure whenever the public address is HTTPS (production behind TLS).
        "SESSION_COOKIE_SECURE": over_https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "__Host-session" if over_https else "session",
        "HSTS": over_https,
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "30")),
        # A loan given no due date is due back this many days after it went out.
        "LOAN_DAYS": int(os.environ.get("LOAN_DAYS", "30")),
        # The issuing unit named at the head of every printed document (发放单, 入库单, 调拨单…).
        "ORGANIZATION_NAME": os.environ.get("ORGANIZATION_NAME", "高台县应急管理局"),
        # A receipt of countable boxes offers one label per unit up to this many.
        "LABEL_COPIES_LIMIT": int(os.environ.get("LABEL_COPIES_LIMIT", "200")),
        # Every active site needs an approved full stocktake this often (季度盘点); it is listed as
        # due this many days before.
        "STOCKTAKE_INTERVAL_DAYS": int(os.environ.get("STOCKTAKE_INTERVAL_DAYS", "92")),
        "STOCKTAKE_DUE_SOON_DAYS": int(os.environ.get("STOCKTAKE_DUE_SOON_DAYS", "14")),
        # Review highlights a variance of at least this share of the books (and any missing or
        # unbooked goods).
        "STOCKTAKE_VARIANCE_PERCENT": int(os.environ.get("STOCKTAKE_VARIANCE_PERCENT", "5")),
        # Persons per household for a per-household relief kit at a site whose population or
        # households are not known: Gaotai's average (reference/norms-default.md).
        "DISPATCH_PERSONS_PER_HOUSEHOLD": float(os.environ.get("DISPATCH_PERSONS_PER_HOUSEHOLD", "2.29")),
        # How long a login lasts on a phone; Flask's own default (31 days) is not ours.
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(days=int(os.environ.get("SESSION_DAYS", "14"))),
        "LOGIN_FAILURES_PER_ACCOUNT": int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "10")),
        "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "50")),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "15")),
        "LABEL_MISSES_PER_USER": int(os.environ.get("LABEL_MISSES_PER_USER", "100")),
        "LABEL_MISS_WINDOW_MINUTES": int(os.environ.get("LABEL_MISS_WINDOW_MINUTES", "15")),
        # Shared by every worker of the machine (inventory/guessing.py).
        "LABEL_MISS_FILE": os.environ.get("LABEL_MISS_FILE", str(instance_path / "label-misses.sqlite")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # An import books this many rows per batch of statements (its progress moves on as often).
        "IMPORT_CHUNK_ROWS": int(os.environ.get("IMPORT_CHUNK_ROWS", "5000")),
        # Background jobs run at once, in the request, instead of in the consumer (tests).
        "JOBS_IMMEDIATE": os.environ.get("JOBS_IMMEDIATE") == "1",
        # Field work on a bad connection: a form may stay open for a whole shift.
        "WTF_CSRF_TIME_LIMIT": 12 * 3600,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLITE_BUSY_TIMEOUT_MS": int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "15000")),
    }
