"""Idempotency keys: the same request sent twice (double tap, retry, offline replay) applies once.

An extension of the app (``extensions.idempotency``), applied at the edge: the API reads the key
from the ``Idempotency-Key`` header (``answer_api``), pages from the key every rendered form
carries (``submit_form``); both end in ``once``, which features never call themselves.

The key is claimed in the same transaction as the work, so either both exist or neither does; a
twin arriving while the first is still running waits on the key's unique index (PostgreSQL) or on
the write lock (SQLite), then gets the first answer.
"""

import hashlib
import json
import re

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from inventory import attribution
from inventory.db import db, execute, run_in_transaction
from inventory.errors import BadRequest, IdempotencyInProgress, IdempotencyMismatch
from inventory.stock.models import IdempotencyRecord

KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,100}")
# What a rendered form carries: uuid4().hex (stock/forms.py OnceForm).
FORM_KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


def fingerprint(*parts) -> str:
    """A digest of what makes two requests the same request."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Built once: every state-changing API request looks its key up, claims it and answers it.
_RECORDS = IdempotencyRecord.__table__
_LOOK_UP = sa.select(_RECORDS.c.fingerprint, _RECORDS.c.status, _RECORDS.c.body).where(
    _RECORDS.c.user_id == sa.bindparam("user_id"), _RECORDS.c.key == sa.bindparam("key"))
_CLAIM = sa.insert(_RECORDS).returning(_RECORDS.c.id)
_ANSWER = sa.update(_RECORDS).where(_RECORDS.c.id == sa.bindparam("record_id"))


def _stored(user_id: int, key: str):
    return execute(_LOOK_UP, {"user_id": user_id, "key": key}).first()


def _replay(record, digest: str) -> tuple[int, dict]:
    if record.fingerprint != digest:
        raise IdempotencyMismatch()
    return record.status, json.loads(record.body)


def replay(*, user, key: str, digest: str) -> tuple[int, dict] | None:
    """The answer (user, key) was given, if its work was done; raise IdempotencyMismatch when
    the key was used for another request."""
    record = _stored(user.id, key)
    if record is None or not record.status:
        return None
    return _replay(record, digest)


def once(*, user, key: str | None, digest: str, work) -> tuple[int, dict]:
    """Run ``work() -> (status, body)`` once per (user, key); later calls get its answer again.

    Without a key the work simply runs. Failed work stores nothing: a 4xx changed nothing, so the
    client may correct the request and send it again under the same key.
    """
    if key is None:
        return run_in_transaction(work)

    @attribution.request_key(key)
    def unit():
        if (record := _stored(user.id, key)) is not None:
            return _replay(record, digest)
        # Claim the key before doing anything else.
        claimed = execute(_CLAIM, {"user_id": user.id, "key": key, "fingerprint": digest,
                                   "status": 0, "body": ""}).scalar_one()
        status, body = work()
        execute(_ANSWER, {"record_id": claimed, "status": status,
                          "body": json.dumps(body, ensure_ascii=False)})
        return status, body

    try:
        return run_in_transaction(unit)
    except IntegrityError:
        # A twin with the same key committed while this one waited on the index.
        db.session.rollback()
        if (record := _stored(user.id, key)) is not None and record.status:
            return _replay(record, digest)
        raise IdempotencyInProgress() from None


class Idempotency:
    """The extension: a state-changing request, from a page or the API, answered once per key."""

    def init_app(self, app) -> None:
        app.extensions["idempotency"] = self

    def answer_api(self, user, work, body) -> tuple[int, dict]:
        """``work() -> (status, body)`` once per the request's Idempotency-Key (API.md, Conventions).

        ``body`` is the request's JSON (None when it sent none): it is part of what makes two
        requests the same one. Without a key the work simply runs.
        """
        key = request.headers.get("Idempotency-Key")
        if key is not None and not KEY_PATTERN.fullmatch(key):
            raise BadRequest(_("Idempotency-Key 应为 1–100 个可见 ASCII 字符"))
        digest = fingerprint(request.method, request.path, body)
        return once(user=user, key=key, digest=digest, work=work)

    def submit_form(self, user, key: str | None, work) -> str:
        """Run ``work() -> url`` once for this rendered form; a resent form gets the same url."""
        if key is not None and not FORM_KEY_PATTERN.fullmatch(key):
            raise BadRequest()
        fields = sorted((name, value) for name, value in request.form.items(multi=True)
                        if name not in ("csrf_token", "idempotency_key"))
        digest = fingerprint(request.endpoint, request.view_args, fields)
        _status, body = once(user=user, key=key, digest=digest,
                             work=lambda: (303, {"location": work()}))
        return body["location"]
