"""The factory, configuration, the database profile and the transaction helper."""

import os
import re
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy.exc import DBAPIError

from inventory import create_app
from inventory.config import load_secret_key
from inventory.db import MAX_ATTEMPTS, db, run_in_transaction
from inventory.sites.models import Site
from tests import factories
from tests.conftest import join_all


def test_secret_key_is_generated_on_first_start_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    assert len(first) == 64
    assert load_secret_key(tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_secret_key(tmp_path) == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_default_database_is_an_sqlite_file_under_instance(instance_dir, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance_dir / 'inventory.db'}"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_Hans_CN"


def test_a_new_sqlite_database_is_readable_by_its_owner_alone(tmp_path, instance_dir):
    """It holds password hashes and ID numbers: 0600 like the secret key, and so its -wal/-shm."""
    path = tmp_path / "fresh.db"
    umask = os.umask(0o022)  # the usual one, under which SQLite makes its files 0644
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                          "INSTANCE_PATH": str(instance_dir)})
        with app.app_context():
            upgrade()
            factories.make_site(app, "GT")
            with db.engine.connect() as connection:  # an open connection keeps -wal and -shm
                connection.execute(sa.text("SELECT count(*) FROM sites"))
                modes = {file.name: stat.S_IMODE(file.stat().st_mode)
                         for file in tmp_path.iterdir()}
            db.engine.dispose()
    finally:
        os.umask(umask)
    assert modes == {"fresh.db": 0o600, "fresh.db-wal": 0o600, "fresh.db-shm": 0o600}


def test_sqlite_runs_with_the_durability_profile(sqlite_app):
    with sqlite_app.app_context():
        pragmas = {name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2,
                       "busy_timeout": 15000}


def test_write_units_begin_immediate_on_sqlite_and_reads_do_not(sqlite_app):
    statements = []
    with sqlite_app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *args: statements.append(statement))
        db.session.scalar(sa.select(sa.func.count()).select_from(Site))
        run_in_transaction(lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Site)))
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"]


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


class FakeSerializationFailure(Exception):
    sqlstate = "40001"


def test_a_serialization_failure_reruns_the_whole_unit(app):
    attempts = []

    def work():
        attempts.append(1)
        db.session.add(Site(code=f"S{len(attempts)}", name="x", kind="county_depot", path="/"))
        db.session.flush()
        if len(attempts) < 3:
            raise DBAPIError("UPDATE …", {}, FakeSerializationFailure())
        return len(attempts)

    with app.app_context():
        assert run_in_transaction(work) == 3
        assert db.session.scalars(sa.select(Site.code)).all() == ["S3"]


def test_retries_are_bounded(app):
    def always_fails():
        raise DBAPIError("UPDATE …", {}, FakeSerializationFailure())

    with app.app_context(), pytest.raises(DBAPIError):
        run_in_transaction(always_fails)
    assert MAX_ATTEMPTS == 5


def test_an_error_inside_a_unit_rolls_everything_back(app):
    def work():
        db.session.add(Site(code="GONE", name="x", kind="county_depot", path="/"))
        db.session.flush()
        raise ValueError("boom")

    with app.app_context():
        with pytest.raises(ValueError):
            run_in_transaction(work)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_https_deployments_get_secure_cookies_and_hsts(instance_dir, sqlite_url, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://wz.example.gov.cn")
    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url, "TESTING": True})
    client = app.test_client()
    response = client.get("/login?lang=en")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_writer_that_cannot_get_the_lock_gets_503_not_500(sqlite_app):
    """R4: SQLite's lock wait runs out; the client is told to retry, and nothing changed."""
    headers = factories.token_for(sqlite_app, factories.make_user(sqlite_app, "admin", username="ops"))
    sqlite_app.config["SQLITE_BUSY_TIMEOUT_MS"] = 100
    path = sqlite_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    # A fresh app, so its engine takes the short lock wait.
    impatient = create_app({**sqlite_app.config})
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = impatient.test_client().post("/api/v1/sites", headers=headers, json={
            "code": "GT", "name": "县库", "kind": "county_depot"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        with impatient.app_context():
            db.engine.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json["error"]["code"] == "unavailable"
    assert sqlite_app.test_client().get("/api/v1/sites/GT", headers=headers).status_code == 404


def test_a_waiting_writer_gets_the_lock_soon_after_it_comes_free(sqlite_app):
    """SQLite's own busy handler sleeps in steps of up to 100 ms; ours asks every millisecond.

    Told by what the waiter does, not by how long it took (a shared CPU makes any figure
    flaky): while another connection holds the write lock for a second, the waiter asks for it
    again and again (SQLite's handler would ask once and sleep inside that one statement), and
    once the lock is free the very next ask gets it.
    """
    path = sqlite_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with sqlite_app.app_context():
        engine = db.engine
    for _attempt in range(3):
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        events = []  # in order: every ask for the write lock, the one that got it, the release

        def ask(_conn, _cursor, statement, *_args, events=events):
            if statement == "BEGIN IMMEDIATE":
                events.append("ask")

        def got(_conn, _cursor, statement, *_args, events=events):
            if statement == "BEGIN IMMEDIATE":
                events.append("got")

        def release_later(holder=holder, events=events):
            time.sleep(1.0)
            holder.execute("ROLLBACK")
            events.append("released")

        sa.event.listen(engine, "before_cursor_execute", ask)
        sa.event.listen(engine, "after_cursor_execute", got)
        releaser = threading.Thread(target=release_later, daemon=True)
        releaser.start()
        try:
            with sqlite_app.app_context():
                run_in_transaction(lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Site)))
        finally:
            join_all([releaser], within=30, what="the lock holder")
            sa.event.remove(engine, "before_cursor_execute", ask)
            sa.event.remove(engine, "after_cursor_execute", got)
            holder.close()
        summary = (events.count("ask"), events[-4:])
        assert events.count("got") == 1 and "released" in events, summary
        # Refused asks happen while the lock is held: at least 20 in its second (one every
        # 50 ms, where the loop aims at one a millisecond) shows the waiter keeps asking.
        assert events.count("ask") - 1 >= 20, summary
        # An ask made after the release cannot be refused: at most one, and it got the lock.
        assert events[events.index("released"):].count("ask") <= 1, summary


