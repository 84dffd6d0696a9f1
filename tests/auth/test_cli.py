"""`flask users create` and `flask users token`, as API.md states them."""

import sqlalchemy as sa

from inventory.auth.models import ApiToken, User
from inventory.db import db


def test_creating_a_keeper_with_sites_and_issuing_a_token(app, client, county):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "zhang", "--role", "keeper",
                                 "--site", "GT-XB", "--site", "GT-NH", "--password", "a long password"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "token", "zhang"])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert "\n" not in token and len(token) >= 40, "only the token is printed"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json == {"username": "zhang", "role": "keeper", "sites": ["GT-NH", "GT-XB"]}
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken.digest))
    assert stored != token and len(stored) == 64, "only a digest of the token is kept"


def test_a_generated_password_is_printed_once(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "li", "--role", "viewer"])
    assert result.exit_code == 0
    assert "密码（只显示这一次）" in result.output


def test_bad_user_commands_fail_and_create_nothing(app, county):
    runner = app.test_cli_runner()
    cases = [
        ["users", "create", "k1", "--role", "keeper", "--password", "a long password"],
        ["users", "create", "k2", "--role", "keeper", "--site", "NOPE", "--password", "a long password"],
        ["users", "create", "k3", "--role", "boss", "--password", "a long password"],
        ["users", "create", "k4", "--role", "viewer", "--password", "short"],
        ["users", "create", "bad name!", "--role", "viewer", "--password", "a long password"],
    ]
    for args in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert "错误" in result.output
    assert runner.invoke(args=["users", "token", "nobody"]).exit_code == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_setting_a_password_from_the_command_line(app, client, make_user):
    make_user("viewer", username="lily")
    result = app.test_cli_runner().invoke(args=["users", "password", "lily", "--password",
                                                "brand new password"])
    assert result.exit_code == 0
    assert client.post("/login", data={"username": "lily",
                                       "password": "brand new password"}).status_code == 302


def test_a_password_set_from_the_command_line_ends_the_users_api_tokens(app, client, make_user,
                                                                         token_for):
    make_user("viewer", username="lily")
    stolen = token_for("lily")
    assert client.get("/api/v1/me", headers=stolen).status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "password", "lily", "--password",
                                                "brand new password"])
    assert result.exit_code == 0
    assert client.get("/api/v1/me", headers=stolen).status_code == 401
