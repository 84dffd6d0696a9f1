"""Sessions and logins as production runs them — gunicorn, 4 workers, CSRF on (S5, S8) — plus the
session cookie under HTTPS, redirects after login (S15) and idempotency keys between users (S14).
Cookie rotation, logout and password change in one process: tests/auth/test_login.py."""

import pytest
import requests

from inventory import create_app
from inventory.db import db
from tests import factories
from tests.factories import PASSWORD, csrf_token, form_key, page_client, receive


def _get(session, url, **kwargs):
    return session.get(url, allow_redirects=False, timeout=30, **kwargs)


def _post_form(session, url, data, *, form_page):
    """Post ``data`` with the CSRF token of ``form_page``, as the browser would."""
    token = csrf_token(_get(session, form_page).text)
    return session.post(url, data={**data, "csrf_token": token}, allow_redirects=False, timeout=30)


def _browser():
    browser = requests.Session()
    # A new connection per request, so consecutive requests land on different workers.
    browser.headers["Connection"] = "close"
    return browser


def _log_in(base, username, password=PASSWORD):
    browser = _browser()
    response = _post_form(browser, f"{base}/login", {"username": username, "password": password},
                          form_page=f"{base}/login")
    return browser, response


def _stays_in(base, browser, times=8) -> set[int]:
    return {_get(browser, f"{base}/").status_code for _ in range(times)}


def test_sessions_and_login_throttling_hold_across_gunicorn_workers(app, server, make_user):
    make_user("viewer", username="lily")
    make_user("viewer", username="wang")
    base = server

    # S5: the cookie's flags, and a new cookie at login (no session fixation).
    browser = _browser()
    first = _get(browser, f"{base}/login")
    flags = [part.strip().lower() for part in first.headers["Set-Cookie"].split(";")]
    assert flags[0].startswith("session=") and "httponly" in flags and "samesite=lax" in flags
    assert "path=/" in flags and not any(flag.startswith("domain=") for flag in flags)
    assert "secure" not in flags, "plain http here; Secure and __Host- under https (below)"
    anonymous = browser.cookies["session"]
    response = _post_form(browser, f"{base}/login", {"username": "lily", "password": PASSWORD},
                          form_page=f"{base}/login")
    assert response.status_code == 302
    assert browser.cookies["session"] != anonymous
    assert "remember_token" not in browser.cookies, "no long-lived cookie that outlives logout"
    assert _stays_in(base, browser) == {200}, "every worker knows the session"

    # S5: after logout, a copy of the cookie is worthless on every worker.
    copied = browser.cookies["session"]
    assert _post_form(browser, f"{base}/logout", {}, form_page=f"{base}/password").status_code == 302
    thief = _browser()
    thief.cookies.set("session", copied)
    assert _stays_in(base, thief) == {302}

    # S5: a password change logs out the other devices, on every worker.
    laptop, _ = _log_in(base, "wang")
    phone, _ = _log_in(base, "wang")
    assert _stays_in(base, phone, 2) == {200}
    changed = _post_form(laptop, f"{base}/password", {
        "current_password": PASSWORD, "new_password": "a much newer secret",
        "confirm_password": "a much newer secret"}, form_page=f"{base}/password")
    assert changed.status_code == 302
    assert _stays_in(base, phone) == {302}
    assert _stays_in(base, laptop, 4) == {200}

    # S8: failed logins for one account, spread over connections and so over workers, lock it.
    limit = 10  # LOGIN_FAILURES_PER_ACCOUNT by default
    for _attempt in range(limit):
        _browser_, response = _log_in(base, "lily", "a wrong guess")
        assert response.status_code == 401
    locked_out, response = _log_in(base, "lily")
    assert response.status_code == 429, "even the right password waits out the lock"
    assert "登录失败次数过多" in response.text
    assert _stays_in(base, locked_out, 1) == {302}
    _other, response = _log_in(base, "wang", "a much newer secret")
    assert response.status_code == 302, "other accounts log in as usual"


def test_under_https_the_session_cookie_is_secure_and_host_only(app, make_user, monkeypatch):
    make_user("viewer", username="lily")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://yj.example.gov.cn")
    secure = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = secure.test_client()
    response = client.post("/login", data={"username": "lily", "password": PASSWORD},
                           base_url="https://yj.example.gov.cn")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all(cookie.startswith("__Host-session=") for cookie in cookies)
    for cookie in cookies:
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(flags)
        assert not any(flag.startswith("domain=") for flag in flags), "__Host- forbids Domain"
    with secure.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\n/evil.example", "//\tevil.example", "///evil.example",
    " //evil.example", "https:evil.example", "\\\\evil.example", "/\r\nSet-Cookie: stolen=1",
    "/%0d%0aSet-Cookie:%20stolen=1\r\n"])
