"""盘点 races between real connections: the app under gunicorn (4 processes × 4 threads) on SQLite
and PostgreSQL, clients in threads released together (tests/stock/test_concurrency.py race()).

Two counters on one stocktake, approval racing an issue of a counted item (QUALITY.md R10),
two approvals at once (R9), submit racing counts, and an approval's Idempotency-Key replayed.
No timing is asserted: every outcome the interleaving allows is accepted, and each is checked
for what it must leave behind.
"""

import threading
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.stock.models import Movement, StockItem
from inventory.stocktakes.models import Stocktake, StocktakeCount, StocktakeLine, quarter_of
from tests.factories import Api, check_ledger, receive
from tests.stock.test_concurrency import post, race

# A deadline for a plain request, many times what it takes on a shared box.
REQUEST_WITHIN_S = 60


@pytest.fixture
def second_keeper(client, make_user, token_for, keeper):
    """Another keeper of 新坝镇: the second counter."""
    return Api(client, token_for(make_user("keeper", username="xb2", sites=["GT-XB"])))


@pytest.fixture
def other_manager(client, make_user, token_for, county, catalog):
    """A second manager of the county: approves what the keepers counted."""
    return Api(client, token_for(make_user("manager", username="boss2")))


def _get(base, api, path):
    response = requests.get(f"{base}/api/v1{path}", headers=api.headers, timeout=REQUEST_WITHIN_S)
    assert response.status_code == 200, response.text
    return response.json()


def _open(api, site="GT-XB"):
    response = api.post("/stocktakes", {"site": site, "period": quarter_of(clock.today())})
    assert response.status_code == 201, response.json
    return response.json


def _count(api, stocktake_id, label, counted):
    response = api.post(f"/stocktakes/{stocktake_id}/counts", {"label": label, "counted": counted})
    assert response.status_code == 201, response.json


def _approval(server, api, stocktake_id, body=None, key=None):
    return lambda: post(server, api.headers, f"/stocktakes/{stocktake_id}/approve", body, key=key)


def _issue(server, api, label, quantity, name="王"):
    return lambda: post(server, api.headers, "/issues", {
        "site": "GT-XB", "recipient": {"type": "person", "name": name},
        "lines": [{"label": label, "quantity": quantity}]})


def _shelf(keeper, quantities, prefix):
    """One water item per quantity at GT-XB (a lot each); answer their labels."""
    return [receive(keeper, quantity=q, lot=f"{prefix}{n}")["items"][0]["label"]
            for n, q in enumerate(quantities)]


def _quantity(app, label):
    with app.app_context():
        return db.session.scalar(sa.select(StockItem.quantity).where(StockItem.label == label))


def _movements(app, label):
    """(kind, quantity, balance after) of an item's movements, in order."""
    with app.app_context():
        return [(m.kind, m.quantity, m.balance_after) for m in db.session.scalars(
            sa.select(Movement).join(StockItem, StockItem.id == Movement.item_id)
            .where(StockItem.label == label).order_by(Movement.id))]


def _posted(app, number):
    with app.app_context():
        return Counter(db.session.scalars(
            sa.select(StockItem.label).join(Movement, Movement.item_id == StockItem.id)
            .where(Movement.document == number)))


def _ledger_agrees(app):
    """`check ledger` clean, and every item's movements add up to its quantity."""
    assert check_ledger(app)[0] == 0
    with app.app_context():
        totals = dict(db.session.execute(sa.select(Movement.item_id, sa.func.sum(Movement.quantity))
                                         .group_by(Movement.item_id)).all())
        for item_id, quantity in db.session.execute(sa.select(StockItem.id, StockItem.quantity)):
            assert totals.get(item_id, 0) == quantity >= 0


def _counts_of(app, stocktake_id):
    """label → [counted …] of every count entered, in the order they were stored."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(StockItem.label, StocktakeCount.counted)
            .join(StocktakeLine, StocktakeLine.id == StocktakeCount.line_id)
            .join(StockItem, StockItem.id == StocktakeLine.item_id)
            .where(StocktakeLine.stocktake_id == stocktake_id).order_by(StocktakeCount.id)).all()
    history: dict[str, list[int]] = {}
    for label, counted in rows:
        history.setdefault(label, []).append(counted)
    return history


def _lines(app, stocktake_id):
    """label → counted, as the stocktake's lines hold them."""
    with app.app_context():
        return dict(db.session.execute(
            sa.select(StockItem.label, StocktakeLine.counted)
            .join(StockItem, StockItem.id == StocktakeLine.item_id)
            .where(StocktakeLine.stocktake_id == stocktake_id)).all())


