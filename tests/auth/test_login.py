"""Logging in and out, sessions, passwords, throttling and redirects."""

import email.utils
import logging
import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from inventory import clock, create_app
from inventory.auth.models import LoginFailure, User
from inventory.auth.services import password_hasher
from inventory.db import db
from tests.factories import PASSWORD, csrf_token, page_client


def test_the_login_page_speaks_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_pages_send_anonymous_users_to_login_and_back(client, make_user):
    make_user("admin", username="ops")
    response = client.get("/sites/?kind=town_store")
    assert response.status_code == 302
    assert "/login?next=%2Fsites%2F%3Fkind%3Dtown_store" in response.headers["Location"]
    response = client.post("/login?next=%2Fsites%2F%3Fkind%3Dtown_store",
                           data={"username": "ops", "password": PASSWORD})
    assert response.headers["Location"] == "/sites/?kind=town_store"


def test_a_wrong_password_is_refused_and_counted(app, client, make_user):
    make_user("viewer", username="lily")
    response = client.post("/login", data={"username": "lily", "password": "wrong password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "http:/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, make_user, target):
    make_user("viewer", username="lily")
    response = client.post("/login", query_string={"next": target},
                           data={"username": "lily", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_the_session_cookie_is_replaced_at_login(client, make_user):
    make_user("viewer", username="lily")
    client.get("/login?lang=zh")
    before = client.get_cookie("session").value
    client.post("/login", data={"username": "lily", "password": PASSWORD})
    after = client.get_cookie("session").value
    assert before != after


def test_a_login_lasts_fourteen_days(client, make_user):
    make_user("viewer", username="lily")
    response = client.post("/login", data={"username": "lily", "password": PASSWORD})
    cookie = next(header for header in response.headers.getlist("Set-Cookie")
                  if header.startswith("session="))
    expires = email.utils.parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie)[1])
    assert 13.9 < (expires - clock.now()).total_seconds() / 86400 < 14.1


def test_after_logout_a_copied_cookie_is_worthless(app, client, login, make_user):
    make_user("viewer", username="lily")
    login("lily")
    stolen = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302


def test_changing_the_password_logs_out_other_devices(app, client, login, make_user):
    make_user("viewer", username="wang")
    login("wang")
    phone = page_client(app, "wang")
    assert phone.get("/").status_code == 200
    response = client.post("/password", data={"current_password": PASSWORD,
                                              "new_password": "a much newer secret",
                                              "confirm_password": "a much newer secret"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200, "the device that changed it stays in"
    assert phone.get("/").status_code == 302, "every other device is out"
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "wang", "password": PASSWORD}).status_code == 401
    assert fresh.post("/login", data={"username": "wang",
                                      "password": "a much newer secret"}).status_code == 302


def test_guessing_the_current_password_is_throttled_like_logging_in(app, client, login, make_user):
    make_user("viewer", username="wang")
    login("wang")
    wrong = {"current_password": "not it", "new_password": "long enough pw",
             "confirm_password": "long enough pw"}
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    for _guess in range(limit):
        assert client.post("/password", data=wrong).status_code == 422
    right = {**wrong, "current_password": PASSWORD}
    refused = client.post("/password", data=right)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == limit
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "wang", "password": PASSWORD}).status_code == 429
    with app.app_context():
        assert password_hasher.verify(db.session.scalar(sa.select(User.password_hash)), PASSWORD)


@pytest.mark.parametrize(("fields", "message"), [
    ({"current_password": "not it", "new_password": "long enough pw", "confirm_password": "long enough pw"},
     "当前密码不正确"),
    ({"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
     "密码至少 10 个字符"),
    ({"current_password": PASSWORD, "new_password": "long enough pw", "confirm_password": "different pw!"},
     "两次输入的新密码不一致"),
])
def test_a_bad_password_change_says_why_and_changes_nothing(app, client, login, make_user, fields,
                                                            message):
    make_user("viewer", username="wang")
    login("wang")
    with app.app_context():
        old_hash = db.session.scalar(sa.select(User.password_hash))
    response = client.post("/password", data=fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User.password_hash)) == old_hash


