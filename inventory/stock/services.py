"""The stock actions: receive, issue, take back, test, adjust and reverse.

Every public function is one unit of work (db.transactional) that validates its input against
stock/schemas.py, authorises at the choke point, and changes stock only through stock/ledger.py.
Issues and what follows them (returns, reversal, 先发后补) are in stock/issues.py and offered
here too; transfers, which have a state machine of their own, are in stock/transfers.py; which
items a line takes is stock/allocation.py's; what a document names is found by stock/lookup.py.
"""

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from inventory import clock
from inventory.auth.access import authorize
from inventory.catalog.models import Material
from inventory.db import db, transactional
from inventory.errors import Duplicate, InsufficientStock, InvalidState, NotFound, ValidationError
from inventory.stock import ledger

# Issues and what follows them, and what every action looks up, are modules of their own; the
# stock actions are still all offered here, as the rest of the app has always called them.
from inventory.stock.issues import (  # noqa: F401
    complete_recipient,
    default_due_date,
    issue,
    return_items,
    reverse_issue,
)
from inventory.stock.lookup import get_item, item_for, material_for, site_for, visible_item  # noqa: F401
from inventory.stock.models import STATUS_NAMES, EquipmentTest, Movement, Receipt, StockItem
from inventory.stock.schemas import ADJUSTMENT, EQUIPMENT_TEST, RECEIPT
from inventory.validation import listing, load

WRITEOFF_REASONS = {"damaged", "expired", "disposal"}
REDUCTION_NEEDS_MANAGER = _l("调减库存须由管理员办理：请联系管理员调整或报废；差异可在盘点中清点后由管理员审批")
# What ``reverse`` takes one movement at a time. An issue's movements are not among them: an
# issue is reversed whole (reverse_issue), so that its slip and loans are voided with its stock.
REVERSIBLE_KINDS = {"receipt", "adjustment", "writeoff", "stocktake"}


def _serial_is_known(material: Material, serial: str) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        StockItem.material_id == material.id, StockItem.serial == serial,
        StockItem.status != "disposed"))) or False


# --- receipts -----------------------------------------------------------------------------------

@transactional
def receive(*, actor, data: dict, warn_expired: bool = False) -> Receipt:
    """入库: add a lot to its batch item at the site, or make one item per serial number.

    Goods past their expiry are booked too; with ``warn_expired`` (the receipt page, until the
    user confirms) such a receipt is refused instead, with the warning on ``confirm_expired``.
    """
    fields = load(RECEIPT, data)
    site = site_for(fields["site"], "site")
    authorize(actor, "stock.receive", site)
    material = material_for(fields["material"], "material")
    quantity, serials = fields["quantity"], fields.get("serials") or []
    errors = {}
    if not site.active:
        errors["site"] = _("站点已停用")
    if not material.active:
        errors["material"] = _("物资已停用")
    production, expiry = fields.get("production_date"), fields.get("expiry_date")
    if expiry is None and production and material.shelf_life_days:
        expiry = production + dt.timedelta(days=material.shelf_life_days)
    if production and production > clock.today():
        errors["production_date"] = _("生产日期不能晚于今天")
    if production and expiry and expiry < production:
        errors["expiry_date"] = _("有效期不能早于生产日期")
    elif warn_expired and expiry and expiry < clock.today():
        # Expired goods on the shelf must be on the books all the same (allocation lets them out
        # only by write-off); the page asks first, in case the date was mistyped.
        errors["confirm_expired"] = _(
            "有效期 %(date)s 已过，入库后只能报废，不能发放或调拨。确认入库请勾选此项后再次提交", date=expiry)
    if material.tracking == "serial":
        if len(serials) != quantity:
            errors["serials"] = _("一物一码物资须填写 %(n)d 个序列号，实际 %(m)d 个",
                                  n=quantity, m=len(serials))
        elif len(set(serials)) != len(serials):
            errors["serials"] = _("序列号有重复")
    elif serials:
        errors["serials"] = _("按批次管理的物资不填序列号")
    if errors:
        raise ValidationError(errors)
    known = [serial for serial in serials if _serial_is_known(material, serial)]
    if known:
        raise Duplicate(_("序列号已登记：%(serials)s", serials=listing(known)))

    return book_receipt(actor=actor, site=site, material=material, quantity=quantity, serials=serials,
                        lot=fields.get("lot"), production=production, expiry=expiry,
                        source=fields.get("source"), donor=fields.get("donor") or "",
                        note=fields.get("note") or "", owner=fields.get("owner") or "bureau")


