"""Where a change came from (QUALITY.md S16): the user, the login session or API token they came
in by, and the idempotency key of the request — recorded on every movement of the ledger.

The credential is recorded as a reference, never as itself: a login session by the first 16 hex
digits of its id's SHA-256 (the id is what the cookie carries, a secret), an API token by its
row id, a device (三断) by its row id. Each outlives the session, token or device it names.
"""

import contextlib
import hashlib
from contextvars import ContextVar

# The idempotency key of the request whose work is running (set by inventory/idempotency.py).
_request_key: ContextVar[str | None] = ContextVar("request_key", default=None)


@contextlib.contextmanager
def request_key(key: str | None):
    """Run the block as the work of the request sent with ``key``."""
    token = _request_key.set(key)
    try:
        yield
    finally:
        _request_key.reset(token)


def credential(actor) -> str | None:
    """How ``actor`` came in: "session:…", "token:…", "cli", or None when unknown."""
    if session_id := getattr(actor, "session_id", None):
        return "session:" + hashlib.sha256(session_id.encode()).hexdigest()[:16]
    if (token_id := getattr(actor, "api_token_id", None)) is not None:
        return f"token:{token_id}"
    if (device_id := getattr(actor, "device_id", None)) is not None:
        return f"device:{device_id}"
    if getattr(actor, "username", None) == "cli" and not hasattr(actor, "id"):
        return "cli"
    return None


def of(actor) -> dict:
    """The attribution columns of a change ``actor`` makes now."""
    return {"user_id": getattr(actor, "id", None), "credential": credential(actor),
            "idempotency_key": _request_key.get()}
