"""`flask check ledger --repair-report`: each drifting item with its movements, read-only (R22)."""

import sqlalchemy as sa

from inventory.db import db
from inventory.stock.models import Movement, StockItem
from tests.factories import issue, receive


def repair_report(app):
    result = app.test_cli_runner().invoke(args=["check", "ledger", "--repair-report"])
    return result.exit_code, result.stdout, result.stderr


def _state(app):
    with app.app_context():
        return (db.session.execute(sa.select(StockItem.label, StockItem.quantity)
                                   .order_by(StockItem.id)).all(),
                db.session.scalar(sa.select(sa.func.count()).select_from(Movement)))


def test_a_clean_ledger_passes_with_the_report_too(app, keeper):
    receive(keeper, quantity=5)
    code, out, _err = repair_report(app)
    assert code == 0
    assert "台账一致：1 件库存，1 条台账记录" in out and "不一致" not in out


def test_the_report_shows_the_drifting_item_and_its_movements_and_changes_nothing(app, keeper):
    [water] = receive(keeper, quantity=5, lot="L1")["items"]
    [tent] = receive(keeper, material="TENT", quantity=3)["items"]
    issued = issue(keeper, [{"label": water["label"], "quantity": 2}],
                   recipient={"type": "person", "name": "张三"})
    with app.app_context(), db.engine.begin() as connection:
        # A balance written behind the ledger's back: 7 where the movements add up to 3.
        connection.execute(sa.update(StockItem).where(StockItem.label == water["label"])
                           .values(quantity=7))
    before = _state(app)

    code, out, err = repair_report(app)

    assert code == 1
    assert (f"不一致 {water['label']}（站点 GT-XB，物资 WATER，批次 L1）：数量 7，台账合计 3，相差 +4"
            in out)
    lines = out.splitlines()
    receipt_line = next(line for line in lines if " receipt " in line)
    issue_line = next(line for line in lines if " issue " in line)
    assert receipt_line.split()[2:5] == ["+5", "5", "5"] and receipt_line.endswith(" xb")
    assert issue_line.split()[2:5] == ["-2", "3", "3"]
    assert issued["number"] in issue_line
    assert lines.index(receipt_line) < lines.index(issue_line), "oldest first"
    assert "不符" not in out, "every recorded balance matches the running total"
    assert tent["label"] not in out, "items that add up are not listed"
    assert "发现 1 处不一致" in err
    assert _state(app) == before, "the report repairs nothing"


def test_the_plain_check_keeps_its_one_line_per_item(app, keeper):
    [water] = receive(keeper, quantity=5)["items"]
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.update(StockItem).values(quantity=9))
    result = app.test_cli_runner().invoke(args=["check", "ledger"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"不一致 {water['label']} (GT-XB WATER): 数量 9，台账合计 5" in result.stderr
    assert " receipt " not in result.stderr


def test_the_report_points_at_the_movement_whose_recorded_balance_is_wrong(app, keeper):
    [water] = receive(keeper, quantity=5)["items"]
    issued = issue(keeper, [{"label": water["label"], "quantity": 2}],
                   recipient={"type": "person", "name": "张三"})
    with app.app_context(), db.engine.begin() as connection:
        # What a faulty writer would leave: the issue recorded a balance of 4, not 3, and the
        # item kept it. Only a test may get past the ledger's append-only trigger.
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            connection.exec_driver_sql("DROP TRIGGER movements_no_update")
        connection.execute(sa.update(Movement).where(Movement.kind == "issue")
                           .values(balance_after=4))
        connection.execute(sa.update(StockItem).values(quantity=4))

    code, out, _err = repair_report(app)

    assert code == 1 and "数量 4，台账合计 3，相差 +1" in out
    [wrong] = [line for line in out.splitlines() if "不符" in line]
    assert " issue " in wrong and issued["number"] in wrong
