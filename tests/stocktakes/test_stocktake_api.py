"""盘点 through the API (API.md "Stocktakes"): blind counts, stock that keeps moving, recounts,
found goods, approval posted through the ledger once, and who may do what."""

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.sites.models import Agreement, Site
from inventory.stock.models import Movement, StockItem
from inventory.stocktakes.models import quarter_of
from tests.factories import Api, check_ledger, in_days, issue, receive


@pytest.fixture
def auditor(client, make_user, token_for, county, catalog):
    """The county's auditor (盘点员/监盘人), scoped to the whole county."""
    return Api(client, token_for(make_user("auditor", username="audit", sites=["GT"])))


@pytest.fixture
def other_manager(client, make_user, token_for, county, catalog):
    return Api(client, token_for(make_user("manager", username="boss2")))


def _quantity(app, label):
    with app.app_context():
        return db.session.scalar(sa.select(StockItem.quantity).where(StockItem.label == label))


def _stocktake_movements(app, number):
    with app.app_context():
        return [(m.item.label, m.quantity, m.balance_after) for m in db.session.scalars(
            sa.select(Movement).where(Movement.document == number).order_by(Movement.id))]


def _open(api, site="GT-XB", period=None, **fields):
    period = period or quarter_of(clock.today())
    response = api.post("/stocktakes", {"site": site, "period": period, **fields})
    assert response.status_code == 201, response.json
    return response.json


def _count(api, stocktake, label, counted):
    response = api.post(f"/stocktakes/{stocktake['id']}/counts", {"label": label, "counted": counted})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def shelf(keeper, today):
    """GT-XB holds 50 water, 20 tents and a generator."""
    water = receive(keeper, quantity=50, lot="W1", expiry_date=in_days(today, 200))["items"][0]
    tents = receive(keeper, material="TENT", quantity=20)["items"][0]
    generator = receive(keeper, material="GEN", quantity=1, serials=["G-1"])["items"][0]
    return {"water": water["label"], "tents": tents["label"], "generator": generator["label"]}


def test_a_count_while_stock_moves_posts_only_the_variance(app, keeper, manager, shelf, today):
    stocktake = _open(manager)
    assert stocktake["status"] == "counting" and stocktake["number"].startswith("PD-")
    # Counted 40 against books of 50; then 5 are issued (R10): the count is not undone by it.
    _count(keeper, stocktake, shelf["water"], 40)
    issue(keeper, [{"label": shelf["water"], "quantity": 5}])
    # Received during the count, after opening, then counted: expected follows the books.
    receive(keeper, material="TENT", quantity=4)
    _count(keeper, stocktake, shelf["tents"], 23)   # books 24 when counted: 1 short
    _count(keeper, stocktake, shelf["tents"], 24)   # recounted: the latest count stands
    _count(keeper, stocktake, shelf["generator"], 1)

    blind = keeper.get(f"/stocktakes/{stocktake['id']}").json
    assert all("expected" not in line and "variance" not in line for line in blind["lines"])
    assert blind["progress"] == {"counted": 3, "total": 3, "recount": 0}

    assert keeper.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    review = manager.get(f"/stocktakes/{stocktake['id']}").json
    by_label = {line["label"]: line for line in review["lines"]}
    assert (by_label[shelf["water"]]["expected"], by_label[shelf["water"]]["variance"]) == (50, -10)
    assert by_label[shelf["tents"]]["variance"] == 0

    response = manager.post(f"/stocktakes/{stocktake['id']}/approve",
                            {"reasons": {shelf["water"]: "破损丢弃未登记"}})
    assert response.status_code == 200, response.json
    assert response.json["variances"] == [{"label": shelf["water"], "expected": 50, "counted": 40,
                                           "delta": -10}]
    assert response.json["stocktake"]["status"] == "closed"
    assert _quantity(app, shelf["water"]) == 35
    assert _stocktake_movements(app, stocktake["number"]) == [(shelf["water"], -10, 35)]
    assert check_ledger(app)[0] == 0

    again = manager.post(f"/stocktakes/{stocktake['id']}/approve")
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert _quantity(app, shelf["water"]) == 35


def test_uncounted_lines_count_as_zero_and_a_missing_generator_is_written_off(app, keeper, manager, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 50)
    submitted = keeper.post(f"/stocktakes/{stocktake['id']}/submit")
    assert submitted.status_code == 200 and submitted.json["status"] == "review"
    # The keeper's answer lists what nobody counted, still blind.
    assert sorted(line["label"] for line in submitted.json["lines"] if line["counted"] is None) == sorted(
        [shelf["tents"], shelf["generator"]])
    assert all("expected" not in line for line in submitted.json["lines"])
    review = manager.get(f"/stocktakes/{stocktake['id']}").json
    uncounted = [line["label"] for line in review["lines"] if line["counted"] is None]
    assert sorted(uncounted) == sorted([shelf["tents"], shelf["generator"]])
    response = manager.post(f"/stocktakes/{stocktake['id']}/approve")
    assert response.status_code == 200, response.json
    assert {v["label"]: v["delta"] for v in response.json["variances"]} == {
        shelf["tents"]: -20, shelf["generator"]: -1}
    assert _quantity(app, shelf["tents"]) == 0
    with app.app_context():
        assert db.session.scalar(sa.select(StockItem.status).where(
            StockItem.label == shelf["generator"])) == "disposed"
    assert check_ledger(app)[0] == 0


