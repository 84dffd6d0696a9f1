"""Transfers (调拨): requested → in transit (the stock has left) → received, or cancelled.

A state machine of its own: every move between states is a conditional UPDATE, so two clicks
cannot both win; stock moves only through stock/ledger.py.
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.auth.access import authorize
from inventory.db import db, transactional
from inventory.dispatch.lookup import open_incident_for
from inventory.errors import InsufficientStock, InvalidState, NotFound, ValidationError
from inventory.feed.services import record
from inventory.stock import ledger
from inventory.stock.allocation import allocate, available_for_issue, refuse_expired, resolve_lines
from inventory.stock.lookup import site_for
from inventory.stock.models import TRANSFER_STATUS_NAMES, StockItem, Transfer, TransferLine
from inventory.stock.schemas import TRANSFER, TRANSFER_RECEIPT
from inventory.validation import load


def get_transfer(number: str) -> Transfer:
    """The transfer with this number; raise NotFound."""
    transfer = db.session.scalar(sa.select(Transfer).where(Transfer.number == number))
    if transfer is None:
        raise NotFound(_("调拨单 %(number)s 不存在", number=number))
    return transfer


@transactional
def create_transfer(*, actor, data: dict) -> Transfer:
    """调拨申请: what should go from one site to another; stock stays until dispatch. An
    ``incident`` must be open (else 422 on it); the transfer keeps it to the end."""
    fields = load(TRANSFER, data)
    source = site_for(fields["from_site"], "from_site")
    destination = site_for(fields["to_site"], "to_site")
    authorize(actor, "stock.transfer", source)
    errors = {}
    if source.id == destination.id:
        errors["to_site"] = _("调入站点不能与调出站点相同")
    elif not destination.active:
        errors["to_site"] = _("站点已停用")
    if errors:
        raise ValidationError(errors)
    incident = open_incident_for(fields.get("incident"), "incident")
    resolved = resolve_lines(fields["lines"], source, actor=actor)
    _check_available(resolved)
    transfer = Transfer(number=ledger.next_number("transfer"), from_site=source, to_site=destination,
                        note=fields.get("note") or "", created_by_id=getattr(actor, "id", None),
                        incident_id=getattr(incident, "id", None))
    for line, material, items in resolved:
        transfer.lines.append(TransferLine(material=material, quantity=line["quantity"],
                                           from_item=items[0] if "label" in line else None))
    db.session.add(transfer)
    _record(transfer, "transfer.requested", transfer.from_site, actor)
    db.session.flush()  # ids and defaults for the caller's answer
    return transfer


def _record(transfer: Transfer, type_: str, site, actor, *, received: bool = False) -> None:
    """The change feed's entry for a step of ``transfer``, with what it carries (and, once
    ``received``, what arrived) — from objects the step already holds: one INSERT, no reads."""
    record(type_, transfer.number, site=site, incident=transfer.incident_id, actor=actor, data={
        "from_site": transfer.from_site.code, "to_site": transfer.to_site.code,
        "lines": [{"material": line.material.code, "quantity": line.quantity,
                   **({"received": line.received} if received else {})} for line in transfer.lines]})


def _check_available(resolved) -> None:
    """Refuse a request that could not be met with today's stock (without locking anything)."""
    short = []
    for index, (line, _material, items) in enumerate(resolved):
        if "label" in line:
            refuse_expired(items[0])  # dispatch would refuse it (allocate); say so now
        quantity = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockItem.quantity), 0))
                                     .where(StockItem.id.in_([item.id for item in items])))
        if quantity < line["quantity"]:
            short.append({"line": index, "requested": line["quantity"], "available": quantity})
    if short:
        raise InsufficientStock(_("库存不足，没有任何改动"), details=short)


