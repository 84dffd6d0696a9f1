"""同步: what a phone recorded offline, applied in the order it was recorded — each operation in
its own transaction through the service its endpoint calls, and under its key, so that a key is
applied at most once whichever way it arrives (here, or the endpoint's own Idempotency-Key).

What cannot be applied as it stands is never dropped: goods handed out that the books did not
have, a label the server does not know, rights that changed since it was recorded, a count made
against a snapshot the item has moved since, anything a lost phone sends — each is held as a
SyncConflict for a manager, who applies it (with the count correction that makes it possible)
or rejects it. Later operations on the same goods in the same batch wait (``deferred``) rather
than fail against a state the keeper never saw; one bad record never blocks the others.
"""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from inventory import clock
from inventory.attribution import credential
from inventory.audit.models import AuditEntry
from inventory.audit.services import record_updated
from inventory.auth.access import authorize
from inventory.db import db, run_in_transaction, several_units, transactional
from inventory.errors import (
    DomainError,
    Forbidden,
    IdempotencyInProgress,
    InsufficientStock,
    InvalidState,
    NotFound,
    ValidationError,
)
from inventory.idempotency import KEY_PATTERN, fingerprint, once, replay
from inventory.offline.models import SyncConflict
from inventory.offline.schemas import OPERATION, RESOLUTION, SYNC
from inventory.sites.models import Site
from inventory.stock import services as stock
from inventory.stock.models import Issue, Movement, StockItem, Transfer
from inventory.stocktakes.models import Stocktake
from inventory.validation import load

API_PREFIX = "/api/v1"
RESULTS = ("applied", "duplicate", "conflict", "rejected", "deferred")
MAX_ROW_ID = 2**31 - 1


@dataclass(frozen=True)
class Kind:
    """How one kind of operation is applied: exactly as its endpoint would be."""

    path: Callable[[dict], str]        # the endpoint's path under API_PREFIX, for this body
    body: Callable[[dict], dict]       # the body that endpoint takes
    run: Callable[..., object]         # (actor, the operation's body) → what the endpoint answers …
    answer: Callable[[object], dict]   # … as the endpoint's JSON
    status: int


def error_detail(error: DomainError) -> dict:
    """An error as API.md's error object has it."""
    detail = {"code": error.code, "message": error.message}
    if error.details is not None:
        detail["details"] = error.details
    return detail


