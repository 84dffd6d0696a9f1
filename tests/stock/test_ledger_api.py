"""Receipts, issues, loans, returns, transfers, adjustments and reversals through the API."""

import datetime as dt

import pytest

from inventory import clock
from tests.factories import Api, check_ledger, in_days, receive, token_for


def test_a_lot_is_received_into_one_item_that_later_receipts_add_to(app, keeper, today):
    next_year = in_days(today, 300)
    first = receive(keeper, quantity=10, lot="L1", expiry_date=next_year, source="county")
    assert first["number"] == f"RK-{today.year}-000001"
    [item] = first["items"]
    assert item["quantity"] == 10 and item["status"] == "available" and item["lot"] == "L1"
    assert len(item["label"]) == 16
    second = receive(keeper, quantity=5, lot="L1", expiry_date=next_year)
    assert second["number"] == f"RK-{today.year}-000002"
    assert second["items"][0]["label"] == item["label"] and second["items"][0]["quantity"] == 15
    other_lot = receive(keeper, quantity=1, lot="L2", expiry_date=next_year)
    assert other_lot["items"][0]["label"] != item["label"]
    detail = keeper.get(f"/stock/{item['label']}").json
    assert detail["scan_url"].endswith(f"/s/{item['label']}")
    assert [m["quantity"] for m in detail["movements"]] == [5, 10]
    assert [m["balance_after"] for m in detail["movements"]] == [15, 10]
    assert check_ledger(app)[0] == 0


def test_serial_equipment_gets_one_item_per_serial_number(keeper):
    receipt = receive(keeper, material="GEN", quantity=2, serials=["SN-1", "SN-2"])
    assert sorted(i["serial"] for i in receipt["items"]) == ["SN-1", "SN-2"]
    assert all(i["quantity"] == 1 for i in receipt["items"])


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"material": "GEN", "quantity": 2, "serials": ["A"]}, 422, "serials"),
    ({"material": "GEN", "quantity": 2, "serials": ["A", "A"]}, 422, "serials"),
    ({"material": "WATER", "quantity": 2, "serials": ["A", "B"]}, 422, "serials"),
    ({"material": "WATER", "quantity": 0}, 422, "quantity"),
    ({"material": "WATER", "quantity": -3}, 422, "quantity"),
    ({"material": "WATER", "quantity": 2.5}, 422, "quantity"),
    ({"material": "WATER", "quantity": "5"}, 422, "quantity"),
    ({"material": "WATER", "quantity": 10**12}, 422, "quantity"),
    ({"material": "WATER"}, 422, "quantity"),
    ({"material": "NOPE", "quantity": 1}, 422, "material"),
    ({"material": "WATER", "quantity": 1, "site": "NOPE"}, 422, "site"),
    ({"material": "WATER", "quantity": 1, "production_date": "2026-01-10",
      "expiry_date": "2025-12-31"}, 422, "expiry_date"),
    ({"material": "WATER", "quantity": 1, "source": "gift"}, 422, "source"),
])
def test_bad_receipts_change_nothing(app, keeper, body, status, field):
    response = keeper.post("/receipts", {"site": "GT-XB", **body})
    assert response.status_code == status, response.json
    assert field in response.json["error"]["details"]
    assert keeper.get("/stock?site=GT-XB").json["total"] == 0
    assert keeper.get("/movements").json["total"] == 0


def test_a_known_serial_is_a_duplicate(keeper):
    receive(keeper, material="GEN", quantity=1, serials=["SN-1"])
    response = keeper.post("/receipts", {"site": "GT-XB-HP", "material": "GEN", "quantity": 1,
                                         "serials": ["SN-1"]})
    assert response.status_code == 409 and response.json["error"]["code"] == "duplicate"


def test_issue_takes_first_expiry_first_and_never_expired_stock(keeper, today):
    later = receive(keeper, quantity=5, lot="LATE", expiry_date=in_days(today, 200))
    sooner = receive(keeper, quantity=5, lot="SOON", expiry_date=in_days(today, 20))
    response = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "household",
                                                                      "name": "李家"},
                                       "lines": [{"material": "WATER", "quantity": 7}]})
    assert response.status_code == 201, response.json
    lines = response.json["lines"]
    assert [(line["label"], line["quantity"]) for line in lines] == [
        (sooner["items"][0]["label"], 5), (later["items"][0]["label"], 2)]
    assert all(not line["returnable"] and line["outstanding"] == 0 for line in lines)


