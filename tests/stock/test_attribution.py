"""S16: every movement records who made it, how they came in (their login session or API token)
and the idempotency key the request came with; a test reads them back."""

import hashlib

import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.auth.models import ApiToken, User, UserSession
from inventory.db import db
from inventory.stock import services
from inventory.stock.models import Movement
from tests.factories import Api, form_key, page_client, receive, token_for


def _movements(app, document):
    with app.app_context():
        return db.session.execute(
            sa.select(Movement.user_id, Movement.credential, Movement.idempotency_key)
            .where(Movement.document == document)).all()


def _user(app, username):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        tokens = db.session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == user.id)).all()
        sessions = db.session.scalars(sa.select(UserSession.id)
                                      .where(UserSession.user_id == user.id)).all()
        return user.id, tokens, sessions


def test_an_api_movement_names_its_token_and_key(app, client, make_user, county, catalog):
    keeper = make_user("keeper", sites=["GT-XB"])
    first, second = token_for(app, keeper), token_for(app, keeper)
    receipt = Api(client, second).post("/receipts", {"site": "GT-XB", "material": "WATER",
                                                     "quantity": 3}, key="phone-7:42")
    assert receipt.status_code == 201
    issued = Api(client, first).post("/issues", {
        "site": "GT-XB", "recipient": {"type": "person", "name": "王"},
        "lines": [{"material": "WATER", "quantity": 2}]})
    user_id, (first_token, second_token), _sessions = _user(app, keeper)
    assert _movements(app, receipt.json["number"]) == [(user_id, f"token:{second_token}", "phone-7:42")]
    assert _movements(app, issued.json["number"]) == [(user_id, f"token:{first_token}", None)]


def test_a_page_movement_names_its_session_by_reference_and_its_form_key(app, make_user, county,
                                                                         catalog):
    keeper = make_user("keeper", sites=["GT-XB"])
    pages = page_client(app, keeper)
    form = pages.get("/stock/receive").get_data(as_text=True)
    key = form_key(form)
    response = pages.post("/stock/receive", data={"idempotency_key": key, "site": "GT-XB",
                                                  "material": "WATER", "quantity": "4"})
    assert response.status_code == 302
    with app.app_context():
        number = db.session.scalar(sa.select(Movement.document).order_by(Movement.id.desc()))
    user_id, _tokens, [session_id] = _user(app, keeper)
    reference = "session:" + hashlib.sha256(session_id.encode()).hexdigest()[:16]
    assert _movements(app, number) == [(user_id, reference, key)]
    assert session_id not in reference, "the cookie's secret is not in the ledger"


def test_every_movement_of_a_document_is_attributed_alike(app, keeper, manager, token_for):
    """A transfer moves several items in one request: each movement says where it came from."""
    receive(keeper, quantity=5, lot="A")
    receive(keeper, quantity=5, lot="B")
    created = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                         "lines": [{"material": "WATER", "quantity": 8}]})
    sent = keeper.post(f"/transfers/{created.json['number']}/dispatch", key="dispatch-1")
    assert sent.status_code == 200
    rows = _movements(app, created.json["number"])
    assert len(rows) == 2 and len(set(rows)) == 1
    assert rows[0][1].startswith("token:") and rows[0][2] == "dispatch-1"


def test_command_line_work_is_attributed_to_the_command_line(app, county, catalog):
    with app.app_context():
        number = services.receive(actor=COMMAND_LINE, data={
            "site": "GT-XB", "material": "WATER", "quantity": 1}).number
    assert _movements(app, number) == [(None, "cli", None)]
