"""冲销发放单: a mistaken issue is reversed whole, by a manager, once (services.reverse_issue).

Each line's goods go back to the issuing site by a movement of its own that points at the line's
issue movement; the originals stay as they were. From then on the issue's loans are no loans:
not on the loans list, not overdue, not counted on the dashboard or in the API. An issue of which
anything came back is not reversed (the return already moved that stock), nor is one reversed
already — not even by two managers pressing at the same moment.
"""

import datetime as dt
import re
from collections import Counter
from functools import partial

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.alerts.queries import alert_counts
from inventory.auth.models import User
from inventory.db import db
from inventory.stock import ledger, queries
from inventory.stock.models import Issue, Movement, StockItem
from tests import factories
from tests.factories import Api, check_ledger, form_key, issue, page_client, receive
from tests.security.conftest import changed_tables, table_rows
from tests.stock.test_concurrency import post, race

NOTE = "数量填错：应为 2，填成 20"


# --- what the tests read ------------------------------------------------------------------------

def _item(app, label) -> tuple[int, str]:
    with app.app_context():
        item = db.session.scalar(sa.select(StockItem).where(StockItem.label == label))
        return item.quantity, item.status


def _movements(app, number) -> list[tuple]:
    """Every movement of a document, oldest first: (id, label, kind, quantity, balance after,
    the movement it reverses, note)."""
    with app.app_context():
        return [(m.id, m.item.label, m.kind, m.quantity, m.balance_after, m.reverses_id, m.note)
                for m in db.session.scalars(sa.select(Movement).where(Movement.document == number)
                                            .order_by(Movement.id))]


def _movement_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Movement))


def _reversed(app, number):
    with app.app_context():
        return db.session.scalar(sa.select(Issue.reversed_at).where(Issue.number == number))


def _mistake(keeper, today, *, tents=20) -> tuple[dict, str, str]:
    """An issue of tents on loan and a generator (serial) by GT-XB's keeper: its JSON and the
    two labels."""
    [tent] = receive(keeper, material="TENT", quantity=30, lot="T-1")["items"]
    [generator] = receive(keeper, material="GEN", quantity=1, serials=["G-001"])["items"]
    due = (today + dt.timedelta(days=7)).isoformat()
    issued = issue(keeper, [{"label": tent["label"], "quantity": tents, "due_back": due},
                            {"label": generator["label"], "quantity": 1, "due_back": due}],
                   recipient={"type": "team", "name": "南华镇应急抢险队"})
    return issued, tent["label"], generator["label"]


# --- the reversal -------------------------------------------------------------------------------

def test_reversing_an_issue_puts_each_line_back_by_a_movement_pointing_at_its_own(
        app, keeper, manager, today):
    issued, tent, generator = _mistake(keeper, today)
    number = issued["number"]
    assert _item(app, tent) == (10, "available") and _item(app, generator) == (0, "on_loan")
    before, count = _movements(app, number), _movement_count(app)

    response = manager.post(f"/issues/{number}/reverse", {"note": NOTE})

    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["number"] == number and answer["reversed_at"] is not None
    assert (answer["reversed_by"], answer["reversal_note"]) == ("boss", NOTE)
    assert [line["outstanding"] for line in answer["lines"]] == [0, 0]
    assert _item(app, tent) == (30, "available")
    assert _item(app, generator) == (1, "available")
    after = _movements(app, number)
    assert after[:2] == before, "the issue's own movements stay as they were"
    assert _movement_count(app) == count + 2, "appended: one movement per line"
    note = f"冲销 {number}：{NOTE}"
    assert [row[1:] for row in after[2:]] == [
        (tent, "issue", 20, 30, before[0][0], note),
        (generator, "issue", 1, 1, before[1][0], note)]
    assert manager.get(f"/issues/{number}").json["reversed_at"] == answer["reversed_at"]
    assert check_ledger(app)[0] == 0


