"""S3: every state-changing form refuses a request without its CSRF token, with a made-up one, with
another session's and with an expired one, and changes nothing; the API takes no cookies at all,
so a forged cross-site request cannot reach it. The forms come from the URL map (routes.py)."""

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.factories import PASSWORD, csrf_token, page_client
from tests.security.conftest import changed_tables, table_rows
from tests.security.routes import calls, send

CSRF_REFUSAL = "表单已过期"  # a typed form shown again says so too (S4)


def _signed(app, raw: str, *, age: int = 0) -> str:
    """A CSRF token for the session secret ``raw``, signed ``age`` seconds ago."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=Then).dumps(raw)


def _session_secret(client) -> str:
    client.get("/password")  # any page with a form puts a CSRF secret in the session
    with client.session_transaction() as session:
        return session["csrf_token"]


def _forms(app, world):
    """Every POST route that is not under /api/, with a request for it (login/logout apart)."""
    table = calls(world)
    rules = {rule.endpoint for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.rule.startswith("/api/")}
    assert rules - set(table) == {"auth.login", "auth.logout"}, "a new form needs a request in routes.py"
    return [(endpoint, call) for endpoint in sorted(rules - {"auth.login", "auth.logout"})
            for call in table[endpoint] if call.method == "POST"]


@pytest.mark.csrf
def test_every_form_refuses_missing_wrong_foreign_and_expired_tokens(app, world):
    """Every POST form of the URL map, then login and logout."""
    admin = page_client(app, world.admin)
    secret = _session_secret(admin)
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    stranger = csrf_token(app.test_client().get("/login").get_data(as_text=True))
    tokens = {"no": None, "a made-up": "x" * 40, "another session's": stranger,
              "an expired": _signed(app, secret, age=limit + 60)}
    failures = []
    forms = _forms(app, world)
    for endpoint, call in forms:
        before = table_rows(app)
        for kind, token in tokens.items():
            body = dict(call.body) | ({"csrf_token": token} if token else {})
            response = admin.post(call.path, data=body)
            if response.status_code != 400 or CSRF_REFUSAL not in response.get_data(as_text=True):
                failures.append(f"{endpoint} {call.path} with {kind} token → {response.status_code}")
        if changed := changed_tables(before, table_rows(app)):
            failures.append(f"{endpoint} {call.path}: changed {changed}")
    assert not failures, "\n".join(failures)
    assert len(forms) >= 25
    # The same session's token, signed just now, is taken: only the token made the difference.
    fresh = admin.post("/password", data={"csrf_token": _signed(app, secret, age=limit - 60),
                                          "current_password": "not it", "new_password": "x" * 12,
                                          "confirm_password": "x" * 12})
    assert fresh.status_code == 422 and "当前密码不正确" in fresh.get_data(as_text=True)
    _login_and_logout_need_their_token_too(app, world)


def _login_and_logout_need_their_token_too(app, world) -> None:
    anonymous = app.test_client()
    before = table_rows(app)
    response = anonymous.post("/login", data={"username": world.admin, "password": PASSWORD,
                                              "csrf_token": "x" * 40})
    assert response.status_code == 400, "no login through a forged form (login CSRF)"
    assert anonymous.get("/").status_code == 302
    assert table_rows(app) == before
    admin = page_client(app, world.admin)
    sessions = table_rows(app)["user_sessions"]
    assert admin.post("/logout").status_code == 400
    assert admin.post("/logout", data={"csrf_token": "x" * 40}).status_code == 400
    assert table_rows(app)["user_sessions"] == sessions, "a forged logout ends nobody's session"
    assert admin.get("/").status_code == 200


@pytest.mark.csrf
def test_the_api_takes_no_cookies_so_a_forged_request_cannot_use_one(app, world):
    """A logged-in browser's cookie does not authenticate any API write: 401, nothing changed."""
    browser = page_client(app, world.admin)
    writes = [(endpoint, call) for endpoint, requests in calls(world).items()
              for call in requests if call.api and call.method != "GET"]
    before = table_rows(app)
    answers = {f"{call.method} {call.path}": send(browser, call).status_code for _e, call in writes}
    assert set(answers.values()) == {401}, answers
    assert changed_tables(before, table_rows(app)) == []
    assert len(writes) >= 20
