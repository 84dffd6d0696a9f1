"""Faults and durability against the app as it runs in production (QUALITY.md R5, R7, R17, R18,
R20, D1, D2): GETs never write; an answer lost after the commit; serialization failures and
deadlocks; workers killed in the middle of a document; slow uploads; the durability profile of
live connections; online backups restored and checked.

Faults come from outside the app wherever they can: a TCP hop that loses answers, SIGKILL, nginx,
real PostgreSQL errors raised on the app's own connection. Where a fault must strike at one exact
point, ``app_with_faults()`` is the production app plus hooks that only this file installs
(gunicorn loads it as ``tests.test_faults:app_with_faults()``); nothing in ``inventory/`` knows
about them. A request asks for its fault with the ``X-Test-Fault`` header:

- ``40001x2@update`` / ``40P01x9@commit``: that SQLSTATE, on that many attempts, at the second
  balance UPDATE of the unit (a document half written) or at its COMMIT;
- ``kill@3``: SIGKILL the worker just before the request's 3rd INSERT/UPDATE/DELETE;
  ``kill@commit``: just before COMMIT; ``kill@answer``: after COMMIT, before the answer leaves.

An answer that got out says what was injected and which writes the request made.
"""

import contextlib
import dataclasses
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import requests
import sqlalchemy as sa
from flask import abort, g, has_request_context, jsonify, request

from inventory import create_app
from inventory.catalog.models import Material
from inventory.db import MAX_ATTEMPTS, db
from inventory.dispatch.models import Incident, Kit
from inventory.dispatch.models import Request as DispatchRequest
from inventory.errors import RETRY_AFTER_SECONDS
from inventory.norms.models import Norm
from inventory.stock.models import (
    IdempotencyRecord,
    Issue,
    IssueLine,
    Movement,
    Receipt,
    StockItem,
    Transfer,
)
from inventory.stocktakes.models import Stocktake
from tests.conftest import _free_port, gunicorn, join_all, missing
from tests.factories import Api, check_ledger, http_post, make_material, page_client, receive

ROOT = Path(__file__).resolve().parent.parent
MATERIALS = ("WATER", "TENT", "QUILT")
# A three-line issue: water, a tent on loan, quilts.
LINES = {"WATER": 2, "TENT": 1, "QUILT": 3}
ISSUE = {"site": "GT-XB", "recipient": {"type": "household", "name": "和平村受灾户"},
         "lines": [{"material": material, "quantity": quantity}
                   for material, quantity in LINES.items()]}


# --- the test-only fault hooks -----------------------------------------------------------------

FAULT = "X-Test-Fault"
FAULT_PLAN = re.compile(r"(?P<sqlstate>40001|40P01)x(?P<times>\d+)@(?P<at>update|commit)"
                        r"|kill@(?P<kill>\d+|commit|answer)")
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\s+(?:INTO\s+)?(\w+)", re.IGNORECASE)


@dataclasses.dataclass
class Fault:
    """What one request asked to go wrong, and what went wrong so far."""

    sqlstate: str | None = None
    times: int = 0
    at: str | None = None
    kill: str | None = None
    writes: list = dataclasses.field(default_factory=list)  # "UPDATE stock_items", in order
    balance_updates: int = 0  # in the current unit
    pending: bool = False  # a write since the last COMMIT/ROLLBACK
    injected: int = 0


def app_with_faults(config=None, *, may_kill=True):
    """The production app, plus hooks that fail or kill a request on demand (tests only)."""
    app = create_app(config)
    install_faults(app, may_kill=may_kill)
    return app


def _fault() -> Fault | None:
    return g.get("fault") if has_request_context() else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _raise_busy(cursor, fault: Fault) -> None:
    """Fail as the database does when it cannot serialize: PostgreSQL really raises it."""
    fault.injected += 1
    if isinstance(cursor, sqlite3.Cursor):
        # SQLite serialises writers and never says 40001; the retry loop only reads the SQLSTATE.
        error = sqlite3.OperationalError("injected by the test")
        error.sqlstate = fault.sqlstate
        raise error
    cursor.execute("DO $$BEGIN RAISE EXCEPTION 'injected by the test' "
                   f"USING ERRCODE = '{fault.sqlstate}'; END$$")


