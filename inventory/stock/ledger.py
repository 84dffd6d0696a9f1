"""The stock ledger: the one module that writes quantities, statuses and movements.

Every action of every feature (receipts, issues, returns, transfers, adjustments, and later
stocktakes, dispatch and sync) changes stock through these few functions, inside the unit of
work its caller owns:

- ``next_number(kind)``: the document's number, gap-free (``next_numbers``: a block of them);
- ``lock(items)``: lock the items a document touches, in id order, and refresh them;
- ``batch_item(site, material, …)``: the item a lot goes into at a site, made if needed;
- ``serial_item(site, material, serial=…, …)``: a new item for one serial-numbered unit;
- ``change_quantity(item, delta, kind=…, …)``: add ``delta`` (and set the status) with its
  movement, refusing to go below zero;
- ``hold(item_ids)``: lock many items by id, as ``lock`` does, answering rows, not objects;
- ``change_quantities(changes, kind=…, …)``: many such changes to held items in two
  statements (an approved stocktake's variances, an import's opening receipts);
- ``new_items(rows)``: many empty items made in one batched INSERT (an import's lots);
- ``relabel(item, at=…, …)``: a serial unit arrives at another site under a new label.

Stock goes down only through a conditional UPDATE (quantity + delta >= 0), never read-then-write;
documents that touch several items lock them in id order first, so two documents never wait on
each other in a circle. ``tests/stock/test_only_writer.py`` fails when anything else writes.
"""

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from inventory import attribution, clock
from inventory.catalog.models import Material
from inventory.db import db, execute
from inventory.errors import InsufficientStock
from inventory.labels.codes import new_label
from inventory.sites.models import Site
from inventory.stock.models import DOCUMENT_PREFIXES, DocumentCounter, Movement, StockItem

# How much of a note a movement keeps (its column).
NOTE_LENGTH = Movement.note.type.length
# The statements every issue sends, built once: each execution only brings its values (building
# and hashing a statement anew cost about as much as running it, bench/README).
_COUNTERS, _ITEMS = DocumentCounter.__table__, StockItem.__table__
_BUMP_COUNTER = (sa.update(_COUNTERS)
                 .where(_COUNTERS.c.prefix == sa.bindparam("counter_prefix"),
                        _COUNTERS.c.year == sa.bindparam("counter_year"))
                 .values(last=_COUNTERS.c.last + sa.bindparam("count")).returning(_COUNTERS.c.last))
_CHANGE_QUANTITY = (sa.update(_ITEMS)
                    .where(_ITEMS.c.id == sa.bindparam("item_id"),
                           _ITEMS.c.quantity + sa.bindparam("delta") >= 0)
                    .values(quantity=_ITEMS.c.quantity + sa.bindparam("delta"),
                            status=sa.func.coalesce(sa.bindparam("status", type_=sa.String),
                                                    _ITEMS.c.status))
                    .returning(_ITEMS.c.quantity, _ITEMS.c.status))
_RECORD_MOVEMENT = sa.insert(Movement.__table__).returning(Movement.__table__.c.id)
# Many changes at once to locked items: each row is still conditional on the quantity the lock
# read, so a change that raced past the lock would match nothing and be noticed.
_SET_QUANTITY = (sa.update(_ITEMS)
                 .where(_ITEMS.c.id == sa.bindparam("item_id"),
                        _ITEMS.c.quantity == sa.bindparam("before"))
                 .values(quantity=sa.bindparam("after"), status=sa.bindparam("status_after")))
_RECORD_MOVEMENTS = sa.insert(Movement.__table__)
_LOCK_ITEMS = (sa.select(_ITEMS.c.id, _ITEMS.c.quantity, _ITEMS.c.status, _ITEMS.c.moved_to_id)
               .where(_ITEMS.c.id.in_(sa.bindparam("ids", expanding=True)))
               .order_by(_ITEMS.c.id).with_for_update())
_HOLD_ITEMS = (sa.select(_ITEMS.c.id, _ITEMS.c.quantity, _ITEMS.c.status, _ITEMS.c.site_id,
                         _ITEMS.c.material_id)
               .where(_ITEMS.c.id.in_(sa.bindparam("ids", expanding=True)))
               .order_by(_ITEMS.c.id).with_for_update())
HOLD_SLICE = 10_000
# What the lock brings fresh: the only columns of an item that change once it is made.
_LEDGER_COLUMNS = ("quantity", "status", "moved_to_id")


def _insert_ignoring_conflict(model, values: dict, index_elements, index_where=None):
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).values(values)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=index_elements,
                                                     index_where=index_where))