def test_returnable_materials_are_loans_until_they_come_back(app, keeper, manager, today):
    receive(keeper, material="TENT", quantity=10, lot="T1")
    due = in_days(today, 30)
    issued = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "team",
                                                                    "name": "蓝天救援队",
                                                                    "id_number": "62072419800101123X"},
                                     "lines": [{"material": "TENT", "quantity": 4, "due_back": due}]})
    assert issued.status_code == 201
    [line] = issued.json["lines"]
    assert line["returnable"] and line["outstanding"] == 4 and line["due_back"] == due
    assert keeper.get("/issues?outstanding=true").json["total"] == 1
    back = keeper.post("/returns", {"issue": issued.json["number"], "lines": [
        {"issue_line": line["id"], "quantity": 2, "condition": "good"},
        {"issue_line": line["id"], "quantity": 1, "condition": "damaged"}]})
    assert back.status_code == 201, back.json
    summary = {row["material"]: row for row in keeper.get("/stock/summary?site=GT-XB").json["items"]}
    assert summary["TENT"] == {"material": "TENT", "available": 8, "on_loan": 1, "in_transit": 0,
                               "damaged": 1}
    too_many = keeper.post("/returns", {"issue": issued.json["number"], "lines": [
        {"issue_line": line["id"], "quantity": 2, "condition": "good"}]})
    assert too_many.status_code == 422
    lost = {"issue": issued.json["number"], "lines": [
        {"issue_line": line["id"], "quantity": 1, "condition": "lost"}]}
    assert keeper.post("/returns", lost).status_code == 403, "a loss is a write-off: a manager's"
    assert keeper.get(f"/issues/{issued.json['number']}").json["lines"][0]["outstanding"] == 1
    assert manager.post("/returns", lost).status_code == 201
    assert keeper.get(f"/issues/{issued.json['number']}").json["lines"][0]["outstanding"] == 0
    assert keeper.get("/issues?outstanding=true").json["total"] == 0
    assert check_ledger(app)[0] == 0


def test_a_serial_loan_goes_out_and_comes_back(keeper):
    [generator] = receive(keeper, material="GEN", quantity=1, serials=["SN-9"])["items"]
    issued = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "unit", "name": "村委会"},
                                     "lines": [{"label": generator["label"], "quantity": 1}]})
    assert issued.status_code == 201
    item = keeper.get(f"/stock/{generator['label']}").json
    assert (item["status"], item["quantity"]) == ("on_loan", 0)
    again = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "unit", "name": "x"},
                                    "lines": [{"label": generator["label"], "quantity": 1}]})
    assert again.status_code == 409
    line = issued.json["lines"][0]["id"]
    keeper.post("/returns", {"issue": issued.json["number"],
                             "lines": [{"issue_line": line, "quantity": 1, "condition": "good"}]})
    item = keeper.get(f"/stock/{generator['label']}").json
    assert (item["status"], item["quantity"]) == ("available", 1)


def test_issuing_more_than_there_is_changes_nothing(app, keeper):
    receive(keeper, quantity=3, lot="A")
    receive(keeper, material="QUILT", quantity=10)
    response = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                       "lines": [{"material": "QUILT", "quantity": 2},
                                                 {"material": "WATER", "quantity": 5}]})
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == [{"line": 1, "requested": 5, "available": 3}]
    summary = {r["material"]: r["available"] for r in keeper.get("/stock/summary").json["items"]}
    assert summary == {"QUILT": 10, "WATER": 3}
    assert keeper.get("/issues").json["total"] == 0
    assert keeper.post("/receipts", {"site": "GT-XB", "material": "WATER", "quantity": 1}).json[
        "number"].endswith("000003"), "the failed issue used no receipt number, and no gap"


def test_issue_refuses_expired_damaged_in_transit_and_foreign_items(app, keeper, manager, today):
    [item] = receive(keeper, quantity=5, lot="A", expiry_date=in_days(today, 300))["items"]
    [foreign] = receive(manager, site="GT-NH", quantity=5)["items"]
    base = {"site": "GT-XB", "recipient": {"type": "person", "name": "王"}}
    response = keeper.post("/issues", {**base, "lines": [{"label": foreign["label"], "quantity": 1}]})
    assert response.status_code == 422 and "lines.0.label" in response.json["error"]["details"]
    response = keeper.post("/issues", {**base, "lines": [{"label": "ZZZZZZZZZZZZZZZZ", "quantity": 1}]})
    assert response.status_code == 422
    response = keeper.post("/issues", {**base, "lines": [{"label": item["label"], "material": "WATER",
                                                          "quantity": 1}]})
    assert response.status_code == 422
    transfer = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH", "lines": [
        {"label": item["label"], "quantity": 5}]}).json
    keeper.post(f"/transfers/{transfer['number']}/dispatch")
    response = keeper.post("/issues", {**base, "lines": [{"label": item["label"], "quantity": 1}]})
    assert response.status_code == 409
    assert keeper.get("/movements?kind=issue").json["total"] == 0


