"""The database itself keeps the ledger honest: append-only movements (R12), labels never
reused (D3), foreign keys enforced on SQLite too (D4), quantities never below zero."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from inventory.db import db
from inventory.labels.codes import LABEL_ALPHABET, LABEL_LENGTH, format_label, new_label
from inventory.stock.models import Movement, StockItem
from tests.factories import check_ledger, receive


def test_movements_cannot_be_changed_or_removed(app, keeper):
    receive(keeper, quantity=5)
    with app.app_context():
        for statement in ("UPDATE movements SET quantity = 50", "DELETE FROM movements"):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.exec_driver_sql(statement)
        assert db.session.scalar(sa.select(Movement.quantity)) == 5


def test_quantities_cannot_go_below_zero_even_by_hand(app, keeper):
    receive(keeper, quantity=5)
    with app.app_context(), pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE stock_items SET quantity = -1")


def test_foreign_keys_hold_on_every_engine(app, keeper):
    """D4: a movement for an item that does not exist is refused by the database."""
    [item] = receive(keeper, quantity=5)["items"]
    with app.app_context():
        item_id = db.session.scalar(sa.select(StockItem.id).where(StockItem.label == item["label"]))
        movement = db.session.scalar(sa.select(Movement))
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(sa.insert(Movement).values(
                kind="receipt", item_id=item_id + 1000, site_id=movement.site_id,
                material_id=movement.material_id, quantity=1, balance_after=1,
                status_after="available", note="", at=movement.at))


def test_a_site_with_stock_can_only_be_deactivated(client, keeper, manager):
    receive(keeper, site="GT-XB-HP", quantity=1)
    response = manager.client.delete("/api/v1/sites/GT-XB-HP", headers=manager.headers)
    assert response.status_code == 409 and "停用" in response.json["error"]["message"]
    assert manager.client.patch("/api/v1/sites/GT-XB-HP", json={"active": False},
                                headers=manager.headers).json["active"] is False


def test_labels_are_random_typable_and_never_sequential():
    labels = {new_label() for _ in range(2000)}
    assert len(labels) == 2000
    assert all(len(label) == LABEL_LENGTH and set(label) <= set(LABEL_ALPHABET) for label in labels)
    assert LABEL_LENGTH * 5 >= 80, "at least 80 random bits"
    assert not set("ILOU") & set(LABEL_ALPHABET), "no letters that read as others"
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", format_label(next(iter(labels))))


def test_a_typed_label_is_read_leniently(keeper):
    [item] = receive(keeper, quantity=1)["items"]
    typed = format_label(item["label"]).lower().replace("0", "o").replace("1", "l")
    assert keeper.get(f"/stock/{typed}").json["label"] == item["label"]


def test_a_disposed_item_keeps_its_label_and_no_one_else_gets_it(app, keeper, manager):
    """D3."""
    [generator] = receive(keeper, material="GEN", quantity=1, serials=["SN-1"])["items"]
    written = manager.post("/adjustments", {"label": generator["label"], "delta": -1,
                                            "reason": "disposal"})
    assert written.status_code == 201
    [replacement] = receive(keeper, material="GEN", quantity=1, serials=["SN-2"])["items"]
    assert replacement["label"] != generator["label"]
    old = keeper.get(f"/stock/{generator['label']}").json
    assert (old["serial"], old["status"], old["quantity"]) == ("SN-1", "disposed", 0)
    assert check_ledger(app)[0] == 0


def test_check_ledger_reports_drift_and_fails(app, keeper):
    [item] = receive(keeper, quantity=5)["items"]
    code, output = check_ledger(app)
    assert code == 0 and "台账一致" in output
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.update(StockItem).values(quantity=7))
    code, output = check_ledger(app)
    assert code == 1
    assert item["label"] in output and "数量 7" in output and "台账合计 5" in output
