"""Transfers against everything else that takes stock (QUALITY.md R23): a requested transfer
reserves nothing, so the check at dispatch is the one that counts, inside its transaction; and
the buttons of one transfer, pressed by two people at once, apply once.

Races run against the app under gunicorn (4 processes × 4 threads) on SQLite and PostgreSQL,
with clients in threads released together (tests/stock/test_concurrency.py). Transfers go from
新坝镇 (GT-XB) to 南华镇 (GT-NH): keepers of GT-XB dispatch, keepers of GT-NH receive.
"""

import re
from collections import Counter
from functools import partial
from urllib.parse import urljoin

import pytest
import requests
import sqlalchemy as sa

from inventory.catalog.models import Material
from inventory.db import db
from inventory.sites.models import Site
from inventory.stock.models import Movement, StockItem, Transfer
from tests.factories import (
    PASSWORD,
    Api,
    check_ledger,
    csrf_token,
    form_key,
    issue,
    receive,
    token_for,
)
from tests.factories import make_user as build_user
from tests.stock.test_concurrency import post, race

RECIPIENT = {"type": "household", "name": "受灾户"}
INVALID_STATE_MESSAGE = "不能执行此操作"  # transfers.py _move_transfer's refusal


# --- what the tests read ------------------------------------------------------------------------

def _items(app) -> dict[str, tuple]:
    """Every stock item: label → (site, material, quantity, status)."""
    with app.app_context():
        return {item.label: (item.site.code, item.material.code, item.quantity, item.status)
                for item in db.session.scalars(sa.select(StockItem))}


def _quantity(app, site, material) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(StockItem.quantity), 0))
            .join(Site, StockItem.site_id == Site.id)
            .join(Material, StockItem.material_id == Material.id)
            .where(Site.code == site, Material.code == material))


def _movement_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Movement.id).order_by(Movement.id)))


def _movements_of(app, number) -> Counter:
    """How many movements of each kind a document wrote."""
    with app.app_context():
        return Counter(db.session.scalars(sa.select(Movement.kind)
                                          .where(Movement.document == number)))


def _status(app, number) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Transfer.status).where(Transfer.number == number))


def _no_negative_quantity(app) -> bool:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.min(StockItem.quantity))) >= 0


def _transfer(api, lines, *, source="GT-XB", destination="GT-NH") -> dict:
    response = api.post("/transfers", {"from_site": source, "to_site": destination, "lines": lines})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def keepers(app, client, county, catalog, keeper):
    """Two keepers of the source, 新坝镇 (the first is ``keeper``), and two of the
    destination, 南华镇, as API clients."""
    second = Api(client, token_for(app, build_user(app, "keeper", username="xb2",
                                                   sites=["GT-XB"])))
    receivers = [Api(client, token_for(app, build_user(app, "keeper", username=name,
                                                       sites=["GT-NH"])))
                 for name in ("nh1", "nh2")]
    return {"source": [keeper, second], "destination": receivers}


# --- (a) the stock went elsewhere between request and dispatch -------------------------------

def _take(keeper, manager, taker, *, label, quantity):
    """Take ``quantity`` of the item ``label`` out of GT-XB by ``taker``, which must succeed:
    the keeper issues or transfers; counting stock down takes a manager."""
    if taker == "issue":
        issue(keeper, [{"label": label, "quantity": quantity}], recipient=RECIPIENT)
    elif taker == "adjustment":
        response = manager.post("/adjustments", {"label": label, "delta": -quantity,
                                                 "reason": "count_correction"})
        assert response.status_code == 201, response.json
    else:
        other = _transfer(keeper, [{"label": label, "quantity": quantity}], destination="GT")
        response = keeper.post(f"/transfers/{other['number']}/dispatch")
        assert response.status_code == 200, response.json