def install_faults(app, *, may_kill: bool) -> None:
    """Read each request's X-Test-Fault and strike where it says; add GET /_test/profile."""
    with app.app_context():
        engine = db.engine

    @app.before_request
    def _read_plan():
        if spec := request.headers.get(FAULT):
            plan = FAULT_PLAN.fullmatch(spec)
            if plan is None or (plan["kill"] and not may_kill):
                abort(400)
            g.fault = Fault(sqlstate=plan["sqlstate"], times=int(plan["times"] or 0),
                            at=plan["at"], kill=plan["kill"])

    @app.after_request
    def _report(response):
        if (fault := g.get("fault")) is not None:
            if fault.kill == "answer":
                _die()
            response.headers["X-Test-Fault-Writes"] = ", ".join(fault.writes)
            response.headers["X-Test-Fault-Injected"] = str(fault.injected)
        return response

    @app.get("/_test/profile")
    def _profile():
        """This worker's database connection settings (D1)."""
        if engine.dialect.name == "sqlite":
            settings = {name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
                        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
            settings["configured_busy_timeout"] = app.config["SQLITE_BUSY_TIMEOUT_MS"]
        else:
            settings = {"synchronous_commit":
                        db.session.execute(sa.text("SHOW synchronous_commit")).scalar()}
        return jsonify(pid=os.getpid(), **settings)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count_writes(_conn, _cursor, statement, *_args):
        if (fault := _fault()) is None or not (write := WRITE.match(statement)):
            return
        fault.writes.append(f"{write[1].upper()} {write[2]}")
        fault.pending = True
        if fault.kill == str(len(fault.writes)):
            _die()

    @sa.event.listens_for(engine, "do_execute")
    def _fail_mid_document(cursor, statement, _parameters, _context):
        fault = _fault()
        if fault is None or fault.at != "update" or not statement.startswith("UPDATE stock_items"):
            return  # execute as usual
        fault.balance_updates += 1
        if fault.balance_updates == 2 and fault.injected < fault.times:
            _raise_busy(cursor, fault)

    @sa.event.listens_for(engine, "commit")
    def _at_commit(conn):
        if (fault := _fault()) is None or not fault.pending:
            return
        fault.pending, fault.balance_updates = False, 0
        if fault.kill == "commit":
            _die()
        if fault.at == "commit" and fault.injected < fault.times:
            # The commit event fires outside SQLAlchemy's error wrapping; wrap as it would.
            try:
                _raise_busy(conn.connection.dbapi_connection.cursor(), fault)
            except (sqlite3.Error, psycopg.Error) as error:
                raise sa.exc.OperationalError("COMMIT", None, error) from None

    @sa.event.listens_for(engine, "rollback")
    def _unit_ended(_conn):
        if (fault := _fault()) is not None:
            fault.pending, fault.balance_updates = False, 0


# --- fixtures and helpers ----------------------------------------------------------------------

@pytest.fixture
def stocked(app, county, make_user, token_for):
    """100 each of water, tents (returnable) and quilts at 新坝镇; its keeper's API headers."""
    make_material(app, "WATER", "瓶装饮用水")
    make_material(app, "TENT", "棉帐篷", unit="顶", returnable=True)
    make_material(app, "QUILT", "棉被", unit="床")
    headers = token_for(make_user("keeper", username="xb", sites=["GT-XB"]))
    api = Api(app.test_client(), headers)
    for material in MATERIALS:
        receive(api, material=material, quantity=100, lot="L1")
    return headers


@pytest.fixture
def fault_server(app):
    """``app_with_faults()`` under gunicorn, 4 workers × 4 threads. --preload: a killed worker is
    replaced by a fork of the master within milliseconds rather than a fresh 1.5 s import."""
    with gunicorn(app, target="tests.test_faults:app_with_faults()", extra=["--preload"]) as running:
        yield running


def post(base, headers, path, body, *, key=None, fault=None, timeout=30):
    return http_post(base, {**headers, **({FAULT: fault} if fault else {})}, path, body, key=key,
                     timeout=timeout)


def state(app) -> dict:
    """Everything an issue changes: documents, lines, movements, stored keys, balances."""
    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    with app.app_context():
        balances = dict(db.session.execute(
            sa.select(Material.code, sa.func.sum(StockItem.quantity))
            .join(StockItem.material).group_by(Material.code)).all())
        return {"issues": count(Issue), "issue_lines": count(IssueLine),
                "issue_movements": count(Movement, Movement.kind == "issue"),
                "keys": count(IdempotencyRecord), **balances}


def plus_issues(before: dict, n: int = 1) -> dict:
    """``before`` with ``n`` more of the three-line issue applied."""
    after = {**before, "issues": before["issues"] + n, "keys": before["keys"] + n,
             "issue_lines": before["issue_lines"] + n * len(LINES),
             "issue_movements": before["issue_movements"] + n * len(LINES)}
    for material, quantity in LINES.items():
        after[material] = before[material] - n * quantity
    return after


def assert_documents_whole(app) -> None:
    """Every document has all its lines, each line its movement, nothing is orphaned, the
    ledger balances, and (SQLite) the file is sound."""
    with app.app_context():
        lines = dict(db.session.execute(sa.select(Issue.number, sa.func.count(IssueLine.id))
                                        .outerjoin(IssueLine).group_by(Issue.number)).all())
        moved = dict(db.session.execute(sa.select(Movement.document, sa.func.count())
                                        .where(Movement.kind == "issue")
                                        .group_by(Movement.document)).all())
        receipts = set(db.session.scalars(sa.select(Receipt.number)))
        received = set(db.session.scalars(sa.select(Movement.document)
                                          .where(Movement.kind == "receipt")))
        unfinished_keys = db.session.scalar(sa.select(sa.func.count()).select_from(
            IdempotencyRecord).where(IdempotencyRecord.status == 0))
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            assert db.session.execute(sa.text("PRAGMA foreign_key_check")).all() == []
    assert all(count >= 1 for count in lines.values()), "an issue without lines"
    assert lines == moved, "every issue line has its movement and every movement its issue"
    assert receipts == received, "every receipt has its movement and every movement its receipt"
    assert unfinished_keys == 0, "a claimed key was committed without its answer"
    code, output = check_ledger(app)
    assert code == 0, output


# What a client sees when the worker dies before or while it answers.
NO_ANSWER = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def workers(master: subprocess.Popen) -> set[int]:
    """The pids of gunicorn's workers right now."""
    pids = set()
    for task in Path(f"/proc/{master.pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread of the master that just ended
            pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


# --- R5: GET requests never write --------------------------------------------------------------

# SQL that writes, or takes the write lock, or locks rows for writing.
WRITING_SQL = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|CREATE|DROP|ALTER|TRUNCATE)\b"
                         r"|\s*BEGIN IMMEDIATE|.*\bFOR (NO KEY )?UPDATE\b", re.IGNORECASE | re.DOTALL)
