"""灾情调度 (API.md "Incidents and dispatch"): incidents, requests from affected sites, the plan
that answers a request, its approval into transfers, relief kits and the road-time table.

Scope is the services': a keeper reads and asks only for their own sites (403 otherwise), a
viewer reads and writes nothing (403); incidents and kits are read by everyone. Every POST that
makes or changes a record runs under the request's Idempotency-Key: the command platform resends
what it is not sure arrived, and a resent approval must not send the goods twice.
"""

from flask import g, request

from inventory.api.core import MAX_ID, choice_arg, existing_id, flag_arg, json_body
from inventory.api.routes import Body, Page, choice, flag, route
from inventory.api.shapes import SELF, Bool, Choice, Int, IsoDateTime, ListOf, Number, Shape, Str
from inventory.dispatch import kits, planning, queries, roads, services
from inventory.dispatch.models import KIT_BASES, REQUEST_STATUSES, STATUSES, TYPES
from inventory.dispatch.schemas import (
    APPROVAL,
    INCIDENT,
    INCIDENT_CHANGES,
    KIT,
    NEEDS,
    OWNER_APPROVAL,
    PLANNING,
    REQUEST,
)
from inventory.validation import Object, String, load

AREA = Shape({
    "site": Str("site.code"),
    "affected_people": Int(minimum=0, description="受灾人口"),
    "displaced_people": Int(minimum=0, description="紧急转移安置人数"),
}, name="IncidentArea")

INCIDENT_ANSWER = Shape({
    "id": Int(), "name": Str(), "type": Choice(TYPES), "level": Int(minimum=1, description="响应级别 1–4"),
    "started_at": IsoDateTime(), "status": Choice(STATUSES),
    "areas": ListOf(AREA, description="受灾区域"),
    "cut_off_sites": ListOf(Str("code"), description="断路站点：可申报需求，从不作为调出站点"),
    "note": Str(), "version": Int(minimum=1, description="修改时回传，已被他人修改则 409"),
    "created_at": IsoDateTime(), "closed_at": IsoDateTime(nullable=True),
}, name="Incident")

LINE = Shape({"material": Str("material.code"), "quantity": Int(minimum=1)}, name="RequestLine")
UNMET_LINE = Shape({"material": Str(lambda pair: pair[0].code),
                    "quantity": Int(lambda pair: pair[1], minimum=1)}, name="UnmetLine")
ALLOCATION_ANSWER = Shape({
    "from_site": Str("from_site.code"), "material": Str("material.code"), "quantity": Int(minimum=1),
    "distance_km": Number(nullable=True, description="大圆距离（公里）；站点无坐标时为 null"),
    "minutes": Int(nullable=True, description="路程（分钟），已导入路程表时"),
    "owner": Str(description="物资所有者：bureau 为局方，其他为上级前置物资"),
    "transfer": Str("transfer.number", nullable=True, description="批准后承运的调拨单号"),
}, name="Allocation")
OWNER_APPROVAL_ANSWER = Shape({
    "id": Int(), "request": Int("request_id"), "owner": Str(), "approved_by": Str(),
    "approved_at": IsoDateTime(), "reference": Str(),
}, name="OwnerApproval")

REQUEST_ANSWER = Shape({
    "id": Int(), "incident": Int("incident_id"), "to_site": Str("to_site.code"),
    "status": Choice(REQUEST_STATUSES), "note": Str(), "allow_below_norm": Bool(),
    "created_at": IsoDateTime(), "created_by": Str("created_by.username", nullable=True),
    "planned_at": IsoDateTime(nullable=True), "approved_at": IsoDateTime(nullable=True),
    "version": Int(minimum=1, description="批准时回传，方案已被重新生成则 409"),
    "lines": ListOf(LINE),
}, name="Request")
REQUEST_DETAIL = REQUEST_ANSWER.extend({
    "allocations": ListOf(ALLOCATION_ANSWER, description="当前方案；未生成方案为 []"),
    "unmet": ListOf(UNMET_LINE, planning.unmet, description="申报数减已分配数，仅列大于 0 的"),
    "owner_approvals": ListOf(OWNER_APPROVAL_ANSWER),
}, name="RequestDetail")
PLAN_ANSWER = Shape({
    "id": Int(), "status": Choice(REQUEST_STATUSES),
    "allocations": ListOf(ALLOCATION_ANSWER, description="就近优先：路程表或大圆距离"),
    "unmet": ListOf(UNMET_LINE, planning.unmet, description="无法满足的数量"),
    "version": Int(minimum=1),
}, name="Plan")
APPROVAL_ANSWER = Shape({
    "transfers": ListOf(Str("number"), SELF, description="每个调出站点一张调拨单，已发出"),
}, name="ApprovalResult")
NEEDS_ANSWER = Shape({
    "lines": ListOf(Shape({"material": Str(), "quantity": Int(minimum=0)}, by_key=True), SELF),
}, name="Needs")