@pytest.mark.parametrize("line", ["material", "label"])
@pytest.mark.parametrize("taker", ["issue", "adjustment", "transfer"])
def test_dispatching_stock_taken_since_the_request_changes_nothing(app, keeper, manager, taker,
                                                                    line):
    [water] = receive(keeper, quantity=10, lot="W")["items"]
    [quilts] = receive(keeper, material="QUILT", quantity=5)["items"]
    water_line = ({"material": "WATER"} if line == "material" else {"label": water["label"]})
    transfer = _transfer(keeper, [{**water_line, "quantity": 6},
                                  {"label": quilts["label"], "quantity": 2}])
    _take(keeper, manager, taker, label=water["label"], quantity=5)
    items, movements = _items(app), _movement_ids(app)
    before = keeper.get(f"/transfers/{transfer['number']}").json

    response = keeper.post(f"/transfers/{transfer['number']}/dispatch")
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "insufficient_stock"
    assert response.json["error"]["details"] == [{"line": 0, "requested": 6, "available": 5}]
    assert keeper.get(f"/transfers/{transfer['number']}").json == before
    assert before["status"] == "requested"
    assert _items(app) == items, "the quilts' line, which was there, did not go either"
    assert _movement_ids(app) == movements
    assert check_ledger(app)[0] == 0

    # Not refused for some other reason: with the missing unit back, the same dispatch goes.
    receive(keeper, quantity=1, lot="W")
    response = keeper.post(f"/transfers/{transfer['number']}/dispatch")
    assert response.status_code == 200 and response.json["status"] == "in_transit"
    assert _quantity(app, "GT-XB", "WATER") == 0 and _quantity(app, "GT-XB", "QUILT") == 3
    assert check_ledger(app)[0] == 0


def test_dispatching_a_unit_lent_out_since_the_request_changes_nothing(app, keeper):
    [generator] = receive(keeper, material="GEN", quantity=1, serials=["GEN-1"])["items"]
    transfer = _transfer(keeper, [{"label": generator["label"], "quantity": 1}])
    issue(keeper, [{"label": generator["label"], "quantity": 1}], recipient=RECIPIENT)
    items, movements = _items(app), _movement_ids(app)

    response = keeper.post(f"/transfers/{transfer['number']}/dispatch")
    assert response.status_code == 409, response.json
    # A named unit that is out on loan is not "short" but in the wrong state (allocation.py).
    assert response.json["error"]["code"] == "invalid_state"
    assert _status(app, transfer["number"]) == "requested"
    assert _items(app) == items and _movement_ids(app) == movements
    assert items[generator["label"]][2:] == (0, "on_loan")
    assert check_ledger(app)[0] == 0


# --- (b) an issue racing a dispatch of the same stock ------------------------------------------

def test_an_issue_racing_a_dispatch_never_takes_more_than_there_is(app, server, keepers):
    """Round after round: 10 units on the shelf, a transfer of 6 requested, then the keeper
    issues 6 while a colleague dispatches: exactly one of them gets the stock."""
    issuer, dispatcher = keepers["source"]
    won = Counter()
    label = None
    for round_ in range(20):
        [item] = receive(issuer, quantity=10, lot="RACE")["items"]
        label = label or item["label"]
        assert item["label"] == label, "one batch, one item, round after round"
        # Label lines (the scanned item) and material lines (first expiry first out) in turn.
        line = {"label": label} if round_ % 2 else {"material": "WATER"}
        transfer = _transfer(issuer, [{**line, "quantity": 6}])
        issued, dispatched = race([
            partial(post, server, issuer.headers, "/issues", {
                "site": "GT-XB", "recipient": RECIPIENT, "lines": [{**line, "quantity": 6}]}),
            partial(post, server, dispatcher.headers, f"/transfers/{transfer['number']}/dispatch",
                    None)])
        outcome = (issued[0], dispatched[0])
        assert outcome in ((201, 409), (409, 200)), (round_, issued, dispatched)
        loser = dispatched if issued[0] == 201 else issued
        assert loser[1]["error"]["code"] == "insufficient_stock", loser
        assert loser[1]["error"]["details"] == [{"line": 0, "requested": 6, "available": 4}]
        won["issue" if issued[0] == 201 else "dispatch"] += 1
        assert _quantity(app, "GT-XB", "WATER") == 4, (round_, outcome)
        assert _status(app, transfer["number"]) == (
            "in_transit" if dispatched[0] == 200 else "requested")
        assert _no_negative_quantity(app)
        issue(issuer, [{"material": "WATER", "quantity": 4}], recipient=RECIPIENT)  # empty again

    assert sum(won.values()) == 20, won
    with app.app_context():
        on_the_road = db.session.scalar(
            sa.select(sa.func.count()).select_from(Transfer).where(Transfer.status == "in_transit"))
    assert on_the_road == won["dispatch"]
    assert _quantity(app, "GT-XB", "WATER") == 0
    assert check_ledger(app)[0] == 0