def test_recount_sends_chosen_lines_back_blind(app, keeper, manager, shelf):
    stocktake = _open(manager)
    for label, counted in ((shelf["water"], 30), (shelf["tents"], 20), (shelf["generator"], 1)):
        _count(keeper, stocktake, label, counted)
    keeper.post(f"/stocktakes/{stocktake['id']}/submit")
    assert keeper.post(f"/stocktakes/{stocktake['id']}/recount",
                       {"labels": [shelf["water"]]}).status_code == 403
    response = manager.post(f"/stocktakes/{stocktake['id']}/recount", {"labels": [shelf["water"]]})
    assert response.status_code == 200 and response.json["status"] == "counting"
    blind = keeper.get(f"/stocktakes/{stocktake['id']}").json
    water = next(line for line in blind["lines"] if line["label"] == shelf["water"])
    assert water["recount"] is True and water["counted"] is None and "expected" not in water
    _count(keeper, stocktake, shelf["water"], 50)
    keeper.post(f"/stocktakes/{stocktake['id']}/submit")
    response = manager.post(f"/stocktakes/{stocktake['id']}/approve")
    assert response.status_code == 200 and response.json["variances"] == []
    assert _quantity(app, shelf["water"]) == 50


def test_found_goods_become_new_items_on_approval(app, keeper, manager, shelf, today):
    stocktake = _open(manager)
    for label, counted in ((shelf["water"], 50), (shelf["tents"], 20), (shelf["generator"], 1)):
        _count(keeper, stocktake, label, counted)
    found = keeper.post(f"/stocktakes/{stocktake['id']}/found",
                        {"material": "QUILT", "quantity": 12, "lot": "Q-7"})
    assert found.status_code == 201, found.json
    expired = keeper.post(f"/stocktakes/{stocktake['id']}/found",
                          {"material": "WATER", "quantity": 3, "lot": "OLD",
                           "expiry_date": in_days(today, -30)})
    assert expired.status_code == 201, expired.json
    serial = keeper.post(f"/stocktakes/{stocktake['id']}/found",
                         {"material": "GEN", "quantity": 1, "serial": "G-1"})
    assert serial.status_code == 409  # G-1 is on the books: scan its label instead
    keeper.post(f"/stocktakes/{stocktake['id']}/submit")
    response = manager.post(f"/stocktakes/{stocktake['id']}/approve")
    assert response.status_code == 200, response.json
    booked = {item["material"]: item for item in response.json["found"]}
    assert booked["QUILT"]["quantity"] == 12 and booked["QUILT"]["site"] == "GT-XB"
    assert booked["WATER"]["quantity"] == 3 and booked["WATER"]["expiry_date"] == in_days(today, -30)
    assert _quantity(app, booked["QUILT"]["label"]) == 12
    # The expired water is on the books but never issued.
    refused = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                      "lines": [{"label": booked["WATER"]["label"], "quantity": 1}]})
    assert refused.status_code == 409
    assert check_ledger(app)[0] == 0


def test_who_may_do_what(app, client, make_user, token_for, keeper, manager, auditor, shelf):
    period = quarter_of(clock.today())
    assert keeper.post("/stocktakes", {"site": "GT-XB", "period": period}).status_code == 403
    stocktake = _open(auditor)
    _count(manager, stocktake, shelf["water"], 49)
    manager.post(f"/stocktakes/{stocktake['id']}/submit")
    # A keeper never approves; the manager who alone counted may not approve his own count.
    assert keeper.post(f"/stocktakes/{stocktake['id']}/approve").status_code == 403
    only = manager.post(f"/stocktakes/{stocktake['id']}/approve")
    assert only.status_code == 403 and "唯一" in only.json["error"]["message"]
    assert _quantity(app, shelf["water"]) == 50
    # A keeper of another town does not even see it.
    nanhua = Api(client, token_for(make_user("keeper", username="nh", sites=["GT-NH"])))
    assert nanhua.get(f"/stocktakes/{stocktake['id']}").status_code == 404
    assert nanhua.post(f"/stocktakes/{stocktake['id']}/counts",
                       {"label": shelf["water"], "counted": 1}).status_code == 404