def next_number(kind: str) -> str:
    """The next document number of ``kind`` this year, e.g. RK-2026-000001: unique, no gaps.

    The counter row is updated in the document's own transaction, so a rollback gives the number
    back; concurrent documents of one kind queue on that row for the rest of their transaction.
    """
    return next_numbers(kind, 1)[0]


def next_numbers(kind: str, count: int) -> list[str]:
    """The next ``count`` document numbers of ``kind``, consecutive: one bump of the counter,
    as ``next_number`` makes one."""
    prefix, year = DOCUMENT_PREFIXES[kind], clock.today().year
    counter = {"counter_prefix": prefix, "counter_year": year, "count": count}
    last = execute(_BUMP_COUNTER, counter).scalar_one_or_none()
    if last is None:
        _insert_ignoring_conflict(DocumentCounter, {"prefix": prefix, "year": year, "last": 0},
                                  ["prefix", "year"])
        last = execute(_BUMP_COUNTER, counter).scalar_one()
    return [f"{prefix}-{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


def lock(items) -> None:
    """Lock these items (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) in id
    order, and bring what the ledger changes (quantity, status, where a serial item went) fresh
    from the database into them. The rest of an item never changes once it is made, so the
    loaded objects are kept rather than loaded again with their site and material."""
    by_id = {item.id: item for item in items}
    if not by_id:
        return
    for row in execute(_LOCK_ITEMS, {"ids": sorted(by_id)}):
        for name in _LEDGER_COLUMNS:
            set_committed_value(by_id[row.id], name, getattr(row, name))


class Held(NamedTuple):
    """An item as ``hold`` locked it: what a change of it needs to know."""

    id: int
    quantity: int
    status: str
    site_id: int
    material_id: int


def hold(item_ids) -> dict[int, Held]:
    """Lock these items by id, in id order, as ``lock`` does, and answer each one's balance and
    status fresh from the database — as rows: thousands of items (a stocktake's) are not loaded
    as objects for the sake of five columns."""
    ids, held = sorted(set(item_ids)), {}
    # In slices, still in id order overall: PostgreSQL takes at most 65,535 parameters in a
    # statement, and a stocktake with its sub-sites can hold more items than that.
    for start in range(0, len(ids), HOLD_SLICE):
        for row in execute(_HOLD_ITEMS, {"ids": ids[start:start + HOLD_SLICE]}):
            held[row.id] = Held(*row)
    return held


def _kept(note: str | None) -> str:
    """A movement's note as the ledger keeps it: its first NOTE_LENGTH characters. Notes are
    made of a document's words and a prefix ("试机故障：…", "盘点 PD-…："), so they may run longer
    than what was typed; the document keeps the whole text."""
    return (note or "")[:NOTE_LENGTH]


def change_quantity(item: StockItem, delta: int, *, kind: str, actor, document=None,
                    status=None, reason=None, note="", reverses=None) -> int:
    """Add ``delta`` to an item (and set its status) with its one movement, whose id it returns;
    raise InsufficientStock.

    A conditional UPDATE: the database refuses to go below zero whatever ran concurrently.
    """
    row = execute(_CHANGE_QUANTITY, {"item_id": item.id, "delta": delta, "status": status}
                  ).one_or_none()
    if row is None:
        raise InsufficientStock(details=[{"line": 0, "requested": -delta,
                                          "available": item.quantity}])
    set_committed_value(item, "quantity", row.quantity)
    set_committed_value(item, "status", row.status)
    return execute(_RECORD_MOVEMENT, {
        "kind": kind, "item_id": item.id, "site_id": item.site_id, "material_id": item.material_id,
        "quantity": delta, "balance_after": row.quantity, "status_after": row.status,
        "document": document, "reason": reason, "note": _kept(note), **attribution.of(actor),
        "reverses_id": reverses.id if reverses is not None else None}).scalar_one()


class Change(NamedTuple):
    """One item's part in ``change_quantities``: add ``delta``, then set ``status`` if given;
    its movement names ``document`` when given, else the call's."""

    item: Held
    delta: int
    status: str | None = None
    note: str = ""
    document: str | None = None


def change_quantities(changes: list[Change], *, kind: str, actor, document=None, reason=None) -> None:
    """Apply many changes to items the caller holds (``hold``) — one UPDATE and one INSERT
    sent as batches, not two statements per item; raise InsufficientStock listing every change
    that would go below zero, before anything is written.

    Under the lock the new balances are known in advance; each UPDATE still matches only the
    quantity the lock read, and a mismatch (an item changed without its lock) raises. Items of
    these ids that the session has loaded as objects are kept in step.
    """
    short = [{"line": index, "requested": -change.delta, "available": change.item.quantity}
             for index, change in enumerate(changes) if change.item.quantity + change.delta < 0]
    if short:
        raise InsufficientStock(details=short)
    if not changes:
        return
    updates, movements, at = [], [], clock.now()
    fixed = {"at": at, "kind": kind, "document": document, "reason": reason, "reverses_id": None,
             **attribution.of(actor)}
    for item, delta, status, note, own_document in changes:
        after, status = item.quantity + delta, status or item.status
        updates.append({"item_id": item.id, "before": item.quantity, "after": after,
                        "status_after": status})
        movements.append({**fixed, "item_id": item.id, "site_id": item.site_id,
                          "material_id": item.material_id, "quantity": delta, "balance_after": after,
                          "status_after": status, "note": _kept(note), "document": own_document or document})
    if execute(_SET_QUANTITY, updates).rowcount != len(updates):
        raise RuntimeError("an item changed without its lock while its change was being written")
    execute(_RECORD_MOVEMENTS, movements)
    changed = {row["item_id"]: row for row in updates}
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, StockItem) and (row := changed.get(loaded.id)) is not None:
            set_committed_value(loaded, "quantity", row["after"])
            set_committed_value(loaded, "status", row["status_after"])


