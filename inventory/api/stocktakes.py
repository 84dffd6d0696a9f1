"""Stocktakes 盘点 (API.md): open, count by label, found goods, submit, recount, approve, cancel.

Counting is blind: a keeper's view of a stocktake never holds ``expected`` or ``variance``;
reviewers (auditors, managers) see both.
"""

import re

from flask import g, request
from flask_babel import gettext as _

from inventory.api.core import MAX_ID, choice_arg, json_body, scoped_site
from inventory.api.routes import SITE, Body, Page, choice, query, route
from inventory.api.shapes import Bool, Choice, Int, IsoDate, IsoDateTime, ListOf, Nested, Shape, Str
from inventory.api.stock import STOCK_ITEM
from inventory.errors import ValidationError
from inventory.stocktakes import approval, queries, services
from inventory.stocktakes.models import STATUSES
from inventory.stocktakes.schemas import APPROVAL, COUNT, FOUND, OPENING, RECOUNT

STOCKTAKE = Shape({
    "id": Int(), "number": Str(), "site": Str("site.code"), "period": Str(), "status": Choice(STATUSES),
    "include_sub_sites": Bool(),
    "categories": ListOf(Str("code"), "categories"),
    "counters": ListOf(Str("username"), "counters", description="盘点人"),
    "witness": Str("witness.username", nullable=True, description="监盘人；未指定时为审批人"),
    "created_at": IsoDateTime(), "submitted_at": IsoDateTime(nullable=True),
    "closed_at": IsoDateTime(nullable=True),
    "approved_by": Str("approved_by.username", nullable=True),
}, name="Stocktake")

_PROGRESS = Shape({"counted": Int(), "total": Int(), "recount": Int()}, name="StocktakeProgress")
_BLIND_LINE = {
    "label": Str(), "material": Str("item.material.code"), "name": Str("item.material.name"),
    "site": Str("item.site.code"), "lot": Str("item.lot", nullable=True),
    "serial": Str("item.serial", nullable=True), "expiry_date": IsoDate("item.expiry_date", nullable=True),
    "counted": Int(nullable=True, description="未清点为 null"),
    "counted_by": Str(nullable=True), "counted_at": IsoDateTime(nullable=True),
    "recount": Bool(description="已退回复盘"),
}
BLIND_LINE = Shape(_BLIND_LINE, name="StocktakeLine")
REVIEW_LINE = BLIND_LINE.extend({
    "expected": Int(description="账面数：开盘时数量加此后至清点时的变动（未清点为当前账面）"),
    "variance": Int("delta", description="差异：清点 − 账面（未清点按 0 计）"),
    "value": Str(lambda line: None if line.value is None else f"{line.value:.2f}", nullable=True,
                 description="差异金额（元，按参考单价）"),
    "reason": Str(),
}, name="StocktakeReviewLine")
FOUND_LINE = Shape({
    "id": Int(), "material": Str("material.code"), "quantity": Int(), "lot": Str(nullable=True),
    "serial": Str(nullable=True), "expiry_date": IsoDate(nullable=True), "note": Str(),
    "label": Str("item.label", nullable=True, description="审批后生成的库存件标签"),
}, name="StocktakeFoundLine")


def _detail(line_shape: Shape, *, books: bool, name: str) -> Shape:
    return STOCKTAKE.extend({
        "progress": Nested(_PROGRESS, queries.progress),
        "lines": ListOf(line_shape, lambda stocktake: queries.lines(stocktake, books=books)),
        "found": ListOf(FOUND_LINE, queries.found),
    }, name=name)


BLIND_DETAIL = _detail(BLIND_LINE, books=False, name="StocktakeBlind")
REVIEW_DETAIL = _detail(REVIEW_LINE, books=True, name="StocktakeDetail")
COUNT_ANSWER = Shape({"label": Str("item.label"), "counted": Int(), "counted_at": IsoDateTime()},
                     name="StocktakeCount")
APPROVAL_ANSWER = Shape({
    "stocktake": Nested(STOCKTAKE),
    "variances": ListOf(Shape({"label": Str(), "expected": Int(), "counted": Int(nullable=True),
                               "delta": Int()}, by_key=True)),
    "found": ListOf(STOCK_ITEM),
}, name="StocktakeApproval", by_key=True)

PERIOD = query("period", "季度，如 2026-Q4")
ONE = f"/stocktakes/<int(max={MAX_ID}):stocktake_id>"  # an id the database's integer can hold


