"""PB8: approving a 5,000-line stocktake (approval.approve: every line a variance, posted through
the ledger) against the same writes through the raw driver in one transaction — 5,000 UPDATE
stock_items, 5,000 INSERT movements and 5,000 UPDATE stocktake_lines by executemany, and the
stocktake's own row closed — rounds interleaved, medians reported.

Also printed beside it: what one count costs (services.record_count, the count page's work per
scan), in-process.

Each round counts a fresh stocktake of the same 5,000 items (bulk, two statements: every line a
count of ±1–3 against the books) for each side. Correctness (QUALITY.md §4.4): `check ledger`
clean after the run, one movement per line for every approval, the approval all or nothing (an
approval that would take three items below zero names all three and writes nothing), SQLite's
integrity check, and the approval under 30 s.

Usage: .venv/bin/python bench/stocktake_approval.py [LINES] [ROUNDS] [DATABASE_URL]
(default 5000 lines, 5 rounds, a fresh SQLite file). Target: ratio ≤ 5.0 (stretch 3.0).
"""

import datetime as dt
import gc
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from inventory import clock, create_app  # noqa: E402
from inventory.auth.access import COMMAND_LINE  # noqa: E402
from inventory.auth.models import User  # noqa: E402
from inventory.auth.services import create_user  # noqa: E402
from inventory.db import db, transactional  # noqa: E402
from inventory.errors import InsufficientStock, ValidationError  # noqa: E402
from inventory.labels.codes import new_label, normalize_label  # noqa: E402
from inventory.seed.synthetic import load  # noqa: E402
from inventory.stock import ledger  # noqa: E402
from inventory.stock.models import Movement, StockItem  # noqa: E402
from inventory.stock.queries import ledger_drift  # noqa: E402
from inventory.stocktakes import approval, services  # noqa: E402
from inventory.stocktakes.models import Stocktake, StocktakeLine, quarter_of  # noqa: E402

GATE, STRETCH, ABSOLUTE_S = 5.0, 3.0, 30.0
SITE = "PB8-STORE"
# Counts through the service, per round, to time one count (the rest are bulk).
COUNTS_TIMED = 100


def populate(lines: int) -> None:
    """The tiny synthetic county, and a store under its depot holding ``lines`` lot items of
    100 each, every one with its receipt (bulk, ledger-consistent)."""
    load("tiny")
    tables, now = db.metadata.tables, clock.now()
    depot = db.session.execute(sa.text("SELECT id, path FROM sites WHERE parent_id IS NULL "
                                       "ORDER BY id LIMIT 1")).one()
    site_id = db.session.scalar(sa.text("SELECT max(id) + 1 FROM sites"))
    db.session.execute(tables["sites"].insert(), [{
        "id": site_id, "code": SITE, "name": "盘点压测储备库", "kind": "town_store",
        "parent_id": depot.id, "path": f"{depot.path}{site_id}/", "population": 10_000,
        "planning_population": 100, "address": "", "keeper_name": "", "keeper_phone": "",
        "active": True, "created_at": now}])
    materials = db.session.scalars(sa.text("SELECT id FROM materials ORDER BY id")).all()
    first = db.session.scalar(sa.text("SELECT max(id) + 1 FROM stock_items"))
    items = [{"id": first + n, "label": new_label(), "site_id": site_id,
              "material_id": materials[n % len(materials)], "lot": f"PB8-{n}",
              "merge_key": f"PB8-{n}||bureau", "quantity": 100, "status": "available", "donor": "",
              "owner": "bureau", "received_at": now} for n in range(lines)]
    db.session.execute(tables["stock_items"].insert(), items)
    db.session.execute(tables["movements"].insert(), [{
        "at": now, "kind": "receipt", "item_id": item["id"], "site_id": site_id,
        "material_id": item["material_id"], "quantity": 100, "balance_after": 100,
        "status_after": "available", "note": ""} for item in items])
    if db.session.get_bind().dialect.name == "postgresql":
        for name in ("sites", "stock_items", "movements"):
            db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                       f"(SELECT max(id) FROM {name}))"))
    db.session.commit()
    for username in ("pb8-opener", "pb8-counter", "pb8-approver"):
        create_user(actor=COMMAND_LINE, username=username, role="manager", password="pb8-password")


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


@transactional
def _count_everything(stocktake_id: int, counter_id: int) -> None:
    """Every line counted ±1–3 against the books (bulk), with its count in the history."""
    db.session.execute(sa.text(
        "UPDATE stocktake_lines SET expected_at_count = snapshot, counted_by_id = :user, "
        "counted_at = :at, counted = snapshot + CASE WHEN id % 2 = 0 THEN 1 + id % 3 "
        "ELSE -(1 + id % 3) END WHERE stocktake_id = :stocktake"),
        {"user": counter_id, "at": clock.now(), "stocktake": stocktake_id})
    db.session.execute(sa.text(
        "INSERT INTO stocktake_counts (line_id, counted, user_id, at) SELECT id, counted, "
        "counted_by_id, counted_at FROM stocktake_lines WHERE stocktake_id = :stocktake"),
        {"stocktake": stocktake_id})