# Which document or catalog entry a URL argument names, by endpoint (sites otherwise).
NUMBER_OF = {"stock.receipt": "receipt", "labels.receipt_labels": "receipt",
             "stock.transfer": "transfer", "stock.receive_transfer": "transfer",
             "api.get_transfer": "transfer", "api.get_return": "return", "stock.return_slip": "return"}
CODE_OF = {"catalog.show": "material", "catalog.edit": "material", "api.get_material": "material",
           "catalog.edit_category": "category"}
QUERY_OF = {"labels.item_labels": "site"}  # a required query argument
FILTERED = ["/?lang=en", "/sites/?kind=village_point&q=村&page=2", "/stock/?site=GT-XB",
            "/stock/?site=GT-XB&material=1-02-001&page=2", "/stock/ledger?site=GT-XB",
            "/stock/ledger?material=1-02-001&from=2020-01-01&to=2030-12-31", "/stock/loans?overdue=1",
            "/stock/issues?site=GT-XB", "/stock/transfers?status=in_transit", "/alerts/?site=GT-XB",
            "/norms/shortfalls?site=GT-XB", "/norms/shortfalls?town=GT-XB", "/norms/shortfalls.xlsx",
            "/labels/?site=GT-XB", "/labels/items.pdf?site=GT-XB&material=1-02-001",
            "/audit/?entity=site&key=GT-XB", "/catalog/?category=1", "/sites/?lang=zh",
            "/api/v1/stock?site=GT-XB&per_page=500", "/api/v1/stock/summary?site=GT-XB",
            "/api/v1/movements?site=GT-XB&page=2&per_page=5", "/api/v1/issues?outstanding=true",
            "/api/v1/transfers?status=in_transit", "/api/v1/shortfalls?site=GT-XB",
            "/api/v1/alerts?site=GT-XB", "/api/v1/sites?kind=town_store", "/api/v1/norms?page=abc"]