def test_a_second_manager_approves_what_one_counted(app, keeper, manager, other_manager, shelf):
    stocktake = _open(manager)
    _count(manager, stocktake, shelf["water"], 49)
    manager.post(f"/stocktakes/{stocktake['id']}/submit")
    response = other_manager.post(f"/stocktakes/{stocktake['id']}/approve")
    assert response.status_code == 200, response.json
    assert response.json["stocktake"]["witness"] == "boss2"
    assert _quantity(app, shelf["water"]) == 49


@pytest.mark.parametrize("body, field", [
    ({"label": "X", "counted": -1}, "counted"),
    ({"label": "X", "counted": 10**10}, "counted"),
    ({"label": "X", "counted": "十"}, "counted"),
    ({"label": "NOSUCHLABEL", "counted": 1}, "label"),
])
def test_bad_counts_are_refused_and_change_nothing(app, keeper, manager, shelf, body, field):
    stocktake = _open(manager)
    if body["label"] == "X":
        body = {**body, "label": shelf["water"]}
    response = keeper.post(f"/stocktakes/{stocktake['id']}/counts", body)
    assert response.status_code == 422 and field in response.json["error"]["details"]
    assert keeper.get(f"/stocktakes/{stocktake['id']}").json["progress"]["counted"] == 0


def test_a_label_of_another_site_is_422(app, keeper, manager, shelf):
    other = receive(manager, site="GT-NH", quantity=5)["items"][0]["label"]
    stocktake = _open(manager)
    response = manager.post(f"/stocktakes/{stocktake['id']}/counts", {"label": other, "counted": 5})
    assert response.status_code == 422 and "label" in response.json["error"]["details"]


def test_a_serial_item_is_counted_present_or_absent(keeper, manager, shelf):
    stocktake = _open(manager)
    response = keeper.post(f"/stocktakes/{stocktake['id']}/counts",
                           {"label": shelf["generator"], "counted": 2})
    assert response.status_code == 422


@pytest.mark.parametrize("period", ["2026Q4", "2026-Q5", "26-Q1", "2026-q4", "", "2999-Q1"])
def test_a_period_in_the_wrong_format_is_refused(app, manager, shelf, period):
    response = manager.post("/stocktakes", {"site": "GT-XB", "period": period})
    assert response.status_code == 422 and "period" in response.json["error"]["details"]


def test_counts_on_a_closed_stocktake_are_refused(app, keeper, manager, other_manager, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 50)
    keeper.post(f"/stocktakes/{stocktake['id']}/submit")
    assert other_manager.post(f"/stocktakes/{stocktake['id']}/approve").status_code == 200
    late = keeper.post(f"/stocktakes/{stocktake['id']}/counts", {"label": shelf["water"], "counted": 1})
    assert late.status_code == 409 and late.json["error"]["code"] == "invalid_state"
    assert _quantity(app, shelf["water"]) == 50
    assert manager.post(f"/stocktakes/{stocktake['id']}/cancel").status_code == 409


def test_overlapping_stocktakes_are_refused_until_one_ends(manager, shelf):
    period = quarter_of(clock.today())
    first = _open(manager)
    assert manager.post("/stocktakes", {"site": "GT-XB", "period": period}).status_code == 409
    assert manager.post("/stocktakes", {"site": "GT", "period": period,
                                        "include_sub_sites": True}).status_code == 409
    assert manager.post("/stocktakes", {"site": "GT-NH", "period": period}).status_code == 201
    assert manager.post(f"/stocktakes/{first['id']}/cancel").json["status"] == "cancelled"
    assert manager.post("/stocktakes", {"site": "GT-XB", "period": period}).status_code == 201


def test_an_agreement_site_count_is_its_verification(app, keeper, manager, other_manager, today):
    receive(manager, site="GT-XB-DC1", quantity=30)
    with app.app_context():
        agreement = db.session.scalar(sa.select(Agreement).join(Site).where(Site.code == "GT-XB-DC1"))
        assert agreement.last_verified is None
    stocktake = _open(manager, site="GT-XB-DC1")
    label = manager.get(f"/stocktakes/{stocktake['id']}").json["lines"][0]["label"]
    _count(keeper, stocktake, label, 30)
    keeper.post(f"/stocktakes/{stocktake['id']}/submit")
    assert other_manager.post(f"/stocktakes/{stocktake['id']}/approve").status_code == 200
    with app.app_context():
        agreement = db.session.scalar(sa.select(Agreement).join(Site).where(Site.code == "GT-XB-DC1"))
        assert agreement.last_verified == today


def test_list_filters(manager, shelf):
    first = _open(manager)
    _open(manager, site="GT-NH", period="2025-Q3")
    listed = manager.get("/stocktakes?site=GT-XB").json
    assert [item["id"] for item in listed["items"]] == [first["id"]]
    assert manager.get("/stocktakes?period=2025-Q3").json["total"] == 1
    assert manager.get("/stocktakes?status=closed").json["total"] == 0
    assert manager.get("/stocktakes?period=Q3").status_code == 422
