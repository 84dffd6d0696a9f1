"""Label guessing: whoever keeps asking for labels that do not exist, or that they may not see,
is refused with 429 for a while (QUALITY.md S13).

An extension of the app (``extensions.label_guessing``), used wherever a label is looked up on
someone's behalf: the scan pages, the item pages and the API alike.

Labels carry 80 random bits, so guessing cannot work; the limit makes trying visible and slow.
Misses are counted in a small SQLite file of the instance directory that every worker of the
machine opens, so N workers share one count (not N limits). Not in the app's database: looking
a label up is a GET, and GETs never write it (R5); the counter's own file takes no lock that a
reader or the ledger waits for. App servers on several machines each count their own.
"""

import os
import sqlite3
import threading
import time
from pathlib import Path

from flask import current_app

from inventory.errors import Forbidden, NotFound, TooManyAttempts

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS misses (user_id INTEGER NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS misses_by_user ON misses (user_id, at)",
    "CREATE INDEX IF NOT EXISTS misses_by_time ON misses (at)",
)


def _write_ahead(connection: sqlite3.Connection, *, attempts: int = 250) -> None:
    """Put the file in WAL mode, once for all: every later connection finds it so. Switching
    needs the file to itself and answers "database is locked" at once, without waiting out the
    busy timeout, so workers starting together (the first phones of a shift) take turns here."""
    for attempt in range(attempts):
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02)


class MissCounter:
    """Misses per user over a sliding window, shared by every process that opens ``path``."""

    def __init__(self, path: Path, limit: int, window_s: float):
        self.path, self.limit, self.window_s = Path(path), limit, window_s
        self._local = threading.local()  # a connection per thread (and per process: forks)

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Who guessed what is nobody else's business: the file is the server user's alone.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None,
                                         check_same_thread=False)
            _write_ahead(connection)
            for statement in _SCHEMA:
                connection.execute(statement)
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def misses(self, user_id: int) -> int:
        """How many misses ``user_id`` made within the window."""
        since = time.time() - self.window_s
        return self._connection().execute(
            "SELECT count(*) FROM misses WHERE user_id = ? AND at > ?", (user_id, since)).fetchone()[0]

    def too_many(self, user_id: int) -> bool:
        return self.misses(user_id) >= self.limit

    def count(self, user_id: int) -> None:
        now = time.time()
        connection = self._connection()
        with connection:  # one transaction: the old rows go as the new one comes
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("DELETE FROM misses WHERE at <= ?", (now - self.window_s,))
            connection.execute("INSERT INTO misses (user_id, at) VALUES (?, ?)", (user_id, now))


class LabelGuessing:
    """The extension: one miss counter per app, from LABEL_MISSES_PER_USER per
    LABEL_MISS_WINDOW_MINUTES, kept in LABEL_MISS_FILE."""

    def init_app(self, app) -> None:
        app.extensions["label_misses"] = MissCounter(app.config["LABEL_MISS_FILE"],
                                                     app.config["LABEL_MISSES_PER_USER"],
                                                     app.config["LABEL_MISS_WINDOW_MINUTES"] * 60)

    def look_up(self, user, lookup):
        """``lookup()`` of a label on behalf of ``user``: a NotFound or Forbidden counts as a miss,
        and a user with too many recent misses is refused before anything is looked up."""
        misses: MissCounter = current_app.extensions["label_misses"]
        if misses.too_many(user.id):
            current_app.logger.warning("label guessing: user %s refused after %d misses",
                                       user.username, misses.limit)
            raise TooManyAttempts()
        try:
            return lookup()
        except (NotFound, Forbidden):
            misses.count(user.id)
            raise
