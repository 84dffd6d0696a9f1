"""The stock actions: receive, issue, take back, test, adjust and reverse.

Every public function is one unit of work (db.transactional) that validates its input against
stock/schemas.py, authorises at the choke point, and changes stock only through stock/ledger.py.
Transfers, which have a state machine of their own, are in stock/transfers.py; which items a
line takes is stock/allocation.py's.
"""

import contextlib
import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from inventory import clock
from inventory.auth.access import authorize, authorize_or_hide
from inventory.catalog.models import Material
from inventory.db import db, transactional
from inventory.errors import Duplicate, InsufficientStock, InvalidState, NotFound, ValidationError
from inventory.labels.codes import normalize_label
from inventory.sites.models import Site
from inventory.stock import allocation, ledger
from inventory.stock.models import (
    CONDITION_NAMES,
    STATUS_NAMES,
    EquipmentTest,
    Issue,
    IssueLine,
    Movement,
    Receipt,
    Return,
    ReturnLine,
    StockItem,
)
from inventory.stock.schemas import ADJUSTMENT, EQUIPMENT_TEST, ISSUE, ISSUE_REVERSAL, RECEIPT, RETURN
from inventory.validation import listing, load

WRITEOFF_REASONS = {"damaged", "expired", "disposal"}
REDUCTION_NEEDS_MANAGER = _l("调减库存须由管理员办理：请联系管理员调整或报废；差异可在盘点中清点后由管理员审批")
LOSS_NEEDS_MANAGER = _l("登记丢失即核销，须由管理员办理；未归还的物品仍记在借用人名下")
REVERSAL_NEEDS_MANAGER = _l("冲销须由管理员办理：请联系管理员，说明发放单哪里有误")
# What ``reverse`` takes one movement at a time. An issue's movements are not among them: an
# issue is reversed whole (reverse_issue), so that its slip and loans are voided with its stock.
REVERSIBLE_KINDS = {"receipt", "adjustment", "writeoff", "stocktake"}

# A document's site: what it needs is the site's path and code, not its parent.
_SITE_BY_CODE = sa.select(Site).where(Site.code == sa.bindparam("code")).options(
    sa.orm.lazyload(Site.parent))
# A scanned item with its site (for the scope check and the answer), not the site's parent.
_SCANNED_ITEM = sa.select(StockItem).where(StockItem.label == sa.bindparam("label")).options(
    sa.orm.defaultload(StockItem.site).lazyload(Site.parent))


# --- what the actions look up ------------------------------------------------------------------

def site_for(code: str, field: str) -> Site:
    """The site a document names in ``field``; an unknown code is that field's error."""
    site = db.session.scalar(_SITE_BY_CODE, {"code": code})
    if site is None:
        raise ValidationError({field: _("站点 %(code)s 不存在", code=code)})
    return site


def _material_for(code: str, field: str) -> Material:
    """The material a document names in ``field``; an unknown code is that field's error."""
    material = db.session.scalar(sa.select(Material).where(Material.code == code))
    if material is None:
        raise ValidationError({field: _("物资 %(code)s 不存在", code=code)})
    return material


def get_item(label: str) -> StockItem:
    """The stock item with this label; raise NotFound."""
    item = db.session.scalar(_SCANNED_ITEM, {"label": normalize_label(label)})
    if item is None:
        raise NotFound(_("标签 %(label)s 不存在", label=label))
    return item


def visible_item(actor, label: str) -> StockItem:
    """The item of ``label`` if ``actor`` may see its site; raise NotFound otherwise.

    A label of a site they may not see is refused exactly as one that does not exist, in status
    and message alike (QUALITY.md S13): labels are 80 random bits, and which of them exist is
    not for an outsider to learn. The refusal is still logged as a denial.
    """
    item = db.session.scalar(_SCANNED_ITEM, {"label": normalize_label(label)})
    if item is not None:
        with contextlib.suppress(NotFound):
            authorize_or_hide(actor, "stock.view", item.site)
            return item
    raise NotFound(_("标签 %(label)s 不存在", label=label))


def _item_for(actor, label: str, field: str) -> StockItem:
    """visible_item for a form's field: an unknown (or unseen) label is that field's error."""
    try:
        return visible_item(actor, label)
    except NotFound as unknown:
        raise ValidationError({field: unknown.message}) from None


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
    material = _material_for(fields["material"], "material")
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

    number = ledger.next_number("receipt")
    owner = fields.get("owner") or "bureau"
    receipt = Receipt(number=number, site=site, material=material, quantity=quantity,
                      source=fields.get("source"), donor=fields.get("donor") or "",
                      note=fields.get("note") or "", user_id=getattr(actor, "id", None))
    db.session.add(receipt)
    if material.tracking == "serial":
        for serial in serials:
            item = ledger.serial_item(site, material, serial=serial, lot=fields.get("lot"),
                                      production_date=production, expiry=expiry,
                                      source=fields.get("source"), donor=fields.get("donor") or "",
                                      owner=owner)
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
        item = ledger.batch_item(site, material, lot=fields.get("lot"), expiry=expiry, owner=owner,
                                 production_date=production, source=fields.get("source"),
                                 donor=fields.get("donor") or "")
        ledger.change_quantity(item, quantity, kind="receipt", actor=actor, document=number,
                               note=receipt.note)
    db.session.flush()  # ids and defaults for the caller's answer
    return receipt


