"""The stock actions on the change feed (API.md "Change feed"): one event per action, in the
order they happened, with the document's site and incident, written in the action's own unit
of work — an action refused writes none. Who received an issue never goes on the feed."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch.services import open_incident
from inventory.errors import InsufficientStock
from inventory.feed.models import Event
from inventory.sites.services import get_site
from inventory.stock import services, transfers
from inventory.stocktakes import approval
from inventory.stocktakes.models import quarter_of
from tests.factories import receive

pytestmark = pytest.mark.usefixtures("county", "catalog")


def _events(after=0):
    return [(event.type, event.ref, event.site_id, event.incident_id) for event in
            db.session.scalars(sa.select(Event).where(Event.id > after).order_by(Event.id))]


def _last_id():
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.id), 0)))


def test_each_stock_action_appends_one_event_in_order(app, keeper):
    receive(keeper, material="TENT", quantity=10)
    receive(keeper, quantity=20)
    with app.app_context():
        incident = open_incident(actor=COMMAND_LINE, data={
            "name": "南华镇洪涝", "type": "flood", "level": 4, "areas": ["GT-NH"],
            "started_at": (clock.now() - dt.timedelta(hours=2)).isoformat()}).id
        start = _last_id()
        xb, nh = get_site("GT-XB").id, get_site("GT-NH").id
        keeper_xb = find_user("xb")
        loan = services.issue(actor=keeper_xb, data={
            "site": "GT-XB", "incident": incident,
            "recipient": {"type": "household", "name": "张秀英", "id_number": "620724198001011234"},
            "lines": [{"material": "TENT", "quantity": 2}, {"material": "WATER", "quantity": 3}]})
        back = services.return_items(actor=keeper_xb, data={"issue": loan.number, "lines": [
            {"issue_line": loan.lines[0].id, "quantity": 1, "condition": "good"}]})
        sent = transfers.create_transfer(actor=keeper_xb, data={
            "from_site": "GT-XB", "to_site": "GT-NH", "incident": incident,
            "lines": [{"material": "WATER", "quantity": 5}]})
        transfers.dispatch_transfer(actor=keeper_xb, number=sent.number)
        transfers.receive_transfer(actor=COMMAND_LINE, number=sent.number)
        dropped = transfers.create_transfer(actor=keeper_xb, data={
            "from_site": "GT-XB", "to_site": "GT-NH", "lines": [{"material": "WATER", "quantity": 1}]})
        transfers.cancel_transfer(actor=keeper_xb, number=dropped.number)

        assert _events(start) == [
            ("issue.created", loan.number, xb, incident),
            ("return.created", back.number, xb, incident),
            ("transfer.requested", sent.number, xb, incident),
            ("transfer.dispatched", sent.number, xb, incident),
            ("transfer.received", sent.number, nh, incident),
            ("transfer.requested", dropped.number, xb, None),
            ("transfer.cancelled", dropped.number, xb, None),
        ]
        issued = db.session.scalar(sa.select(Event).where(Event.type == "issue.created"))
        assert issued.data == {"site": "GT-XB", "recipient_type": "household", "lines": [
            {"material": "TENT", "quantity": 2}, {"material": "WATER", "quantity": 3}]}
        assert "张秀英" not in str(issued.data) and "1234" not in str(issued.data)
        assert issued.user_id == keeper_xb.id
        received = db.session.scalar(sa.select(Event).where(Event.type == "transfer.received"))
        assert received.data["lines"] == [{"material": "WATER", "quantity": 5, "received": 5}]


def test_a_refused_action_writes_no_event(app, keeper):
    receive(keeper, quantity=3)
    with app.app_context():
        start = _last_id()
        with pytest.raises(InsufficientStock):
            services.issue(actor=find_user("xb"), data={
                "site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                "lines": [{"material": "WATER", "quantity": 4}]})
        with pytest.raises(InsufficientStock):
            transfers.create_transfer(actor=find_user("xb"), data={
                "from_site": "GT-XB", "to_site": "GT-NH", "lines": [{"material": "WATER", "quantity": 4}]})
        assert _events(start) == []


def test_closing_a_stocktake_appends_stocktake_closed(app, manager, today):
    [water] = receive(manager, quantity=10)["items"]
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    assert manager.post(f"/stocktakes/{stocktake['id']}/counts",
                        {"label": water["label"], "counted": 9}).status_code in (200, 201)
    assert manager.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    with app.app_context():
        start = _last_id()
        approval.approve(actor=COMMAND_LINE, stocktake_id=stocktake["id"])
        assert _events(start) == [("stocktake.closed", str(stocktake["id"]), get_site("GT-XB").id, None)]
        closed = db.session.scalar(sa.select(Event).where(Event.type == "stocktake.closed"))
        assert closed.data["variances"] == 1
