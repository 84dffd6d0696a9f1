"""The declarative base, the session, and the one helper that owns a write transaction."""

import datetime as dt
import functools
import os
import random
import sqlite3
import threading
import time
import weakref
from contextlib import nullcontext, suppress
from contextvars import ContextVar

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# Objects keep their loaded state when a transaction ends: a unit of work starts by ending the
# read transaction the request began (loading the user), and reloading that user and everything
# else from scratch in every write would double the statements of a stock operation.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# PostgreSQL: serialization_failure and deadlock_detected abort the whole transaction; rerun it.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
MAX_ATTEMPTS = 5

_unit_depth: ContextVar[int] = ContextVar("unit_depth", default=0)
_write_unit: ContextVar[bool] = ContextVar("write_unit", default=False)


class _WriterQueue:
    """SQLite: the write units of one process waiting their turn (see configure_engine)."""

    def __init__(self, timeout_s: float):
        self.lock, self.timeout_s = threading.Lock(), timeout_s

    def __enter__(self):
        if not self.lock.acquire(timeout=self.timeout_s):
            # The same answer as SQLite's own lock wait running out: 503 with Retry-After.
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None,
                                          sqlite3.OperationalError("database is locked"))

    def __exit__(self, *exc):
        self.lock.release()


_sqlite_writers: "weakref.WeakKeyDictionary[sa.Engine, _WriterQueue]" = weakref.WeakKeyDictionary()


def configure_engine(engine: sa.Engine, *, busy_timeout_ms: int) -> None:
    """Give SQLite its durability profile and let write units begin with BEGIN IMMEDIATE.

    A writer waits up to ``busy_timeout_ms`` for its turn in its process and as long again for
    the database's write lock; past either the request answers 503 with Retry-After (errors.py),
    never "database is locked" as a 500.

    How a writer waits matters as much as how long. SQLite's own busy handler sleeps in steps
    that grow to 100 ms, so under a queue of writers most of the wait was spent asleep after the
    lock had come free (issue p99 0.85 s at 16 writers, bench/README). Instead, the writers of
    one process queue on a Python lock, which hands over at once, and the one at the head asks
    SQLite for the write lock every millisecond or so.
    """
    if engine.dialect.name != "sqlite":
        return
    _create_private_file(engine.url)
    _sqlite_writers[engine] = _WriterQueue(busy_timeout_ms / 1000)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite so that BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A write unit takes the write lock up front, so it never fails half way on "database is
        # locked" when it upgrades a read lock; reads stay deferred and never block writers.
        if _write_unit.get():
            _begin_immediate(connection, busy_timeout_ms)
        else:
            connection.exec_driver_sql("BEGIN")


def _create_private_file(url: sa.URL) -> None:
    """Make the SQLite file, empty, readable by its owner alone (0600), unless it exists.

    It holds password hashes and recipients' ID numbers; SQLite would create it 0644 (as the umask
    allows), and makes its -wal and -shm files with the mode of the database file, so they are
    0600 too. An empty file is an empty database to SQLite. O_EXCL: of workers starting at once,
    one creates it. A file that exists keeps its mode; a missing folder is SQLite's to report.
    """
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    with suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _begin_immediate(connection: sa.Connection, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, asking again every millisecond or so until ``busy_timeout_ms`` has passed."""
    driver_connection = connection.connection.driver_connection
    deadline = time.monotonic() + busy_timeout_ms / 1000
    driver_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as error:
                if "database is locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.0005, 0.0015))
    finally:
        driver_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def _is_retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class UnitOfWorkError(RuntimeError):
    """A change was made outside any unit of work: it would be committed by whichever unit ran
    next, as part of work it has nothing to do with."""


def _refuse_stray_changes(session) -> None:
    if session.new or session.dirty or session.deleted:
        stray = [type(obj).__name__ for obj in (*session.new, *session.dirty, *session.deleted)]
        raise UnitOfWorkError(f"changes made outside a unit of work: {', '.join(sorted(stray))}")


def _count_committed_unit() -> None:
    if has_request_context():
        g.committed_units = g.get("committed_units", 0) + 1


def init_app(app) -> None:
    """Hold every request to one unit of work: a second commit in one request means its work
    was split, and a failure between the two would leave half of it done."""

    @app.after_request
    def _one_unit_per_request(response):
        if (units := g.get("committed_units", 0)) > 1 and not g.get("several_units"):
            message = f"{request.method} {request.path} committed {units} units of work"
            app.logger.error(message)
            if app.testing:
                raise UnitOfWorkError(message)
        return response


def several_units() -> None:
    """Say that this request commits several units of work by design, each whole on its own:
    a sync applies each offline operation in its own transaction, so one that fails leaves the
    others applied (API.md "Working offline")."""
    if has_request_context():
        g.several_units = True


def run_in_transaction(work):
    """Run ``work()`` as one transaction: commit on success, roll back on any error.

    On PostgreSQL a serialization failure or deadlock reruns the whole unit, a bounded number of
    times. A unit started inside another joins it, so services compose into one transaction. A
    unit commits only what it made: it refuses to start on a session that already holds changes.
    """
    if _unit_depth.get():
        return work()
    _refuse_stray_changes(db.session)
    with _sqlite_writers.get(db.engine) or nullcontext():
        return _run_unit(work)


def _run_unit(work):
    session = db.session
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # End the read transaction that loading the user began, so the unit starts fresh (and,
        # on SQLite, with BEGIN IMMEDIATE). Nothing is pending, so this commit writes nothing;
        # after a failed attempt the rollback below has already expired what it touched.
        session.commit()
        depth_token = _unit_depth.set(1)
        write_token = _write_unit.set(True)
        try:
            result = work()
            session.commit()
            _count_committed_unit()
            return result
        except DBAPIError as error:
            session.rollback()
            if not _is_retryable(error) or attempt == MAX_ATTEMPTS:
                raise
        except BaseException:
            session.rollback()
            raise
        finally:
            _write_unit.reset(write_token)
            _unit_depth.reset(depth_token)
        time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def execute(statement, parameters=None) -> sa.CursorResult:
    """Run a Core statement on the session's connection, without the ORM's per-statement work.

    For the few statements every issue sends (counter, balance, idempotency key): through
    ``Session.execute`` an UPDATE cost ~0.57 ms of CPU on PostgreSQL, here ~0.19 ms, the raw
    driver ~0.10 ms (bench/README). No autoflush happens, so flush first if the statement
    depends on pending objects, and keep loaded objects in step (``set_committed_value``).
    """
    return db.session.connection().execute(statement, parameters)


def transactional(service):
    """Decorate a public service function so that it runs as one unit of work."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        return run_in_transaction(functools.partial(service, *args, **kwargs))

    return wrapper


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every engine (SQLite keeps no offset of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