def _move_transfer(transfer: Transfer, *, expected: str, to: str, stamp: str) -> None:
    """Move a transfer between states with a conditional UPDATE: two clicks cannot both win."""
    moved = db.session.execute(
        sa.update(Transfer).where(Transfer.id == transfer.id, Transfer.status == expected)
        .values({"status": to, stamp: clock.now()})
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(transfer)
        raise InvalidState(_("调拨单 %(number)s 当前状态为“%(status)s”，不能执行此操作",
                             number=transfer.number, status=TRANSFER_STATUS_NAMES[transfer.status]))
    db.session.refresh(transfer)


@transactional
def dispatch_transfer(*, actor, number: str) -> Transfer:
    """发出: the stock leaves the source site; the transfer is in transit. All lines or none."""
    transfer = get_transfer(number)
    authorize(actor, "stock.transfer", transfer.from_site)
    _move_transfer(transfer, expected="requested", to="in_transit", stamp="dispatched_at")
    requests = []
    for line in transfer.lines:
        items = ([line.from_item] if line.from_item_id else
                 list(db.session.scalars(available_for_issue(transfer.from_site, line.material))))
        request = {"quantity": line.quantity}
        if line.from_item_id:
            request["label"] = line.from_item.label
        requests.append((request, line.material, items))
    allocations = allocate(requests, allow_damaged=True)
    # A material line spread over several items becomes one line per item.
    transfer.lines = []
    db.session.flush()
    _send_out(transfer, [(item, quantity) for _request, item, quantity in allocations], actor=actor)
    _record(transfer, "transfer.dispatched", transfer.from_site, actor)
    db.session.flush()  # ids and defaults for the caller's answer
    return transfer


def _send_out(transfer: Transfer, picks, *, actor) -> None:
    """The goods leave: each (item, quantity) of ``picks`` off the books of the source, on the
    road (a serial item's status says so), as one line of the transfer."""
    for item, quantity in picks:
        ledger.change_quantity(item, -quantity, kind="transfer_out", actor=actor, document=transfer.number,
                               status="in_transit" if item.serial else None, note=transfer.to_site.name)
        transfer.lines.append(TransferLine(material=item.material, quantity=quantity, from_item=item))


@transactional
def receive_transfer(*, actor, number: str, data: dict | None = None) -> Transfer:
    """收货: what arrived becomes available at the destination; shortages stay on the line."""
    fields = load(TRANSFER_RECEIPT, data or {})
    transfer = get_transfer(number)
    # The destination's people count what arrived; a dispatcher elsewhere could only guess, and
    # a guess of 0 would write the goods in transit off as a discrepancy.
    authorize(actor, "stock.receive", transfer.to_site)
    received = {}
    lines_by_id = {line.id: line for line in transfer.lines}
    for index, given in enumerate(fields.get("lines") or []):
        line = lines_by_id.get(given["line"])
        if line is None:
            raise ValidationError({f"lines.{index}.line": _("调拨单没有这一行")})
        if given["line"] in received:
            raise ValidationError({f"lines.{index}.line": _("同一行只能填写一次")})
        if given["received"] > line.quantity:
            raise ValidationError({f"lines.{index}.received": _(
                "实收不能超过调拨数量 %(n)d", n=line.quantity)})
        received[given["line"]] = given["received"]
    _move_transfer(transfer, expected="in_transit", to="received", stamp="received_at")
    for line in transfer.lines:
        line.received = received.get(line.id, line.quantity)
        source = line.from_item
        if source.serial:
            if line.received:
                arrived = ledger.relabel(source, at=transfer.to_site, kind="transfer_in",
                                         actor=actor, document=number,
                                         note=transfer.from_site.name)
                line.to_item = arrived
            else:
                ledger.change_quantity(source, 0, kind="writeoff", actor=actor, document=number,
                                       status="disposed", note=_("调拨途中短少"))
        elif line.received:
            arrived = ledger.batch_item(transfer.to_site, source.material, lot=source.lot,
                                        expiry=source.expiry_date, owner=source.owner,
                                        production_date=source.production_date, source=source.source,
                                        donor=source.donor)
            ledger.change_quantity(arrived, line.received, kind="transfer_in", actor=actor,
                                   document=number, note=transfer.from_site.name)
            line.to_item = arrived
    _record(transfer, "transfer.received", transfer.to_site, actor, received=True)
    db.session.flush()  # ids and defaults for the caller's answer
    return transfer


@transactional
def cancel_transfer(*, actor, number: str) -> Transfer:
    """撤销: only a transfer that has not left yet."""
    transfer = get_transfer(number)
    authorize(actor, "stock.transfer", transfer.from_site)
    _move_transfer(transfer, expected="requested", to="cancelled", stamp="cancelled_at")
    _record(transfer, "transfer.cancelled", transfer.from_site, actor)
    return transfer


def send_transfer(*, actor, source, destination, picks, incident_id=None, note="", driver_name="",
                  driver_phone="", vehicle="") -> Transfer:
    """A transfer made and dispatched at once (an approved dispatch plan), inside the caller's
    unit of work: ``picks`` are (item, quantity) of items at ``source`` that the caller has
    locked and checked (and authorised taking), in the order the lines list them. Stock leaves
    as dispatch_transfer takes it; the transfer is in transit."""
    transfer = Transfer(number=ledger.next_number("transfer"), from_site=source, to_site=destination,
                        status="in_transit", dispatched_at=clock.now(), incident_id=incident_id, note=note,
                        created_by_id=getattr(actor, "id", None), driver_name=driver_name,
                        driver_phone=driver_phone, vehicle=vehicle)
    _send_out(transfer, picks, actor=actor)
    db.session.add(transfer)
    db.session.flush()  # ids and defaults for the caller's answer
    _record(transfer, "transfer.dispatched", source, actor)
    return transfer