def test_two_counters_on_one_stocktake_lose_no_count(app, server, keeper, second_keeper, manager):
    """Two keepers count their own halves of the shelf and one shared label, all at once."""
    labels = _shelf(keeper, [10 + n for n in range(13)], "C")
    shared, mine, theirs = labels[0], labels[1:7], labels[7:]
    stocktake = _open(manager)
    path = f"/stocktakes/{stocktake['id']}/counts"

    def counts(api, pairs):
        return lambda: [post(server, api.headers, path, {"label": label, "counted": counted})
                        for label, counted in pairs]

    raced = {keeper: [100 + n for n in range(12)], second_keeper: [200 + n for n in range(12)]}
    results = race([
        counts(keeper, [(label, 1000 + n) for n, label in enumerate(mine)]),
        counts(second_keeper, [(label, 2000 + n) for n, label in enumerate(theirs)]),
        counts(keeper, [(shared, value) for value in raced[keeper]]),
        counts(second_keeper, [(shared, value) for value in raced[second_keeper]]),
    ])
    statuses = Counter(status for batch in results for status, _body in batch)
    assert statuses == {201: 6 + 6 + 24}, statuses

    counted = _lines(app, stocktake["id"])
    assert [counted[label] for label in mine] == [1000 + n for n in range(6)]
    assert [counted[label] for label in theirs] == [2000 + n for n in range(6)]
    history = _counts_of(app, stocktake["id"])
    # Every count of the shared label was kept, and the line holds the one stored last.
    assert sorted(history[shared]) == sorted(raced[keeper] + raced[second_keeper])
    assert counted[shared] == history[shared][-1]
    assert all(len(history[label]) == 1 for label in mine + theirs)

    blind = _get(server, keeper, f"/stocktakes/{stocktake['id']}")
    assert blind["progress"] == {"counted": 13, "total": 13, "recount": 0}
    assert set(blind["counters"]) == {"xb", "xb2"}
    shared_line = next(line for line in blind["lines"] if line["label"] == shared)
    assert shared_line["counted"] == counted[shared] and "expected" not in shared_line
    assert _quantity(app, shared) == 10, "counting changes no stock"


def test_approval_racing_an_issue_loses_and_invents_no_unit(app, server, keeper, manager, other_manager):
    """R10, raced: counted 40 against books of 50, then approval and an issue of 5 at once. The
    approval adds −10 to whatever the item holds, so either order ends at 35. Beside it, an
    uncounted item (written off as 0) races an issue of 3: the issue goes first and the rest is
    written off, or the write-off goes first and the issue is refused."""
    earlier: list[str] = []  # items of earlier rounds, counted as they stand
    for round_number in range(4):
        counted_item, uncounted_item = _shelf(keeper, [50, 20], f"R{round_number}-")
        stocktake = _open(manager)
        _count(keeper, stocktake["id"], counted_item, 40)
        for label in earlier:
            _count(keeper, stocktake["id"], label, _quantity(app, label))
        assert keeper.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200

        approval, issue, short_issue = race([
            _approval(server, other_manager, stocktake["id"]),
            _issue(server, keeper, counted_item, 5),
            _issue(server, keeper, uncounted_item, 3, name="李"),
        ])
        assert approval[0] == 200, approval
        assert issue[0] == 201, issue
        assert _quantity(app, counted_item) == 35
        moves = _movements(app, counted_item)
        assert moves in ([("receipt", 50, 50), ("issue", -5, 45), ("stocktake", -10, 35)],
                         [("receipt", 50, 50), ("stocktake", -10, 40), ("issue", -5, 35)]), moves

        assert _quantity(app, uncounted_item) == 0
        variances = {v["label"]: v for v in approval[1]["variances"]}
        if short_issue[0] == 201:
            assert variances[uncounted_item]["delta"] == -17
            assert _movements(app, uncounted_item) == [
                ("receipt", 20, 20), ("issue", -3, 17), ("stocktake", -17, 0)]
        else:
            assert short_issue[0] == 409, short_issue
            assert short_issue[1]["error"]["code"] == "insufficient_stock"
            assert variances[uncounted_item]["delta"] == -20
            assert _movements(app, uncounted_item) == [("receipt", 20, 20), ("stocktake", -20, 0)]
        assert variances[counted_item] == {"label": counted_item, "expected": 50, "counted": 40,
                                           "delta": -10}
        assert set(variances) == {counted_item, uncounted_item}
        assert _posted(app, stocktake["number"]) == {counted_item: 1, uncounted_item: 1}
        _ledger_agrees(app)
        earlier.append(counted_item)


def test_two_approvals_at_once_post_once(app, server, keeper, manager, other_manager):
    """R9: two managers, neither of whom counted, approve the same stocktake at the same time."""
    earlier: list[str] = []
    for round_number in range(3):
        short, over = _shelf(keeper, [30, 8], f"A{round_number}-")
        stocktake = _open(manager)
        _count(keeper, stocktake["id"], short, 27)
        _count(keeper, stocktake["id"], over, 9)
        for label in earlier:
            _count(keeper, stocktake["id"], label, _quantity(app, label))
        assert keeper.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200

        results = race([_approval(server, api, stocktake["id"]) for api in (manager, other_manager)])
        assert sorted(status for status, _body in results) == [200, 409], results
        refused = next(body for status, body in results if status == 409)
        assert refused["error"]["code"] == "invalid_state"
        assert stocktake["number"] in refused["error"]["message"]
        approved = next(body for status, body in results if status == 200)
        assert {v["label"]: v["delta"] for v in approved["variances"]} == {short: -3, over: 1}
        assert _posted(app, stocktake["number"]) == {short: 1, over: 1}, "the variances posted once"
        assert (_quantity(app, short), _quantity(app, over)) == (27, 9)
        with app.app_context():
            closed = db.session.get(Stocktake, stocktake["id"])
            assert closed.status == "closed" and closed.approved_by.username == approved[
                "stocktake"]["approved_by"]
        _ledger_agrees(app)
        earlier += [short, over]


