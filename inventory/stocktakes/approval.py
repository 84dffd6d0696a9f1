"""审批: a stocktake's variances posted into the ledger, its found goods booked, and (for an
agreement site) its verification recorded — the one stocktake action that moves stock.

Its own module beside services.py, as transfers are beside the stock actions: it shares their
claim on the stocktake's row (services.claim, services.move) and does its own heavy lifting —
thousands of lines read as rows and posted in two batched ledger statements (bench PB8).
"""

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inventory import clock
from inventory.db import db, execute, transactional
from inventory.errors import Forbidden, InsufficientStock, InvalidState, ValidationError
from inventory.feed.services import record
from inventory.labels.codes import format_label, normalize_label
from inventory.sites.models import Agreement
from inventory.stock import ledger
from inventory.stock.models import StockItem
from inventory.stocktakes.models import FoundLine, Stocktake, StocktakeCount, StocktakeLine
from inventory.stocktakes.schemas import APPROVAL
from inventory.stocktakes.services import claim, move, scope_sites
from inventory.validation import listing, load

_LINES = StocktakeLine.__table__
ONLY_COUNTER = _l("您是本次盘点唯一的盘点人，不能审批自己的清点结果：请另一位管理员审批")

_SET_OUTCOME = (sa.update(_LINES).where(_LINES.c.id == sa.bindparam("line_id"))
                .values(delta=sa.bindparam("posted"), reason=sa.bindparam("why")))
# What approval reads of each line, as rows: a stocktake has thousands of lines, and loading each
# as an object with its item (and the item's site and material) cost more than posting it.
_APPROVAL_LINES = (sa.select(_LINES.c.id, _LINES.c.item_id, _LINES.c.counted, _LINES.c.expected_at_count,
                             StockItem.label, StockItem.serial)
                   .join(StockItem, StockItem.id == _LINES.c.item_id)
                   .where(_LINES.c.stocktake_id == sa.bindparam("stocktake_id"))
                   .order_by(_LINES.c.item_id))


def who_counted(stocktake: Stocktake) -> set[int]:
    """The users who entered a count or found goods, whether or not their count stands."""
    counts = sa.select(StocktakeCount.user_id).join(
        StocktakeLine, StocktakeLine.id == StocktakeCount.line_id).where(
        StocktakeLine.stocktake_id == stocktake.id)
    found = sa.select(FoundLine.user_id).where(FoundLine.stocktake_id == stocktake.id)
    return {user_id for user_id in db.session.scalars(counts.union(found)) if user_id is not None}


class Outcome:
    """What approval posted: the lines with a variance and the items found goods became."""

    def __init__(self, stocktake, variances, found):
        self.stocktake, self.variances, self.found = stocktake, variances, found