def book_receipt(*, actor, site, material, quantity: int, serials=(), lot=None, production=None, expiry=None,
                 source=None, donor="", note="", owner="bureau") -> Receipt:
    """Book a receipt already checked, in the caller's unit of work (``receive``; an import's
    commit, which owns one transaction for a whole file): its RK- number, its document and the
    item it adds to — one per serial number."""
    number = ledger.next_number("receipt")
    receipt = Receipt(number=number, site=site, material=material, quantity=quantity, source=source,
                      donor=donor, note=note, user_id=getattr(actor, "id", None))
    db.session.add(receipt)
    if material.tracking == "serial":
        for serial in serials:
            item = ledger.serial_item(site, material, serial=serial, lot=lot, production_date=production,
                                      expiry=expiry, source=source, donor=donor, owner=owner)
            try:
                ledger.change_quantity(item, 1, kind="receipt", actor=actor, document=number,
                                       note=receipt.note)
            except IntegrityError as error:
                # A concurrent receipt of the same serial committed first (PostgreSQL waited on
                # the unique index); the check above could not have seen it.
                if "uq_stock_items_serial" not in str(error.orig):
                    raise
                raise Duplicate(_("序列号已登记：%(serials)s", serials=serial)) from None
    else:
        item = ledger.batch_item(site, material, lot=lot, expiry=expiry, owner=owner,
                                 production_date=production, source=source, donor=donor)
        ledger.change_quantity(item, quantity, kind="receipt", actor=actor, document=number,
                               note=receipt.note)
    db.session.flush()  # ids and defaults for the caller's answer
    return receipt


def _lot_key(line: dict) -> tuple:
    return line["site"].id, line["material"].id, ledger.merge_key(line["lot"], line["expiry"], line["owner"])


def _empty_lots(lines: list[dict]) -> dict[tuple, int]:
    """The available items the sites already hold of these lines' lots, by lot key: looked up by
    site, material and the lots' own keys (the lot index), never by reading all a site holds."""
    by_pair: dict[tuple, set] = {}
    for line in lines:
        if line["serial"] is None:
            site, material, key = _lot_key(line)
            by_pair.setdefault((site, material), set()).add(key)
    found = {}
    for (site, material), keys in by_pair.items():
        keys = sorted(keys)
        for start in range(0, len(keys), 1000):
            for item_id, key in db.session.execute(
                    sa.select(StockItem.id, StockItem.merge_key)
                    .where(StockItem.site_id == site, StockItem.material_id == material,
                           StockItem.merge_key.in_(keys[start:start + 1000]), StockItem.status == "available",
                           StockItem.serial.is_(None))):
                found[(site, material, key)] = item_id
    return found


def book_receipts(*, actor, lines: list[dict], note: str = "") -> None:
    """Book many receipts already checked — each line a dict of site, material, quantity, lot,
    production, expiry, serial, source, donor, owner — in the caller's unit of work (an import's
    commit): what ``book_receipt`` does for each, in a few batched statements for all — a block
    of RK- numbers, the new items in one INSERT, their quantities and movements in two, the
    receipts in one. A lot the site already holds is added to, as a receipt would."""
    if not lines:
        return
    numbers = ledger.next_numbers("receipt", len(lines))
    held_lots = _empty_lots(lines)
    made = [line for line in lines if line["serial"] is not None or _lot_key(line) not in held_lots]
    new_ids = ledger.new_items([
        {"site_id": line["site"].id, "material_id": line["material"].id, "lot": line["lot"],
         "serial": line["serial"], "expiry_date": line["expiry"], "production_date": line["production"],
         "source": line["source"], "donor": line["donor"], "owner": line["owner"]} for line in made])
    made_ids = {id(line): item_id for line, item_id in zip(made, new_ids, strict=True)}
    item_ids = [made_ids[id(line)] if id(line) in made_ids else held_lots[_lot_key(line)] for line in lines]
    held = ledger.hold(item_ids)
    ledger.change_quantities([ledger.Change(held[item_id], line["quantity"], note=note, document=number)
                              for line, item_id, number in zip(lines, item_ids, numbers, strict=True)],
                             kind="receipt", actor=actor)
    at, user_id = clock.now(), getattr(actor, "id", None)
    db.session.execute(sa.insert(Receipt.__table__), [
        {"number": number, "site_id": line["site"].id, "material_id": line["material"].id,
         "quantity": line["quantity"], "source": line["source"], "donor": line["donor"], "note": note,
         "user_id": user_id, "created_at": at} for line, number in zip(lines, numbers, strict=True)])


