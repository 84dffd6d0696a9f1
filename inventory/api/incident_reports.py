"""An incident's reports (API.md "Incidents and dispatch"): the report per material and per site,
the 首报/续报 data for the command platform, and the replenishment list.

Everyone who may view incidents reads them; a keeper's (or auditor's) figures are those of their
own sites (``scoped`` says so), the incident's own facts are everyone's.
"""

from flask import g, request

from inventory.api.core import MAX_ID
from inventory.api.routes import query, route
from inventory.api.shapes import SELF, Bool, Choice, Int, IsoDateTime, ListOf, Nested, Shape, Str
from inventory.dispatch import queries
from inventory.dispatch.models import LEVEL_NAMES, STATUSES, TYPE_NAMES, TYPES
from inventory.dispatch.services import visible_incident

# An id the database's integer can hold (the routes of api/dispatch.py that take several methods
# check it in the view instead: see core.existing_id).
INCIDENT_PATH = f"/incidents/<int(max={MAX_ID}):incident_id>"

_INCIDENT = Shape({"id": Int(), "name": Str(), "type": Choice(TYPES), "level": Int(minimum=1),
                   "started_at": IsoDateTime(), "status": Choice(STATUSES)}, name="IncidentSummary")


_DESCRIBED = {
    "requested": "申报（未撤销的需求申报）", "planned": "已计划（已生成方案或已批准的分配）",
    "dispatched": "已调出（计在调出站点：在途或已接收的调拨）", "in_transit": "在途（运往本站点）",
    "received": "已接收（实收数）", "shortage": "收货短少（调拨数 − 实收数）",
    "issued": "已发放（未冲销的发放单）", "returned": "已归还（完好与损坏）",
    "outstanding_loans": "未归还借用（借出 − 归还 − 损坏 − 丢失）",
    "unmet": "未满足：申报 − 已调往该站点，不小于 0",
}


def _row_fields(names) -> dict:
    return {name: Int(minimum=0, description=_DESCRIBED[name]) for name in names}


REPORT_ROW = Shape({"site": Str(), "site_name": Str(), "material": Str(), "material_name": Str(),
                    "unit": Str(), **_row_fields(queries.FIGURES)}, name="IncidentReportRow")
REPORT_TOTAL = Shape({"material": Str(), "material_name": Str(), "unit": Str(),
                      **_row_fields(queries.FIGURES)}, name="IncidentReportTotal")
OWNED_ROW = Shape({"owner": Str(description="物资所有者（如省级前置物资的所有者）"), "site": Str(),
                   "site_name": Str(), "material": Str(), "material_name": Str(), "unit": Str(),
                   **_row_fields(queries.OWNED_FIGURES)}, name="IncidentReportOwnedRow")
REPORT = Shape({
    "incident": Nested(_INCIDENT), "generated_at": IsoDateTime(),
    "scoped": Bool(description="仅含调用者负责的站点"),
    "sites": ListOf(REPORT_ROW, "rows", description="按站点与物资"),
    "materials": ListOf(REPORT_TOTAL, "totals", description="按物资合计"),
    "other_owners": ListOf(OWNED_ROW, "owned", description="其中其他所有者的物资（省级前置物资等）"),
}, name="IncidentReport")

_AREA = Shape({"site": Str(), "name": Str(), "cut_off": Bool(), "affected_people": Int(minimum=0),
               "displaced_people": Int(minimum=0)}, by_key=True)
_GOODS = Shape({"material": Str(), "name": Str(), "unit": Str(), "dispatched": Int(minimum=0),
                "in_transit": Int(minimum=0), "received": Int(minimum=0), "issued": Int(minimum=0)},
               by_key=True)
_UNMET = Shape({"site": Str(), "site_name": Str(), "material": Str(), "name": Str(), "unit": Str(),
                "requested": Int(minimum=0), "quantity": Int(minimum=0)}, by_key=True)
_UNMET_TOTAL = Shape({"material": Str(), "name": Str(), "unit": Str(), "quantity": Int(minimum=0)},
                     by_key=True)
_CLOCK = Shape({"minutes_since_start": Int(minimum=0), "target_minutes": Int(minimum=0),
                "minutes_left": Int(minimum=0), "overdue": Bool(description="已超过 1 小时报送时限"),
                "text": Str()}, by_key=True)