def _demo_sample(app, headers) -> dict:
    """One of each thing a GET URL can name, from the 高台县 demo (plus one return)."""
    with app.app_context():
        loan = db.session.scalar(sa.select(IssueLine).where(IssueLine.is_loan.is_(True))
                                 .order_by(IssueLine.id))
        issue_number, loan_line = loan.issue.number, loan.id
    answer = app.test_client().post("/api/v1/returns", headers=headers, json={
        "issue": issue_number, "lines": [{"issue_line": loan_line, "quantity": 1,
                                           "condition": "good"}]})
    assert answer.status_code == 201, answer.json
    # An import of one row of the demo's, checked (its page and API answer show it).
    imported = app.test_client().post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                                      data={"kind": "opening_stock", "file": (io.BytesIO(
                                          "站点编码,物资编码,数量\nGT-XB,1-02-001,3\n".encode()), "期初.csv")})
    assert imported.status_code == 202, imported.json

    def first(column):
        return db.session.scalar(sa.select(column).order_by(column))

    with app.app_context():
        return {
            "issue": issue_number, "return": answer.json["number"],
            "receipt": first(Receipt.number),
            "transfer": db.session.scalar(sa.select(Transfer.number)
                                          .where(Transfer.status == "in_transit")),
            "label": db.session.scalar(sa.select(StockItem.label).where(
                StockItem.serial.is_not(None), StockItem.site.has(code="GT-XB"))),
            "labels": db.session.scalars(sa.select(StockItem.label).order_by(StockItem.id)).all(),
            "site": "GT-XB", "material": first(Material.code), "category": "1",
            "norm_id": first(Norm.id), "username": "keeper", "filename": "css/app.css",
            # The demo's count in progress: its pages show the most (lines, books, buttons).
            "stocktake_id": db.session.scalar(sa.select(Stocktake.id).where(Stocktake.status == "counting"))
            or first(Stocktake.id),
            # The demo's open drill and one of its requests (dispatch pages, reports, API).
            "incident_id": db.session.scalar(sa.select(Incident.id).order_by(Incident.status != "open",
                                                                             Incident.id)),
            "request_id": first(DispatchRequest.id),
            "kit_id": first(Kit.id),  # the demo's relief kits
            "form": "return",  # a paper form (offline/paper.py): the demo's loans out
            "kind": "opening_stock",  # an import template (spreadsheets/)
            "job_id": imported.json["id"],
        }


def _every_get_url(app, sample) -> list[str]:
    """Every GET route of the app, its arguments filled from ``sample``."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = {}
        for name in rule.arguments:
            kind = {"number": NUMBER_OF.get(rule.endpoint, "issue"),
                    "code": CODE_OF.get(rule.endpoint, "site")}.get(name, name)
            assert kind in sample, f"no sample for <{name}> of {rule.endpoint}: add one"
            values[name] = sample[kind]
        if rule.endpoint in QUERY_OF:
            values[QUERY_OF[rule.endpoint]] = sample[QUERY_OF[rule.endpoint]]
        urls.append(adapter.build(rule.endpoint, values))
    return urls


def test_get_requests_never_write(app, client, make_user, login, token_for):
    """R5: every GET route, filtered lists, reports, exports and 500 scans, as an admin and as a
    keeper (mostly of other sites' labels), write nothing and lock nothing."""
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    admin = make_user("admin")
    api = token_for(admin)
    sample = _demo_sample(app, api)
    login(admin)
    keeper = make_user("keeper", sites=["GT-XB"])
    keeper_client = page_client(app, keeper)
    keeper_api = token_for(keeper)
    urls = _every_get_url(app, sample)
    assert len(urls) >= 50

    statements, writes = [], []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)
        if WRITING_SQL.match(statement):
            writes.append((request.path if has_request_context() else "?", statement[:120]))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    statuses = Counter()

    def fetch(who, url, headers) -> int:
        response = who.get(url, headers=headers if url.startswith("/api/") else {})
        response.close()
        statuses[response.status_code] += 1
        return response.status_code

    try:
        for url in urls + FILTERED:
            for who, headers in ((client, api), (keeper_client, keeper_api)):
                status = fetch(who, url, headers)
                assert status < 500, (url, status)
                if who is client and url in urls:
                    assert status in (200, 302), (url, status)
        scans = 0
        for label in sample["labels"][:125]:
            for url in (f"/s/{label}", f"/s/{label.lower()}", f"/scan/lookup/{label}",
                        f"/api/v1/stock/{label}"):
                who, headers = (keeper_client, keeper_api) if scans % 2 else (client, api)
                status = fetch(who, url, headers)
                assert status in (200, 302, 403, 404, 429), (url, status)  # 429: guessing (S13)
                scans += 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert scans == 500 and statuses[404] > 0, "the keeper met labels of other sites"
    assert len(statements) > scans, "the recorder saw the reads"
    assert writes == [], "\n".join(f"{path}: {sql}" for path, sql in writes[:20])


# --- R7: the answer is lost after the commit ---------------------------------------------------