# --- (c), (d) two keepers pressing one transfer's button at once, through the API ---------------

def test_two_keepers_dispatching_one_transfer_at_once_send_it_once(app, server, keepers):
    """Idempotency keys are per user, so the second keeper's press is a request of its own: the
    transfer's state machine refuses it (409 invalid_state, API.md Transfers). One keeper's
    press sent three times at once under one Idempotency-Key gets the first answer each time
    (or 409 idempotency_in_progress while it runs)."""
    first, second = keepers["source"]
    receive(first, quantity=100, lot="PLENTY")  # enough for a second dispatch, were one let through
    for round_ in range(8):
        transfer = _transfer(first, [{"material": "WATER", "quantity": 4}])
        results = race([partial(post, server, api.headers,
                                f"/transfers/{transfer['number']}/dispatch", None)
                        for api in (first, second)])
        assert sorted(status for status, _body in results) == [200, 409], (round_, results)
        [(_status_code, refused)] = [result for result in results if result[0] == 409]
        assert refused["error"]["code"] == "invalid_state"
        assert INVALID_STATE_MESSAGE in refused["error"]["message"]
        assert _movements_of(app, transfer["number"]) == {"transfer_out": 1}
        assert _quantity(app, "GT-XB", "WATER") == 100 - 4 * (round_ + 1), "the stock left once"
        assert _status(app, transfer["number"]) == "in_transit"

    transfer = _transfer(first, [{"material": "WATER", "quantity": 4}])
    results = race([partial(post, server, first.headers,
                            f"/transfers/{transfer['number']}/dispatch", None, key="tap-tap-tap")
                    for _ in range(3)])
    answers = [body for status, body in results if status == 200]
    assert answers and all(answer == answers[0] for answer in answers), results
    assert all(body["error"]["code"] == "idempotency_in_progress"
               for status, body in results if status != 200), results
    assert answers[0]["status"] == "in_transit"
    assert _movements_of(app, transfer["number"]) == {"transfer_out": 1}
    assert _quantity(app, "GT-XB", "WATER") == 100 - 4 * 9
    assert check_ledger(app)[0] == 0


def test_two_keepers_receiving_one_transfer_at_once_book_it_once(app, server, keepers):
    sender = keepers["source"][0]
    first, second = keepers["destination"]
    receive(sender, quantity=100, lot="PLENTY")
    for round_ in range(8):
        transfer = _transfer(sender, [{"material": "WATER", "quantity": 4}])
        assert sender.post(f"/transfers/{transfer['number']}/dispatch").status_code == 200
        results = race([partial(post, server, api.headers,
                                f"/transfers/{transfer['number']}/receive", None)
                        for api in (first, second)])
        assert sorted(status for status, _body in results) == [200, 409], (round_, results)
        [(_code, received)] = [result for result in results if result[0] == 200]
        [(_code, refused)] = [result for result in results if result[0] == 409]
        assert received["status"] == "received" and received["lines"][0]["received"] == 4
        assert refused["error"]["code"] == "invalid_state"
        assert _movements_of(app, transfer["number"]) == {"transfer_out": 1, "transfer_in": 1}
        assert _quantity(app, "GT-NH", "WATER") == 4 * (round_ + 1), "the stock arrived once"
        assert _status(app, transfer["number"]) == "received"
    assert _quantity(app, "GT-XB", "WATER") + _quantity(app, "GT-NH", "WATER") == 100
    assert check_ledger(app)[0] == 0


