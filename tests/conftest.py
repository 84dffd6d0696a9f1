"""Fixtures: an app per database engine, clients, builders, and the browser set-up.

Every test that takes ``app`` runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL
(a fresh database for the run). Under REQUIRE_ALL=1 a missing engine or browser fails the run.
The builder fixtures are thin wrappers over tests/factories.py, which tests call directly for
a second user, client or app.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from inventory import clock, create_app
from inventory.db import db
from tests import factories
from tests.factories import PASSWORD, Api

REQUIRE_ALL = os.environ.get("REQUIRE_ALL") == "1"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def join_all(threads, *, within: float, what: str) -> None:
    """Wait for ``threads`` to end, ``within`` seconds for all of them together; fail, naming
    ``what``, if any is still running. A deadline bounds the wait: it says nothing about speed,
    so make it many times what the work takes, and make the threads daemons, so that one left
    stuck cannot keep pytest from exiting."""
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if stuck := [thread.name for thread in threads if thread.is_alive()]:
        pytest.fail(f"{what}: {len(stuck)} of {len(threads)} threads still running after "
                    f"{within:g} s ({', '.join(stuck)})")


def missing(what: str) -> None:
    """Skip for lack of ``what``, except under REQUIRE_ALL, where that is a failure."""
    if REQUIRE_ALL:
        pytest.fail(f"REQUIRE_ALL=1 but {what}")
    pytest.skip(what)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    os.environ["INSTANCE_PATH"] = str(path)
    return path


def _migrated(url: str, instance_dir: Path) -> str:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance_dir)})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_template(instance_dir, tmp_path_factory) -> Path:
    """An SQLite file migrated once; each test gets its own copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    _migrated(f"sqlite:///{path}", instance_dir)
    return path


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "test.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgresql_url(instance_dir):
    """A fresh PostgreSQL database for this run, on the server of TEST_DATABASE_URL."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        missing("TEST_DATABASE_URL is not set")
    name = f"inventory_test_{secrets.token_hex(4)}"
    admin_url = sa.make_url(base).set(drivername="postgresql")
    with psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    yield _migrated(url, instance_dir)
    with psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_tables() -> None:
    """PostgreSQL: empty every table for the next test (SQLite tests each get a fresh file)."""
    if db.engine.dialect.name != "postgresql":
        return
    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        # The ledger refuses TRUNCATE by trigger; replica mode lets the test harness past it.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def _app_on(url: str, request, instance_dir: Path):
    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance_dir),
        # Each test's users start again at id 1: their label misses must start again too.
        "LABEL_MISS_FILE": str(instance_dir / f"label-misses-{secrets.token_hex(8)}.sqlite"),
        "WTF_CSRF_ENABLED": request.node.get_closest_marker("csrf") is not None,
        "JOBS_IMMEDIATE": True,
    })
    yield application
    with application.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, instance_dir):
    """The application on one engine, with empty tables; CSRF is off unless marked ``csrf``."""
    yield from _app_on(request.getfixturevalue(f"{request.param}_url"), request, instance_dir)


@pytest.fixture
def sqlite_app(request, instance_dir, sqlite_url):
    """The application on SQLite alone, for what only SQLite has."""
    yield from _app_on(sqlite_url, request, instance_dir)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_site(app):
    """Build a site through the service, with defaults: ``make_site("GT-XB", parent="GT")``."""
    return lambda code, **fields: factories.make_site(app, code, **fields)


@pytest.fixture
def make_user(app):
    """Build a user: ``make_user("keeper", sites=["GT-XB"])``; the password is PASSWORD."""
    return lambda role, **fields: factories.make_user(app, role, **fields)


@pytest.fixture
def login(client):
    """Log the test client in as ``username``."""
    return lambda username, password=PASSWORD: factories.log_in(client, username, password)


@pytest.fixture
def token_for(app):
    """An API bearer header for ``username``."""
    return lambda username: factories.token_for(app, username)


@pytest.fixture
def county(make_site):
    """A small county: the depot, two towns (新坝镇 with a village and an agreement site)."""
    make_site("GT", name="高台县救灾物资储备库", population=125705)
    make_site("GT-XB", parent="GT", name="新坝镇储备室", population=16934,
              hazards=["three_outages", "debris_flow"])
    make_site("GT-XB-HP", parent="GT-XB", kind="village_point", name="和平村储备点", population=900)
    make_site("GT-XB-DC1", parent="GT-XB", kind="agreement_site", name="新坝惠民超市")
    make_site("GT-NH", parent="GT", name="南华镇储备室", population=16754)
    return "GT"


@pytest.fixture
def catalog(app):
    """Water (lot, 1 year), tents (lot, returnable), generators (serial, returnable), quilts."""
    return factories.make_catalog(app)


@pytest.fixture
def keeper(client, make_user, token_for, county, catalog):
    """The keeper of 新坝镇 (GT-XB and what hangs under it), as an API client."""
    return Api(client, token_for(make_user("keeper", username="xb", sites=["GT-XB"])))


@pytest.fixture
def manager(client, make_user, token_for, county, catalog):
    """A manager of the whole county, as an API client."""
    return Api(client, token_for(make_user("manager", username="boss")))


@pytest.fixture
def today():
    """The bureau's date today (inventory/clock.py), with the domain clock held at its noon for
    the test: no midnight can fall between a date the test works out and the one the app uses.
    Only for the app in this process (test clients, live_server), not for a gunicorn server."""
    day = clock.today()
    with clock.travel(day):
        yield day


# --- the app as it runs in production ----------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app, *, target="wsgi:app", extra=()):
    """Serve ``target`` under gunicorn (4 worker processes × 4 threads) on the app's database;
    yield its base URL and the master process."""
    port = _free_port()
    environment = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                   "INSTANCE_PATH": app.config["INSTANCE_PATH"], "SECRET_KEY": "test-server",
                   "LABEL_MISS_FILE": app.config["LABEL_MISS_FILE"]}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
         "--workers", "4", "--threads", "4", *extra,
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=Path(__file__).resolve().parent.parent, env=environment)
    base = f"http://127.0.0.1:{port}"
    # Stopped whatever ends the test, even while it starts (a failed start, a test timeout).
    started = False
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/api/v1/openapi.json", timeout=5)
                break
            except requests.RequestException:
                if process.poll() is not None:
                    pytest.fail(f"gunicorn exited with {process.returncode} as it started")
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start within 30 s")
                time.sleep(0.2)
        started = True
        yield base, process
    finally:
        # Quick shutdown: a graceful one waits ~2 s on kept-alive client connections.
        if started:
            process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=20 if started else 0)
        except subprocess.TimeoutExpired:  # not started, or a worker thread stuck on a client
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def server(app):
    """The app under gunicorn with 4 worker processes × 4 threads, on the test's database."""
    with gunicorn(app) as (base, _process):
        yield base


# --- browser -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        missing("Chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A keeper's phone in Gansu asks for Chinese.
    return {**browser_context_args, "locale": "zh-CN"}


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free port, with CSRF on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    join_all([thread], within=30, what="the live server")