@transactional
def approve(*, actor, stocktake_id: int, data: dict | None = None) -> Outcome:
    """审批: one ``stocktake`` movement per line whose count differs from the books (a line not
    counted counts as 0), found goods booked as new items, the stocktake closed — all or nothing.

    Everything is read and checked before any item is locked; the lock covers only the items
    that change, and only from the moment their changes are written to the commit.
    """
    fields = load(APPROVAL, data or {})
    stocktake = claim(actor, stocktake_id, "stocktakes.approve", status="review", shared=False)
    counted_by = who_counted(stocktake)
    if not counted_by:
        raise InvalidState(_("盘点单 %(number)s 没有任何清点记录，不能审批：请退回清点或撤销",
                             number=stocktake.number))
    if counted_by == {getattr(actor, "id", None)}:
        raise Forbidden(ONLY_COUNTER)
    lines = execute(_APPROVAL_LINES, {"stocktake_id": stocktake.id}).all()
    reasons = {normalize_label(label): text.strip() for label, text in (fields.get("reasons") or {}).items()}
    unknown = reasons.keys() - {line.label for line in lines}
    if unknown:
        raise ValidationError({"reasons": _("这些标签不在本盘点单内：%(labels)s",
                                            labels=listing(sorted(unknown)))})
    found = list(db.session.scalars(sa.select(FoundLine).where(FoundLine.stocktake_id == stocktake.id)
                                    .order_by(FoundLine.id)))
    number, approved_on = stocktake.number, clock.now()
    move(stocktake, expected=("review",), to="closed", closed_at=approved_on,
          approved_by_id=getattr(actor, "id", None),
          witness_id=stocktake.witness_id or getattr(actor, "id", None))

    # Counted lines whose count matches the books at count time change nothing: only the rest
    # (and every uncounted line, whose books are read under the lock) are locked.
    touched = [line for line in lines if line.counted is None or line.counted != line.expected_at_count]
    held = ledger.hold(line.item_id for line in touched)
    changes, labels, variances, posted = [], [], [], {}
    unexplained = _stocktake_note(number, "")
    for line in touched:
        item = held[line.item_id]
        expected = item.quantity if line.counted is None else line.expected_at_count
        delta = posted[line.id] = (line.counted or 0) - expected
        if delta == 0:
            continue
        status = "disposed" if line.serial and item.quantity + delta == 0 else None
        reason = reasons.get(line.label, "")
        changes.append(ledger.Change(item, delta, status=status,
                                     note=_stocktake_note(number, reason) if reason else unexplained))
        labels.append(line.label)
        variances.append({"label": line.label, "expected": expected, "counted": line.counted,
                          "delta": delta})
    try:
        ledger.change_quantities(changes, kind="stocktake", actor=actor, document=number,
                                 reason="count_correction")
    except InsufficientStock as short:
        refused = [format_label(labels[detail["line"]]) for detail in short.details]
        raise InsufficientStock(_("清点后又有出库，部分物资账面已少于盘亏数：%(labels)s；请退回复盘",
                                  labels=listing(refused)), details=short.details) from None
    outcomes = [{"line_id": line.id, "posted": posted.get(line.id, 0), "why": reasons.get(line.label, "")}
                for line in lines]
    if outcomes:
        execute(_SET_OUTCOME, outcomes)
    booked = [_book_found(stocktake, entry, actor=actor, number=number) for entry in found]
    if not stocktake.categories:
        _record_verification(stocktake, clock.today())
    record("stocktake.closed", stocktake.id, site=stocktake.site_id, actor=actor, data={
        "number": number, "variances": len(variances), "found": len(booked)})
    db.session.flush()
    db.session.refresh(stocktake)
    return Outcome(stocktake, variances, booked)


def _stocktake_note(number: str, reason: str) -> str:
    return _("盘点 %(number)s：%(reason)s", number=number, reason=reason or _("未说明"))


def _book_found(stocktake: Stocktake, entry: FoundLine, *, actor, number: str) -> StockItem:
    """A found line becomes stock at the stocktake's site, through the ledger (past expiry too:
    what is on the shelf is on the books; allocation never issues it)."""
    site = stocktake.site
    note = (_("盘盈 %(number)s：%(note)s", number=number, note=entry.note) if entry.note
            else _("盘盈 %(number)s", number=number))
    if entry.serial:
        item = ledger.serial_item(site, entry.material, serial=entry.serial, lot=entry.lot,
                                  expiry=entry.expiry_date)
        ledger.change_quantity(item, 1, kind="stocktake", actor=actor, document=number,
                               status="available", reason="count_correction", note=note)
    else:
        item = ledger.batch_item(site, entry.material, lot=entry.lot, expiry=entry.expiry_date,
                                 owner="bureau")
        ledger.lock([item])
        ledger.change_quantity(item, entry.quantity, kind="stocktake", actor=actor, document=number,
                               reason="count_correction", note=note)
    entry.item = item
    return item


def _record_verification(stocktake: Stocktake, on: dt.date) -> None:
    """代储核查: an approved full count of an agreement site is its verification (norms count its
    stock while the verification is fresh)."""
    sites = scope_sites(stocktake)
    db.session.execute(sa.update(Agreement).where(Agreement.site_id.in_(sites))
                       .values(last_verified=on).execution_options(synchronize_session=False))
