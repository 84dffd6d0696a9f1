"""R3: on SQLite every write transaction begins with BEGIN IMMEDIATE, read from a log of every
statement SQLite ran on every connection of every gunicorn worker while clients raced writes.

gunicorn loads the app as ``tests.stock.test_sqlite_begin:app_with_statement_log()``: the
production app, each of whose connections logs, through SQLite's own trace hook, every statement
as SQLite starts it (so nothing that reaches SQLite goes unseen, whoever sent it), with whether a
transaction was open just before it. A transaction's first statement comes right after the last
one run outside it, so the log says which statement opened each transaction that wrote (BEGIN
attempts refused as "locked" run outside any transaction and open nothing).
``app_with_plain_begin()`` is the known-bad variant that shows the log can tell.
"""

import itertools
import json
import os
import re
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from inventory import create_app
from inventory.db import db
from tests import factories
from tests.conftest import gunicorn
from tests.stock.test_concurrency import post, race

LOG_DIR = "TEST_STATEMENT_LOG_DIR"
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def app_with_statement_log():
    """The production app, each SQLite connection logging to its own file in
    $TEST_STATEMENT_LOG_DIR (tests only)."""
    app = create_app()
    directory, numbers = Path(os.environ[LOG_DIR]), itertools.count()
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "connect")
    def _log_statements(dbapi_connection, _record):
        # One file per connection (a connection serves one thread at a time); line-buffered, so
        # what was written survives the worker's quick shutdown.
        log = open(directory / f"{os.getpid()}-{next(numbers)}.jsonl", "a", buffering=1,  # noqa: SIM115
                   encoding="utf-8")
        dbapi_connection.set_trace_callback(
            lambda statement: log.write(json.dumps([dbapi_connection.in_transaction, statement]) + "\n"))

    return app


def app_with_plain_begin():
    """Known-bad: the logging app with its begin hook (inventory/db.py) replaced by one that
    opens every transaction, write units too, with a deferred BEGIN."""
    app = app_with_statement_log()
    with app.app_context():
        engine = db.engine
    hooks = [hook for hook in engine.dispatch.begin if hook.__name__ == "_on_begin"]
    assert len(hooks) == 1, "inventory/db.py's begin hook is no longer called _on_begin"
    sa.event.remove(engine, "begin", hooks[0])
    sa.event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    return app


def transactions_that_wrote(lines) -> tuple[list[tuple[str, str]], list[str]]:
    """From one connection's log: (the statement that opened it, its first write) for each
    transaction that wrote, and every write run outside a transaction (autocommit)."""
    wrote, outside = [], []
    last_outside, current = None, None  # current: the transaction in progress
    for in_transaction, statement in map(json.loads, lines):
        if not in_transaction:
            last_outside, current = statement, None
            if WRITE.match(statement):
                outside.append(statement)
            continue
        if current is None:
            current = {"opener": last_outside, "wrote": False}
        if WRITE.match(statement) and not current["wrote"]:
            current["wrote"] = True
            wrote.append((current["opener"], statement))
    return wrote, outside


def test_the_log_reader_names_the_statement_that_opened_each_write():
    log = [json.dumps(entry) for entry in (
        [False, "BEGIN IMMEDIATE"], [False, "BEGIN IMMEDIATE"], [True, "PRAGMA busy_timeout=1"],
        [True, "INSERT INTO a VALUES (1)"], [True, "UPDATE a SET x = 2"], [True, "COMMIT"],
        [False, "BEGIN"], [True, "SELECT 1"], [True, "COMMIT"],
        [False, "BEGIN"], [True, "SELECT 1"], [True, "DELETE FROM a"], [True, "ROLLBACK"],
        [False, "UPDATE a SET x = 3"])]
    assert transactions_that_wrote(log) == (
        [("BEGIN IMMEDIATE", "INSERT INTO a VALUES (1)"), ("BEGIN", "DELETE FROM a")],
        ["UPDATE a SET x = 3"])


