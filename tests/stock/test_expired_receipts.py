"""What is on the shelf can be on the books (issue 16, item 8): goods already past their expiry
are received (the API records them; the receipt page warns and records them once confirmed),
show as expired, are never issued or transferred, and leave only by a manager's write-off."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.stock.models import Issue, Movement, Receipt, StockItem, Transfer
from tests.factories import Api, check_ledger, form_key, in_days, receive, token_for

RECIPIENT = {"type": "person", "name": "王"}


@pytest.fixture
def keeper_page(client, login, keeper):
    """The 新坝镇 keeper, logged in to the pages (and with an API token for set-up)."""
    login("xb")
    return client


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _quantity(app, label) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(StockItem.quantity).where(StockItem.label == label))


def _expired_lot(keeper, today, *, quantity=12, lot="OLD") -> dict:
    """A lot of water received a month past its expiry; answer its item."""
    [item] = receive(keeper, quantity=quantity, lot=lot, expiry_date=in_days(today, -30))["items"]
    return item


def test_the_api_records_a_receipt_past_its_expiry(app, keeper, today):
    item = _expired_lot(keeper, today)
    assert item["quantity"] == 12 and item["status"] == "available"
    assert item["expiry_date"] == in_days(today, -30)
    detail = keeper.get(f"/stock/{item['label']}").json
    assert detail["quantity"] == 12 and [m["quantity"] for m in detail["movements"]] == [12]
    # An expiry worked out from the production date and the shelf life (a year) is no different.
    [derived] = receive(keeper, quantity=3, lot="P", production_date=in_days(today, -400))["items"]
    assert derived["expiry_date"] == in_days(today, -35) and derived["quantity"] == 3
    assert check_ledger(app)[0] == 0


def test_an_expiry_before_the_production_date_is_still_refused(app, keeper, today):
    response = keeper.post("/receipts", {"site": "GT-XB", "material": "WATER", "quantity": 1,
                                         "production_date": in_days(today, -100),
                                         "expiry_date": in_days(today, -200)})
    assert response.status_code == 422 and "expiry_date" in response.json["error"]["details"]
    assert _count(app, Receipt) == _count(app, Movement) == 0


def test_the_receipt_page_warns_of_a_past_expiry_and_records_it_once_confirmed(app, keeper_page, today):
    page = keeper_page.get("/stock/receive").get_data(as_text=True)
    assert 'name="confirm_expired"' not in page, "nothing to confirm yet"
    expired = in_days(today, -30)
    typed = {"idempotency_key": form_key(page), "site": "GT-XB", "material": "WATER",
             "quantity": "12", "lot": "OLD", "expiry_date": expired}

    warned = keeper_page.post("/stock/receive", data=typed)
    text = warned.get_data(as_text=True)
    assert warned.status_code == 422
    assert f"有效期 {expired} 已过，入库后只能报废，不能发放或调拨" in text
    assert 'name="confirm_expired"' in text and 'value="OLD"' in text, "asked, with what was typed"
    assert _count(app, Receipt) == _count(app, Movement) == _count(app, StockItem) == 0

    confirmed = keeper_page.post("/stock/receive", data={**typed, "confirm_expired": "y"})
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    receipt = keeper_page.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "OLD" in receipt and expired in receipt
    again = keeper_page.post("/stock/receive", data={**typed, "confirm_expired": "y"})
    assert again.headers["Location"] == confirmed.headers["Location"], "applied once"
    with app.app_context():
        item = db.session.scalar(sa.select(StockItem))
        assert (item.quantity, item.expiry_date.isoformat()) == (12, expired)
    assert _count(app, Receipt) == 1 and check_ledger(app)[0] == 0


def test_a_fresh_receipt_on_the_page_asks_nothing(app, keeper_page, today):
    page = keeper_page.get("/stock/receive").get_data(as_text=True)
    response = keeper_page.post("/stock/receive", data={
        "idempotency_key": form_key(page), "site": "GT-XB", "material": "WATER", "quantity": "5",
        "expiry_date": in_days(today, 0)})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _count(app, Receipt) == 1


def test_issuing_an_expired_label_is_refused_and_changes_nothing(app, keeper, today):
    item = _expired_lot(keeper, today)
    movements = _count(app, Movement)
    response = keeper.post("/issues", {"site": "GT-XB", "recipient": RECIPIENT,
                                       "lines": [{"label": item["label"], "quantity": 1}]})
    assert response.status_code == 409, response.json
    assert "过期" in response.json["error"]["message"] and "不能发放" in response.json["error"]["message"]
    response = keeper.post("/issues", {"site": "GT-XB", "recipient": RECIPIENT,
                                       "lines": [{"material": "WATER", "quantity": 1}]})
    assert response.status_code == 409
    assert response.json["error"]["details"] == [{"line": 0, "requested": 1, "available": 0}]
    assert _quantity(app, item["label"]) == 12
    assert _count(app, Movement) == movements and _count(app, Issue) == 0


def test_an_expired_label_is_never_transferred(app, keeper, today):
    item = _expired_lot(keeper, today)
    response = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                          "lines": [{"label": item["label"], "quantity": 1}]})
    assert response.status_code == 409, response.json
    assert "过期" in response.json["error"]["message"] and "调拨" in response.json["error"]["message"]
    assert _count(app, Transfer) == 0 and _quantity(app, item["label"]) == 12


def test_a_label_that_expires_after_the_request_is_refused_at_dispatch(app, keeper, today):
    [item] = receive(keeper, quantity=6, lot="A", expiry_date=in_days(today, 10))["items"]
    transfer = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                          "lines": [{"label": item["label"], "quantity": 6}]})
    assert transfer.status_code == 201, transfer.json
    movements = _count(app, Movement)
    with clock.travel(today + dt.timedelta(days=20)):
        later = Api(keeper.client, token_for(app, "xb"))  # the fixture's day-long token has run out
        response = later.post(f"/transfers/{transfer.json['number']}/dispatch")
        assert response.status_code == 409, response.json
        assert "过期" in response.json["error"]["message"]
        assert later.get(f"/transfers/{transfer.json['number']}").json["status"] == "requested"
    assert _quantity(app, item["label"]) == 6 and _count(app, Movement) == movements


def test_a_material_transfer_skips_expired_items(app, keeper, today):
    expired = _expired_lot(keeper, today)
    [fresh] = receive(keeper, quantity=5, lot="NEW", expiry_date=in_days(today, 200))["items"]
    short = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                       "lines": [{"material": "WATER", "quantity": 6}]})
    assert short.status_code == 409
    assert short.json["error"]["details"] == [{"line": 0, "requested": 6, "available": 5}]
    transfer = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                          "lines": [{"material": "WATER", "quantity": 5}]}).json
    dispatched = keeper.post(f"/transfers/{transfer['number']}/dispatch")
    assert dispatched.status_code == 200, dispatched.json
    assert [line["from_label"] for line in dispatched.json["lines"]] == [fresh["label"]]
    assert _quantity(app, expired["label"]) == 12 and _quantity(app, fresh["label"]) == 0
    assert check_ledger(app)[0] == 0


def test_a_manager_writes_expired_goods_off(app, keeper, manager, today):
    item = _expired_lot(keeper, today)
    [generator] = receive(keeper, material="GEN", quantity=1, serials=["SN-OLD"],
                          expiry_date=in_days(today, -1))["items"]
    writeoff = {"label": item["label"], "delta": -12, "reason": "expired", "note": "过期销毁"}
    assert keeper.post("/adjustments", writeoff).status_code == 403
    response = manager.post("/adjustments", writeoff)
    assert response.status_code == 201, response.json
    assert response.json["kind"] == "writeoff" and response.json["balance_after"] == 0
    response = manager.post("/adjustments", {"label": generator["label"], "delta": -1,
                                             "reason": "expired"})
    assert response.status_code == 201, response.json
    assert manager.get(f"/stock/{generator['label']}").json["status"] == "disposed"
    assert keeper.get("/alerts").json["expired"] == []
    assert check_ledger(app)[0] == 0


def test_goods_received_expired_show_as_expired_in_lists_and_alerts(app, keeper, keeper_page, today):
    item = _expired_lot(keeper, today)
    receive(keeper, quantity=5, lot="NEW", expiry_date=in_days(today, 20))
    found = keeper.get("/alerts").json
    assert [i["label"] for i in found["expired"]] == [item["label"]]
    assert [i["lot"] for i in found["expiring"]] == ["NEW"]
    expired_mark = f'<span class="expiry expired">有效期至 {in_days(today, -30)} · 已过期</span>'
    for path in ("/stock/?site=GT-XB", "/alerts/", f"/stock/item/{item['label']}"):
        page = keeper_page.get(path)
        assert page.status_code == 200 and expired_mark in page.get_data(as_text=True), path