# --- (c), (d) through the pages: the forms as a browser posts them, CSRF and all ---------------

FLASH = re.compile(r'<p class="flash flash-(\w+)" role="status">([^<]*)</p>')


def _browser(base, username) -> requests.Session:
    """A browser logged in to the pages of the app at ``base`` (CSRF checked, as in production)."""
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=60).text
    response = browser.post(f"{base}/login", timeout=60, allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.text
    return browser


def _flashes(browser, response) -> list[tuple[str, str]]:
    """What the page a POST sent the browser to tells it (category, message)."""
    return FLASH.findall(browser.get(urljoin(response.url, response.headers["Location"]),
                                     timeout=60).text)


def test_two_keepers_pressing_dispatch_on_the_page_at_once_send_it_once(app, server, keepers):
    receive(keepers["source"][0], quantity=100, lot="PLENTY")
    browsers = [_browser(server, name) for name in ("xb", "xb2")]
    for round_ in range(5):
        transfer = _transfer(keepers["source"][0], [{"material": "WATER", "quantity": 4}])
        page = f"{server}/stock/transfers/{transfer['number']}"
        # Each keeper has the transfer open, with its 发出 button (its token and its own key).
        forms = []
        for browser in browsers:
            html = browser.get(page, timeout=60).text
            assert f'action="/stock/transfers/{transfer["number"]}/dispatch"' in html
            forms.append({"csrf_token": csrf_token(html), "idempotency_key": form_key(html)})
        responses = race([partial(browser.post, f"{page}/dispatch", data=form,
                                  allow_redirects=False, timeout=60)
                          for browser, form in zip(browsers, forms, strict=True)])
        assert [r.status_code for r in responses] == [302, 302], "a pressed button goes back"
        said = sorted(_flashes(browser, response)[0]
                      for browser, response in zip(browsers, responses, strict=True))
        assert said[0][0] == "error" and INVALID_STATE_MESSAGE in said[0][1], (round_, said)
        assert said[1] == ("success", "已发出，物资在途"), (round_, said)
        assert _movements_of(app, transfer["number"]) == {"transfer_out": 1}
        assert _quantity(app, "GT-XB", "WATER") == 100 - 4 * (round_ + 1), "the stock left once"
    assert check_ledger(app)[0] == 0


def test_two_keepers_confirming_receipt_on_the_page_at_once_book_it_once(app, server, keepers):
    sender = keepers["source"][0]
    receive(sender, quantity=100, lot="PLENTY")
    browsers = [_browser(server, name) for name in ("nh1", "nh2")]
    for round_ in range(5):
        transfer = _transfer(sender, [{"material": "WATER", "quantity": 4}])
        assert sender.post(f"/transfers/{transfer['number']}/dispatch").status_code == 200
        page = f"{server}/stock/transfers/{transfer['number']}/receive"
        forms = []
        for browser in browsers:
            html = browser.get(page, timeout=60).text
            line = re.search(r'name="lines-0-line" type="hidden" value="(\d+)"', html)[1]
            forms.append({"csrf_token": csrf_token(html), "idempotency_key": form_key(html),
                          "lines-0-line": line, "lines-0-received": "4"})
        responses = race([partial(browser.post, page, data=form, allow_redirects=False,
                                  timeout=60)
                          for browser, form in zip(browsers, forms, strict=True)])
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [302, 422], (round_, statuses)
        [refused] = [r for r in responses if r.status_code == 422]
        assert INVALID_STATE_MESSAGE in refused.text and "已收货" in refused.text
        [done] = [(b, r) for b, r in zip(browsers, responses, strict=True) if r.status_code == 302]
        assert ("success", "已收货") in _flashes(*done)
        assert _movements_of(app, transfer["number"]) == {"transfer_out": 1, "transfer_in": 1}
        assert _quantity(app, "GT-NH", "WATER") == 4 * (round_ + 1), "the stock arrived once"
    assert check_ledger(app)[0] == 0
