"""inventory/stock/ledger.py is the only writer of stock quantities, statuses and movements.

Two nets. The static one reads every module of the app for code that could write stock: making
a StockItem or a Movement, a Core INSERT or UPDATE of their tables, SQL text that does it,
set_committed_value or setattr on a ledger column. The running one performs every kind of stock
action and fails if any write of the ledger's columns or rows comes from anywhere but the ledger:
an ORM attribute set on an item (``item.quantity += 1`` in a service) or an INSERT/UPDATE of
stock_items or movements whose nearest app frame is not ledger.py (an autoflush of an item made
elsewhere, a hand-written UPDATE).
"""

import ast
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.stock.models import StockItem

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "inventory"
LEDGER = PACKAGE / "stock" / "ledger.py"
# Bulk loaders that write ledger-consistent rows straight into the tables, by design.
EXCEPTIONS = {
    PACKAGE / "seed" / "synthetic.py": "benchmark data: millions of rows inserted in bulk, each "
                                       "item's quantity the sum of its movements",
}
LEDGER_TABLES = ("stock_items", "movements")
LEDGER_MODELS = ("StockItem", "Movement")
LEDGER_COLUMNS = ("quantity", "status", "moved_to", "moved_to_id")
WRITING_SQL = re.compile(r"\b(INSERT\s+INTO|UPDATE)\s+\"?(stock_items|movements)\b", re.IGNORECASE)