def new_items(rows: list[dict]) -> list[int]:
    """Make empty items — each row a lot (site_id, material_id, lot, expiry_date, owner, …) or a
    serial unit (with ``serial``) — in one batched INSERT, each under a new label and holding
    nothing until its first movement; answer their ids in the rows' order."""
    if not rows:
        return []
    at = clock.now()
    values = [{"label": new_label(), "lot": None, "serial": None, "expiry_date": None, "production_date": None,
               "source": None, "donor": "", "owner": "bureau", "status": "available", "received_at": at,
               **row, "quantity": 0} for row in rows]
    for row in values:
        row["merge_key"] = merge_key(row["serial"] or row["lot"], row["expiry_date"], row["owner"])
    insert = sa.insert(_ITEMS).returning(_ITEMS.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(insert, values).scalars())


def merge_key(lot, expiry, owner) -> str:
    """What makes two receipts the same physical batch: lot, expiry and owner."""
    return f"{lot or ''}|{expiry.isoformat() if expiry else ''}|{owner}"


def batch_item(site: Site, material: Material, *, lot, expiry, owner, status="available",
               production_date=None, source=None, donor="") -> StockItem:
    """The available (or damaged) item of this batch at ``site``, made (empty) if there is none.

    Two first receipts racing on PostgreSQL both insert; the unique index keeps one, the other's
    insert does nothing, and both then add to the same row.
    """
    key = merge_key(lot, expiry, owner)
    find = (sa.select(StockItem)
            .where(StockItem.site_id == site.id, StockItem.material_id == material.id,
                   StockItem.merge_key == key, StockItem.status == status,
                   StockItem.serial.is_(None)))
    item = db.session.scalar(find)
    if item is None:
        _insert_ignoring_conflict(StockItem, {
            "label": new_label(), "site_id": site.id, "material_id": material.id, "lot": lot,
            "expiry_date": expiry, "production_date": production_date, "source": source,
            "donor": donor or "", "owner": owner, "merge_key": key, "quantity": 0,
            "status": status, "received_at": clock.now(),
        }, ["site_id", "material_id", "merge_key", "status"],
            index_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"))
        item = db.session.scalar(find)
    return item


def serial_item(site: Site, material: Material, *, serial: str, lot=None, production_date=None,
                expiry=None, source=None, donor="", owner="bureau") -> StockItem:
    """A new, empty item for one serial-numbered unit at ``site``, under a new label.

    Its first movement gives it its one unit; until then it holds nothing.
    """
    item = StockItem(label=new_label(), site=site, material=material, serial=serial, lot=lot,
                     production_date=production_date, expiry_date=expiry, source=source,
                     donor=donor or "", owner=owner, merge_key=merge_key(serial, expiry, owner),
                     quantity=0, received_at=clock.now())
    db.session.add(item)
    db.session.flush()
    return item


def relabel(item: StockItem, *, at: Site, kind: str, actor, document=None, note="") -> StockItem:
    """A serial unit that left ``item`` arrives at ``at``: a new item there holds it, and the old
    one remembers where it went."""
    arrived = serial_item(at, item.material, serial=item.serial, lot=item.lot,
                          production_date=item.production_date, expiry=item.expiry_date,
                          source=item.source, donor=item.donor, owner=item.owner)
    change_quantity(arrived, 1, kind=kind, actor=actor, document=document, note=note)
    item.moved_to = arrived
    db.session.flush()
    return arrived