KIT_ANSWER = Shape({
    "id": Int(), "name": Str(), "basis": Choice(KIT_BASES), "note": Str(), "active": Bool(),
    "lines": ListOf(Shape({"material": Str("material.code"), "quantity": Number()})),
}, name="Kit")
ROAD_TIME = Shape({
    "from_site": Str(), "from_name": Str(), "to_site": Str(), "to_name": Str(),
    "minutes": Int(nullable=True, minimum=0, description="断路时可为 null"), "cut": Bool(description="断路"),
}, name="RoadTime", by_key=True)
ROAD_TIMES_CSV = Object({"csv": String(max_length=2_000_000, multiline=True, required=True,
                                       description="CSV 文本：from_site,to_site,minutes,cut（首行为表头）")})
ROAD_TIMES_LOADED = Shape({"loaded": Int(SELF, minimum=0, description="导入的站点对数")},
                          name="RoadTimesLoaded")

# Paths of one method refuse an id past what the column holds in the converter (404). Where one
# path takes several methods, Werkzeug answers such an id with 405 for all but the first method,
# so those paths take any integer and ``existing_id`` turns one too large into 404 (as norms do).
INCIDENT_PATH = "/incidents/<int:incident_id>"
REQUEST_PATH = f"/requests/<int(max={MAX_ID}):request_id>"
KIT_PATH = "/kits/<int:kit_id>"
READ_ERRORS = (401, 403, 404)


def _optional_body() -> dict:
    return json_body() if request.get_data() else {}


# --- incidents -----------------------------------------------------------------------------------

@route.post("/incidents", "立案：新的灾情事件（调度员、管理员）", body=INCIDENT, answers=INCIDENT_ANSWER,
            status=201, idempotent=True)
def open_incident():
    """``areas`` are site codes; ``people`` gives an area's 受灾人口 and 紧急转移安置人数 (its site
    counts as an area too). Unknown sites or a level outside 1–4 → 422."""
    return services.open_incident(actor=g.api_user, data=json_body())


@route.get("/incidents", "灾情事件列表", query=(choice("status", "状态", STATUSES),),
           answers=Page(INCIDENT_ANSWER), errors=(401, 403, 422))
def list_incidents():
    """Open ones first, each group newest first; incidents are read by everyone."""
    return queries.incidents(status=choice_arg("status", STATUSES))


@route.get(INCIDENT_PATH, "一个灾情事件", answers=INCIDENT_ANSWER, errors=READ_ERRORS)
def get_incident(incident_id):
    """Incidents are read by everyone; their requests only by those in scope."""
    return services.get_incident(existing_id(incident_id))


@route.patch(INCIDENT_PATH, "修改灾情事件（只改所给字段）", body=Body(INCIDENT_CHANGES).changes(),
             answers=INCIDENT_ANSWER, errors=(400, 401, 403, 404, 409, 422))
def update_incident(incident_id):
    """With ``version``: refused (409 invalid_state) when someone changed it since. A closed
    incident → 409."""
    return services.update_incident(actor=g.api_user, incident_id=existing_id(incident_id), changes=json_body())


@route.post(f"{INCIDENT_PATH}/close", "结案", answers=INCIDENT_ANSWER, idempotent=True)
def close_incident(incident_id):
    """No more requests; transfers on the road are still received and loans still come back.
    Closed already → 409 invalid_state."""
    return services.close_incident(actor=g.api_user, incident_id=existing_id(incident_id))


@route.post(f"{INCIDENT_PATH}/requests", "需求申报", body=REQUEST, answers=REQUEST_DETAIL, status=201,
            idempotent=True)
def create_request(incident_id):
    """A keeper asks for their own sites only. Unknown sites or materials → 422; a closed
    incident → 409 invalid_state."""
    return services.create_request(actor=g.api_user, incident_id=existing_id(incident_id), data=json_body())


@route.get(f"{INCIDENT_PATH}/requests", "灾情事件的需求申报（限于调用者的站点范围）",
           query=(choice("status", "状态", REQUEST_STATUSES),), answers=Page(REQUEST_ANSWER),
           errors=(401, 403, 404, 422))
def list_requests(incident_id):
    """Newest first."""
    incident = services.get_incident(existing_id(incident_id))
    return queries.requests(g.api_user, incident=incident, status=choice_arg("status", REQUEST_STATUSES))


@route.post(f"{INCIDENT_PATH}/needs", "需求测算：紧急转移安置人数 × 救灾物资包（不保存）", body=NEEDS,
            answers=NEEDS_ANSWER, errors=(400, 401, 403, 404, 409, 422))
def calculate_needs(incident_id):
    """Read-only (POST because it takes a body): the lines a request for ``to_site`` would ask
    for. ``displaced_people`` defaults to the site's figure in the incident; per-household kits
    count households by the site's people per household."""
    return kits.needs_for(actor=g.api_user, incident_id=existing_id(incident_id), data=json_body())


# --- requests, plans and approval ----------------------------------------------------------------

