"""Hostile JSON answers 400 and changes nothing, before or after logging in (issue 14, finding 5):
nesting past the parser's recursion limit, and lone surrogates that no text column, password hash
or fingerprint can hold. Names that would spoof a list (bidi overrides, invisible text) answer 422,
and a body that is not JSON by its Content-Type 415 (finding 10), changing nothing."""

import json
import sys

import pytest
import sqlalchemy as sa

from inventory.api.core import MAX_NESTING
from inventory.auth.models import LoginFailure
from inventory.catalog.models import Material
from inventory.db import db
from inventory.stock.models import Movement, Transfer

DEEP = b"[" * 100_000
SURROGATE_LOGIN = b'{"username": "\\ud800", "password": "x"}'
SURROGATE_PASSWORD = b'{"username": "lily", "password": "\\udfff\\ud800"}'
SURROGATE_NOTE = (b'{"site": "GT-XB", "material": "WATER", "quantity": 1, '
                  b'"note": "\\ud83d without its pair"}')
# The same written out raw rather than escaped: bytes no UTF-8 decoder takes (found by fuzzing:
# json.loads reads them with surrogatepass, and the fingerprint then failed to encode, a 500).
RAW_SURROGATE_LOGIN = b'{"username": "\xed\xa0\x80", "password": "x"}'
RAW_SURROGATE_NOTE = (b'{"site": "GT-XB", "material": "WATER", "quantity": 1, '
                      b'"note": "\xed\xa0\xbd without its pair"}')


def _changes(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)),
                db.session.scalar(sa.select(sa.func.count()).select_from(Movement)))


@pytest.mark.parametrize("body", [DEEP, SURROGATE_LOGIN, SURROGATE_PASSWORD, RAW_SURROGATE_LOGIN],
                         ids=["deep", "surrogate-username", "surrogate-password",
                              "raw-surrogate-username"])
def test_a_hostile_login_body_is_a_bad_request(app, client, make_user, body):
    make_user("viewer", username="lily")
    before = _changes(app)
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "bad_request"
    assert _changes(app) == before


@pytest.mark.parametrize("body", [DEEP, SURROGATE_NOTE, RAW_SURROGATE_NOTE],
                         ids=["deep", "surrogate-note", "raw-surrogate-note"])
def test_a_hostile_write_is_a_bad_request_and_moves_nothing(app, keeper, body):
    before = _changes(app)
    for key in (None, "hostile-1"):
        headers = {**keeper.headers, **({"Idempotency-Key": key} if key else {})}
        response = keeper.client.post("/api/v1/receipts", data=body, headers=headers,
                                      content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)
    assert _changes(app) == before


def test_nesting_the_parser_takes_but_a_fingerprint_would_not_is_a_bad_request(app, keeper):
    """Found by fuzzing: nesting just inside the parser's recursion limit was parsed, and the
    idempotency fingerprint's json.dumps, a few frames deeper, raised RecursionError (a 500).
    Every depth from past MAX_NESTING up to the recursion limit is now refused alike."""
    before = _changes(app)
    limit = sys.getrecursionlimit()
    for depth in (MAX_NESTING - 1, MAX_NESTING, *range(limit - 250, limit + 2)):
        for inner in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            body = f'{{"site": "GT-XB", "material": "WATER", "quantity": 1, "note": {inner}}}'
            response = keeper.client.post("/api/v1/receipts", data=body, headers=keeper.headers,
                                          content_type="application/json")
            # The body object itself is one level: a note nested MAX_NESTING deep is one too many.
            expected = (422, "validation_error") if depth < MAX_NESTING else (400, "bad_request")
            assert (response.status_code, response.json["error"]["code"]) == expected, depth
    assert _changes(app) == before


# --- names that spoof what is shown ----------------------------------------------------------

def _materials(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Material))


