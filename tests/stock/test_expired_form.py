"""S4: field work survives an expired form token. A keeper whose issue form stayed open past
WTF_CSRF_TIME_LIMIT (a long shift on a slow link) gets it back with every typed line and a fresh
token, not a bare 400 page; sent again, it applies once."""

import html
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from inventory.db import db
from inventory.stock.models import Issue, Movement
from tests.factories import csrf_token, form_key, page_client, receive


def _stale_token(app, client) -> str:
    """This session's CSRF token as it was signed past the time limit."""
    with client.session_transaction() as session:
        secret = session["csrf_token"]
    age = app.config["WTF_CSRF_TIME_LIMIT"] + 60

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=Then).dumps(secret)


def _counts(app):
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Issue)),
                db.session.scalar(sa.select(sa.func.count()).select_from(Movement)))


@pytest.mark.csrf
def test_an_expired_issue_form_comes_back_as_typed_and_then_applies_once(app, keeper):
    water = receive(keeper, quantity=10, lot="W1")["items"][0]["label"]
    receive(keeper, material="TENT", quantity=5, lot="T1")
    pages = page_client(app, "xb")
    form = pages.get("/stock/issue").get_data(as_text=True)
    typed = {"idempotency_key": form_key(form), "site": "GT-XB", "recipient_type": "household",
             "recipient_name": "马家庄 张秀英", "purpose": "安置点过夜",
             "lines-0-label": water, "lines-0-quantity": "4",
             "lines-1-material": "TENT", "lines-1-quantity": "2", "lines-1-due_back": "2099-01-31"}
    before = _counts(app)

    stale = pages.post("/stock/issue", data={**typed, "csrf_token": _stale_token(app, pages)})
    page = html.unescape(stale.get_data(as_text=True))
    assert stale.status_code == 400 and "表单已过期" in page and "都已保留" in page
    for name, value in typed.items():
        assert f'name="{name}"' in page and value in page, f"{name} was not kept"
    assert _counts(app) == before, "nothing applied"

    fresh = csrf_token(page)
    assert fresh != typed.get("csrf_token")
    sent = pages.post("/stock/issue", data={**typed, "csrf_token": fresh})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    again = pages.post("/stock/issue", data={**typed, "csrf_token": fresh})
    assert again.status_code == 302 and again.headers["Location"] == sent.headers["Location"]
    issues, movements = _counts(app)
    assert (issues, movements) == (before[0] + 1, before[1] + 2), "applied once, both lines"


@pytest.mark.csrf
def test_an_expired_button_is_still_refused(app, keeper):
    """A button (press()) has nothing typed to keep: the bare refusal, nothing done."""
    pages = page_client(app, "xb")
    pages.get("/password")
    refused = pages.post("/logout", data={"csrf_token": _stale_token(app, pages)})
    assert refused.status_code == 400
    assert pages.get("/").status_code == 200, "still logged in"