def _counting(server, api, path, labels, offset, halfway, after):
    """Count ``labels`` one by one (offset, offset + 1, …), setting ``halfway`` after ``after``
    answers; answer (label, value, status, body) of each."""
    def job():
        answers = []
        for n, label in enumerate(labels):
            answers.append((label, offset + n, *post(server, api.headers, f"{path}/counts",
                                                     {"label": label, "counted": offset + n})))
            if n + 1 == after:
                halfway.set()
        return answers
    return job


def _submit_when(server, api, path, halfway):
    def job():
        assert halfway.wait(REQUEST_WITHIN_S)
        return post(server, api.headers, f"{path}/submit", None)
    return job


def test_submit_racing_counts_never_leaves_a_count_in_review(app, server, keeper, second_keeper, manager):
    """Two keepers count while the manager submits part way through: each count either landed
    before review (201, and the line holds it) or was refused (409, and nothing of it is kept)."""
    labels = _shelf(keeper, [5 + n for n in range(16)], "S")
    halves = {keeper: labels[:8], second_keeper: labels[8:]}
    for round_number, submit_after in enumerate((1, 4, 7)):
        stocktake = _open(manager)
        path = f"/stocktakes/{stocktake['id']}"
        halfway = threading.Event()
        counters = [_counting(server, api, path, halves[api], offset, halfway, submit_after)
                    for api, offset in ((keeper, 100), (second_keeper, 200))]
        mine, theirs, submitted = race([*counters, _submit_when(server, manager, path, halfway)])
        assert submitted[0] == 200 and submitted[1]["status"] == "review", submitted
        lines, history = _lines(app, stocktake["id"]), _counts_of(app, stocktake["id"])
        for answers in (mine, theirs):
            statuses = [status for _label, _value, status, _body in answers]
            assert set(statuses) <= {201, 409}, answers
            # Review never ends by itself: once one count is refused, the rest are too.
            assert statuses == sorted(statuses), statuses
            for label, value, status, body in answers:
                if status == 201:
                    assert lines[label] == value and history[label] == [value]
                else:
                    assert body["error"]["code"] == "invalid_state"
                    assert lines[label] is None and label not in history
        kept = sum(status == 201 for answers in (mine, theirs) for *_rest, status, _body in answers)
        assert kept >= submit_after
        review = _get(server, manager, path)
        assert review["status"] == "review"
        assert review["progress"] == {"counted": kept, "total": 16, "recount": 0}
        late = post(server, keeper.headers, f"{path}/counts", {"label": labels[0], "counted": 1})
        assert late[0] == 409 and _lines(app, stocktake["id"])[labels[0]] == lines[labels[0]]
        assert manager.post(f"{path}/cancel").status_code == 200, round_number
    assert [_quantity(app, label) for label in labels] == [5 + n for n in range(16)]


def test_an_approval_sent_again_under_its_key_is_answered_once(app, server, keeper, manager, other_manager):
    """The phone's retry of an approval (same Idempotency-Key), twice at once and once after."""
    short, gone = _shelf(keeper, [12, 4], "K")
    stocktake = _open(manager)
    _count(keeper, stocktake["id"], short, 10)
    assert keeper.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    path, body = f"/stocktakes/{stocktake['id']}/approve", {"reasons": {short: "受潮报废"}}

    twins = race([_approval(server, other_manager, stocktake["id"], body, key="approve-pd-1")
                  for _ in range(3)])
    assert {status for status, _answer in twins} <= {200, 409}, twins
    answers = [answer for status, answer in twins if status == 200]
    assert answers and all(answer == answers[0] for answer in answers)
    assert all(answer["error"]["code"] == "idempotency_in_progress"
               for status, answer in twins if status == 409)
    assert {v["label"]: v["delta"] for v in answers[0]["variances"]} == {short: -2, gone: -4}

    again = post(server, other_manager.headers, path, body, key="approve-pd-1")
    assert again == (200, answers[0])
    changed = post(server, other_manager.headers, path, {"reasons": {short: "别的"}}, key="approve-pd-1")
    assert changed[0] == 422 and changed[1]["error"]["code"] == "idempotency_mismatch"
    fresh = post(server, other_manager.headers, path, body, key="approve-pd-2")
    assert fresh[0] == 409 and fresh[1]["error"]["code"] == "invalid_state"

    assert _posted(app, stocktake["number"]) == {short: 1, gone: 1}
    assert (_quantity(app, short), _quantity(app, gone)) == (10, 0)
    _ledger_agrees(app)