def is_row_id(value) -> bool:
    """Whether ``value`` could name a row: an integer column holds 1 … 2³¹ − 1."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def labels_of(kind: str, body: dict) -> set[str]:
    """The labels an operation touches: later ones on the same goods wait for it."""
    if kind in ("adjustment", "count"):
        label = body.get("label")
        return {label} if isinstance(label, str) else set()
    lines = body.get("lines") if isinstance(body.get("lines"), list) else []
    return {line["label"] for line in lines if isinstance(line, dict) and isinstance(line.get("label"), str)}


def site_of(kind: str, body: dict) -> Site | None:
    """The site an operation took place at, when it can be told: whose manager sees it held."""
    if isinstance(body.get("site"), str):
        return db.session.scalar(sa.select(Site).where(Site.code == body["site"]))
    if kind == "transfer_receive" and isinstance(body.get("number"), str):
        transfer = db.session.scalar(sa.select(Transfer).where(Transfer.number == body["number"]))
        return transfer.to_site if transfer is not None else None
    if kind == "return" and isinstance(body.get("issue"), str):
        issue = db.session.scalar(sa.select(Issue).where(Issue.number == body["issue"]))
        return issue.site if issue is not None else None
    if kind == "count" and is_row_id(body.get("stocktake")):
        stocktake = db.session.get(Stocktake, body["stocktake"])
        return stocktake.site if stocktake is not None else None
    for label in sorted(labels_of(kind, body)):
        if (item := db.session.scalar(sa.select(StockItem).where(StockItem.label == label))) is not None:
            return item.site
    return None


def _labels_only(error: ValidationError) -> bool:
    """The error names only labels (unknown, not visible, or the item is elsewhere)."""
    fields = error.details if isinstance(error.details, dict) else {}
    return bool(fields) and all(name == "label" or name.endswith(".label") for name in fields)


def sync(*, actor, data, kinds: dict[str, Kind]) -> list[dict]:
    """Apply ``data["operations"]`` in order; answer one result per operation (API.md)."""
    operations = load(SYNC, data)["operations"]
    several_units()  # one unit of work per operation, by design
    waiting: set[str] = set()  # labels of goods an operation of this batch left unapplied
    return [_apply(actor, raw, kinds, waiting) for raw in operations]


def _apply(actor, raw: dict, kinds: dict[str, Kind], waiting: set[str]) -> dict:
    key = raw.get("key")
    try:
        operation = load(OPERATION, raw)
        if not KEY_PATTERN.fullmatch(operation["key"]):
            raise ValidationError({"key": _("操作键应为 1–100 个可见 ASCII 字符")})
    except ValidationError as error:
        return _result(key if isinstance(key, str) else None, "rejected", detail=error_detail(error))
    key, kind_name, body = operation["key"], operation["kind"], operation["body"]
    kind = kinds[kind_name]
    endpoint_body = kind.body(body)
    digest = fingerprint("POST", API_PREFIX + kind.path(body), endpoint_body)
    try:
        # Applied before (here, through the endpoint, or by a manager): its first answer. A twin
        # applying it at this very moment is answered by once() below, the same answer.
        if (replayed := replay(user=actor, key=key, digest=digest)) is not None:
            return _result(key, "duplicate", answer=replayed[1])
    except DomainError as error:  # the key was used for another operation
        return _result(key, "rejected", detail=error_detail(error))
    held = db.session.scalar(sa.select(SyncConflict).where(SyncConflict.user_id == actor.id,
                                                           SyncConflict.key == key))
    if held is not None:
        return _held_result(held)
    labels = labels_of(kind_name, body)
    if labels & waiting:
        return _result(key, "deferred", detail={"code": "deferred",
                                                "message": _("同一物资的前一条记录尚未入账，稍后重试")})
    if getattr(actor, "device_lost", False):
        return _hold(actor, operation, "lost_device",
                     {"code": "forbidden", "message": _("设备已挂失，记录待管理员审核")}, waiting)
    if kind_name == "count" and _moved_since(labels, operation.get("position"), actor):
        # The count is measured against the books as they are when it is booked: they moved
        # after the snapshot, other than by this phone, so they are no longer what it counted
        # against.
        return _hold(actor, operation, "snapshot_moved", {"code": "snapshot_moved", "message": _(
            "清点后该物资的账面已有变动：请复盘，或由管理员确认后入账")}, waiting)
    try:
        _status, answer = once(user=actor, key=key, digest=digest,
                               work=lambda: (kind.status, kind.answer(kind.run(actor, body))))
    except InsufficientStock as error:
        return _hold(actor, operation, "stock_short", error_detail(error), waiting)
    except Forbidden as error:
        # Held only when the keeper's rights changed after it was recorded (they did it when
        # they were allowed to): a refusal of what they never could do is just that.
        if _rights_changed_since(actor, operation["recorded_at"]):
            return _hold(actor, operation, "rights", error_detail(error), waiting)
        return _result(key, "rejected", detail=error_detail(error))
    except ValidationError as error:
        # A label that exists nowhere (a slip mistyped, a receipt not synced yet) is held; one
        # the keeper may not see is refused like any other label of another site.
        if _labels_only(error) and not _any_exists(labels):
            return _hold(actor, operation, "unknown_label", error_detail(error), waiting)
        return _result(key, "rejected", detail=error_detail(error))
    except IdempotencyInProgress as error:
        return _result(key, "deferred", detail=error_detail(error))
    except InvalidState as error:
        if kind_name == "transfer_receive":  # the transfer may not be on the road yet
            return _result(key, "deferred", detail=error_detail(error))
        return _result(key, "rejected", detail=error_detail(error))
    except DomainError as error:
        return _result(key, "rejected", detail=error_detail(error))
    return _result(key, "applied", answer=answer)


def _result(key, status: str, *, detail=None, answer=None) -> dict:
    return {"key": key, "status": status, "detail": detail, "answer": answer}


def _any_exists(labels: set[str]) -> bool:
    return bool(labels) and db.session.scalar(
        sa.select(StockItem.id).where(StockItem.label.in_(sorted(labels))).limit(1)) is not None


def _moved_since(labels: set[str], position: int | None, actor) -> bool:
    """Whether any of these labels' items has a movement after ledger position ``position`` that
    the actor's phone did not make itself (those it knows of: they were in its outbox)."""
    if position is None or not labels:
        return False
    own = credential(actor)
    return db.session.scalar(
        sa.select(Movement.id).join(StockItem, Movement.item_id == StockItem.id)
        .where(StockItem.label.in_(sorted(labels)), Movement.id > position,
               *(() if own is None else (sa.or_(Movement.credential.is_(None), Movement.credential != own),)))
        .limit(1)) is not None


