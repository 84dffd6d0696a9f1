"""GET /alerts."""

from flask import g, request

from inventory.alerts import queries
from inventory.api.routes import query, route
from inventory.api.shapes import Int, IsoDate, ListOf, Mapping, Shape, Str
from inventory.api.stock import STOCK_ITEM
from inventory.errors import ValidationError
from inventory.validation import whole_number

LOAN = Shape({
    "id": Int(), "issue": Str("issue.number"), "site": Str("issue.site.code"),
    "label": Str("item.label"), "material": Str("item.material.code"),
    "recipient": Str("issue.recipient_name"), "outstanding": Int(minimum=0),
    "due_back": IsoDate("due_date", nullable=True),
}, name="Loan")

ALERTS = Shape({
    "shortfalls": Int(minimum=0, description="短缺的站点定额行数"),
    "expiring": ListOf(STOCK_ITEM), "expired": ListOf(STOCK_ITEM), "overdue_loans": ListOf(LOAN),
    "untested_equipment": ListOf(STOCK_ITEM),
    "stocktakes_due": ListOf(Str("site.code"), description="季度盘点到期或逾期的站点编码"),
    "agreements_expiring": ListOf(Str("code"), description="站点编码"),
    "transfers_late": ListOf(Str("number"), description="调拨单号"),
    "counts": Mapping(Int(minimum=0), description="每类的总数（列表最多 200 条）"),
}, by_key=True)


@route.get("/alerts", "需要关注的事项（调用者站点范围内，每类最多 200 条）",
           query=(query("expiring_days", "到期预警天数，默认 90",
                        {"type": "integer", "minimum": 1, "maximum": 3650}),),
           answers=ALERTS, errors=(401, 422))
def alerts():
    """Everything that needs attention within the caller's scope (lists capped at 200)."""
    days = whole_number(request.args.get("expiring_days", "90"))
    if days is None or not 1 <= days <= 3650:
        raise ValidationError({"expiring_days": "1–3650"})
    return queries.alerts(g.api_user, expiry_days=days)