# --- issues -------------------------------------------------------------------------------------

def default_due_date() -> dt.date:
    """When a loan is due back unless the keeper says otherwise: LOAN_DAYS from today. A loan
    always has a date, or it could never become overdue."""
    return clock.today() + dt.timedelta(days=current_app.config["LOAN_DAYS"])


@transactional
def issue(*, actor, data: dict) -> Issue:
    """发放: hand stock to a recipient; returnable materials become loans. All lines or none."""
    fields = load(ISSUE, data)
    site = site_for(fields["site"], "site")
    authorize(actor, "stock.issue", site)
    if fields.get("incident") is not None:
        raise ValidationError({"incident": _("灾情事件不存在")})
    for index, line in enumerate(fields["lines"]):
        if line.get("due_back") and line["due_back"] < clock.today():
            raise ValidationError({f"lines.{index}.due_back": _("归还日期不能早于今天")})
    allocations = allocation.allocate(allocation.resolve_lines(fields["lines"], site, actor=actor))
    # Numbered last: every issue queues on the counter's row until it commits, so take it once
    # the items are locked and checked, not before.
    number = ledger.next_number("issue")
    recipient = fields["recipient"]
    document = Issue(number=number, site=site, recipient_type=recipient["type"],
                     recipient_name=recipient["name"], recipient_contact=recipient.get("contact", ""),
                     recipient_id_number=recipient.get("id_number", "").upper(),
                     purpose=fields.get("purpose") or "", user_id=getattr(actor, "id", None), lines=[])
    db.session.add(document)
    for line, item, quantity in allocations:
        loan = item.material.returnable
        status = ("on_loan" if loan else "available") if item.serial else None
        ledger.change_quantity(item, -quantity, kind="issue", actor=actor, document=number, status=status,
                               note=recipient["name"])
        document.lines.append(IssueLine(item=item, quantity=quantity, is_loan=loan,
                                        due_date=(line.get("due_back") or default_due_date())
                                        if loan else None))
    db.session.flush()  # ids and defaults for the caller's answer
    return document


# --- returns ------------------------------------------------------------------------------------

@transactional
def return_items(*, actor, data: dict) -> Return:
    """归还: loaned goods come back good (available), damaged (a damaged item) or lost."""
    fields = load(RETURN, data)
    # The issue's row is locked (PostgreSQL) for the rest of the unit, as reverse_issue locks it:
    # a return and a reversal of one issue never both go through.
    document = db.session.scalar(sa.select(Issue).where(Issue.number == fields["issue"])
                                 .with_for_update(of=Issue).execution_options(populate_existing=True))
    if document is None:
        raise ValidationError({"issue": _("发放单 %(number)s 不存在", number=fields["issue"])})
    authorize(actor, "stock.return", document.site)
    if document.reversed_at is not None:
        raise InvalidState(_("发放单 %(number)s 已冲销，无需归还", number=document.number))
    if any(line["condition"] == "lost" for line in fields["lines"]):
        authorize(actor, "stock.reduce", document.site, message=LOSS_NEEDS_MANAGER)
    lines_by_id = {line.id: line for line in document.lines}
    errors = {}
    for index, line in enumerate(fields["lines"]):
        issue_line = lines_by_id.get(line["issue_line"])
        if issue_line is None:
            errors[f"lines.{index}.issue_line"] = _("该发放单没有这一行")
        elif not issue_line.is_loan:
            errors[f"lines.{index}.issue_line"] = _("这一行不是借用，无需归还")
    if errors:
        raise ValidationError(errors)
    number = ledger.next_number("return")
    receipt = Return(number=number, issue=document, note=fields.get("note") or "",
                     user_id=getattr(actor, "id", None), lines=[])
    db.session.add(receipt)
    # Lock the items the goods go back into in id order before touching any of them.
    ledger.lock(lines_by_id[line["issue_line"]].item for line in fields["lines"])
    for index, line in enumerate(fields["lines"]):
        issue_line, quantity = lines_by_id[line["issue_line"]], line["quantity"]
        condition = {"good": "returned", "damaged": "damaged", "lost": "lost"}[line["condition"]]
        counted = getattr(IssueLine, condition)
        # Conditional: two returns of the same loan at once can never bring back more than lent.
        updated = db.session.execute(
            sa.update(IssueLine)
            .where(IssueLine.id == issue_line.id,
                   IssueLine.returned + IssueLine.damaged + IssueLine.lost + quantity
                   <= IssueLine.quantity)
            .values({condition: counted + quantity})
            .execution_options(synchronize_session=False)).rowcount
        if updated != 1:
            raise ValidationError({f"lines.{index}.quantity": _(
                "超过未归还数量 %(n)d", n=issue_line.outstanding)})
        db.session.refresh(issue_line)
        receipt.lines.append(ReturnLine(issue_line=issue_line, quantity=quantity,
                                        condition=line["condition"],
                                        item=_take_back(issue_line.item, quantity, line["condition"],
                                                        actor=actor, number=number)))
    db.session.flush()  # ids and defaults for the caller's answer
    return receipt