def test_a_lot_line_goes_back_into_the_batch_it_came_from(app, keeper, manager, today):
    [water] = receive(keeper, quantity=10, lot="W-1")["items"]
    issued = issue(keeper, [{"material": "WATER", "quantity": 7}])
    issue(keeper, [{"label": water["label"], "quantity": 2}])  # the batch moves on meanwhile
    assert manager.post(f"/issues/{issued['number']}/reverse", {"note": NOTE}).status_code == 200
    assert _item(app, water["label"]) == (8, "available")
    [*_, back] = _movements(app, issued["number"])
    assert back[2:5] == ("issue", 7, 8)
    assert check_ledger(app)[0] == 0


def test_a_keeper_may_not_reverse_even_their_own_issue(app, keeper, today):
    issued, _tent, _generator = _mistake(keeper, today)
    pages = page_client(app, "xb")  # logging in writes; the requests must not
    before = table_rows(app)
    refused = keeper.post(f"/issues/{issued['number']}/reverse", {"note": NOTE})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert "管理员" in refused.json["error"]["message"]
    page = pages.post(f"/stock/issues/{issued['number']}/reverse", data={
        "idempotency_key": "a" * 32, "note": NOTE})
    assert page.status_code == 403
    assert changed_tables(before, table_rows(app)) == []


@pytest.mark.parametrize("condition", ["good", "damaged", "lost"])
def test_an_issue_of_which_anything_came_back_is_not_reversed(app, keeper, manager, today,
                                                              condition):
    issued, _tent, _generator = _mistake(keeper, today)
    line = issued["lines"][0]["id"]
    back = manager.post("/returns", {"issue": issued["number"], "lines": [
        {"issue_line": line, "quantity": 1, "condition": condition}]})
    assert back.status_code == 201, back.json
    before = table_rows(app)
    refused = manager.post(f"/issues/{issued['number']}/reverse", {"note": NOTE})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_state"
    assert "归还" in refused.json["error"]["message"]
    assert changed_tables(before, table_rows(app)) == []


def test_an_issue_is_reversed_once(app, keeper, manager, today):
    issued, tent, _generator = _mistake(keeper, today)
    path = f"/issues/{issued['number']}/reverse"
    first = manager.post(path, {"note": NOTE}, key="tap-1")
    assert first.status_code == 200
    count = _movement_count(app)
    again = manager.post(path, {"note": NOTE}, key="tap-1")
    assert (again.status_code, again.json) == (200, first.json), "the same request: the first answer"
    second = manager.post(path, {"note": NOTE})
    assert second.status_code == 409 and second.json["error"]["code"] == "invalid_state"
    assert "已冲销" in second.json["error"]["message"]
    assert _movement_count(app) == count and _item(app, tent) == (30, "available")


def test_what_the_reversal_needs_and_what_it_refuses(app, keeper, manager, today):
    issued, _tent, _generator = _mistake(keeper, today)
    path = f"/issues/{issued['number']}/reverse"
    before = table_rows(app)
    for body in ({}, {"note": "  "}, {"note": "x" * 401}, {"note": NOTE, "reversed_at": "2001-01-01"}):
        response = manager.post(path, body)
        assert response.status_code == 422, (body, response.json)
        assert response.json["error"]["code"] == "validation_error"
    missing = manager.post("/issues/FF-2001-000001/reverse", {"note": NOTE})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert changed_tables(before, table_rows(app)) == []


def test_one_issue_movement_is_still_not_reversed_alone(app, keeper, manager, today):
    issued, _tent, _generator = _mistake(keeper, today)
    [(movement_id, *_), _] = _movements(app, issued["number"])
    refused = manager.post(f"/movements/{movement_id}/reverse", {"note": NOTE})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_state"
    assert _reversed(app, issued["number"]) is None


