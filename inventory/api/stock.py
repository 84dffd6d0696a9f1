"""Stock items, receipts, adjustments, equipment tests and the ledger (API.md)."""

from flask import g, request
from flask_babel import gettext as _

from inventory.api.core import choice_arg, date_arg, flag_arg, json_body, material_arg, scoped_site
from inventory.api.routes import MATERIAL, SITE, Body, File, Page, choice, flag, on_date, query, route
from inventory.api.shapes import Choice, Int, IsoDate, IsoDateTime, ListOf, Shape, Str, items_of
from inventory.auth.access import authorize
from inventory.errors import NotFound, ValidationError
from inventory.extensions import label_guessing
from inventory.labels import qr
from inventory.stock import queries, services
from inventory.stock.models import MOVEMENT_KINDS, STATUSES, TEST_RESULTS
from inventory.stock.schemas import ADJUSTMENT, EQUIPMENT_TEST, RECEIPT, REVERSAL
from inventory.validation import String, load

STOCK_ITEM = Shape({
    "label": Str(), "site": Str("site.code"), "material": Str("material.code"),
    "lot": Str(nullable=True), "serial": Str(nullable=True), "expiry_date": IsoDate(nullable=True),
    "quantity": Int(minimum=0), "status": Choice(STATUSES), "owner": Str(),
    "received_at": IsoDateTime(),
}, name="StockItem")

MOVEMENT = Shape({
    "id": Int(), "at": IsoDateTime(), "kind": Choice(MOVEMENT_KINDS), "site": Str("item.site.code"),
    "material": Str("item.material.code"), "label": Str("item.label"), "quantity": Int(),
    "balance_after": Int(minimum=0), "document": Str(nullable=True),
    "user": Str("user.username", nullable=True), "reason": Str(nullable=True),
    "reverses": Int("reverses_id", nullable=True),
}, name="Movement")

STOCK_ITEM_DETAIL = STOCK_ITEM.extend({
    "scan_url": Str(lambda item: qr.scan_url(item.label)),
    "movements": ListOf(MOVEMENT, queries.item_movements, description="最近 20 条，最新在前"),
})

RECEIPT_ANSWER = Shape({
    "number": Str(),
    "items": ListOf(STOCK_ITEM, lambda receipt: queries.document_items(receipt.number)),
}, name="ReceiptAnswer")

STOCK_SUMMARY = items_of(Shape({
    "material": Str(), "available": Int(), "on_loan": Int(), "in_transit": Int(), "damaged": Int(),
}, by_key=True), name="StockSummary")

EQUIPMENT_TEST_ANSWER = Shape({
    "id": Int(), "label": Str("item.label"), "tested_on": IsoDate(), "result": Choice(TEST_RESULTS),
    "status": Choice(STATUSES, "item.status"),
}, name="EquipmentTestAnswer")

LABEL = String(max_length=40)
SUB_SITES = flag("include_sub_sites", "是否包含下级站点")
SCANNED = (401, 403, 404, 429)  # a label lookup counts towards the guessing limit


@route.get("/stock", "库存件列表（限于调用者的站点范围）",
           query=(SITE, SUB_SITES, MATERIAL, choice("status", "状态", STATUSES),
                  on_date("expiring_before", "在此日期前到期")),
           answers=Page(STOCK_ITEM), errors=(401, 403, 422))
def list_stock():
    """Stock items in the caller's scope, filtered by site (and sub-sites), material, status, expiry."""
    return queries.stock_items(
        g.api_user, site=scoped_site(), include_sub_sites=flag_arg("include_sub_sites", False),
        material=material_arg(), status=choice_arg("status", STATUSES),
        expiring_before=date_arg("expiring_before"))


@route.get("/stock/summary", "按物资汇总：在库、借出、在途（调入中）、损坏", query=(SITE, SUB_SITES),
           answers=STOCK_SUMMARY, errors=(401, 403, 422))
def stock_summary():
    """Per material: available, on loan, in transit (on its way here) and damaged."""
    return queries.stock_summary(g.api_user, site=scoped_site(),
                                 include_sub_sites=flag_arg("include_sub_sites", True))


def _scanned_item(label: str):
    """The item of a label the caller may see (404 unknown, 403 another site's, API.md); misses
    count towards the label-guessing limit (inventory/guessing.py)."""

    def lookup():
        item = services.get_item(label)
        authorize(g.api_user, "stock.view", item.site)
        return item

    return label_guessing.look_up(g.api_user, lookup)


@route.get("/stock/<label>", "一个库存件，含扫码地址与最近 20 条台账", params={"label": LABEL},
           answers=STOCK_ITEM_DETAIL, errors=SCANNED)
def get_stock_item(label):
    """One stock item with its scan URL and latest 20 movements."""
    return _scanned_item(label)


@route.get("/stock/<label>/qr.png", "扫码地址的二维码（PNG）", params={"label": LABEL},
           answers=File("image/png"), errors=SCANNED)
def stock_qr_png(label):
    """The QR code of the item's scan URL, as PNG."""
    return qr.png(qr.scan_url(_scanned_item(label).label))


@route.get("/stock/<label>/qr.svg", "扫码地址的二维码（SVG）", params={"label": LABEL},
           answers=File("image/svg+xml"), errors=SCANNED)
def stock_qr_svg(label):
    """The QR code of the item's scan URL, as SVG."""
    return qr.svg(qr.scan_url(_scanned_item(label).label))


@route.post("/receipts", "入库", body=RECEIPT, answers=RECEIPT_ANSWER, status=201, idempotent=True)
def create_receipt():
    """入库: goods arrive; a lot joins the matching available item, each serial gets its own."""
    return services.receive(actor=g.api_user, data=json_body())


@route.post("/adjustments", "调整或报废", body=ADJUSTMENT, answers=MOVEMENT, status=201,
            idempotent=True)
def create_adjustment():
    """调整 or write-off of one item."""
    return services.adjust(actor=g.api_user, data=json_body())


@route.post("/movements/<int(max=2147483647):movement_id>/reverse", "冲销入库、调整、报废或盘点记录",
            body=Body(REVERSAL, required=False), answers=MOVEMENT, status=201, idempotent=True)
def reverse_movement(movement_id):
    """冲销: append the opposite of a receipt, adjustment or write-off."""
    fields = load(REVERSAL, json_body()) if request.get_data() else {}
    return services.reverse(actor=g.api_user, movement_id=movement_id, note=fields.get("note", ""))


@route.get("/movements", "台账（最新在前）",
           query=(SITE, MATERIAL, query("label", "标签"), choice("kind", "类型", MOVEMENT_KINDS),
                  on_date("since", "起始日期"), on_date("until", "截止日期（含）")),
           answers=Page(MOVEMENT), errors=(401, 403, 422, 429))
def list_movements():
    """The ledger (台账), newest first."""
    item = None
    if label := request.args.get("label"):
        # A filter by label is a label look-up: its misses count towards the guessing limit.
        try:
            item = _scanned_item(label)
        except NotFound:
            raise ValidationError({"label": _("标签不存在")}) from None
    return queries.movements(g.api_user, site=scoped_site(), material=material_arg(), item=item,
                             kind=choice_arg("kind", MOVEMENT_KINDS), since=date_arg("since"),
                             until=date_arg("until"))


@route.post("/equipment-tests", "登记试机（故障则标记损坏）", body=EQUIPMENT_TEST,
            answers=EQUIPMENT_TEST_ANSWER, status=201, idempotent=True)
def record_equipment_test():
    """试机: record a test run; a fault marks the item damaged."""
    return services.record_test(actor=g.api_user, data=json_body())