@route.get(REQUEST_PATH, "一份需求申报及其调度方案", answers=REQUEST_DETAIL, errors=READ_ERRORS)
def get_request(request_id):
    """A keeper reads only the requests of their sites (403 otherwise)."""
    return services.visible_request(g.api_user, request_id)


@route.post(f"{REQUEST_PATH}/plan", "生成调度方案：就近、避开断路站点、不动用定额储备",
            body=Body(PLANNING, required=False), answers=PLAN_ANSWER, idempotent=True)
def plan_request(request_id):
    """Replaces the request's plan. Never from a cut-off site or the requesting site, never below
    a source's own norm unless ``allow_below_norm``; what cannot be met comes back in ``unmet``."""
    fields = load(PLANNING, _optional_body())
    return planning.plan(actor=g.api_user, request_id=request_id,
                         allow_below_norm=fields.get("allow_below_norm") or False)


@route.post(f"{REQUEST_PATH}/approve", "批准调拨：每个调出站点一张调拨单，直接发出",
            body=Body(APPROVAL, required=False), answers=APPROVAL_ANSWER, status=201, idempotent=True)
def approve_request(request_id):
    """``allocations`` replaces the plan (the dispatcher's edits), checked like a plan: from a
    cut-off or unknown site, or more than a source holds → 422. Stock moved since the plan → 409
    insufficient_stock with the lines, and nothing is sent; a stale ``version`` → 409."""
    return planning.approve(actor=g.api_user, request_id=request_id, data=_optional_body())


@route.post(f"{REQUEST_PATH}/cancel", "撤销需求申报（批准前）", answers=REQUEST_DETAIL, idempotent=True)
def cancel_request(request_id):
    """Approved or cancelled already → 409 invalid_state."""
    return services.cancel_request(actor=g.api_user, request_id=request_id)


@route.post(f"{REQUEST_PATH}/owner-approvals", "登记物资所有者的同意（省级前置物资）", body=OWNER_APPROVAL,
            answers=OWNER_APPROVAL_ANSWER, status=201, idempotent=True)
def record_owner_approval(request_id):
    """Another level's pre-positioned goods enter a plan only once their owner agreed."""
    return planning.record_owner_approval(actor=g.api_user, request_id=request_id, data=json_body())


# --- relief kits ---------------------------------------------------------------------------------

@route.get("/kits", "救灾物资包", query=(flag("active", "仅含启用的"),), answers=Page(KIT_ANSWER, paged=False),
           errors=(401, 422))
def list_kits():
    """Every kit by name; read by everyone."""
    return kits.kits(active_only=flag_arg("active", False))


@route.post("/kits", "新增救灾物资包（管理员）", body=KIT, answers=KIT_ANSWER, status=201,
            errors=(400, 401, 403, 409, 422))
def create_kit():
    """Quantities per person or per household may be fractions (0.34 tents)."""
    return kits.create_kit(actor=g.api_user, data=json_body())


@route.get(KIT_PATH, "一个救灾物资包", answers=KIT_ANSWER, errors=(401, 404))
def get_kit(kit_id):
    """Kits are read by everyone."""
    return kits.get_kit(existing_id(kit_id))


@route.route("PUT", KIT_PATH, "修改救灾物资包（整体替换）", body=KIT, answers=KIT_ANSWER,
             errors=(400, 401, 403, 404, 409, 422))
def replace_kit(kit_id):
    """The whole kit as sent: lines not sent are removed."""
    return kits.update_kit(actor=g.api_user, kit_id=existing_id(kit_id), data=json_body())


@route.delete(KIT_PATH, "删除救灾物资包", errors=(401, 403, 404))
def delete_kit(kit_id):
    """Requests already made from it keep their lines."""
    kits.delete_kit(actor=g.api_user, kit_id=existing_id(kit_id))


# --- road times ----------------------------------------------------------------------------------

@route.get("/road-times", "路程表（站点对之间的行车分钟数或断路）", answers=Page(ROAD_TIME, paged=False),
           errors=(401,))
def list_road_times():
    """When it holds any pair, plans order sources by it instead of by distance."""
    return roads.road_times()


@route.route("PUT", "/road-times", "导入路程表（整体替换）", body=ROAD_TIMES_CSV, answers=ROAD_TIMES_LOADED,
             errors=(400, 401, 403, 422))
def load_road_times():
    """The CSV travels in a JSON body (``{"csv": "from_site,to_site,minutes,cut\\n…"}``) because
    every body of this API is JSON. All or nothing: an unknown code or negative minutes → 422
    naming the row, and the table stays as it was."""
    fields = load(ROAD_TIMES_CSV, json_body())
    return roads.load_road_times(actor=g.api_user, text=fields["csv"])


@route.delete("/road-times", "清空路程表（此后按距离就近）", errors=(401, 403))
def clear_road_times():
    """Plans go back to great-circle distance."""
    roads.clear_road_times(actor=g.api_user)