# --- equipment tests ----------------------------------------------------------------------------

@transactional
def record_test(*, actor, data: dict) -> EquipmentTest:
    """试机: record a test run; a fault takes the item out of service (status damaged)."""
    fields = load(EQUIPMENT_TEST, data)
    item = item_for(actor, fields["label"], "label")
    authorize(actor, "stock.test", item.site)
    tested_on = fields.get("tested_on") or clock.today()
    errors = {}
    if not item.material.needs_testing:
        errors["label"] = _("%(name)s 不需要试机", name=item.material.name)
    elif not item.serial:
        errors["label"] = _("只有一物一码的设备登记试机")
    if tested_on > clock.today():
        errors["tested_on"] = _("试机日期不能晚于今天")
    if errors:
        raise ValidationError(errors)
    if item.status not in ("available", "damaged"):
        raise InvalidState(_("状态为“%(status)s”的设备不能试机", status=STATUS_NAMES[item.status]))
    test = EquipmentTest(item=item, tested_on=tested_on, result=fields["result"],
                         note=fields.get("note") or "", user_id=getattr(actor, "id", None))
    db.session.add(test)
    if fields["result"] == "fault" and item.status == "available":
        ledger.lock([item])
        ledger.change_quantity(item, 0, kind="adjustment", actor=actor, status="damaged", reason="damaged",
                               note=_("试机故障：%(note)s", note=test.note) if test.note else _("试机故障"))
    db.session.flush()
    return test


# --- adjustments and reversals -----------------------------------------------------------------

@transactional
def adjust(*, actor, data: dict) -> Movement:
    """调整: correct an item's quantity with a reason; write-offs need a manager."""
    fields = load(ADJUSTMENT, data)
    item = item_for(actor, fields["label"], "label")
    delta, reason = fields["delta"], fields["reason"]
    writeoff = reason in WRITEOFF_REASONS and delta < 0
    if delta < 0:
        authorize(actor, "stock.reduce", item.site, message=REDUCTION_NEEDS_MANAGER)
    else:
        authorize(actor, "stock.adjust", item.site)
    if delta == 0:
        raise ValidationError({"delta": _("调整数量不能为 0")})
    if item.serial and item.quantity + delta > 1:
        raise ValidationError({"delta": _("一物一码物资数量只能是 0 或 1")})
    if item.status in ("in_transit", "on_loan", "disposed"):
        raise InvalidState(_("状态为“%(status)s”的物资不能调整", status=STATUS_NAMES[item.status]))
    ledger.lock([item])
    status = "disposed" if item.serial and writeoff and item.quantity + delta == 0 else None
    try:
        movement_id = ledger.change_quantity(item, delta, kind="writeoff" if writeoff else "adjustment",
                                             actor=actor, status=status, reason=reason,
                                             note=fields.get("note") or "")
        return db.session.get(Movement, movement_id)
    except InsufficientStock:
        raise InsufficientStock(_("调整后数量将小于 0（现有 %(n)d）", n=item.quantity),
                                details=[{"line": 0, "requested": -delta,
                                          "available": item.quantity}]) from None


@transactional
def reverse(*, actor, movement_id: int, note: str = "") -> Movement:
    """冲销: append the opposite of a receipt, adjustment or write-off; the original stays."""
    original = db.session.get(Movement, movement_id)
    if original is None:
        raise NotFound(_("台账记录不存在"))
    authorize(actor, "stock.reverse", original.item.site)
    if original.kind not in REVERSIBLE_KINDS or original.reverses_id is not None:
        raise InvalidState(_("只能冲销入库、调整、报废或盘点记录"))
    if db.session.scalar(sa.select(sa.exists().where(Movement.reverses_id == original.id))):
        raise InvalidState(_("该记录已冲销"))
    item = original.item
    ledger.lock([item])
    status = None
    if item.serial:
        status = "available" if item.quantity - original.quantity == 1 else "disposed"
    movement_id = ledger.change_quantity(item, -original.quantity, kind=original.kind, actor=actor,
                                         document=original.document, status=status,
                                         reason=original.reason,
                                         note=note or _("冲销 #%(id)d", id=original.id), reverses=original)
    return db.session.get(Movement, movement_id)
