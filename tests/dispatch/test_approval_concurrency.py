"""Approvals racing for the same scarce stock, with real connections, on SQLite and PostgreSQL:
in threads of this process (each its own session and connection), and through the API against
the app under gunicorn (4 processes × 4 threads), as two dispatchers' browsers would
(tests/stock/test_concurrency.py). Exactly what exists is sent; the others get 409 and nothing.

The area is test_planning.py's: QX-A (10 units of water) is the one source; QX-D and QX-B ask.
"""

from collections import Counter

import pytest
import sqlalchemy as sa

from inventory.auth.services import find_user
from inventory.catalog.models import Material
from inventory.db import db
from inventory.dispatch import planning
from inventory.dispatch.models import Request
from inventory.errors import DomainError
from inventory.sites.models import Site
from inventory.stock.models import Movement, StockItem, Transfer
from tests.dispatch.test_planning import build_area, incident, make_plan, request_for, stock
from tests.factories import Api, check_ledger, make_user, token_for
from tests.stock.test_concurrency import post, race


@pytest.fixture
def area(app):
    return build_area(app)


def _scarce(app, *, requests=("QX-D", "QX-B"), quantity=10):
    """10 units at QX-A, and a request for all of them from each of ``requests``, planned."""
    stock(app, "QX-A", quantity=10)
    incident_id = incident(app)
    request_ids = [request_for(app, {"WATER": quantity}, to_site=site, incident_id=incident_id)
                   for site in requests]
    for request_id in request_ids:
        assert make_plan(app, request_id)[0][0][:4] == ("QX-A", "WATER", "bureau", quantity)
    return request_ids


def _left(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.sum(StockItem.quantity)).join(Site, Site.id == StockItem.site_id)
            .join(Material, Material.id == StockItem.material_id)
            .where(Material.code == "WATER", Site.code == "QX-A"))


def _sent(app) -> list[tuple[str, int]]:
    """Every transfer: (destination, quantity carried)."""
    with app.app_context():
        return sorted((transfer.to_site.code, sum(line.quantity for line in transfer.lines))
                      for transfer in db.session.scalars(sa.select(Transfer)))


def _service_approval(app, username, request_id):
    """Approve in a thread of its own, with its own app context (session, connection)."""
    def job():
        with app.app_context():
            try:
                planning.approve(actor=find_user(username), request_id=request_id, data={})
                return "approved", None
            except DomainError as refused:
                return refused.code, refused.details
    return job


def test_two_dispatchers_approving_plans_for_the_same_stock_in_threads(area):
    request_ids = _scarce(area)
    names = [make_user(area, "dispatcher") for _ in request_ids]
    results = race([_service_approval(area, name, request_id)
                    for name, request_id in zip(names, request_ids, strict=True)])
    assert Counter(code for code, _details in results) == {"approved": 1, "insufficient_stock": 1}, results
    [(_code, details)] = [result for result in results if result[0] != "approved"]
    assert details == [{"line": 0, "from_site": "QX-A", "material": "WATER", "requested": 10, "available": 0}]
    assert len(_sent(area)) == 1 and _sent(area)[0][1] == 10
    assert _left(area) == 0
    with area.app_context():
        statuses = sorted(db.session.scalars(sa.select(Request.status)))
    assert statuses == ["approved", "planned"]
    assert check_ledger(area)[0] == 0


def test_many_approvals_share_out_exactly_what_exists(area):
    """Six plans of 3 against 10 units: three go (9 units), three are refused."""
    stock(area, "QX-A", quantity=10)
    incident_id = incident(area)
    request_ids = [request_for(area, {"WATER": 3}, to_site=site, incident_id=incident_id)
                   for site in ("QX-D", "QX-B", "QX-C", "QX-D", "QX-B", "QX-C")]
    for request_id in request_ids:
        make_plan(area, request_id)
    name = make_user(area, "dispatcher")
    results = race([_service_approval(area, name, request_id) for request_id in request_ids])
    assert Counter(code for code, _details in results) == {"approved": 3, "insufficient_stock": 3}, results
    assert [quantity for _site, quantity in _sent(area)] == [3, 3, 3]
    assert _left(area) == 1
    assert check_ledger(area)[0] == 0


def test_two_dispatchers_approving_one_request_send_it_once(area):
    [request_id] = _scarce(area, requests=("QX-D",), quantity=4)
    names = [make_user(area, "dispatcher") for _ in range(2)]
    results = race([_service_approval(area, name, request_id) for name in names])
    assert Counter(code for code, _details in results) == {"approved": 1, "invalid_state": 1}, results
    assert _sent(area) == [("QX-D", 4)] and _left(area) == 6
    assert check_ledger(area)[0] == 0


# --- through the API, under gunicorn ----------------------------------------------------------------

def test_two_dispatchers_racing_through_the_api(area, server):
    request_ids = _scarce(area)
    headers = [token_for(area, make_user(area, "dispatcher")) for _ in request_ids]
    results = race([lambda h=h, r=r: post(server, h, f"/requests/{r}/approve", {})
                    for h, r in zip(headers, request_ids, strict=True)])
    assert sorted(status for status, _body in results) == [201, 409], results
    [refused] = [body for status, body in results if status == 409]
    assert refused["error"]["code"] == "insufficient_stock"
    assert refused["error"]["details"][0]["available"] == 0
    [approved] = [body for status, body in results if status == 201]
    assert len(approved["transfers"]) == 1
    assert _left(area) == 0 and len(_sent(area)) == 1
    assert check_ledger(area)[0] == 0


def test_an_approval_replayed_with_its_key_sends_nothing_more(area, client, monkeypatch):
    [request_id] = _scarce(area, requests=("QX-D",), quantity=4)
    dispatcher = Api(client, token_for(area, make_user(area, "dispatcher")))
    calls = Counter()
    approve = planning.approve

    def counted(**kwargs):
        calls["approve"] += 1
        return approve(**kwargs)

    monkeypatch.setattr(planning, "approve", counted)
    body = {"driver_name": "张师傅", "vehicle": "甘G·12345"}
    first = dispatcher.post(f"/requests/{request_id}/approve", body, key="approve-17-1")
    assert first.status_code == 201, first.json
    with area.app_context():
        movements = db.session.scalar(sa.select(sa.func.count()).select_from(Movement))
    again = dispatcher.post(f"/requests/{request_id}/approve", body, key="approve-17-1")
    assert (again.status_code, again.json) == (201, first.json)
    assert calls["approve"] == 1, "the replay is answered from the stored first answer"
    with area.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Movement)) == movements
    assert _sent(area) == [("QX-D", 4)] and _left(area) == 6
    # A new key is a new approval: this request is already approved.
    other = dispatcher.post(f"/requests/{request_id}/approve", body, key="approve-17-2")
    assert other.status_code == 409 and other.json["error"]["code"] == "invalid_state"
    assert check_ledger(area)[0] == 0