def _name(node) -> str:
    """The dotted name of a call's target: ``sa.update`` → "sa.update"."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _mentions_ledger_table(node) -> bool:
    """``StockItem``, ``Movement.__table__``, ``tables["movements"]`` …"""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in LEDGER_MODELS:
            return True
        if isinstance(sub, ast.Constant) and sub.value in LEDGER_TABLES:
            return True
    return False


def ledger_writes(source: str) -> list[tuple[int, str]]:
    """Each line of ``source`` that writes, or could write, the ledger's rows or columns."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            last = name.rsplit(".", 1)[-1]
            if last in LEDGER_MODELS:
                found.append((node.lineno, f"makes a {last}"))
            elif last in ("insert", "update") and node.args and _mentions_ledger_table(node.args[0]):
                found.append((node.lineno, f"{last} of a ledger table"))
            elif last == "set_committed_value":
                found.append((node.lineno, "set_committed_value"))
            elif (last == "setattr" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
                  and node.args[1].value in LEDGER_COLUMNS):
                found.append((node.lineno, f"setattr of {node.args[1].value}"))
        elif isinstance(node, ast.Attribute) and node.attr == "__table__":
            if isinstance(node.value, ast.Name) and node.value.id in LEDGER_MODELS:
                found.append((node.lineno, f"{node.value.id}.__table__"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if WRITING_SQL.search(node.value):
                found.append((node.lineno, "SQL that writes a ledger table"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (isinstance(target, ast.Attribute) and target.attr in LEDGER_COLUMNS
                        and _looks_like_an_item(target.value)):
                    found.append((node.lineno, f"assigns .{target.attr}"))
    return sorted(found)


def _looks_like_an_item(node) -> bool:
    """An assignment to ``<x>.quantity`` or ``.status`` where x could be a stock item: anything but
    an object whose name says it is something else (a transfer, a stocktake, a document or one
    of its lines…). The running net below does not guess from names."""
    name = _name(node).rsplit(".", 1)[-1].lower()
    return not any(word in name for word in ("transfer", "stocktake", "request", "incident",
                                              "document", "receipt", "line", "job", "record", "conflict",
                                              "self", "cls"))


def test_no_module_but_the_ledger_writes_stock():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == LEDGER or path in EXCEPTIONS:
            continue
        for line, what in ledger_writes(path.read_text()):
            offences.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offences == [], "only inventory/stock/ledger.py may write stock:\n" + "\n".join(offences)


@pytest.mark.parametrize("source, what", [
    ("item.quantity += 1", "assigns .quantity"),
    ("stock_item.status = 'damaged'", "assigns .status"),
    ("db.session.add(StockItem(label='X', quantity=3))", "makes a StockItem"),
    ("db.session.execute(sa.update(StockItem).values(quantity=0))", "update of a ledger table"),
    ("execute(sa.insert(Movement.__table__), rows)", "insert of a ledger table"),
    ("db.session.execute(sa.text('UPDATE stock_items SET quantity = 0'))", "SQL that writes"),
    ("set_committed_value(item, 'quantity', 4)", "set_committed_value"),
    ("setattr(item, 'status', 'disposed')", "setattr of status"),
])
def test_the_static_net_catches_each_way_of_writing_stock(source, what):
    assert any(what in found for _line, found in ledger_writes(source)), ledger_writes(source)


def test_the_static_net_lets_other_features_keep_their_own_state():
    assert ledger_writes("transfer.status = 'received'\nline.received = 3\n"
                         "stocktake.status = 'review'\nagreed_line.quantity = 30") == []


# --- the running net ---------------------------------------------------------------------------

def _nearest_app_frame() -> Path | None:
    """The innermost frame in the app's own code, past the session helpers of db.py."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE) and path != PACKAGE / "db.py":
            return path
        frame = frame.f_back
    return None


class WriterWatch:
    """Records every write of the ledger's rows and columns that did not come from the ledger."""

    def __init__(self):
        self.strays: list[str] = []
        self.writes = 0

    def _note(self, what: str) -> None:
        where = _nearest_app_frame()
        self.writes += 1
        if where != LEDGER:
            self.strays.append(f"{what} from {where}")

    def attribute_set(self, target, value, _old, initiator):
        self._note(f"StockItem.{initiator.key} = {value!r}")

    def statement(self, _conn, _cursor, statement, _parameters, _context, _many):
        if WRITING_SQL.search(statement):
            self._note(statement.split("(")[0].strip()[:60])


@pytest.fixture
def watch(app):
    watch = WriterWatch()
    with app.app_context():
        engine = db.engine
    hooks = [(getattr(StockItem, column), "set", watch.attribute_set) for column in LEDGER_COLUMNS]
    hooks.append((engine, "before_cursor_execute", watch.statement))
    for target, name, hook in hooks:
        sa.event.listen(target, name, hook)
    yield watch
    for target, name, hook in hooks:
        sa.event.remove(target, name, hook)


def test_every_stock_action_writes_through_the_ledger_alone(app, county, catalog, watch, today):
    from inventory.stock import services, transfers

    actor = COMMAND_LINE
    with app.app_context():
        services.receive(actor=actor, data={"site": "GT-XB", "material": "WATER", "quantity": 40,
                                            "lot": "W1"})
        services.receive(actor=actor, data={"site": "GT-XB", "material": "TENT", "quantity": 6})
        services.receive(actor=actor, data={"site": "GT-XB", "material": "GEN", "quantity": 2,
                                            "serials": ["G-1", "G-2"]})
        loan = services.issue(actor=actor, data={
            "site": "GT-XB", "recipient": {"type": "person", "name": "张三"},
            "lines": [{"material": "TENT", "quantity": 3}, {"material": "WATER", "quantity": 5},
                      {"material": "GEN", "quantity": 1}]})
        tent, _water, generator = loan.lines
        services.return_items(actor=actor, data={"issue": loan.number, "lines": [
            {"issue_line": tent.id, "quantity": 1, "condition": "good"},
            {"issue_line": tent.id, "quantity": 1, "condition": "damaged"},
            {"issue_line": tent.id, "quantity": 1, "condition": "lost"},
            {"issue_line": generator.id, "quantity": 1, "condition": "good"}]})
        outbound = transfers.create_transfer(actor=actor, data={
            "from_site": "GT-XB", "to_site": "GT-NH",
            "lines": [{"material": "WATER", "quantity": 10}, {"material": "GEN", "quantity": 2}]})
        transfers.dispatch_transfer(actor=actor, number=outbound.number)
        lines = {line.material.code: line for line in outbound.lines}
        transfers.receive_transfer(actor=actor, number=outbound.number, data={"lines": [
            {"line": lines["WATER"].id, "received": 9}]})
        water = services.get_item(lines["WATER"].from_item.label)
        adjusted = services.adjust(actor=actor, data={"label": water.label, "delta": -2,
                                                      "reason": "count_correction"})
        services.adjust(actor=actor, data={"label": water.label, "delta": -1, "reason": "expired"})
        services.reverse(actor=actor, movement_id=adjusted.id)
        arrived = db.session.scalars(sa.select(StockItem).where(
            StockItem.serial.is_not(None), StockItem.quantity == 1)).first()
        services.record_test(actor=actor, data={"label": arrived.label, "result": "fault"})
        cancelled = transfers.create_transfer(actor=actor, data={
            "from_site": "GT-XB", "to_site": "GT-NH", "lines": [{"material": "WATER", "quantity": 1}]})
        transfers.cancel_transfer(actor=actor, number=cancelled.number)
    assert watch.strays == []
    # The net was live: every action above wrote the ledger's rows, through the ledger.
    assert watch.writes > 30