FIRST_REPORT = Shape({
    "incident": Nested(_INCIDENT),
    "kind": Choice(("first", "follow_up"), description="first 首报；follow_up 续报"),
    "sequence": Int(minimum=0, description="0 为首报，n 为第 n 次续报"),
    "title": Str(lambda data: str(data["title"])),
    "type_name": Str(lambda data: str(TYPE_NAMES[data["incident"].type])),
    "level_name": Str(lambda data: str(LEVEL_NAMES[data["incident"].level])),
    "started_at": IsoDateTime(), "generated_at": IsoDateTime(),
    "areas": ListOf(_AREA), "cut_off_sites": ListOf(Str(SELF)),
    "affected_people": Int(minimum=0, description="受灾人口合计"),
    "displaced_people": Int(minimum=0, description="紧急转移安置人数合计"),
    "goods": ListOf(_GOODS, description="已调出及在途物资（按物资）"),
    "unmet": ListOf(_UNMET, description="未满足需求（按站点与物资）"),
    "unmet_totals": ListOf(_UNMET_TOTAL, description="未满足需求（按物资）"),
    "open_requests": Int(minimum=0, description="待调度的申报数"),
    "clock": Nested(_CLOCK, description="距事件发生的时间与 1 小时报送时限"),
    "scoped": Bool(description="物资数字仅含调用者负责的站点"),
}, name="FirstReport", by_key=True)

_SHORT = Shape({"site": Str(), "site_name": Str(), "norm": Int(), "name": Str(),
                "materials": ListOf(Str(SELF)), "required": Int(minimum=0), "usable": Int(minimum=0),
                "shortfall": Int(minimum=0)}, by_key=True)
_PURCHASE = Shape({"materials": ListOf(Str(SELF), description="定额所列物资（任一均可）；采购第一种"),
                   "names": ListOf(Str(SELF)), "unit": Str(), "quantity": Int(minimum=0),
                   "sites": Int(minimum=0, description="涉及站点数")}, by_key=True)
REPLENISHMENT = Shape({
    "incident": Nested(_INCIDENT),
    "finished": Bool(description="事件已结束；未结束时清单随调度变化"),
    "purchases": ListOf(_PURCHASE, description="应采购：按物资合计的定额缺口"),
    "sites": ListOf(_SHORT, "rows", description="各站点对照定额的缺口"),
    "scoped": Bool(),
}, name="Replenishment")


@route.get(f"{INCIDENT_PATH}/report",
           "灾情物资统计：按站点与物资的申报、计划、调出、接收、发放、归还、未归还借用与未满足",
           answers=REPORT, errors=(401, 403, 404))
def incident_report(incident_id):
    """``dispatched`` counts at the source; every other figure at the site the goods are for (the
    requesting, receiving or issuing site). Other owners' goods (省级前置物资) are also listed apart
    in ``other_owners``. A keeper's answer holds their own sites only."""
    return queries.report(g.api_user, visible_incident(g.api_user, incident_id))


@route.get(f"{INCIDENT_PATH}/first-report", "首报/续报数据（供指挥平台）",
           query=(query("sequence", "报送次数：0 或不填为首报，n 为第 n 次续报",
                         {"type": "integer", "minimum": 0, "maximum": queries.MAX_SEQUENCE}),),
           answers=FIRST_REPORT, errors=(401, 403, 404, 422))
def incident_first_report(incident_id):
    """What the 首报 sheet holds: the incident, the areas and their people, goods sent and on the
    road, unmet needs, and minutes since the incident started against the one-hour target."""
    incident = visible_incident(g.api_user, incident_id)
    return queries.first_report(incident, user=g.api_user,
                                sequence=queries.report_sequence(request.args.get("sequence")))


@route.get(f"{INCIDENT_PATH}/replenishment", "补库清单：恢复各站点储备定额需采购的物资",
           answers=REPLENISHMENT, errors=(401, 403, 404))
def incident_replenishment(incident_id):
    """The current norm shortfall of every site that sent, received or issued goods for the
    incident, and the same per material; allowed while the incident is open (``finished``)."""
    return queries.replenishment(visible_incident(g.api_user, incident_id), user=g.api_user)
