"""Issues and transfers for an incident (API.md "Incidents and dispatch"): ``incident`` must name
an open incident — unknown or closed is 422 on the field and changes nothing — and the document
keeps it, a transfer through dispatch and receipt."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch.services import close_incident, open_incident
from inventory.errors import ValidationError
from inventory.stock import services, transfers
from inventory.stock.models import Issue, Movement, Transfer
from tests.factories import check_ledger, receive

pytestmark = pytest.mark.usefixtures("county", "catalog")


def _incident(app, *, closed=False) -> int:
    with app.app_context():
        incident = open_incident(actor=COMMAND_LINE, data={
            "name": "新坝镇地震", "type": "earthquake", "level": 3, "areas": ["GT-XB"],
            "started_at": (clock.now() - dt.timedelta(hours=1)).isoformat()})
        if closed:
            close_incident(actor=COMMAND_LINE, incident_id=incident.id)
        return incident.id


def _issue(incident):
    return services.issue(actor=find_user("xb"), data={
        "site": "GT-XB", "recipient": {"type": "household", "name": "张家"}, "incident": incident,
        "lines": [{"material": "WATER", "quantity": 2}]})


def _counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Issue)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Movement)))


def test_an_issue_naming_an_open_incident_keeps_it(app, keeper):
    receive(keeper, quantity=10)
    incident = _incident(app)
    with app.app_context():
        number = _issue(incident).number
        assert db.session.scalar(sa.select(Issue.incident_id).where(Issue.number == number)) == incident
        assert _issue(None).incident_id is None


@pytest.mark.parametrize("closed", [False, True], ids=["unknown", "closed"])
def test_an_issue_naming_an_unknown_or_closed_incident_is_refused_and_changes_nothing(app, keeper, closed):
    receive(keeper, quantity=10)
    incident = _incident(app, closed=True) if closed else 999_999
    with app.app_context():
        before = _counts()
        with pytest.raises(ValidationError) as refused:
            _issue(incident)
        assert set(refused.value.details) == {"incident"}
        assert ("已结束" if closed else "不存在") in refused.value.details["incident"]
        assert _counts() == before


def test_the_api_answers_422_on_the_incident_field(app, keeper):
    receive(keeper, quantity=10)
    response = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "household", "name": "张家"},
                                       "incident": 424242, "lines": [{"material": "WATER", "quantity": 1}]})
    assert response.status_code == 422, response.json
    assert "incident" in str(response.json)
    too_large = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH", "incident": 2**40,
                                           "lines": [{"material": "WATER", "quantity": 1}]})
    assert too_large.status_code == 422, too_large.json


def test_a_transfer_keeps_its_incident_through_dispatch_and_receipt(app, keeper, manager):
    receive(keeper, quantity=10)
    incident = _incident(app)
    with app.app_context():
        transfer = transfers.create_transfer(actor=find_user("xb"), data={
            "from_site": "GT-XB", "to_site": "GT-NH", "incident": incident,
            "lines": [{"material": "WATER", "quantity": 4}]})
        number = transfer.number
        transfers.dispatch_transfer(actor=find_user("xb"), number=number)
        transfers.receive_transfer(actor=COMMAND_LINE, number=number)
        stored = db.session.scalar(sa.select(Transfer).where(Transfer.number == number))
        assert (stored.status, stored.incident_id) == ("received", incident)
    assert check_ledger(app)[0] == 0


@pytest.mark.parametrize("closed", [False, True], ids=["unknown", "closed"])
def test_a_transfer_naming_an_unknown_or_closed_incident_is_refused(app, keeper, closed):
    receive(keeper, quantity=10)
    incident = _incident(app, closed=True) if closed else 999_999
    with app.app_context():
        before = _counts()
        with pytest.raises(ValidationError) as refused:
            transfers.create_transfer(actor=find_user("xb"), data={
                "from_site": "GT-XB", "to_site": "GT-NH", "incident": incident,
                "lines": [{"material": "WATER", "quantity": 4}]})
        assert set(refused.value.details) == {"incident"}
        assert _counts() == before


@pytest.mark.parametrize("raw", ["²", "١", "99", "99999999999"])
def test_a_list_page_filtered_by_an_incident_that_is_not_one_answers_404(client, login, make_user, raw):
    # "²" and "١" are digits to str.isdigit() but not to int(): they once made these pages 500.
    make_user("keeper", sites=["GT-XB"], username="xb-pages")
    login("xb-pages")
    for page in ("/stock/issues", "/stock/transfers", "/stock/issue/queue?site=GT-XB"):
        joiner = "&" if "?" in page else "?"
        assert client.get(f"{page}{joiner}incident={raw}").status_code == 404, page