def _log_dir(tmp_path: Path, monkeypatch) -> Path:
    """An empty folder for the workers' logs (the test's database lives in ``tmp_path``)."""
    logs = tmp_path / "statements"
    logs.mkdir()
    monkeypatch.setenv(LOG_DIR, str(logs))
    return logs


def _race_and_read_the_logs(app, logs: Path, target: str):
    """Receipts into one item, issues racing for its last units and first receipts of a new lot,
    from 24 clients at once against ``target`` under gunicorn (4 processes × 4 threads), in
    rounds until two processes have written (the first round almost always does it), at most
    five. Answer the answers' statuses and, per log file, what ``transactions_that_wrote`` read."""
    for code, parent in (("GT", None), ("GT-XB", "GT")):
        factories.make_site(app, code, parent=parent)
    factories.make_catalog(app)
    headers = factories.token_for(app, factories.make_user(app, "keeper", sites=["GT-XB"]))
    factories.receive(factories.Api(app.test_client(), headers), quantity=10, lot="L")

    def receipt(lot):
        return lambda: post(base, headers, "/receipts", {
            "site": "GT-XB", "material": "WATER", "quantity": 1, "lot": lot})[0]

    def issue():
        return post(base, headers, "/issues", {
            "site": "GT-XB", "recipient": {"type": "household", "name": "受灾户"},
            "lines": [{"material": "WATER", "quantity": 1}]})[0]

    def read_logs():
        return {path.name: transactions_that_wrote(path.read_text(encoding="utf-8").splitlines())
                for path in logs.iterdir()}

    statuses = Counter()
    with gunicorn(app, target=target) as (base, _master):
        for round_ in range(5):
            statuses.update(race([receipt("L")] * 8 + [issue] * 12 + [receipt(f"NEW{round_}")] * 4))
            if len({name.split("-")[0] for name, (wrote, _) in read_logs().items() if wrote}) >= 2:
                break
    return statuses, round_ + 1, read_logs()


def test_every_write_transaction_of_racing_workers_began_immediate(sqlite_app, tmp_path, monkeypatch):
    """Every transaction that wrote was opened by BEGIN IMMEDIATE, no write ran before its BEGIN,
    and writes came from more than one process."""
    statuses, rounds, logs = _race_and_read_the_logs(
        sqlite_app, _log_dir(tmp_path, monkeypatch), "tests.stock.test_sqlite_begin:app_with_statement_log()")

    not_immediate = [(name, opener, write[:100]) for name, (wrote, _) in logs.items()
                     for opener, write in wrote if opener != "BEGIN IMMEDIATE"]
    assert not_immediate == [], "write transactions opened otherwise than by BEGIN IMMEDIATE"
    outside = [(name, write[:100]) for name, (_, autocommitted) in logs.items() for write in autocommitted]
    assert outside == [], "writes run outside any transaction, before any BEGIN"
    assert len({name.split("-")[0] for name, (wrote, _) in logs.items() if wrote}) >= 2, \
        "the writes came from more than one process"
    assert set(statuses) <= {201, 409} and statuses[201] >= 12 * rounds, statuses
    write_transactions = sum(len(wrote) for wrote, _ in logs.values())
    assert write_transactions >= statuses[201], "every document written was seen in the log"


def test_the_log_shows_write_transactions_opened_by_a_plain_begin(sqlite_app, tmp_path, monkeypatch):
    """The known-bad variant, to show the test above can fail: with the begin hook issuing a
    deferred BEGIN, the same races leave write transactions that the log says BEGIN opened."""
    _statuses, _rounds, logs = _race_and_read_the_logs(
        sqlite_app, _log_dir(tmp_path, monkeypatch), "tests.stock.test_sqlite_begin:app_with_plain_begin()")

    openers = Counter(opener for wrote, _ in logs.values() for opener, _write in wrote)
    assert openers["BEGIN"] >= 12 and "BEGIN IMMEDIATE" not in openers, openers
