"""Administrators manage accounts in pages: create, change role and sites, deactivate, reset."""

import sqlalchemy as sa

from inventory.audit.models import AuditEntry
from inventory.auth.models import User
from inventory.db import db
from tests.factories import PASSWORD, page_client


def test_an_admin_creates_a_keeper_who_then_sees_their_town(app, client, login, make_user, county):
    login(make_user("admin", username="it"))
    assert client.get("/users").status_code == 200
    response = client.post("/users/new", data={"username": "zhao", "display_name": "赵保管",
                                               "role": "keeper", "sites": ["GT-XB"],
                                               "password": "initial password"})
    assert response.status_code == 302
    assert "赵保管" in client.get("/users").get_data(as_text=True)
    keeper = page_client(app, "zhao", "initial password")
    page = keeper.get("/sites/").get_data(as_text=True)
    assert "新坝镇储备室" in page and "南华镇储备室" not in page


def test_a_bad_new_user_is_explained_and_not_created(app, client, login, make_user, county):
    login(make_user("admin", username="it"))
    response = client.post("/users/new", data={"username": "zhao", "role": "keeper",
                                               "password": "initial password"})
    assert response.status_code == 422
    assert "至少要指定一个站点" in response.get_data(as_text=True)
    response = client.post("/users/new", data={"username": "it", "role": "viewer",
                                               "password": "initial password"})
    assert "用户名已存在" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_deactivating_a_user_logs_them_out_at_once(app, client, login, make_user, county):
    login(make_user("admin", username="it"))
    make_user("keeper", username="zhao", sites=["GT-XB"])
    phone = page_client(app, "zhao")
    assert phone.get("/").status_code == 200
    response = client.post("/users/zhao/edit", data={"role": "keeper", "sites": ["GT-XB"],
                                                      "display_name": ""})
    assert response.status_code == 302, "active unticked"
    assert phone.get("/").status_code == 302
    assert phone.post("/login", data={"username": "zhao", "password": PASSWORD}).status_code == 401
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "user",
                                                               AuditEntry.action == "update")).one()
    assert entry.changes["active"] == [True, False] and entry.username == "it"


def test_an_admin_resets_a_password(app, client, login, make_user):
    login(make_user("admin", username="it"))
    make_user("viewer", username="lily")
    assert client.post("/users/lily/password", data={"reset-password": "short"}).status_code == 422
    assert client.post("/users/lily/password",
                       data={"reset-password": "a fresh password"}).status_code == 302
    other = app.test_client()
    assert other.post("/login", data={"username": "lily",
                                      "password": "a fresh password"}).status_code == 302


def test_a_password_reset_ends_the_users_api_tokens(app, client, login, make_user, token_for):
    login(make_user("admin", username="it"))
    make_user("viewer", username="lily")
    stolen = token_for("lily")
    api = app.test_client()
    assert api.get("/api/v1/me", headers=stolen).status_code == 200
    assert client.post("/users/lily/password",
                       data={"reset-password": "a fresh password"}).status_code == 302
    assert api.get("/api/v1/me", headers=stolen).status_code == 401


def test_an_admin_cannot_lock_themselves_out(client, login, make_user):
    login(make_user("admin", username="it"))
    response = client.post("/users/it/edit", data={"role": "viewer", "active": "y"})
    assert response.status_code == 422
    assert client.get("/users").status_code == 200


def test_only_admins_manage_users(client, login, make_user):
    login(make_user("manager"))
    for path in ("/users", "/users/new"):
        assert client.get(path).status_code == 403
    assert client.post("/users/new", data={"username": "x", "role": "admin",
                                           "password": "a long password"}).status_code == 403