def test_a_reversal_that_fails_half_way_changes_nothing(app, keeper, manager, today, monkeypatch):
    issued, _tent, _generator = _mistake(keeper, today)
    before = table_rows(app)
    calls = []
    change_quantity = ledger.change_quantity

    def fails_on_the_second_line(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the power went")
        return change_quantity(*args, **kwargs)

    monkeypatch.setattr(ledger, "change_quantity", fails_on_the_second_line)
    failed = manager.post(f"/issues/{issued['number']}/reverse", {"note": NOTE})
    assert failed.status_code == 500 and len(calls) == 2
    assert changed_tables(before, table_rows(app)) == []


# --- a reversed loan is no loan -----------------------------------------------------------------

def _loan_figures(app, api, number) -> dict:
    """Where an overdue loan shows: the loans list, overdue alerts (list and dashboard count),
    outstanding issues, the stock summary and the item's page."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "boss"))
        overdue_count = alert_counts(user)["overdue_loans"]
    alerts = api.get("/alerts").json
    summary = {row["material"]: row["on_loan"] for row in api.get("/stock/summary").json["items"]}
    return {
        "overdue count": overdue_count,
        "overdue list": [loan["issue"] for loan in alerts["overdue_loans"]],
        "outstanding issues": [doc["number"] for doc in api.get("/issues?outstanding=true").json["items"]],
        "tents on loan": summary.get("TENT", 0),
        "loans page": number in page_client(app, "boss").get("/stock/loans?overdue=1").get_data(True),
    }


def test_a_reversed_loan_is_outstanding_nowhere(app, client, keeper, manager, today):
    issued, tent, _generator = _mistake(keeper, today)
    number = issued["number"]
    # A token that outlives the week the clock jumps.
    boss = Api(client, factories.token_for(app, "boss", days=30))
    with clock.travel(today + dt.timedelta(days=8)):
        assert _loan_figures(app, boss, number) == {
            "overdue count": 2, "overdue list": [number, number], "outstanding issues": [number],
            "tents on loan": 20, "loans page": True}
        assert boss.post(f"/issues/{number}/reverse", {"note": NOTE}).status_code == 200
        assert _loan_figures(app, boss, number) == {
            "overdue count": 0, "overdue list": [], "outstanding issues": [], "tents on loan": 0,
            "loans page": False}
        with app.app_context():
            item = db.session.scalar(sa.select(StockItem).where(StockItem.label == tent))
            assert queries.open_loans_of(item) == [], "nobody holds the tents any more"
    line = issued["lines"][0]["id"]
    refused = keeper.post("/returns", {"issue": number, "lines": [
        {"issue_line": line, "quantity": 1, "condition": "good"}]})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_state"
    assert _item(app, tent) == (30, "available")


# --- the slip -----------------------------------------------------------------------------------

REVERSE_FORM = re.compile(
    r'<form method="post" action="/stock/issues/(FF-[\d-]+)/reverse" data-confirm="[^"]+">')


def test_the_slip_offers_the_reversal_to_a_manager_only_while_it_can_be_done(app, keeper, manager,
                                                                             today):
    issued, _tent, _generator = _mistake(keeper, today)
    number = issued["number"]
    slip = f"/stock/issues/{number}"
    boss, xb = page_client(app, "boss"), page_client(app, "xb")
    assert REVERSE_FORM.findall(boss.get(slip).get_data(True)) == [number]
    keepers_slip = xb.get(slip).get_data(True)
    assert not REVERSE_FORM.search(keepers_slip) and "/reverse" not in keepers_slip

    returned = issue(keeper, [{"material": "TENT", "quantity": 1, "due_back": issued["lines"][0]["due_back"]}])
    assert manager.post("/returns", {"issue": returned["number"], "lines": [
        {"issue_line": returned["lines"][0]["id"], "quantity": 1, "condition": "good"}]}).status_code == 201
    assert not REVERSE_FORM.search(boss.get(f"/stock/issues/{returned['number']}").get_data(True))


def test_a_manager_reverses_an_issue_on_its_slip_once(app, keeper, manager, today):
    issued, tent, _generator = _mistake(keeper, today)
    number = issued["number"]
    slip = f"/stock/issues/{number}"
    boss = page_client(app, "boss")
    page = boss.get(slip).get_data(True)
    empty = boss.post(f"{slip}/reverse", data={"idempotency_key": form_key(page), "note": " "})
    assert empty.status_code == 302 and empty.headers["Location"] == slip
    assert "请填写冲销原因" in boss.get(slip).get_data(True)
    assert _reversed(app, number) is None

    form = {"idempotency_key": form_key(page), "note": NOTE}
    done = boss.post(f"{slip}/reverse", data=form)
    assert done.status_code == 302 and done.headers["Location"] == slip
    shown = boss.get(slip).get_data(True)
    assert "已冲销，物资已退回库存" in shown and "已冲销" in shown and NOTE in shown
    assert not REVERSE_FORM.search(shown)
    count = _movement_count(app)
    resent = boss.post(f"{slip}/reverse", data=form)
    assert resent.status_code == 302 and _movement_count(app) == count, "a resent form applies once"
    assert "已冲销" in page_client(app, "xb").get(slip).get_data(True), "the keeper sees it too"
    assert _item(app, tent) == (30, "available")


# --- races: real connections, on both engines ---------------------------------------------------

def test_two_managers_reversing_one_issue_at_once_reverse_it_once(app, server, keeper, manager,
                                                                  make_user, token_for, today):
    second = token_for(make_user("manager", username="boss2"))
    receive(keeper, material="TENT", quantity=60, lot="T-1")
    for round_ in range(6):
        issued = issue(keeper, [{"material": "TENT", "quantity": 5,
                                 "due_back": (today + dt.timedelta(days=3)).isoformat()}])
        path = f"/issues/{issued['number']}/reverse"
        results = race([partial(post, server, headers, path, {"note": NOTE})
                        for headers in (manager.headers, second)])
        assert sorted(status for status, _body in results) == [200, 409], (round_, results)
        [(_code, refused)] = [result for result in results if result[0] == 409]
        assert refused["error"]["code"] == "invalid_state"
        kinds = Counter((kind, quantity) for _id, _label, kind, quantity, *_ in
                        _movements(app, issued["number"]))
        assert kinds == {("issue", -5): 1, ("issue", 5): 1}, (round_, kinds)
    summary = {row["material"]: row for row in manager.get("/stock/summary?site=GT-XB").json["items"]}
    assert (summary["TENT"]["available"], summary["TENT"]["on_loan"]) == (60, 0)
    assert check_ledger(app)[0] == 0


def test_a_return_and_a_reversal_of_one_issue_at_once_never_both_apply(app, server, keeper, manager,
                                                                       today):
    receive(keeper, material="TENT", quantity=60, lot="T-1")
    won = Counter()
    for round_ in range(6):
        issued = issue(keeper, [{"material": "TENT", "quantity": 5,
                                 "due_back": (today + dt.timedelta(days=3)).isoformat()}])
        line = issued["lines"][0]["id"]
        returned, reversed_ = race([
            partial(post, server, keeper.headers, "/returns", {"issue": issued["number"], "lines": [
                {"issue_line": line, "quantity": 5, "condition": "good"}]}),
            partial(post, server, manager.headers, f"/issues/{issued['number']}/reverse",
                    {"note": NOTE})])
        assert (returned[0], reversed_[0]) in ((201, 409), (409, 200)), (round_, returned, reversed_)
        loser = reversed_ if returned[0] == 201 else returned
        assert loser[1]["error"]["code"] == "invalid_state", loser
        won["return" if returned[0] == 201 else "reversal"] += 1
        summary = {row["material"]: row for row in manager.get("/stock/summary?site=GT-XB").json["items"]}
        assert summary["TENT"]["available"] == 60, (round_, won, "the tents came back once")
    assert sum(won.values()) == 6
    assert check_ledger(app)[0] == 0