def _ready(lines: int) -> tuple[int, float]:
    """A stocktake of the store, counted and submitted; answer its id and one count's cost (s)."""
    db.session.remove()
    opener, counter = _user("pb8-opener"), _user("pb8-counter")
    stocktake = services.open_stocktake(actor=opener, data={"site": SITE,
                                                              "period": quarter_of(clock.today())})
    labels = db.session.scalars(sa.select(StockItem.label).join(
        StocktakeLine, StocktakeLine.item_id == StockItem.id)
        .where(StocktakeLine.stocktake_id == stocktake.id).order_by(StockItem.id)
        .limit(COUNTS_TIMED)).all()
    start = time.perf_counter()
    for label in labels:
        services.record_count(actor=counter, stocktake_id=stocktake.id,
                              data={"label": label, "counted": 100})
    count_seconds = (time.perf_counter() - start) / max(1, len(labels))
    _count_everything(stocktake.id, counter.id)
    services.submit(actor=counter, stocktake_id=stocktake.id)
    total = db.session.scalar(sa.select(sa.func.count()).where(StocktakeLine.stocktake_id == stocktake.id))
    assert total == lines, (total, lines)
    stocktake_id = stocktake.id
    db.session.remove()
    return stocktake_id, count_seconds


def _approve(stocktake_id: int) -> tuple[float, int]:
    """The app's approval, as a request would run it (a fresh session, the user loaded first)."""
    db.session.remove()
    approver = _user("pb8-approver")
    start = time.perf_counter()
    outcome = approval.approve(actor=approver, stocktake_id=stocktake_id, data={})
    seconds = time.perf_counter() - start
    posted = len(outcome.variances)
    db.session.remove()
    return seconds, posted


class RawApproval:
    """The same writes as an approval, through the driver in one transaction, by executemany."""

    def __init__(self, url: str, dialect: str):
        self.dialect = dialect
        if dialect == "sqlite":
            self.connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in ("journal_mode=WAL", "busy_timeout=15000", "foreign_keys=ON",
                           "synchronous=FULL"):
                self.connection.execute(f"PRAGMA {pragma}")
        else:
            self.connection = psycopg.connect(sa.make_url(url).set(drivername="postgresql")
                                              .render_as_string(hide_password=False), autocommit=True)
        self.p = "?" if dialect == "sqlite" else "%s"

    def close(self) -> None:
        self.connection.close()

    def _stamp(self, at: dt.datetime):
        return at if self.dialect == "postgresql" else at.strftime("%Y-%m-%d %H:%M:%S.%f")

    def prepare(self, stocktake_id: int, user_id: int):
        """The rows to write, read before the clock starts (the baseline times writes alone)."""
        cursor = self.connection.cursor()
        cursor.execute(f"SELECT s.number, l.id, i.id, i.site_id, i.material_id, i.quantity, "
                       f"i.status, l.counted, l.expected_at_count FROM stocktake_lines l "
                       f"JOIN stocktakes s ON s.id = l.stocktake_id "
                       f"JOIN stock_items i ON i.id = l.item_id WHERE l.stocktake_id = {self.p} "
                       f"ORDER BY i.id", (stocktake_id,))
        rows = cursor.fetchall()
        cursor.close()
        at, items, movements, lines = self._stamp(clock.now()), [], [], []
        for number, line_id, item_id, site_id, material_id, quantity, status, counted, books in rows:
            delta = counted - books
            after = quantity + delta
            items.append((after, status, item_id, quantity))
            movements.append((at, "stocktake", item_id, site_id, material_id, delta, after, status,
                              number, "count_correction", f"盘点 {number}：未说明", user_id, None,
                              None, None))
            lines.append((delta, "", line_id))
        return {"items": items, "movements": movements, "lines": lines,
                "close": (at, user_id, user_id, stocktake_id)}

    def run(self, work) -> float:
        p, cursor = self.p, self.connection.cursor()
        start = time.perf_counter()
        cursor.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        cursor.executemany(f"UPDATE stock_items SET quantity = {p}, status = {p} "
                           f"WHERE id = {p} AND quantity = {p}", work["items"])
        cursor.executemany(f"INSERT INTO movements (at, kind, item_id, site_id, material_id, "
                           f"quantity, balance_after, status_after, document, reason, note, "
                           f"user_id, credential, idempotency_key, reverses_id) VALUES "
                           f"({', '.join([p] * 15)})", work["movements"])
        cursor.executemany(f"UPDATE stocktake_lines SET delta = {p}, reason = {p} WHERE id = {p}",
                           work["lines"])
        cursor.execute(f"UPDATE stocktakes SET status = 'closed', closed_at = {p}, "
                       f"approved_by_id = {p}, witness_id = {p}, version = version + 1 "
                       f"WHERE id = {p} AND status = 'review'", work["close"])
        cursor.execute("COMMIT")
        seconds = time.perf_counter() - start
        cursor.close()
        return seconds


