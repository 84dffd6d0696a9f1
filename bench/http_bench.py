"""HTTP benchmarks through gunicorn as in production, load from a separate process
(bench/load.py), app and baseline interleaved over several rounds, medians reported:

- PB4  scan lookup `GET /api/v1/stock/<label>` p99 ÷ authenticated `GET /api/v1/me` p99
- PB4-PD  the count page's blind lookup `GET /stocktakes/<id>/lookup/<label>` (logged in through
  the login form) p99 ÷ the same /me p99: a scan while counting stays within PB4's gate
- PB9  stock page (HTML) p99 ÷ the same 50 rows as JSON p99
- PB1/PB3  issues per second through the API ÷ the same statements as raw-driver transactions
  (PB1 on PostgreSQL, PB3 on SQLite; 8 clients, each on its own site and item)
- PB2  the same with all 8 clients on one item (PostgreSQL)
- PB7  issue p99 with a long ledger (province: 5M movements) ÷ with a short one (measure_history)

Usage: python bench/http_bench.py [SCALE] [ROUNDS] [SECONDS] [DATABASE_URL]
"""

import datetime as dt
import itertools
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from inventory import clock, create_app  # noqa: E402
from inventory.auth.access import COMMAND_LINE  # noqa: E402
from inventory.auth.models import User  # noqa: E402
from inventory.auth.services import _digest, issue_token  # noqa: E402
from inventory.db import db  # noqa: E402
from inventory.seed.synthetic import PASSWORD, load  # noqa: E402
from inventory.stock.models import IdempotencyRecord, Movement, StockItem  # noqa: E402
from inventory.stock.queries import ledger_drift  # noqa: E402
from inventory.stock.services import receive  # noqa: E402
from inventory.stocktakes.models import quarter_of  # noqa: E402
from inventory.stocktakes.services import open_stocktake  # noqa: E402

CLIENTS = 8
WORKERS, THREADS = 4, 4
TARGETS = {"PB7": (1.3, 1.1), "PB4": (3.0, 2.0), "PB4-PD": (3.0, 2.0), "PB9": (2.0, 1.5),
           "PB1": (0.20, 0.35), "PB2": (0.50, 0.70), "PB3": (0.30, 0.50)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(scale: str):
    """Synthetic data, 8 keepers with tokens, each with an item of their own stocked for a run."""
    upgrade()
    load(scale)
    users = db.session.scalars(sa.select(User).order_by(User.id).limit(CLIENTS)).all()
    clients = []
    for number, user in enumerate(users):
        town = user.sites[0]
        material = f"SY-M{number + 1:03d}"
        receipt = receive(actor=COMMAND_LINE, data={"site": town.code, "material": material,
                                                    "quantity": 1_000_000, "lot": f"BENCH-{number}"})
        item = db.session.scalar(sa.select(StockItem).where(
            StockItem.site_id == town.id, StockItem.lot == f"BENCH-{number}"))
        token, _record = issue_token(user=user, days=1)
        scans = db.session.scalars(sa.select(StockItem.label).where(
            StockItem.site_id == town.id).limit(10)).all()
        clients.append({"username": user.username, "token": token, "site": town.code,
                        "label": item.label, "scans": scans or [item.label]})
        del receipt
    # A count in progress at each client's town, for the count page's lookup (PB4-PD).
    counts = {}
    for client in clients:
        if client["site"] not in counts:
            counts[client["site"]] = open_stocktake(actor=COMMAND_LINE, data={
                "site": client["site"], "period": quarter_of(clock.today())}).id
        client["stocktake"] = counts[client["site"]]
    return clients


def _plan(base, clients, make, seconds, warmup=1):
    return {"base": base, "seconds": seconds, "warmup": warmup,
            "threads": [make(client) for client in clients]}


def _load(plan) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(plan, f)
    try:
        output = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), f.name],
                                capture_output=True, text=True, check=True, timeout=600).stdout
    finally:
        os.unlink(f.name)
    return json.loads(output)


def _bearer(client):
    return {"Authorization": f"Bearer {client['token']}"}


def _issue_request(client, label):
    """An issue of one unit, each under an Idempotency-Key of its own, as a phone would send it."""
    key = f"bench-{client['username']}-{uuid.uuid4().hex[:8]}-{{sequence}}"
    return {"method": "POST", "path": "/api/v1/issues",
            "headers": {**_bearer(client), "Idempotency-Key": key},
            "json": {"site": client["site"], "recipient": {"type": "person", "name": "压测"},
                     "lines": [{"label": label, "quantity": 1}]}}