def test_writers_of_one_process_take_turns_without_errors(sqlite_app):
    """Sixteen threads writing at once all succeed, one after another, none told 'locked'."""
    errors, barrier = [], threading.Barrier(16, timeout=60)

    def write(number):
        with sqlite_app.app_context():
            barrier.wait()
            try:
                run_in_transaction(lambda: db.session.add(
                    Site(code=f"W{number:02d}", name=f"站点{number}", kind="village_point")))
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                errors.append(error)

    threads = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(16)]
    for thread in threads:
        thread.start()
    join_all(threads, within=120, what="the sixteen writers")
    with sqlite_app.app_context():
        written = db.session.scalar(sa.select(sa.func.count()).select_from(Site))
    assert errors == [] and written == 16


@pytest.mark.parametrize("path, status", [
    ("/sites/?q=%00", 422), ("/sites/%00", 404), ("/s/%00", 404), ("/scan/lookup/%00", 404),
    ("/stock/?site=a%00b", 422), ("/catalog/?q=%00", 422)])
def test_a_nul_in_a_page_address_is_refused_not_a_500(client, login, make_user, path, status):
    """PostgreSQL text cannot hold NUL; every page refuses it before looking anything up."""
    login(make_user("admin"))
    response = client.get(path)
    assert response.status_code == status
    assert "<html" in response.get_data(as_text=True)


def test_a_wrong_method_names_the_right_ones(client, login, make_user):
    login(make_user("admin"))
    response = client.delete("/sites/")
    assert response.status_code == 405 and set(response.headers["Allow"].split(", ")) >= {"GET"}


def _make_run(*arguments, **environment) -> str:
    """The gunicorn command `make run` would start (a dry run: nothing is run). make is what runs
    this suite (`make test`), so it is always there."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("PUBLIC_BASE_URL", "HOST", "PORT")} | environment
    output = subprocess.run(["make", "-n", "run", *arguments], cwd=Path(__file__).parent.parent,
                            env=environment, capture_output=True, text=True, check=True,
                            timeout=60).stdout
    [command] = [line for line in output.replace("\\\n", " ").splitlines() if "gunicorn" in line]
    return command


def test_make_run_points_qr_codes_at_the_address_it_serves_on():
    command = _make_run("PORT=5099")
    assert re.search(r"--bind 127\.0\.0\.1:5099\b", command)
    assert command.startswith("PUBLIC_BASE_URL='http://127.0.0.1:5099' "), command
    assert _make_run("HOST=10.0.0.5", "PORT=8080").startswith(
        "PUBLIC_BASE_URL='http://10.0.0.5:8080' ")


def test_make_run_on_every_interface_points_qr_codes_at_an_address_phones_reach():
    command = _make_run("HOST=0.0.0.0", "PORT=5099")
    url = re.match(r"PUBLIC_BASE_URL='http://([\d.]+):5099' ", command)
    assert url and url[1] != "0.0.0.0", command  # noqa: S104 - the address it must not be


@pytest.mark.parametrize("how", ["command line", "environment"])
def test_a_public_base_url_that_was_set_wins_over_the_served_address(how):
    given = "https://wz.example.gov.cn"
    command = (_make_run("PORT=5099", f"PUBLIC_BASE_URL={given}") if how == "command line"
               else _make_run("PORT=5099", PUBLIC_BASE_URL=given))
    assert command.startswith(f"PUBLIC_BASE_URL='{given}' "), command