def test_passwords_are_hashed_with_argon2id_at_owasp_strength(app, make_user):
    make_user("viewer", username="lily")
    with app.app_context():
        stored = db.session.scalar(sa.select(User.password_hash))
    assert stored.startswith("$argon2id$")
    parameters = dict(part.split("=") for part in stored.split("$")[3].split(","))
    assert int(parameters["m"]) >= 19 * 1024 and int(parameters["t"]) >= 2
    assert parameters["p"] == "1"


def test_an_old_hash_is_upgraded_at_login(app, client, make_user):
    make_user("viewer", username="lily")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.execute(sa.update(User).values(password_hash=weak))
        db.session.commit()
    client.post("/login", data={"username": "lily", "password": PASSWORD})
    with app.app_context():
        upgraded = db.session.scalar(sa.select(User.password_hash))
    assert upgraded != weak
    assert not password_hasher.check_needs_rehash(upgraded)


def test_a_token_login_is_a_login_its_failures_forgotten_and_an_old_hash_upgraded(app, client,
                                                                                 make_user):
    make_user("viewer", username="lily")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.execute(sa.update(User).values(password_hash=weak))
        db.session.commit()
    assert client.post("/api/v1/auth/token",
                       json={"username": "lily", "password": "wrong password"}).status_code == 401
    assert client.post("/api/v1/auth/token",
                       json={"username": "lily", "password": PASSWORD}).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0
        assert not password_hasher.check_needs_rehash(db.session.scalar(sa.select(User.password_hash)))


def test_failed_logins_are_throttled_per_account_across_workers(app, make_user):
    make_user("viewer", username="lily")
    make_user("viewer", username="other")
    # Two app instances on one database stand for two gunicorn workers.
    second_worker = create_app({**app.config})
    worker_a, worker_b = app.test_client(), second_worker.test_client()
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    for attempt in range(limit):
        worker = worker_a if attempt % 2 else worker_b
        assert worker.post("/login", data={"username": "lily", "password": "guess"}).status_code == 401
    blocked = worker_a.post("/login", data={"username": "lily", "password": PASSWORD})
    assert blocked.status_code == 429, "even the right password waits out the lock"
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    assert worker_b.post("/login", data={"username": "other", "password": PASSWORD}).status_code == 302
    with second_worker.app_context():
        db.engine.dispose()


def test_failed_logins_are_throttled_per_address(app, make_user):
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = 5
    client = app.test_client()
    for number in range(5):
        make_user("viewer", username=f"user{number}")
        client.post("/login", data={"username": f"user{number}", "password": "spray-password"})
    make_user("viewer", username="fresh")
    response = client.post("/login", data={"username": "fresh", "password": PASSWORD})
    assert response.status_code == 429
    other_address = app.test_client()
    response = other_address.post("/login", data={"username": "fresh", "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client, make_user):
    make_user("viewer", username="lily")
    unknown = client.post("/login", data={"username": "nobody", "password": "x"})
    wrong = client.post("/login", data={"username": "lily", "password": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


@pytest.mark.csrf
def test_login_and_every_form_need_a_csrf_token(app, client, make_user, make_site):
    make_user("admin", username="ops")
    make_site("GT")
    assert client.post("/login", data={"username": "ops", "password": PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post("/login", data={"username": "ops", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    response = client.post("/sites/new", data={"code": "GT-X", "name": "x", "kind": "town_store",
                                               "parent": "GT"})
    assert response.status_code == 400
    assert client.get("/sites/GT-X").status_code == 404
    assert client.post("/sites/GT/delete").status_code == 400
    assert client.get("/sites/GT").status_code == 200


def test_denials_are_logged_with_user_permission_and_place(client, login, make_user, make_site,
                                                           caplog):
    make_site("GT")
    make_user("viewer", username="lily")
    login("lily")
    with caplog.at_level(logging.WARNING, logger="inventory.access"):
        assert client.get("/sites/GT/edit").status_code == 403
    assert "user=lily" in caplog.text and "permission=sites.edit" in caplog.text
    assert "site=GT" in caplog.text and "/sites/GT/edit" in caplog.text