def _read_message(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message (head and a Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-message"
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    assert length, head
    while len(body) < int(length[1]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return head + b"\r\n\r\n" + body


class LosingProxy:
    """A TCP hop that passes one request to the server and never passes its answer back.

    By default it waits for the server's whole answer (so the server has committed), keeps it,
    and resets the client's connection; with ``hang_up_early`` it hangs up on both sides as soon
    as the request is through, as a phone losing signal does.
    """

    # Bounds every wait of the relay: for the client to come, and for either side to speak.
    WITHIN_S = 30

    def __init__(self, upstream: str, *, hang_up_early=False):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream, self.hang_up_early = (host, int(port)), hang_up_early
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(self.WITHIN_S)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.answer: bytes | None = None
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self):
        client, _address = self.listener.accept()
        client.settimeout(self.WITHIN_S)
        with client, socket.create_connection(self.upstream, timeout=self.WITHIN_S) as server:
            server.sendall(_read_message(client))
            if not self.hang_up_early:
                self.answer = _read_message(server)
            # Linger 0: the client sees its connection reset, as when a mobile link drops.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self) -> None:
        try:
            join_all([self.thread], within=self.WITHIN_S, what="the losing proxy")
        finally:
            self.listener.close()

    def lost_answer(self) -> tuple[int, dict]:
        self.close()
        assert self.answer is not None, "the proxy never had the server's answer"
        head, _sep, body = self.answer.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)


def test_an_issue_whose_answer_was_lost_is_answered_again_not_applied_again(app, stocked, server):
    """R7: the client never hears back (after the commit, or because it hung up first), retries
    with its Idempotency-Key the normal way, and gets the original document; stock moved once."""
    before = state(app)
    proxy = LosingProxy(server)
    with pytest.raises(requests.ConnectionError):
        post(proxy.url, stocked, "/issues", ISSUE, key="lost-answer")
    status, lost = proxy.lost_answer()
    assert status == 201 and lost["number"], lost
    assert state(app) == plus_issues(before), "the server committed although the client never knew"
    retry = post(server, stocked, "/issues", ISSUE, key="lost-answer")
    assert retry.status_code == 201 and retry.json() == lost, "the original answer, again"
    assert state(app) == plus_issues(before), "and nothing applied twice"

    proxy = LosingProxy(server, hang_up_early=True)
    with pytest.raises(requests.ConnectionError):
        post(proxy.url, stocked, "/issues", ISSUE, key="hung-up")
    # Straight back, perhaps while the first is still running: one of them applies, the other
    # waits for it and replays its answer.
    retries = [post(server, stocked, "/issues", ISSUE, key="hung-up") for _ in range(2)]
    assert [r.status_code for r in retries] == [201, 201]
    assert retries[0].json() == retries[1].json() != lost
    proxy.close()
    assert state(app) == plus_issues(before, 2)
    assert_documents_whole(app)


# --- R17: serialization failures and deadlocks -------------------------------------------------

@pytest.mark.parametrize("at", ["update", "commit"])
def test_serialization_failures_rerun_the_whole_request_a_bounded_number_of_times(app, stocked, at):
    """R17: a 40001 or 40P01 (on PostgreSQL raised by the server itself) half way through a
    three-line issue, or at its COMMIT, reruns the whole unit: the issue applies once with the
    next gap-free number. Failing every attempt stops after MAX_ATTEMPTS with 503 + Retry-After
    and nothing written; the same key then still works."""
    faulty = app_with_faults({**app.config}, may_kill=False)
    client = faulty.test_client()

    def issue(key, fault=None):
        return client.post("/api/v1/issues", json=ISSUE, headers={
            **stocked, "Idempotency-Key": key, **({FAULT: fault} if fault else {})})

    try:
        before = state(app)
        for n, sqlstate in enumerate(("40001", "40P01"), start=1):
            answer = issue(f"retried-{sqlstate}", f"{sqlstate}x2@{at}")
            assert answer.status_code == 201, answer.json
            assert answer.headers["X-Test-Fault-Injected"] == "2"
            assert answer.json["number"].endswith(f"-{n:06d}"), "failed attempts gave back their number"
            assert state(app) == plus_issues(before, n), "applied once, not once per attempt"

        applied = state(app)
        refused = issue("always-busy", f"40001x99@{at}")
        assert refused.status_code == 503, refused.json
        assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert refused.json["error"]["code"] == "unavailable" and refused.json["error"]["message"]
        assert refused.headers["X-Test-Fault-Injected"] == str(MAX_ATTEMPTS), "bounded"
        assert state(app) == applied, "nothing written, not even the key"

        later = issue("always-busy")
        assert later.status_code == 201 and later.json["number"].endswith("-000003")
        assert state(app) == plus_issues(before, 3)
    finally:
        with faulty.app_context():
            db.engine.dispose()
    assert_documents_whole(app)


# --- R18: a worker killed in the middle of a document ------------------------------------------

def test_a_worker_killed_at_any_write_leaves_the_issue_whole_or_absent(app, stocked, fault_server):
    """R18 (and R7's "kill between key and movement"): SIGKILL the worker before each INSERT/
    UPDATE/DELETE of a three-line issue in turn, before its COMMIT, and after it. Before COMMIT
    nothing of it exists, key included; after, all of it. The phone's retry with the same key
    applies it exactly once, and gunicorn keeps serving from respawned workers."""
    base, master = fault_server
    first_workers = workers(master)

    def kill_at(point: str) -> bool:
        """Post the issue with a kill at ``point``; check; retry; return whether it was killed."""
        before, key = state(app), f"kill-{point}"
        try:
            answer = post(base, stocked, "/issues", ISSUE, key=key, fault=f"kill@{point}")
        except NO_ANSWER:
            pass
        else:
            assert answer.status_code == 201, answer.text
            made = answer.headers["X-Test-Fault-Writes"].split(", ")
            assert point.isdigit() and len(made) < int(point), "not killed only past the last write"
            assert state(app) == plus_issues(before)
            return False
        if point == "answer":
            assert state(app) == plus_issues(before), "killed after COMMIT: all of it is there"
            with app.app_context():
                number = db.session.scalar(sa.select(Issue.number).order_by(Issue.id.desc()))
        else:
            assert state(app) == before, f"killed before write {point}: none of it is there"
        retry = post(base, stocked, "/issues", ISSUE, key=key)
        assert retry.status_code == 201, retry.text
        if point == "answer":
            assert retry.json()["number"] == number, "the committed issue is answered again"
        assert state(app) == plus_issues(before), "applied exactly once"
        return True

    writes = 0
    while kill_at(str(writes + 1)):
        writes += 1
    assert writes >= 8, "key, number, three balances, document, lines, movements, answer"
    assert kill_at("commit") and kill_at("answer")
    assert_documents_whole(app)
    assert first_workers - workers(master), "workers died and gunicorn replaced them"
    assert requests.get(f"{base}/api/v1/me", headers=stocked, timeout=10).status_code == 200


def test_acknowledged_issues_survive_workers_killed_mid_stream(app, stocked, fault_server):
    """R18/D1: four phones post three-line issues while every worker is SIGKILLed, six times
    over; a phone that loses its connection retries with the same key. Every issue a phone was
    told about exists, whole, once; nothing else does; the respawned workers run with the
    durability profile."""
    base, master = fault_server
    original = workers(master)
    before = state(app)
    acknowledged, interrupted, kills = [], Counter(), Counter()
    done, rounds_done = threading.Event(), threading.Event()

    def phone(n):
        with requests.Session() as session:
            session.headers.update(stocked)
            for i in range(8):
                if i == 7:
                    # The last issue waits for the last round (at 23 of the 28 before it), so
                    # the stream cannot end before every round has landed.
                    rounds_done.wait(timeout=120)
                key = f"phone{n}-{i}"
                for _attempt in range(20):
                    try:
                        answer = session.post(f"{base}/api/v1/issues", json=ISSUE, timeout=30,
                                              headers={"Idempotency-Key": key})
                    except NO_ANSWER:
                        interrupted[n] += 1
                        session.close()  # the kept-alive connection died with its worker
                        time.sleep(0.05)
                        continue
                    assert answer.status_code == 201, answer.text
                    acknowledged.append((key, answer.json()["number"]))
                    break

    def killer():
        # Six rounds at fixed points of the stream (3, 7, … 23 of 32 acknowledged), so that every
        # round lands however fast the phones go; the phones' last issues wait for the last.
        for round_ in range(6):
            while len(acknowledged) < 3 + 4 * round_ and not done.wait(0.005):
                pass
            if done.is_set():
                return
            time.sleep(random.uniform(0, 0.05))
            for pid in workers(master):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills["workers"] += 1
            kills["rounds"] += 1
        rounds_done.set()

    assassin = threading.Thread(target=killer, name="killer", daemon=True)
    phones = [threading.Thread(target=phone, args=(n,), name=f"phone-{n}", daemon=True)
              for n in range(4)]
    assassin.start()
    try:
        for thread in phones:
            thread.start()
        join_all(phones, within=240, what="the phones posting through the kills")
    finally:
        done.set()
        join_all([assassin], within=30, what="the killer")

    assert kills["rounds"] == 6 and sum(interrupted.values()) >= 1, (kills, interrupted)
    assert len(acknowledged) == 32 and len({number for _key, number in acknowledged}) == 32
    with app.app_context():
        numbers = set(db.session.scalars(sa.select(Issue.number)))
    assert numbers == {number for _key, number in acknowledged}, "acknowledged, and only those"
    assert state(app) == plus_issues(before, 32)
    assert_documents_whole(app)

    # D1: what answers now was forked after the kills; its connections have the profile.
    profiles = [requests.get(f"{base}/_test/profile", timeout=10).json() for _ in range(8)]
    assert not {profile["pid"] for profile in profiles} & original, "all of them respawned"
    for profile in profiles:
        del profile["pid"]
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            configured = profile.pop("configured_busy_timeout")
            assert profile == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                               "busy_timeout": configured} and configured >= 1000
        else:
            assert profile == {"synchronous_commit": "on"}, "a commit is on disk before the 2xx"