def _take_back(item: StockItem, quantity: int, condition: str, *, actor, number) -> StockItem | None:
    """Put returned goods where they belong; return the item they went into (None when lost)."""
    note = str(CONDITION_NAMES[condition])
    if item.serial:
        status = {"good": "available", "damaged": "damaged", "lost": "disposed"}[condition]
        ledger.change_quantity(item, 0 if condition == "lost" else 1,
                               kind="writeoff" if condition == "lost" else "return",
                               actor=actor, document=number, status=status, note=note)
        return None if condition == "lost" else item
    if condition == "lost":
        return None  # the units left the balance when they were lent; only the loan changes
    target = ledger.batch_item(item.site, item.material, lot=item.lot, expiry=item.expiry_date,
                               owner=item.owner, production_date=item.production_date,
                               source=item.source, donor=item.donor,
                               status="available" if condition == "good" else "damaged")
    ledger.change_quantity(target, quantity, kind="return", actor=actor, document=number, note=note)
    return target


# --- equipment tests ----------------------------------------------------------------------------

@transactional
def record_test(*, actor, data: dict) -> EquipmentTest:
    """试机: record a test run; a fault takes the item out of service (status damaged)."""
    fields = load(EQUIPMENT_TEST, data)
    item = _item_for(actor, fields["label"], "label")
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
    item = _item_for(actor, fields["label"], "label")
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


@transactional
def reverse_issue(*, actor, number: str, note: str) -> Issue:
    """冲销发放单: a mistaken issue undone whole — each line's goods back at the issuing site by a
    movement that reverses the line's own, the issue marked reversed so none of its lines is a
    loan any more; the issue and its movements stay. Raise NotFound, Forbidden, ValidationError
    (no reason given), InvalidState (already reversed, or goods of it came back)."""
    if not (note or "").strip():
        raise ValidationError({"note": _("请填写冲销原因")})
    note = load(ISSUE_REVERSAL, {"note": note})["note"]
    document = db.session.scalar(sa.select(Issue).where(Issue.number == number))
    if document is None:
        raise NotFound(_("发放单 %(number)s 不存在", number=number))
    authorize(actor, "stock.reverse", document.site, message=REVERSAL_NEEDS_MANAGER)
    already = InvalidState(_("发放单 %(number)s 已冲销", number=number))
    if document.reversed_at is not None:
        raise already
    # Conditional, like a transfer's steps: of two reversals at once, the second finds it done.
    # It also locks the issue's row, on which a return of the same issue waits (return_items).
    claimed = db.session.execute(
        sa.update(Issue).where(Issue.id == document.id, Issue.reversed_at.is_(None))
        .values(reversed_at=clock.now(), reversed_by_id=getattr(actor, "id", None), reversal_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise already
    # Read after the claim: a return that committed while this unit waited is seen.
    lines = list(db.session.scalars(sa.select(IssueLine).where(IssueLine.issue_id == document.id)
                                    .order_by(IssueLine.id).execution_options(populate_existing=True)))
    if document.has_returns:
        raise InvalidState(_("发放单 %(number)s 已有归还记录，不能冲销；请先核对归还情况", number=number))
    # Each line wrote one issue movement, in line order (issue()).
    originals = list(db.session.scalars(
        sa.select(Movement).where(Movement.document == number, Movement.kind == "issue",
                                  Movement.reverses_id.is_(None))
        .order_by(Movement.id).options(sa.orm.lazyload(Movement.item))))
    if [(m.item_id, -m.quantity) for m in originals] != [(line.item_id, line.quantity) for line in lines]:
        raise InvalidState(_("发放单 %(number)s 的台账记录与发放明细不符，不能冲销", number=number))
    ledger.lock(line.item for line in lines)
    movement_note = _("冲销 %(number)s：%(note)s", number=number, note=note)
    for line, original in zip(lines, originals, strict=True):
        item = line.item
        if item.serial and (item.quantity != 0 or item.moved_to_id is not None):
            raise InvalidState(_("%(name)s %(serial)s 已不在发放时的状态，不能冲销",
                                 name=item.material.name, serial=item.serial))
        ledger.change_quantity(item, line.quantity, kind="issue", actor=actor, document=number,
                               status="available" if item.serial else None, note=movement_note,
                               reverses=original)
    db.session.refresh(document)
    return document