def test_login_redirects_only_to_plain_paths_here(client, make_user, target):
    """S15, beyond tests/auth/test_login.py: what browsers read as another host, and header
    injection, lead to the dashboard — logging in and for one already logged in."""
    make_user("viewer", username="lily")
    response = client.post("/login", query_string={"next": target},
                           data={"username": "lily", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302 and again.headers["Location"] == "/"
    assert client.get("/login", query_string={"next": "/stock/?site=GT-XB"}).headers["Location"] == \
        "/stock/?site=GT-XB", "a path of this site is kept"


def test_a_form_key_replayed_by_another_user_never_returns_the_first_users_document(
        app, keeper, make_user, login, client):
    """S14 for the pages: keys are per user, so B's copy of A's key makes B's own issue."""
    receive(keeper, quantity=10)
    login("xb")
    page = client.get("/stock/issue").get_data(as_text=True)
    key = form_key(page)
    form = {"idempotency_key": key, "site": "GT-XB", "recipient_type": "person",
            "recipient_name": "王", "lines-0-material": "WATER", "lines-0-quantity": "1"}
    mine = client.post("/stock/issue", data=form)
    assert mine.status_code == 302
    colleague = page_client(app, make_user("keeper", sites=["GT-XB"]))
    theirs = colleague.post("/stock/issue", data=form)
    assert theirs.status_code == 302 and theirs.headers["Location"] != mine.headers["Location"]
    assert client.post("/stock/issue", data=form).headers["Location"] == mine.headers["Location"]
    assert keeper.get("/issues").json["total"] == 2


@pytest.mark.parametrize(("key", "status"), [
    ("k" * 300, 400), ("abc'\";--{}[]", 201), ("' OR 1=1 --", 400), ("{\"a\":1}", 201),
    ("a\x00b", 400)])
def test_odd_idempotency_keys_are_refused_or_kept_opaque(keeper, key, status):
    """S14: a key is 1–100 visible ASCII characters (API.md); metacharacters are just text."""
    body = {"site": "GT-XB", "material": "WATER", "quantity": 1}
    first = keeper.post("/receipts", body, key=key)
    assert first.status_code == status
    if status == 201:
        again = keeper.post("/receipts", body, key=key)
        assert again.status_code == 201 and again.json == first.json
    assert keeper.get("/movements").json["total"] == (1 if status == 201 else 0)


def test_a_phone_that_changes_network_stays_logged_in(app, client, login, make_user):
    """S6: protection is "basic" (sessions are revoked server-side instead), so moving from
    Wi-Fi to the mobile network mid-shift does not log the keeper out."""
    login(make_user("viewer"))
    moved = client.get("/stock/", environ_base={"REMOTE_ADDR": "10.20.30.40"},
                       headers={"X-Forwarded-For": "203.0.113.9"})
    assert moved.status_code == 200


def test_a_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app, make_user):
    """S6: with TRUSTED_PROXIES=0 the client's own X-Forwarded-For is not its address, so it
    cannot dodge the per-address login throttle by inventing a new one each time."""
    assert app.config["TRUSTED_PROXIES"] == 0
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = 5
    client = app.test_client()
    for number in range(5):
        make_user("viewer", username=f"spray{number}")
        client.post("/login", data={"username": f"spray{number}", "password": "spray-password"},
                    headers={"X-Forwarded-For": f"198.51.100.{number}"})
    make_user("viewer", username="fresh")
    response = client.post("/login", data={"username": "fresh", "password": PASSWORD},
                           headers={"X-Forwarded-For": "198.51.100.99"})
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(instance_dir, sqlite_url, make_user,
                                                              monkeypatch):
    """S6: with TRUSTED_PROXIES=1 (one nginx in front) the proxy's X-Forwarded-For is the
    address, so one client's failures do not lock out everyone behind the same proxy."""
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    proxied = create_app({"INSTANCE_PATH": str(instance_dir), "SQLALCHEMY_DATABASE_URI": sqlite_url,
                          "WTF_CSRF_ENABLED": False, "LOGIN_FAILURES_PER_ADDRESS": 3})
    for name in ("a", "b", "c", "fresh"):
        factories.make_user(proxied, "viewer", username=f"proxied-{name}")
    client = proxied.test_client()
    for name in ("a", "b", "c"):
        client.post("/login", data={"username": f"proxied-{name}", "password": "wrong password"},
                    headers={"X-Forwarded-For": "198.51.100.1"})
    blocked = client.post("/login", data={"username": "proxied-fresh", "password": PASSWORD},
                          headers={"X-Forwarded-For": "198.51.100.1"})
    other = client.post("/login", data={"username": "proxied-fresh", "password": PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.2"})
    with proxied.app_context():
        db.engine.dispose()
    assert blocked.status_code == 429 and other.status_code == 302
