"""Issues (发放) and what follows them: the recipient completed later (先发后补), goods taken
back (归还), and a mistaken issue reversed whole (冲销发放单).

Every public function is one unit of work (db.transactional) that validates its input against
stock/schemas.py, authorises at the choke point, and changes stock only through stock/ledger.py;
stock/services.py offers them with the other stock actions.
"""

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inventory import clock
from inventory.audit.services import record_updated
from inventory.auth.access import authorize
from inventory.db import db, transactional
from inventory.dispatch.lookup import open_incident_for
from inventory.errors import InvalidState, NotFound, ValidationError
from inventory.feed.services import record
from inventory.stock import allocation, ledger
from inventory.stock.lookup import site_for
from inventory.stock.models import CONDITION_NAMES, Issue, IssueLine, Movement, Return, ReturnLine, StockItem
from inventory.stock.schemas import ISSUE, ISSUE_REVERSAL, RECIPIENT, RETURN
from inventory.templating import mask_id_number
from inventory.validation import load

LOSS_NEEDS_MANAGER = _l("登记丢失即核销，须由管理员办理；未归还的物品仍记在借用人名下")
REVERSAL_NEEDS_MANAGER = _l("冲销须由管理员办理：请联系管理员，说明发放单哪里有误")
# The name a 先发后补 issue's recipient goes by until completed: stored, so lists and slips read
# as a sentence in any language the page is shown in, and searched for as such.
PENDING_RECIPIENT_NAME = "待补登"


# --- issues -------------------------------------------------------------------------------------

def default_due_date() -> dt.date:
    """When a loan is due back unless the keeper says otherwise: LOAN_DAYS from today. A loan
    always has a date, or it could never become overdue."""
    return clock.today() + dt.timedelta(days=current_app.config["LOAN_DAYS"])


@transactional
def issue(*, actor, data: dict) -> Issue:
    """发放: hand stock to a recipient; returnable materials become loans. All lines or none.

    ``incident`` must name an open incident (else 422 on it). With ``recipient_pending``
    (先发后补) the recipient may go unnamed for now: the issue is flagged until complete_recipient.
    """
    fields = load(ISSUE, _named_if_pending(data))
    site = site_for(fields["site"], "site")
    authorize(actor, "stock.issue", site)
    incident = open_incident_for(fields.get("incident"), "incident")
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
                     purpose=fields.get("purpose") or "", user_id=getattr(actor, "id", None), lines=[],
                     incident_id=getattr(incident, "id", None),
                     recipient_pending=bool(fields.get("recipient_pending")))
    db.session.add(document)
    for line, item, quantity in allocations:
        loan = item.material.returnable
        status = ("on_loan" if loan else "available") if item.serial else None
        ledger.change_quantity(item, -quantity, kind="issue", actor=actor, document=number, status=status,
                               note=recipient["name"])
        document.lines.append(IssueLine(item=item, quantity=quantity, is_loan=loan,
                                        due_date=(line.get("due_back") or default_due_date())
                                        if loan else None))
    # Who received it stays off the feed: the command platform follows goods, not people.
    record("issue.created", number, site=site, incident=incident, actor=actor, data={
        "site": site.code, "recipient_type": document.recipient_type,
        "lines": [{"material": item.material.code, "quantity": quantity}
                  for _line, item, quantity in allocations]})
    db.session.flush()  # ids and defaults for the caller's answer
    return document


def _named_if_pending(data):
    """An issue whose recipient is completed later (先发后补) and given no name is issued to
    PENDING_RECIPIENT_NAME, so it reads as such in every list until completed; anything else
    is left for the schema to judge."""
    if not isinstance(data, dict) or data.get("recipient_pending") is not True:
        return data
    recipient = data.get("recipient")
    if not isinstance(recipient, dict):
        return data
    name = recipient.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        return {**data, "recipient": {**recipient, "name": PENDING_RECIPIENT_NAME}}
    return data


def _recipient(document: Issue) -> dict:
    """Who an issue went to, as its audit entry shows it: the ID number masked, as on every
    page but those of the people who issue goods (API.md)."""
    return {"recipient_type": document.recipient_type, "recipient_name": document.recipient_name,
            "recipient_contact": document.recipient_contact,
            "recipient_id_number": mask_id_number(document.recipient_id_number),
            "recipient_pending": document.recipient_pending}


@transactional
def complete_recipient(*, actor, number: str, data: dict) -> Issue:
    """补登: the recipient of a 先发后补 issue, named after the goods went out; the flag clears and
    the audit log keeps who it said before and after. Raise NotFound, Forbidden, ValidationError,
    InvalidState (the issue's recipient is not pending)."""
    document = db.session.scalar(sa.select(Issue).where(Issue.number == number))
    if document is None:
        raise NotFound(_("发放单 %(number)s 不存在", number=number))
    authorize(actor, "stock.issue", document.site)
    fields = load(RECIPIENT, data)
    if fields["name"] == PENDING_RECIPIENT_NAME:
        raise ValidationError({"name": _("请填写领用人的姓名或单位")})
    before = _recipient(document)
    # Conditional: of two people completing the same issue at once, the second is told it is done.
    completed = db.session.execute(
        sa.update(Issue).where(Issue.id == document.id, Issue.recipient_pending.is_(True))
        .values(recipient_type=fields["type"], recipient_name=fields["name"],
                recipient_contact=fields.get("contact", ""),
                recipient_id_number=fields.get("id_number", "").upper(), recipient_pending=False)
        .execution_options(synchronize_session=False)).rowcount
    if completed != 1:
        raise InvalidState(_("发放单 %(number)s 的领用人无需补登", number=number))
    db.session.refresh(document)
    record_updated(actor=actor, entity="issue", key=number, before=before, after=_recipient(document))
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
    record("return.created", number, site=document.site, incident=document.incident_id, actor=actor, data={
        "issue": document.number,
        "lines": [{"material": line.issue_line.item.material.code, "quantity": line.quantity,
                   "condition": line.condition} for line in receipt.lines]})
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
