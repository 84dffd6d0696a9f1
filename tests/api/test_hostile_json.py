"""Hostile JSON answers 400 and changes nothing, before or after logging in (issue 14, finding 5):
nesting past the parser's recursion limit, and lone surrogates that no text column, password hash
or fingerprint can hold."""

import pytest
import sqlalchemy as sa

from inventory.auth.models import LoginFailure
from inventory.db import db
from inventory.stock.models import Movement

DEEP = b"[" * 100_000
SURROGATE_LOGIN = b'{"username": "\\ud800", "password": "x"}'
SURROGATE_PASSWORD = b'{"username": "lily", "password": "\\udfff\\ud800"}'
SURROGATE_NOTE = (b'{"site": "GT-XB", "material": "WATER", "quantity": 1, '
                  b'"note": "\\ud83d without its pair"}')


def _changes(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)),
                db.session.scalar(sa.select(sa.func.count()).select_from(Movement)))


@pytest.mark.parametrize("body", [DEEP, SURROGATE_LOGIN, SURROGATE_PASSWORD],
                         ids=["deep", "surrogate-username", "surrogate-password"])
def test_a_hostile_login_body_is_a_bad_request(app, client, make_user, body):
    make_user("viewer", username="lily")
    before = _changes(app)
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "bad_request"
    assert _changes(app) == before


@pytest.mark.parametrize("body", [DEEP, SURROGATE_NOTE], ids=["deep", "surrogate-note"])
def test_a_hostile_write_is_a_bad_request_and_moves_nothing(app, keeper, body):
    before = _changes(app)
    for key in (None, "hostile-1"):
        headers = {**keeper.headers, **({"Idempotency-Key": key} if key else {})}
        response = keeper.client.post("/api/v1/receipts", data=body, headers=headers,
                                      content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)
    assert _changes(app) == before