class RawIssues:
    """The statements an issue sends, as transactions through the raw driver."""

    def __init__(self, url: str, dialect: str):
        self.url, self.dialect = url, dialect

    def connect(self):
        if self.dialect == "sqlite":
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None,
                                         check_same_thread=False)
            for pragma in ("journal_mode=WAL", "busy_timeout=15000", "foreign_keys=ON",
                           "synchronous=FULL"):
                connection.execute(f"PRAGMA {pragma}")
            return connection
        return psycopg.connect(sa.make_url(self.url).set(drivername="postgresql")
                               .render_as_string(hide_password=False), autocommit=True)

    def one(self, connection, client, label, key):
        p = "?" if self.dialect == "sqlite" else "%s"
        cursor = connection.cursor()
        now = dt.datetime.now(dt.UTC)
        stamp = now if self.dialect == "postgresql" else now.strftime("%Y-%m-%d %H:%M:%S.%f")
        cursor.execute("BEGIN")
        cursor.execute(f"SELECT u.id, u.username, u.role, u.active, s.id, s.code, s.path "
                       f"FROM users u JOIN api_tokens t ON t.user_id = u.id "
                       f"LEFT JOIN user_sites us ON us.user_id = u.id "
                       f"LEFT JOIN sites s ON s.id = us.site_id "
                       f"WHERE t.digest = {p} AND t.expires_at > {p} AND u.active ORDER BY s.code",
                       (_digest(client["token"]), stamp))
        user_id = cursor.fetchall()[0][0]
        cursor.execute("COMMIT")
        cursor.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        cursor.execute(f"SELECT fingerprint, status, body FROM idempotency_records "
                       f"WHERE user_id = {p} AND key = {p}", (user_id, key))
        cursor.fetchone()
        cursor.execute(f"INSERT INTO idempotency_records (user_id, key, fingerprint, status, body, "
                       f"created_at) VALUES ({p}, {p}, 'x', 0, '', {p}) RETURNING id",
                       (user_id, key, stamp))
        record_id = cursor.fetchone()[0]
        cursor.execute(f"SELECT id, code, path FROM sites WHERE code = {p}", (client["site"],))
        site_id = cursor.fetchone()[0]
        cursor.execute(f"SELECT i.id, i.site_id, i.material_id, m.returnable FROM stock_items i "
                       f"JOIN materials m ON m.id = i.material_id WHERE i.label = {p}", (label,))
        item_id = cursor.fetchone()[0]
        lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
        cursor.execute(f"SELECT id, quantity, status, moved_to_id FROM stock_items WHERE id IN ({p}) "
                       f"ORDER BY id{lock}", (item_id,))
        cursor.fetchall()
        year = dt.date.today().year
        cursor.execute(f"UPDATE document_counters SET last = last + 1 WHERE prefix = 'FF' AND "
                       f"year = {p} RETURNING last", (year,))
        number = f"FF-{year}-R{cursor.fetchone()[0]:06d}"
        cursor.execute(f"UPDATE stock_items SET quantity = quantity - 1, status = "
                       f"coalesce({p}, status) WHERE id = {p} AND quantity - 1 >= 0 "
                       f"RETURNING quantity, status", (None, item_id))
        balance, status = cursor.fetchone()
        cursor.execute(f"INSERT INTO movements (at, kind, item_id, site_id, material_id, quantity, "
                       f"balance_after, status_after, document, note, user_id) SELECT {p}, "
                       f"'issue', id, site_id, material_id, -1, {p}, {p}, {p}, '压测', {p} "
                       f"FROM stock_items WHERE id = {p} RETURNING id",
                       (stamp, balance, status, number, user_id, item_id))
        cursor.fetchone()
        cursor.execute(f"INSERT INTO issues (number, site_id, recipient_type, recipient_name, "
                       f"recipient_contact, recipient_id_number, purpose, user_id, created_at) "
                       f"VALUES ({p}, {p}, 'person', '压测', '', '', '', {p}, {p}) RETURNING id",
                       (number, site_id, user_id, stamp))
        issue_id = cursor.fetchone()[0]
        cursor.execute(f"INSERT INTO issue_lines (issue_id, item_id, quantity, is_loan, returned, "
                       f"damaged, lost) VALUES ({p}, {p}, 1, false, 0, 0, 0) RETURNING id",
                       (issue_id, item_id))
        cursor.fetchone()
        cursor.execute(f"UPDATE idempotency_records SET status = 201, body = {p} WHERE id = {p}",
                       (json.dumps({"number": number}), record_id))
        cursor.execute("COMMIT")

    def rate(self, clients, labels, seconds) -> float:
        done, lock, keys, run = [0], threading.Lock(), itertools.count(), uuid.uuid4().hex[:8]
        barrier = threading.Barrier(len(clients))

        def worker(client, label):
            connection = self.connect()
            barrier.wait()
            stop, count = time.perf_counter() + seconds, 0
            while time.perf_counter() < stop:
                self.one(connection, client, label, f"raw-{run}-{next(keys)}")
                count += 1
            connection.close()
            with lock:
                done[0] += count

        threads = [threading.Thread(target=worker, args=pair) for pair in zip(clients, labels,
                                                                              strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return done[0] / seconds


def _row(ident, what, app, baseline, unit, ratio, correct, scale, dialect):
    gate, stretch = TARGETS[ident]
    return {"id": ident, "what": what, "app": round(app, 2), "baseline": round(baseline, 2),
            "unit": unit, "ratio": round(ratio, 2), "gate": gate, "stretch": stretch,
            "correct": correct, "scale": scale, "db": dialect}


class Served:
    """A database at some scale, prepared for the load, and the app serving it under gunicorn."""

    def __init__(self, scale: str, url: str | None = None):
        self.scale, self.url = scale, url
        self.clean = False

    def __enter__(self):
        self._instance = tempfile.TemporaryDirectory()
        instance = self._instance.name
        self.url = self.url or f"sqlite:///{instance}/bench.db"
        self.app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                               "SQLALCHEMY_DATABASE_URI": self.url})
        with self.app.app_context():
            self.clients = _prepare(self.scale)
            self.dialect = db.engine.dialect.name
            db.engine.dispose()
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
             "--workers", str(WORKERS), "--threads", str(THREADS), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "wsgi:app"], cwd=ROOT,
            env={**os.environ, "DATABASE_URL": self.url, "INSTANCE_PATH": instance,
                 "SECRET_KEY": "bench"})
        for _ in range(150):
            try:
                requests.get(f"{self.base}/api/v1/openapi.json", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.server.terminate()
        self.server.wait(timeout=30)
        with self.app.app_context():
            self.clean = _consistent()
            db.engine.dispose()
        self._instance.cleanup()


def _consistent() -> bool:
    """QUALITY.md §4.4 after a run: the ledger agrees with every balance (and none is negative,
    which the schema refuses), each benchmark issue has exactly one idempotency key and the key
    its one movement, and SQLite's own integrity check passes."""
    keys = db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord).where(
        sa.or_(IdempotencyRecord.key.like("bench-%"), IdempotencyRecord.key.like("raw-%")),
        IdempotencyRecord.status == 201))
    unanswered = db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)
                                   .where(IdempotencyRecord.status != 201))
    issued = db.session.scalar(sa.select(sa.func.count()).select_from(Movement).where(
        Movement.kind == "issue", Movement.note == "压测"))
    intact = (db.engine.dialect.name != "sqlite"
              or db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok")
    return ledger_drift() == [] and keys == issued and unanswered == 0 and intact


def measure(scale: str, rounds: int, seconds: float, url: str | None = None) -> list[dict]:
    """PB4, PB9 and the issue benchmarks on one database."""
    with Served(scale, url) as served:
        results = _run_all(served.base, served.clients, rounds, seconds, served.url,
                           served.dialect, scale)
    for result in results:
        result["correct"] = result["correct"] and served.clean
    return results


def _issue_plan(served, seconds, clients=CLIENTS):
    return {"base": served.base, "seconds": seconds, "warmup": 1, "threads": [
        [_issue_request(client, client["label"])] for client in served.clients[:clients]]}


# Latency, not throughput: two clients, so the figure is the issue's own cost rather than the
# time spent queueing behind other writers.
HISTORY_CLIENTS = 2


def measure_history(small: str, big: str, rounds: int, seconds: float,
                    small_url: str | None = None, big_url: str | None = None) -> dict:
    """PB7: p99 issue latency with a long ledger ÷ with a short one, rounds interleaved."""
    with Served(big, big_url) as long_ledger, Served(small, small_url) as short_ledger:
        pairs, good = [], True
        for _round in range(rounds):
            a = _load(_issue_plan(long_ledger, seconds, HISTORY_CLIENTS))
            b = _load(_issue_plan(short_ledger, seconds, HISTORY_CLIENTS))
            pairs.append((a["p99"], b["p99"]))
            good = good and set(a["statuses"]) == {"201"} and set(b["statuses"]) == {"201"}
    ratio, long_p99, short_p99 = _median_ratio(pairs)
    row = _row("PB7", f"issue p99, {big} ledger ÷ {small} ledger", long_p99, short_p99, "ms",
               ratio, good and long_ledger.clean and short_ledger.clean, f"{big}/{small}",
               long_ledger.dialect)
    return row


def _median_ratio(pairs):
    return statistics.median(a / b for a, b in pairs), statistics.median(a for a, _ in pairs), \
        statistics.median(b for _, b in pairs)


def _logged_in_cookie(base: str, username: str) -> str:
    """The session cookie of a browser that logged in through the login form (CSRF token and
    all); the load then sends it without following redirects, so a lost login shows as 302."""
    session = requests.Session()
    form = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', form)
    answer = session.post(f"{base}/login", allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 302, f"login failed: {answer.status_code}"
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def _run_all(base, clients, rounds, seconds, url, dialect, scale):
    cookie = _logged_in_cookie(base, clients[0]["username"])
    results, ok = [], lambda run: set(run["statuses"]) <= {"200", "201"}

    scans, good = [], True
    for _round in range(rounds):
        a = _load(_plan(base, clients, lambda c: [{"method": "GET", "path": f"/api/v1/stock/{label}",
                                                   "headers": _bearer(c)} for label in c["scans"]],
                        seconds))
        b = _load(_plan(base, clients, lambda c: [{"method": "GET", "path": "/api/v1/me",
                                                   "headers": _bearer(c)}], seconds))
        scans.append((a["p99"], b["p99"]))
        good = good and ok(a) and ok(b)
    ratio, app_p99, base_p99 = _median_ratio(scans)
    results.append(_row("PB4", "scan lookup p99 ÷ authenticated /me p99", app_p99, base_p99, "ms",
                        ratio, good, scale, dialect))

    # The count page's lookup, as a phone counting sends it: the first keeper's session cookie
    # on all eight clients, each scanning the labels of that keeper's town.
    counter = clients[0]
    lookups, good = [], True
    for _round in range(rounds):
        a = _load(_plan(base, [counter] * CLIENTS, lambda c: [{
            "method": "GET", "path": f"/stocktakes/{c['stocktake']}/lookup/{label}",
            "headers": {"Cookie": cookie}} for label in c["scans"]], seconds))
        b = _load(_plan(base, clients, lambda c: [{"method": "GET", "path": "/api/v1/me",
                                                   "headers": _bearer(c)}], seconds))
        lookups.append((a["p99"], b["p99"]))
        good = good and set(a["statuses"]) == {"200"} and ok(b)
    ratio, app_p99, base_p99 = _median_ratio(lookups)
    results.append(_row("PB4-PD", "count page lookup p99 ÷ authenticated /me p99", app_p99,
                        base_p99, "ms", ratio, good, scale, dialect))

    pages, good = [], True
    site = clients[0]["site"]
    for _round in range(rounds):
        a = _load(_plan(base, clients[:1] * CLIENTS, lambda c: [{
            "method": "GET", "path": f"/stock/?site={site}", "headers": {"Cookie": cookie}}], seconds))
        b = _load(_plan(base, clients[:1] * CLIENTS, lambda c: [{
            "method": "GET", "path": f"/api/v1/stock?site={site}&per_page=50",
            "headers": _bearer(c)}], seconds))
        pages.append((a["p99"], b["p99"]))
        good = good and ok(a) and ok(b)
    ratio, app_p99, base_p99 = _median_ratio(pages)
    results.append(_row("PB9", "stock page HTML p99 ÷ same rows as JSON p99", app_p99, base_p99,
                        "ms", ratio, good, scale, dialect))

    raw = RawIssues(url, dialect)
    # Uncontended: each client issues from its own site and item. Contended: all eight are the
    # first keeper, issuing from the same item at the same site.
    cases = [("PB3" if dialect == "sqlite" else "PB1", clients)]
    if dialect == "postgresql":
        cases.append(("PB2", [clients[0]] * CLIENTS))
    for ident, issuers in cases:
        labels = [client["label"] for client in issuers]
        pairs, good = [], True
        for _round in range(rounds):
            a = _load({"base": base, "seconds": seconds, "warmup": 1, "threads": [
                [_issue_request(client, client["label"])] for client in issuers]})
            b = raw.rate(issuers, labels, seconds)
            pairs.append((a["rate"], b))
            good = good and ok(a)
        ratio, app_rate, raw_rate = _median_ratio(pairs)
        what = ("issues/s, 8 clients on one item" if ident == "PB2"
                else "issues/s, 8 clients on their own items")
        results.append(_row(ident, what + " (app ÷ raw transactions)", app_rate, raw_rate, "/s",
                            ratio, good, scale, dialect))
    return results


def main() -> None:
    scale = sys.argv[1] if len(sys.argv) > 1 else "county"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    for row in measure(scale, rounds, seconds, sys.argv[4] if len(sys.argv) > 4 else None):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
