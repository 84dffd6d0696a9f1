"""Working offline 三断 (API.md): devices, a site's snapshot, sync and the operations it held."""

import hashlib
import json

from flask import Response, g, request
from flask_babel import gettext as _

from inventory import clock
from inventory.api.alerts import LOAN
from inventory.api.core import choice_arg, json_body, site_arg
from inventory.api.documents import ISSUE_ANSWER, RETURN_ANSWER, TRANSFER_ANSWER
from inventory.api.routes import SITE, Page, choice, route
from inventory.api.shapes import SELF, Bool, Choice, Int, IsoDateTime, Json, ListOf, Shape, Str
from inventory.api.stock import MOVEMENT, RECEIPT_ANSWER, STOCK_ITEM
from inventory.api.stocktakes import COUNT_ANSWER, STOCKTAKE
from inventory.auth.access import authorize
from inventory.errors import NotFound, ValidationError
from inventory.offline import queries, services, sync
from inventory.offline.models import CONFLICT_REASONS, CONFLICT_STATUSES, DEVICE_STATUSES, SYNC_KINDS
from inventory.offline.schemas import DEVICE, RESOLUTION, SYNC
from inventory.sites.services import get_site
from inventory.stock import services as stock
from inventory.stock import transfers
from inventory.stocktakes import services as stocktakes
from inventory.validation import String

DEVICE_ANSWER = Shape({
    "id": Int(), "name": Str(), "user": Str("user.username"), "status": Choice(DEVICE_STATUSES),
    "created_at": IsoDateTime(), "last_used_at": IsoDateTime(),
    "expires_at": IsoDateTime(description="30 天未使用即失效"),
}, name="Device")
REGISTERED = Shape({
    "id": Int(lambda pair: pair[1].id), "name": Str(lambda pair: pair[1].name),
    "token": Str(lambda pair: pair[0], description="设备令牌，仅此一次返回；同步与快照请求的 Bearer 令牌"),
    "expires_at": IsoDateTime(lambda pair: pair[1].expires_at),
}, name="RegisteredDevice")
OFFLINE_ITEM = STOCK_ITEM.extend({
    "name": Str("material.name"), "unit": Str("material.unit"), "spec": Str("material.spec"),
    "tracking": Str("material.tracking"), "returnable": Bool("material.returnable"),
}, name="OfflineItem")
SNAPSHOT = Shape({
    "site": Str("site.code"), "site_name": Str("site.name"),
    "taken_at": IsoDateTime(), "position": Int(minimum=0, description="快照时台账的最后一条记录号"),
    "items": ListOf(OFFLINE_ITEM), "loans": ListOf(LOAN),
    "incoming_transfers": ListOf(TRANSFER_ANSWER),
    "stocktakes": ListOf(STOCKTAKE, description="正在清点的盘点单"),
}, by_key=True, name="SiteSnapshot")
RESULT = Shape({
    "key": Str(nullable=True, description="操作键；无法读出时为 null"),
    "status": Choice(sync.RESULTS),
    "detail": Json(nullable=True, description="错误对象（conflict、rejected、deferred）"),
    "answer": Json(nullable=True, description="对应接口的答复（applied、duplicate）"),
}, by_key=True, name="SyncResult")
SYNC_ANSWER = Shape({"results": ListOf(RESULT, SELF, description="与提交顺序一致")}, name="SyncAnswer")
CONFLICT = Shape({
    "id": Int(), "key": Str(), "kind": Choice(SYNC_KINDS), "body": Json(), "reason": Choice(CONFLICT_REASONS),
    "detail": Json(), "site": Str("site.code", nullable=True), "user": Str("user.username"),
    "device": Str("device.name", nullable=True), "recorded_at": IsoDateTime(), "received_at": IsoDateTime(),
    "status": Choice(CONFLICT_STATUSES), "note": Str(),
    "resolved_by": Str("resolved_by.username", nullable=True), "resolved_at": IsoDateTime(nullable=True),
}, name="SyncConflict")
SITE_CODE = {"code": String(max_length=40, description="站点编码")}
DEVICE_PATH = "/devices/<int(max=2147483647):device_id>"
CONFLICT_PATH = "/sync/conflicts/<int(max=2147483647):conflict_id>"


# --- how each kind of operation is applied: as its endpoint is ----------------------------------

def _number(body: dict) -> str:
    """The transfer a ``transfer_receive`` names, or 422."""
    number = body.get("number")
    if not isinstance(number, str) or not 0 < len(number) <= 40:
        raise ValidationError({"body.number": _("必填") if number is None else _("格式有误")})
    return number


def _stocktake(body: dict) -> int:
    """The stocktake a ``count`` names (404 when no row could be it), or 422."""
    stocktake = body.get("stocktake")
    if not isinstance(stocktake, int) or isinstance(stocktake, bool) or stocktake < 1:
        raise ValidationError({"body.stocktake": _("必填") if stocktake is None else _("格式有误")})
    if not sync.is_row_id(stocktake):
        raise NotFound(_("盘点单不存在"))
    return stocktake


def _rest(body: dict, name: str) -> dict:
    return {key: value for key, value in body.items() if key != name}