@transactional
def _empty(labels: list[str]) -> None:
    """Issue these items down to nothing through the ledger (stock that left after the count)."""
    for item in db.session.scalars(sa.select(StockItem).where(StockItem.label.in_(labels))):
        ledger.lock([item])
        ledger.change_quantity(item, -item.quantity, kind="issue", actor=COMMAND_LINE,
                               document="PB8-CHECK", note="PB8")


def _all_or_nothing(lines: int) -> bool:
    """Reasons for three labels the stocktake does not hold, then three shortages that can no
    longer be posted: each time one refusal naming all three, nothing written, the stocktake
    still in review (then cancelled)."""
    stocktake_id, _cost = _ready(lines)
    strangers = ["NOSUCHLABEL1", "NOSUCHLABEL2", "NOSUCHLABEL3"]
    try:
        approval.approve(actor=_user("pb8-approver"), stocktake_id=stocktake_id,
                         data={"reasons": dict.fromkeys(strangers, "?")})
        named_strangers = False
    except ValidationError as error:
        named_strangers = all(normalize_label(label) in error.details["reasons"] for label in strangers)
    db.session.remove()
    short = db.session.scalars(
        sa.select(StockItem.label).join(StocktakeLine, StocktakeLine.item_id == StockItem.id)
        .where(StocktakeLine.stocktake_id == stocktake_id,
               StocktakeLine.counted < StocktakeLine.expected_at_count)
        .order_by(StockItem.id).limit(3)).all()
    _empty(short)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Movement))
    try:
        _approve(stocktake_id)
        refused = None
    except InsufficientStock as error:
        refused = error
    after = db.session.scalar(sa.select(sa.func.count()).select_from(Movement))
    status = db.session.scalar(sa.select(Stocktake.status).where(Stocktake.id == stocktake_id))
    named = refused is not None and len(refused.details) == 3
    services.cancel(actor=_user("pb8-opener"), stocktake_id=stocktake_id)
    return named_strangers and named and before == after and status == "review"


def measure(lines: int, rounds: int, url: str | None = None) -> dict:
    """The result row of this benchmark (see bench/run.py)."""
    return _measure(lines, rounds, url)[0]


def _measure(lines: int, rounds: int, url: str | None) -> tuple[dict, float]:
    """The result row, and what one count cost (ms)."""
    with tempfile.TemporaryDirectory() as instance:
        url = url or f"sqlite:///{instance}/bench.db"
        app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            populate(lines)
            gc.freeze()  # as gunicorn.conf.py does in every worker
            dialect = db.engine.dialect.name
            raw = RawApproval(url, dialect)
            approver_id = _user("pb8-approver").id
            app_times, raw_times, count_times, good = [], [], [], True
            for _round in range(rounds):
                stocktake_id, count_seconds = _ready(lines)
                raw_times.append(raw.run(raw.prepare(stocktake_id, approver_id)))
                count_times.append(count_seconds)
                stocktake_id, count_seconds = _ready(lines)
                seconds, posted = _approve(stocktake_id)
                app_times.append(seconds)
                count_times.append(count_seconds)
                good = good and posted == lines and seconds < ABSOLUTE_S
            raw.close()
            good = good and _all_or_nothing(lines)
            good = good and ledger_drift() == []
            if dialect == "sqlite":
                good = good and db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            db.session.remove()
            db.engine.dispose()
    app_s, raw_s = statistics.median(app_times), statistics.median(raw_times)
    return {"id": "PB8", "what": f"stocktake approval, {lines:,} lines ÷ raw executemany",
            "app": round(app_s * 1000, 1), "baseline": round(raw_s * 1000, 1), "unit": "ms",
            "ratio": round(app_s / raw_s, 2), "gate": GATE, "stretch": STRETCH, "correct": good,
            "scale": f"{lines} lines", "db": dialect}, statistics.median(count_times) * 1000


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    result, count_ms = _measure(lines, rounds, sys.argv[3] if len(sys.argv) > 3 else None)
    print(f"PB8 {result['what']} ({result['db']}), median of {rounds}: app {result['app']} ms, "
          f"raw {result['baseline']} ms, ratio {result['ratio']} (gate ≤ {GATE}, stretch ≤ "
          f"{STRETCH}, under {ABSOLUTE_S:g} s), correct: {result['correct']}")
    print(f"  one count (services.record_count, in-process): {count_ms:.2f} ms")
    if not result["correct"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