def test_a_transfer_moves_stock_and_keeps_shortages(app, keeper, manager, today):
    receive(keeper, quantity=6, lot="A", expiry_date=in_days(today, 300))
    receive(keeper, quantity=6, lot="B", expiry_date=in_days(today, 100))
    [generator] = receive(keeper, material="GEN", quantity=1, serials=["SN-7"])["items"]
    created = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH", "lines": [
        {"material": "WATER", "quantity": 8}, {"label": generator["label"], "quantity": 1}]})
    assert created.status_code == 201 and created.json["status"] == "requested"
    number = created.json["number"]
    assert keeper.get("/stock/summary?site=GT-XB").json["items"][1]["available"] == 12
    dispatched = keeper.post(f"/transfers/{number}/dispatch")
    assert dispatched.status_code == 200 and dispatched.json["status"] == "in_transit"
    lines = dispatched.json["lines"]
    assert [(line["lot"], line["quantity"]) for line in lines] == [("B", 6), ("A", 2), (None, 1)]
    assert keeper.get(f"/stock/{generator['label']}").json["status"] == "in_transit"
    incoming = {r["material"]: r for r in manager.get("/stock/summary?site=GT-NH").json["items"]}
    assert incoming["WATER"]["in_transit"] == 8
    assert keeper.post(f"/transfers/{number}/receive").status_code == 403, "only the receiving side"
    received = manager.post(f"/transfers/{number}/receive", {"lines": [
        {"line": lines[1]["id"], "received": 1}]})
    assert received.status_code == 200, received.json
    by_lot = {line["lot"] or line["serial"]: line for line in received.json["lines"]}
    assert by_lot["A"]["received"] == 1 and by_lot["A"]["discrepancy"] == 1
    assert by_lot["B"]["discrepancy"] == 0 and by_lot["SN-7"]["to_label"] != generator["label"]
    south = {r["material"]: r["available"] for r in manager.get("/stock/summary?site=GT-NH").json["items"]}
    assert south == {"WATER": 7, "GEN": 1}
    assert manager.post(f"/transfers/{number}/receive").status_code == 409, "receiving twice"
    assert manager.post(f"/transfers/{number}/dispatch").status_code == 409
    assert manager.post(f"/transfers/{number}/cancel").status_code == 409
    assert check_ledger(app)[0] == 0


def test_transfer_rules(keeper, manager):
    receive(keeper, quantity=3)
    same = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-XB",
                                      "lines": [{"material": "WATER", "quantity": 1}]})
    assert same.status_code == 422 and "to_site" in same.json["error"]["details"]
    short = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                       "lines": [{"material": "WATER", "quantity": 4}]})
    assert short.status_code == 409 and short.json["error"]["code"] == "insufficient_stock"
    none_held = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                           "lines": [{"material": "GEN", "quantity": 1}]})
    assert none_held.status_code == 409
    assert none_held.json["error"]["details"] == [{"line": 0, "requested": 1, "available": 0}]
    foreign = keeper.post("/transfers", {"from_site": "GT-NH", "to_site": "GT-XB",
                                         "lines": [{"material": "WATER", "quantity": 1}]})
    assert foreign.status_code == 403, "a keeper cannot debit another site"
    cancelled = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                           "lines": [{"material": "WATER", "quantity": 1}]}).json
    assert keeper.post(f"/transfers/{cancelled['number']}/cancel").json["status"] == "cancelled"
    assert keeper.post(f"/transfers/{cancelled['number']}/dispatch").status_code == 409


def test_adjustments_and_write_offs(app, keeper, manager):
    [item] = receive(keeper, quantity=10)["items"]
    found = keeper.post("/adjustments", {"label": item["label"], "delta": 1,
                                         "reason": "count_correction", "note": "盘点多1"})
    assert found.status_code == 201 and found.json["balance_after"] == 11
    for reason in ("count_correction", "other", "expired"):
        refused = keeper.post("/adjustments", {"label": item["label"], "delta": -1, "reason": reason})
        assert refused.status_code == 403, f"a keeper lowered the books by naming {reason}"
    response = manager.post("/adjustments", {"label": item["label"], "delta": -3,
                                             "reason": "count_correction", "note": "盘点少3"})
    assert response.status_code == 201
    assert response.json["quantity"] == -3 and response.json["balance_after"] == 8
    assert response.json["kind"] == "adjustment"
    below = manager.post("/adjustments", {"label": item["label"], "delta": -9, "reason": "expired"})
    assert below.status_code == 409 and below.json["error"]["code"] == "insufficient_stock"
    for bad in ({"delta": 0}, {"delta": 1.5}, {"reason": "whim"}, {"label": "NOPE"}):
        body = {"label": item["label"], "delta": 1, "reason": "other", **bad}
        assert manager.post("/adjustments", body).status_code == 422, bad
    written = manager.post("/adjustments", {"label": item["label"], "delta": -8, "reason": "expired"})
    assert written.json["kind"] == "writeoff" and written.json["balance_after"] == 0
    assert check_ledger(app)[0] == 0