# --- R20: slow uploads behind the proxy --------------------------------------------------------

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log stderr warn;
{user}
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        # As README "Production: behind a proxy".
        client_max_body_size 2m;
        client_body_timeout 30s;
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_request_buffering on;
        }}
    }}
}}
"""


@pytest.fixture
def nginx(server, tmp_path):
    """nginx in front of the gunicorn ``server``, configured as README says."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        missing("nginx is not installed (apt-get install nginx-light)")
    port = _free_port()
    conf = tmp_path / "nginx.conf"
    # Run as root (a container), nginx would hand its workers to "nobody", who cannot enter
    # pytest's private tmp_path.
    conf.write_text(NGINX_CONF.format(tmp=tmp_path, port=port, upstream=server,
                                      user="user root root;" if os.geteuid() == 0 else ""))
    process = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"])
    try:  # stopped whatever ends the test, even while it starts
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("nginx did not start within 30 s")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_slow_uploads_do_not_hold_up_other_phones_behind_the_proxy(app, stocked, server, nginx):
    """R20: twenty phones trickle receipts one byte every half second, more than gunicorn has
    threads (16). Behind nginx as documented, eight other phones' scans are all answered while
    every trickler is still part way through its body, before any slow receipt is booked, and
    their median is within 20× of the median without the tricklers (both measured here: a
    ratio with a margin for a shared machine, not a figure); the slow receipts are booked in
    the end. Straight to gunicorn, each trickler would hold a worker thread and the scans
    would wait on the bodies."""
    with app.app_context():
        label = db.session.scalar(sa.select(StockItem.label))
    host, port = nginx.removeprefix("http://").split(":")

    def scans():
        def phone():
            with requests.Session() as session:
                session.headers.update(stocked)
                for _ in range(15):
                    started = time.perf_counter()
                    answer = session.get(f"{nginx}/api/v1/stock/{label}", timeout=60)
                    assert answer.status_code == 200
                    latencies.append(time.perf_counter() - started)
        latencies = []
        threads = [threading.Thread(target=phone, name=f"scanner-{n}", daemon=True)
                   for n in range(8)]
        for thread in threads:
            thread.start()
        join_all(threads, within=180, what="the scanning phones")
        assert len(latencies) == 8 * 15, "every scan answered"
        return latencies

    body = json.dumps({"site": "GT-XB", "material": "WATER", "quantity": 1, "lot": "SLOW",
                       "note": "网络很慢的手机" * 4}).encode()
    head = (f"POST /api/v1/receipts HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {stocked['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    finish, statuses, sent = threading.Event(), [], [0] * 20  # body bytes sent, per trickler

    def trickler(n):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head)
            for index in range(len(body)):
                if finish.wait(0.5):
                    sock.sendall(body[index:])
                    break
                sock.sendall(body[index:index + 1])
                sent[n] += 1
            sock.settimeout(30)
            statuses.append(_read_message(sock).split()[1])

    baseline = scans()
    slow = [threading.Thread(target=trickler, args=(n,), daemon=True) for n in range(20)]
    try:
        for thread in slow:
            thread.start()
        deadline = time.monotonic() + 60  # bounds the wait only
        while min(sent) < 1:  # every trickler connected and part way through its body
            if time.monotonic() > deadline:
                pytest.fail(f"the tricklers did not all start sending: {sent}")
            time.sleep(0.05)
        during = scans()
        sent_by_then, booked_by_then = list(sent), list(statuses)
    finally:
        finish.set()
        # Each sends the rest of its body at once and waits up to 30 s for its answer.
        join_all(slow, within=90, what="the slow uploads")
    # At 0.5 s a byte, a body takes two minutes: the scans were answered in the middle of all 20.
    assert booked_by_then == [] and max(sent_by_then) < len(body), \
        ("the scans ran while bodies were still arriving", sent_by_then, booked_by_then)
    assert statistics.median(during) <= 20 * statistics.median(baseline), \
        (statistics.median(baseline), statistics.median(during))
    assert statuses == [b"201"] * 20
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.sum(StockItem.quantity))
                                 .where(StockItem.lot == "SLOW")) == 20