@pytest.mark.parametrize(("fields", "field", "problem"), [
    ({"name": "帐篷\u202e01-GT"}, "name", "含有不允许的文字方向控制字符"),
    ({"name": "\u2067棉被\u2069"}, "name", "含有不允许的文字方向控制字符"),
    ({"name": "\u200b\ufeff"}, "name", "不能为空"),
    ({"code": "TENT\u200b"}, "code", "含有不允许的不可见字符（如零宽空格）"),
    ({"unit": "\u200d"}, "unit", "不能为空"),
], ids=["rlo", "isolate", "zero-width-only", "zero-width-in-code", "joiner-only-unit"])
def test_a_spoofing_material_is_refused_and_nothing_is_created(app, manager, fields, field,
                                                               problem):
    before = _materials(app)
    body = {"code": "SPOOF-1", "name": "帐篷", "category": "1-05", "unit": "顶", **fields}
    response = manager.client.post("/api/v1/materials", json=body, headers=manager.headers)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["details"] == {field: problem}
    assert _materials(app) == before


# --- a body must be JSON by its Content-Type --------------------------------------------------

RECEIPT = {"site": "GT-XB", "material": "WATER", "quantity": 3, "lot": "CT-1"}


def _transfer(api) -> str:
    response = api.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                       "lines": [{"material": "WATER", "quantity": 1}]})
    assert response.status_code == 201, response.json
    return response.json["number"]


def _status(app, number) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Transfer.status).where(Transfer.number == number))


def _refused_as_not_json(response) -> None:
    assert response.status_code == 415, response.get_data(as_text=True)
    assert response.is_json
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert response.json["error"]["message"]


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
    "application/octet-stream", "text/json", "application/jsonx", None])
def test_a_receipt_that_is_not_json_by_its_content_type_is_refused(app, keeper, content_type):
    before = _changes(app)
    headers = {**keeper.headers, **({"Content-Type": content_type} if content_type else {})}
    for key in (None, "not-json-1"):
        response = keeper.client.post("/api/v1/receipts", data=json.dumps(RECEIPT),
                                      headers={**headers, **({"Idempotency-Key": key} if key else {})})
        _refused_as_not_json(response)
    assert _changes(app) == before
    # The refused request used up nothing: the same key, sent as JSON, is applied once.
    assert keeper.post("/receipts", RECEIPT, key="not-json-1").status_code == 201


def test_a_form_posted_to_the_api_is_refused(app, keeper):
    before = _changes(app)
    response = keeper.client.post("/api/v1/receipts", headers=keeper.headers,
                                  data={"site": "GT-XB", "material": "WATER", "quantity": "3"})
    _refused_as_not_json(response)
    assert _changes(app) == before


def test_a_form_posted_where_the_body_is_optional_is_refused_and_moves_nothing(app, manager):
    receive_water = manager.post("/receipts", RECEIPT)
    assert receive_water.status_code == 201
    number = _transfer(manager)
    before = _changes(app)
    for action in ("dispatch", "cancel"):
        response = manager.client.post(f"/api/v1/transfers/{number}/{action}",
                                       headers=manager.headers, data={"note": "x"})
        _refused_as_not_json(response)
    response = manager.client.post(f"/api/v1/transfers/{number}/receive", headers=manager.headers,
                                   data="{}", content_type="text/plain")
    _refused_as_not_json(response)
    assert _changes(app) == before and _status(app, number) == "requested"


def test_no_body_needs_no_content_type(app, manager):
    assert manager.post("/receipts", RECEIPT).status_code == 201
    number = _transfer(manager)
    response = manager.client.post(f"/api/v1/transfers/{number}/dispatch", headers=manager.headers)
    assert response.status_code == 200, response.json
    response = manager.client.post(f"/api/v1/transfers/{number}/receive", headers=manager.headers)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "received"


@pytest.mark.parametrize("content_type", [
    "application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON",
    "application/merge-patch+json"])
def test_json_with_a_charset_or_a_json_suffix_is_json(app, keeper, content_type):
    response = keeper.client.post("/api/v1/receipts", data=json.dumps(RECEIPT).encode(),
                                  headers={**keeper.headers, "Content-Type": content_type})
    assert response.status_code == 201, response.json


def test_a_stranger_gets_401_before_415(client, county):
    response = client.post("/api/v1/receipts", data="x", content_type="text/plain")
    assert response.status_code == 401
    token = client.post("/api/v1/auth/token", data="username=a&password=b",
                        content_type="application/x-www-form-urlencoded")
    _refused_as_not_json(token)