def test_a_reversal_appends_the_opposite_and_leaves_the_original(app, keeper, manager):
    receipt = receive(keeper, quantity=2)
    receive(keeper, quantity=3)
    [movement] = [m for m in manager.get("/movements?kind=receipt").json["items"]
                  if m["document"] == receipt["number"]]
    reversed_ = manager.post(f"/movements/{movement['id']}/reverse")
    assert reversed_.status_code == 201, reversed_.json
    assert reversed_.json["quantity"] == -2 and reversed_.json["reverses"] == movement["id"]
    assert reversed_.json["balance_after"] == 3
    ledger = manager.get(f"/movements?label={movement['label']}").json["items"]
    assert [m["quantity"] for m in ledger] == [-2, 3, 2], "the original row is still there"
    assert manager.post(f"/movements/{movement['id']}/reverse").status_code == 409
    assert keeper.post(f"/movements/{movement['id']}/reverse").status_code == 403
    assert check_ledger(app)[0] == 0


def test_the_ledger_filters(keeper, today):
    receive(keeper, quantity=3)
    receive(keeper, site="GT-XB-HP", quantity=4)
    assert keeper.get("/movements?site=GT-XB-HP").json["total"] == 1
    assert keeper.get(f"/movements?since={today}&until={today}").json["total"] == 2
    assert keeper.get("/movements?until=2000-01-01").json["total"] == 0
    assert keeper.get("/movements?kind=nonsense").status_code == 422
    assert keeper.get("/movements?site=GT-NH").status_code == 403


def test_expired_and_damaged_items_are_never_issued(app, keeper, today):
    [fresh] = receive(keeper, quantity=5, lot="A", expiry_date=in_days(today, 10))["items"]
    receive(keeper, material="TENT", quantity=3)
    issued = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                     "lines": [{"material": "TENT", "quantity": 1}]}).json
    keeper.post("/returns", {"issue": issued["number"], "lines": [
        {"issue_line": issued["lines"][0]["id"], "quantity": 1, "condition": "damaged"}]})
    damaged = next(item for item in keeper.get("/stock?status=damaged").json["items"])
    base = {"site": "GT-XB", "recipient": {"type": "person", "name": "王"}}
    response = keeper.post("/issues", {**base, "lines": [{"label": damaged["label"], "quantity": 1}]})
    assert response.status_code == 409 and "损坏" in response.json["error"]["message"]
    # Twenty days on, the water has expired: neither its label nor a material line may take it.
    with clock.travel(today + dt.timedelta(days=20)):
        later = Api(keeper.client, token_for(app, "xb"))  # the fixture's day-long token has run out
        response = later.post("/issues", {**base, "lines": [{"label": fresh["label"], "quantity": 1}]})
        assert response.status_code == 409 and "过期" in response.json["error"]["message"]
        response = later.post("/issues", {**base, "lines": [{"material": "WATER", "quantity": 1}]})
        assert response.status_code == 409
        assert response.json["error"]["details"] == [{"line": 0, "requested": 1, "available": 0}]


def test_document_numbers_have_no_gaps_after_a_refusal(keeper, today):
    receive(keeper, quantity=1)
    short = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                    "lines": [{"material": "WATER", "quantity": 5}]})
    assert short.status_code == 409
    issued = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                     "lines": [{"material": "WATER", "quantity": 1}]})
    assert issued.json["number"] == f"FF-{today.year}-000001"


def test_absurd_ids_in_paths_are_not_found(manager):
    assert manager.post("/movements/99999999999999999999/reverse").status_code == 404
    assert manager.post("/movements/2147483647/reverse").status_code == 404


def test_a_loan_given_no_due_date_is_due_back_after_loan_days(app, keeper, today):
    """Issue 15: a loan always carries a due date, or it could never become overdue."""
    receive(keeper, material="TENT", quantity=5, lot="T1")
    receive(keeper, quantity=5)
    lines = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                    "lines": [{"material": "TENT", "quantity": 1},
                                              {"material": "WATER", "quantity": 1,
                                               "due_back": in_days(today, 3)}]}).json["lines"]
    assert [(line["returnable"], line["due_back"]) for line in lines] == [
        (True, in_days(today, 30)), (False, None)]
    app.config["LOAN_DAYS"] = 7
    [line] = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                     "lines": [{"material": "TENT", "quantity": 1}]}).json["lines"]
    assert line["due_back"] == in_days(today, 7)
    stated = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                     "lines": [{"material": "TENT", "quantity": 1,
                                                "due_back": in_days(today, 2)}]}).json["lines"]
    assert stated[0]["due_back"] == in_days(today, 2)