def _endpoint(path: str, service, shape: Shape, status: int = 201) -> sync.Kind:
    """A kind whose body is the endpoint's own."""
    return sync.Kind(path=lambda body: path, body=dict, run=lambda actor, body: service(actor=actor, data=body),
                     answer=shape.dump, status=status)


KINDS = {
    "receipt": _endpoint("/receipts", stock.receive, RECEIPT_ANSWER),
    "issue": _endpoint("/issues", stock.issue, ISSUE_ANSWER),
    "return": _endpoint("/returns", stock.return_items, RETURN_ANSWER),
    "adjustment": _endpoint("/adjustments", stock.adjust, MOVEMENT),
    # {"number", …the receive body}
    "transfer_receive": sync.Kind(
        path=lambda body: f"/transfers/{body.get('number')}/receive", body=lambda body: _rest(body, "number"),
        run=lambda actor, body: transfers.receive_transfer(actor=actor, number=_number(body),
                                                           data=_rest(body, "number")),
        answer=TRANSFER_ANSWER.dump, status=200),
    # {"stocktake", "label", "counted"}
    "count": sync.Kind(
        path=lambda body: f"/stocktakes/{body.get('stocktake')}/counts",
        body=lambda body: _rest(body, "stocktake"),
        run=lambda actor, body: stocktakes.record_count(actor=actor, stocktake_id=_stocktake(body),
                                                         data=_rest(body, "stocktake")),
        answer=COUNT_ANSWER.dump, status=201),
}


# --- devices -------------------------------------------------------------------------------------

@route.post("/devices", "登记本机：离线同步用的设备令牌", body=DEVICE, answers=REGISTERED, status=201,
            idempotent=True)
def register_device():
    """A token for this phone, bound to the caller; it expires after 30 days unused. Only its
    digest is kept: the token is in this answer once."""
    return services.register_device(actor=g.api_user, data=json_body())


@route.get("/devices", "设备列表（本人的；管理员看到全部）", answers=Page(DEVICE_ANSWER), errors=(401, 422))
def list_devices():
    """Newest first."""
    return queries.devices(g.api_user)


@route.delete(DEVICE_PATH, "注销设备：其令牌此后答复 401", errors=(401, 404, 409))
def revoke_device(device_id):
    """Own devices, or any for an admin; the phone keeps what it has not synced."""
    services.revoke_device(actor=g.api_user, device_id=device_id)


@route.post(f"{DEVICE_PATH}/lost", "挂失设备：下次联网时清除其数据，之后所交记录待审核（管理员）",
            answers=DEVICE_ANSWER, errors=(401, 403, 404, 409))
def mark_device_lost(device_id):
    """Its next request is answered with ``Clear-Site-Data``; whatever it syncs is held."""
    return services.mark_lost(actor=g.api_user, device_id=device_id)


# --- snapshot and sync ---------------------------------------------------------------------------

@route.get("/sites/<code>/snapshot", "站点快照：离线工作所需的库存、借用、在途调拨与盘点",
           params=SITE_CODE, answers=SNAPSHOT, errors=(401, 403, 404))
def site_snapshot(code):
    """With an ``ETag``: ``If-None-Match`` with the current one → 304, nothing sent again."""
    body = SNAPSHOT.dump({**queries.snapshot(g.api_user, get_site(code)), "taken_at": clock.now()})
    unchanged = {key: value for key, value in body.items() if key != "taken_at"}
    etag = hashlib.sha256(json.dumps(unchanged, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@route.post("/sync", "同步离线记录：每条独立入账，按提交顺序逐条答复", body=SYNC, answers=SYNC_ANSWER,
            errors=(400, 401, 422))
def sync_operations():
    """At most 100 operations, in the order recorded. Each is applied at most once under its
    ``key`` — here or through its endpoint's Idempotency-Key; a record the server cannot apply
    as it stands is held for a manager (``conflict``), never dropped."""
    return sync.sync(actor=g.api_user, data=json_body(), kinds=KINDS)


@route.get("/sync/conflicts", "待处理的离线记录（管理员，限于其站点范围）",
           query=(SITE, choice("status", "状态", CONFLICT_STATUSES)), answers=Page(CONFLICT),
           errors=(401, 403, 422))
def list_conflicts():
    """Oldest first; ``?site=`` keeps a site and its sub-sites."""
    authorize(g.api_user, "sync.resolve")
    site = site_arg()
    if site is not None:
        authorize(g.api_user, "sync.resolve", site)
    return queries.conflicts(g.api_user, site=site, status=choice_arg("status", CONFLICT_STATUSES))


@route.post(f"{CONFLICT_PATH}/resolve", "处理待审核的离线记录：更正后入账，或驳回",
            body=RESOLUTION, answers=CONFLICT, idempotent=True)
def resolve_conflict(conflict_id):
    """``apply_with_correction`` books first the count correction that makes it possible, then
    applies it, in one transaction; ``reject`` keeps it, refused, with the note."""
    return sync.resolve(actor=g.api_user, conflict_id=conflict_id, data=json_body(), kinds=KINDS)