# --- D2: an online backup under load, restored and checked -------------------------------------

def _restored_app(url: str, instance_dir: str):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                       "INSTANCE_PATH": instance_dir})


def _check_restored(url: str, instance_dir: str) -> int:
    """Open a restored copy as a fresh instance; check it as R22 would; return its movements."""
    restored = _restored_app(url, instance_dir)
    try:
        assert_documents_whole(restored)
        with restored.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Movement))
    finally:
        with restored.app_context():
            db.engine.dispose()


def _backup_sqlite(app, tmp_path) -> str:
    """`flask --app wsgi backup`, from its own process as cron would run it; then restore the
    copy by hand into a fresh directory (no -wal/-shm can come along); return its URL."""
    copy = tmp_path / "backups" / "inventory-backup.db"
    copy.parent.mkdir()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "backup", str(copy)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
             "INSTANCE_PATH": app.config["INSTANCE_PATH"], "SECRET_KEY": "test-backup"})
    assert result.returncode == 0, result.stderr
    assert "完整性检查通过" in result.stdout
    assert sorted(p.name for p in copy.parent.iterdir()) == [copy.name], "one file, no sidecars"
    assert copy.stat().st_mode & 0o777 == 0o600, "the copy holds password hashes and ID numbers"
    restored = tmp_path / "restored" / "inventory.db"
    restored.parent.mkdir()
    shutil.copyfile(copy, restored)
    with sqlite3.connect(restored) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return f"sqlite:///{restored}"