def _rights_changed_since(user, moment) -> bool:
    """Whether the audit log holds a change of ``user``'s role or sites after ``moment``."""
    changes = db.session.scalars(sa.select(AuditEntry.changes).where(
        AuditEntry.entity == "user", AuditEntry.entity_key == user.username, AuditEntry.at > moment))
    return any({"role", "sites"} & set(change) for change in changes)


def _hold(actor, operation: dict, reason: str, detail: dict, waiting: set[str]) -> dict:
    """Keep the operation for a manager (its own unit), and let later ones on its goods wait."""
    waiting |= labels_of(operation["kind"], operation["body"])

    def hold():
        db.session.add(SyncConflict(
            key=operation["key"], user_id=actor.id, device_id=getattr(actor, "device_id", None),
            site=site_of(operation["kind"], operation["body"]), kind=operation["kind"], body=operation["body"],
            recorded_at=operation["recorded_at"], reason=reason, detail=detail))

    try:
        run_in_transaction(hold)
    except IntegrityError:  # a twin of this batch held it first
        db.session.rollback()
    return _result(operation["key"], "conflict", detail=detail)


def _held_result(conflict: SyncConflict) -> dict:
    """What a held operation's key answers when it comes again, not applied (an applied one's
    key answers as applied keys do)."""
    if conflict.status == "rejected":
        return _result(conflict.key, "rejected", detail={
            "code": "rejected", "message": _("管理员已驳回：%(note)s", note=conflict.note)})
    return _result(conflict.key, "conflict", detail=conflict.detail)


# --- a manager's resolution ----------------------------------------------------------------------

def _conflict(actor, conflict_id: int) -> SyncConflict:
    conflict = db.session.get(SyncConflict, conflict_id)
    if conflict is None:
        raise NotFound(_("待处理记录 %(id)s 不存在", id=conflict_id))
    authorize(actor, "sync.resolve", conflict.site)
    return conflict


@transactional
def resolve(*, actor, conflict_id: int, data: dict, kinds: dict[str, Kind]) -> SyncConflict:
    """处理: ``reject`` it, or ``apply_with_correction`` — book first the count correction that
    makes it possible (for goods handed out that the books did not have: + the shortfall of each
    short line, reason 盘点更正), then apply it under its key, on the manager's authority, all in
    this one transaction."""
    fields = load(RESOLUTION, data)
    conflict = _conflict(actor, conflict_id)
    # Two managers at once: the second finds it resolved.
    db.session.execute(sa.select(SyncConflict.id).where(SyncConflict.id == conflict.id).with_for_update())
    db.session.refresh(conflict, ["status"])
    if conflict.status != "open":
        raise InvalidState(_("该记录已处理"))
    before = {"status": conflict.status}
    if fields["action"] == "apply_with_correction":
        kind = kinds[conflict.kind]
        digest = fingerprint("POST", API_PREFIX + kind.path(conflict.body), kind.body(conflict.body))
        # The keeper may have sent it through its endpoint since, once the stock was there: then
        # it is applied already, and nothing is corrected for it.
        if replay(user=conflict.user, key=conflict.key, digest=digest) is None:
            if conflict.reason == "stock_short":
                _book_correction(actor, conflict)
            once(user=conflict.user, key=conflict.key, digest=digest,
                 work=lambda: (kind.status, kind.answer(kind.run(actor, conflict.body))))
    conflict.status = "applied" if fields["action"] == "apply_with_correction" else "rejected"
    conflict.note, conflict.resolved_by_id, conflict.resolved_at = fields["note"], actor.id, clock.now()
    record_updated(actor=actor, entity="sync_conflict", key=str(conflict.id), before=before,
                   after={"status": conflict.status, "note": conflict.note})
    return conflict


def _book_correction(actor, conflict: SyncConflict) -> None:
    """+ what each short line lacked, on its labelled item (reason 盘点更正)."""
    lines = conflict.body.get("lines") if conflict.kind != "adjustment" else [conflict.body]
    for short in (conflict.detail.get("details") or []):
        line = lines[short["line"]] if isinstance(lines, list) and short["line"] < len(lines) else None
        if not isinstance(line, dict) or not isinstance(line.get("label"), str):
            raise ValidationError({"action": _("该记录按物资发放，无法自动更正：请盘点后重新办理，或驳回")})
        stock.adjust(actor=actor, data={
            "label": line["label"], "delta": short["requested"] - short["available"],
            "reason": "count_correction", "note": _("离线记录 %(key)s 入账前更正", key=conflict.key)})