class StocktakeAnswer:
    """A stocktake with its lines as the caller may see them: a reviewer's answer with the books,
    a counter's blind one without (``expected`` and ``variance`` never reach a keeper). The
    document lists both; the fuller one is also a valid blind one (objects may hold more), hence
    anyOf, not oneOf."""

    shapes = (REVIEW_DETAIL, BLIND_DETAIL)

    def dump(self, stocktake) -> dict:
        shape = REVIEW_DETAIL if queries.sees_books(g.api_user, stocktake) else BLIND_DETAIL
        return shape.dump(stocktake)

    def schema(self, components: dict) -> dict:
        return {"anyOf": [shape.schema(components) for shape in self.shapes]}


@route.post("/stocktakes", "开始盘点：按站点（可含下级站点、可限分类）和季度，记录开盘账面",
            body=OPENING, answers=STOCKTAKE, status=201, idempotent=True)
def open_stocktake():
    """开始盘点. Refused (409 duplicate) while another open stocktake counts the same items."""
    return services.open_stocktake(actor=g.api_user, data=json_body())


@route.get("/stocktakes", "盘点单列表", query=(SITE, PERIOD, choice("status", "状态", STATUSES)),
           answers=Page(STOCKTAKE), errors=(401, 403, 422))
def list_stocktakes():
    """Stocktakes in the caller's scope, newest first."""
    period = request.args.get("period") or None
    if period and not re.fullmatch(r"\d{4}-Q[1-4]", period):
        raise ValidationError({"period": _("季度格式应为 2026-Q4")})
    return queries.stocktakes(g.api_user, site=scoped_site(), period=period,
                              status=choice_arg("status", STATUSES))


@route.get(ONE, "一张盘点单（盘点人看不到账面数与差异）",
           answers=StocktakeAnswer(), errors=(401, 404))
def get_stocktake(stocktake_id):
    """Its lines in shelf order. Auditors and managers also see ``expected``, ``variance``,
    ``value`` and ``reason``; a keeper's answer is the StocktakeBlind shape without them."""
    return services.visible_stocktake(g.api_user, stocktake_id)


@route.post(f"{ONE}/counts", "清点一个标签（以最后一次为准）",
            body=COUNT, answers=COUNT_ANSWER, status=201, idempotent=True)
def record_stocktake_count(stocktake_id):
    """A label not counted by this stocktake (another site, another category) → 422."""
    return services.record_count(actor=g.api_user, stocktake_id=stocktake_id, data=json_body())


@route.post(f"{ONE}/found", "登记盘盈：账外或无标签的物资",
            body=FOUND, answers=FOUND_LINE, status=201, idempotent=True)
def record_found_goods(stocktake_id):
    """Goods on the shelf that are not on the books; each becomes a stock item on approval."""
    return services.record_found(actor=g.api_user, stocktake_id=stocktake_id, data=json_body())


@route.post(f"{ONE}/submit", "提交审核：答复列出每一行，未清点的 counted 为 null", answers=StocktakeAnswer(),
            idempotent=True)
def submit_stocktake(stocktake_id):
    """Counting ends; items not counted stay with ``counted: null`` (they count as 0 on approval)."""
    return services.submit(actor=g.api_user, stocktake_id=stocktake_id)


@route.post(f"{ONE}/recount", "退回复盘（管理员，审核中）",
            body=RECOUNT, answers=STOCKTAKE, idempotent=True)
def recount_stocktake(stocktake_id):
    """Those lines' counts are cleared and marked for a recount; the stocktake is counting again."""
    return services.request_recount(actor=g.api_user, stocktake_id=stocktake_id, data=json_body())


@route.post(f"{ONE}/approve", "审批：按差异过账并完成盘点（管理员）",
            body=Body(APPROVAL, required=False), answers=APPROVAL_ANSWER, idempotent=True)
def approve_stocktake(stocktake_id):
    """One ``stocktake`` movement per variance (uncounted lines count as 0), found goods booked as
    new items, all or nothing. Closed already → 409 invalid_state; the only counter → 403."""
    body = json_body() if request.get_data() else {}
    outcome = approval.approve(actor=g.api_user, stocktake_id=stocktake_id, data=body)
    return {"stocktake": outcome.stocktake, "variances": outcome.variances, "found": outcome.found}


@route.post(f"{ONE}/cancel", "撤销盘点（审批前）", answers=STOCKTAKE,
            idempotent=True)
def cancel_stocktake(stocktake_id):
    """Nothing was posted and nothing is."""
    return services.cancel(actor=g.api_user, stocktake_id=stocktake_id)