def _backup_postgresql(app, tmp_path) -> str:
    """`flask backup` points at pg_dump; take a pg_dump --format=custom under load and
    pg_restore it into a fresh database; return its URL."""
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "pg_dump" in result.output and "pg_restore" in result.output
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        missing("pg_dump/pg_restore are not installed (apt-get install postgresql-client)")
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dump = tmp_path / "inventory.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={_libpq(url)}"],
                   check=True, timeout=120)
    restored = url.set(database=f"{url.database}_restored")
    with psycopg.connect(_libpq(url.set(database="postgres")), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored.database}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error",
                        f"--dbname={_libpq(restored)}", str(dump)], check=True, timeout=120)
    except BaseException:
        _drop_database(restored)
        raise
    return restored.render_as_string(hide_password=False)


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_database(url: sa.URL) -> None:
    with psycopg.connect(_libpq(url.set(database="postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def test_an_online_backup_taken_under_load_restores_to_a_consistent_ledger(app, stocked, server,
                                                                           tmp_path):
    """D2: eight writers receive and issue through gunicorn while the backup runs (SQLite: `flask
    backup`, the online backup API; PostgreSQL: pg_dump). Restored into a fresh instance, the
    copy is sound, its ledger balances, and it holds a moment in the middle of the writing."""
    done, statuses = threading.Event(), Counter()

    def writer(n):
        with requests.Session() as session:
            session.headers.update(stocked)
            while not done.is_set():
                for path, body in (("/receipts", {"site": "GT-XB", "material": "WATER",
                                                  "quantity": 1, "lot": f"W{n}"}),
                                   ("/issues", {"site": "GT-XB", "recipient": {
                                       "type": "person", "name": "王"},
                                       "lines": [{"material": "WATER", "quantity": 1}]})):
                    statuses[session.post(f"{server}/api/v1{path}", json=body,
                                          timeout=60).status_code] += 1

    def movements():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Movement))

    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    started = movements()
    writers = [threading.Thread(target=writer, args=(n,), name=f"writer-{n}", daemon=True)
               for n in range(8)]
    for thread in writers:
        thread.start()

    def wait_for_movements(count: int) -> None:
        # Bounds only how long the test waits for the writers, never how fast they must be.
        deadline = time.monotonic() + 120
        while (made := movements()) < count:
            if not any(thread.is_alive() for thread in writers):
                pytest.fail(f"every writer has stopped, at {made} of {count} movements; "
                            f"answers so far {dict(statuses)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the writers stopped writing: {made} of {count} movements after "
                            f"120 s; answers so far {dict(statuses)}")
            time.sleep(0.05)

    try:
        wait_for_movements(started + 40)
        restored_url = (_backup_sqlite if sqlite else _backup_postgresql)(app, tmp_path)
        backed_up = movements()
        wait_for_movements(backed_up + 40)
    finally:
        done.set()
        # A writer ends after the request in hand: two of up to 60 s each.
        join_all(writers, within=150, what="the writers of the backup drill")
    assert set(statuses) == {201}, statuses
    try:
        in_copy = _check_restored(restored_url, app.config["INSTANCE_PATH"])
    finally:
        if not sqlite:
            _drop_database(sa.make_url(restored_url))
    assert started + 40 <= in_copy <= backed_up, "a snapshot from the middle of the writing"
    assert in_copy < movements(), "writers carried on after it"
    assert_documents_whole(app)
