"""`flask check ledger` checks each movement's recorded balance against its item's running total
in movement order, as well as each item's quantity against the sum of its movements (R13)."""

from collections import Counter, defaultdict

import sqlalchemy as sa

from inventory.db import db
from inventory.stock.models import Movement, StockItem
from inventory.stock.queries import ledger_drift, running_total_breaks
from tests.factories import check_ledger, issue, receive
from tests.stock.test_concurrency import post, race


def _record_balance(app, movement_id: int, balance: int) -> None:
    """What a faulty writer would leave: a movement that recorded ``balance``. Only a test may get
    past the ledger's append-only trigger."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS movements_no_update")
        connection.execute(sa.update(Movement).where(Movement.id == movement_id)
                           .values(balance_after=balance))


def _movement_of(app, document: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Movement.id).where(Movement.document == document))


def _water_with_three_movements(keeper) -> tuple[dict, dict]:
    """Water received (+5), issued (−2), received again into the same item (+4): 5, 3, 7."""
    [water] = receive(keeper, quantity=5)["items"]
    issued = issue(keeper, [{"label": water["label"], "quantity": 2}])
    assert receive(keeper, quantity=4)["items"][0]["label"] == water["label"]
    return water, issued


def test_a_movement_that_recorded_a_wrong_balance_fails_the_check(app, keeper):
    water, issued = _water_with_three_movements(keeper)
    assert check_ledger(app)[0] == 0
    movement = _movement_of(app, issued["number"])
    _record_balance(app, movement, 4)  # the issue left 3; the quantity (7) still adds up
    with app.app_context():
        assert ledger_drift() == [], "the quantity check alone sees nothing wrong"

    code, output = check_ledger(app)

    assert code == 1
    [finding] = [line for line in output.splitlines() if line.startswith("结存不符")]
    assert finding == (f"结存不符 {water['label']} (GT-XB WATER): 台账记录 #{movement}"
                       f"（issue -2，单据 {issued['number']}）记录结存 4，累计 3")
    assert "发现 1 处不一致。" in output and "台账一致" not in output


def test_the_repair_report_shows_an_item_that_adds_up_but_recorded_a_wrong_balance(app, keeper):
    water, issued = _water_with_three_movements(keeper)
    _record_balance(app, _movement_of(app, issued["number"]), 4)

    result = app.test_cli_runner().invoke(args=["check", "ledger", "--repair-report"])

    assert result.exit_code == 1
    assert (f"结存不符 {water['label']}（站点 GT-XB，物资 WATER，批次 无）：数量 7 与台账合计相符"
            in result.stdout)
    [wrong] = [line for line in result.stdout.splitlines() if "不符" in line and "←" in line]
    assert " issue " in wrong and issued["number"] in wrong
    assert wrong.split()[2:5] == ["-2", "4", "3"], "recorded 4 where the running total is 3"
    assert "发现 1 处不一致" in result.stderr


def test_every_break_is_counted_and_the_oldest_are_listed(app, keeper):
    receive(keeper, quantity=5)
    receive(keeper, material="QUILT", quantity=2)
    receive(keeper, quantity=1)
    receive(keeper, material="QUILT", quantity=1)
    with app.app_context():
        ids = db.session.scalars(sa.select(Movement.id).order_by(Movement.id)).all()
    for movement_id in ids[1:]:
        _record_balance(app, movement_id, 99)

    with app.app_context():
        breaks, total = running_total_breaks(limit=2)

    assert total == 3
    assert [(row["id"], row["balance_after"], row["running"]) for row in breaks] == [
        (ids[1], 99, 2), (ids[2], 99, 6)], "per item, in movement order, the oldest first"


def test_balances_recorded_by_racing_postings_are_running_totals(app, server, keeper, manager):
    """Receipts, two-line issues, adjustments up and down and transfers race on the same two items
    from clients of four gunicorn processes; every movement recorded its item's running total in
    movement order, each item ends at its last recorded balance, and the check passes."""
    [water] = receive(keeper, quantity=100, lot="R")["items"]
    [quilt] = receive(keeper, material="QUILT", quantity=100, lot="R")["items"]
    labels = {"WATER": water["label"], "QUILT": quilt["label"]}

    def receipts(material):
        return lambda: [post(server, keeper.headers, "/receipts", {
            "site": "GT-XB", "material": material, "quantity": 1, "lot": "R"})[0] for _ in range(8)]

    def issues():
        return [post(server, keeper.headers, "/issues", {
            "site": "GT-XB", "recipient": {"type": "household", "name": "受灾户"},
            "lines": [{"label": labels["WATER"], "quantity": 1},
                      {"label": labels["QUILT"], "quantity": 2}]})[0] for _ in range(8)]

    def adjustments(material):
        return lambda: [post(server, manager.headers, "/adjustments", {
            "label": labels[material], "delta": delta, "reason": "count_correction"})[0]
            for delta in (3, -2) * 4]

    def transfers():
        statuses = []
        for _ in range(4):
            status, body = post(server, manager.headers, "/transfers", {
                "from_site": "GT-XB", "to_site": "GT-NH",
                "lines": [{"material": "WATER", "quantity": 1}, {"material": "QUILT", "quantity": 1}]})
            statuses.append(status)
            if status == 201:
                statuses.append(post(server, manager.headers,
                                     f"/transfers/{body['number']}/dispatch", None)[0])
        return statuses

    results = race([receipts("WATER"), receipts("QUILT"), receipts("WATER"), issues, issues,
                    adjustments("WATER"), adjustments("QUILT"), transfers])

    assert Counter(status for batch in results for status in batch) == {201: 60, 200: 4}, results
    with app.app_context():
        movements = db.session.execute(sa.select(Movement.item_id, Movement.quantity,
                                                 Movement.balance_after).order_by(Movement.id)).all()
        quantities = dict(db.session.execute(sa.select(StockItem.label, StockItem.quantity)).all())
        ids = dict(db.session.execute(sa.select(StockItem.label, StockItem.id)).all())
    running, wrong = defaultdict(int), []
    for item_id, quantity, balance_after in movements:
        running[item_id] += quantity
        if balance_after != running[item_id]:
            wrong.append((item_id, quantity, balance_after, running[item_id]))
    assert wrong == [], "every balance recorded is the running total in movement order"
    assert len(movements) == 2 + 24 + 2 * 16 + 16 + 2 * 4
    # Received 16 and 8, issued 16 and 32, adjusted +4 each, sent 4 each.
    assert quantities[water["label"]] == running[ids[water["label"]]] == 100 + 16 - 16 + 4 - 4
    assert quantities[quilt["label"]] == running[ids[quilt["label"]]] == 100 + 8 - 32 + 4 - 4
    code, output = check_ledger(app)
    assert code == 0 and "台账一致" in output, output
