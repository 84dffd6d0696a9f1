"""Synthetic data at county and province scale, for benchmarks (DESIGN.md §5).

Bulk inserts, not services: a province is 20,000 sites, 500,000 items and 5,000,000 movements, and
must load in minutes. The rows are still what the ledger would have written — every item's
movements add up to its quantity, balances never go below zero, each movement carries its
balance after — so `flask check ledger` passes on the result.
"""

import datetime as dt
import random
from dataclasses import dataclass

import sqlalchemy as sa

from inventory import clock
from inventory.auth.models import User, user_sites
from inventory.auth.services import hash_password
from inventory.db import db
from inventory.labels.codes import new_label
from inventory.sites.models import Site


@dataclass(frozen=True)
class Scale:
    counties: int
    towns: int           # per county
    villages: int        # per county
    agreement_sites: int  # per county
    materials: int
    items: int
    movements: int
    users: int


SCALES = {
    "tiny": Scale(1, 3, 6, 1, 12, 200, 1_000, 6),
    "county": Scale(1, 9, 140, 10, 80, 10_000, 100_000, 20),
    "province": Scale(86, 15, 200, 16, 300, 500_000, 5_000_000, 100),
}
CHUNK = 20_000
# Synthetic users share one known password so benchmarks can log in; never used for real data.
PASSWORD = "synthetic-password"  # noqa: S105 (benchmark accounts only)


def _insert(table, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[start:start + CHUNK])


def _sites(scale: Scale, rng: random.Random) -> list[dict]:
    rows, next_id = [], 1

    def add(kind, parent, name, population):
        nonlocal next_id
        site_id, next_id = next_id, next_id + 1
        path = f"{parent['path'] if parent else '/'}{site_id}/"
        planning = {"county_depot": 5000, "town_store": max(100, population // 100),
                    "village_point": max(30, population * 5 // 100)}.get(kind, 0)
        row = {"id": site_id, "code": f"SY-{site_id:05d}", "name": name, "kind": kind,
               "parent_id": parent["id"] if parent else None, "path": path,
               "population": population or None, "planning_population": planning,
               "latitude": 36 + rng.random() * 6, "longitude": 96 + rng.random() * 10,
               "address": "", "keeper_name": "", "keeper_phone": "", "active": True,
               "created_at": clock.now()}
        rows.append(row)
        return row

    for county in range(scale.counties):
        depot = add("county_depot", None, f"第{county + 1}县救灾物资储备库", 150_000)
        towns = [add("town_store", depot, f"{county + 1}县{t + 1}镇储备室", rng.randint(5_000, 30_000))
                 for t in range(scale.towns)]
        for v in range(scale.villages):
            add("village_point", towns[v % len(towns)], f"{county + 1}县{v + 1}村储备点",
                rng.randint(400, 3_000))
        for a in range(scale.agreement_sites):
            add("agreement_site", towns[a % len(towns)], f"{county + 1}县代储点{a + 1}", 0)
    return rows


def _movements_for(item_id, site_id, material_id, count, rng, at):
    """A history that never goes below zero: a first receipt, then issues and top-ups."""
    rows, balance = [], 0
    for step in range(count):
        if step == 0:
            delta, kind = rng.randint(50, 500), "receipt"
        elif balance and rng.random() < 0.6:
            delta, kind = -rng.randint(1, max(1, balance // 4)), "issue"
        else:
            delta, kind = rng.randint(1, 60), "receipt"
        balance += delta
        rows.append((at + dt.timedelta(minutes=step), kind, item_id, site_id, material_id, delta,
                     balance, "available", ""))
    return rows, balance


def load(scale_name: str, *, seed: int = 7) -> dict[str, int]:
    """Fill an empty database at the named scale; return what was made."""
    scale, rng = SCALES[scale_name], random.Random(seed)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Site)):
        raise ValueError("the database is not empty")
    tables = db.metadata.tables
    _insert(tables["categories"], [{"id": 1, "code": "SY", "name": "合成类别"}])
    _insert(tables["materials"], [{
        "id": m, "code": f"SY-M{m:03d}", "name": f"物资{m}", "name_en": "", "category_id": 1,
        "unit": "件", "spec": "", "tracking": "lot", "returnable": m % 5 == 0,
        "shelf_life_days": 365 if m % 3 == 0 else None, "needs_testing": False, "active": True}
        for m in range(1, scale.materials + 1)])
    sites = _sites(scale, rng)
    _insert(tables["sites"], sites)
    holders = [s for s in sites if s["kind"] != "agreement_site"] or sites
    today = clock.today()
    items, per_item = [], max(1, scale.movements // scale.items)
    for item_id in range(1, scale.items + 1):
        site = holders[item_id % len(holders)]
        material = rng.randint(1, scale.materials)
        expiry = today + dt.timedelta(days=rng.randint(-30, 900)) if material % 3 == 0 else None
        items.append({"id": item_id, "label": new_label(), "site_id": site["id"],
                      "material_id": material, "lot": f"L{item_id}", "merge_key": f"L{item_id}||bureau",
                      "expiry_date": expiry, "quantity": 0, "status": "available", "donor": "",
                      "owner": "bureau", "received_at": clock.now()})
    started = clock.now() - dt.timedelta(days=365)
    movements, total = [], 0
    for item in items:
        rows, balance = _movements_for(item["id"], item["site_id"], item["material_id"], per_item,
                                       rng, started)
        item["quantity"] = balance
        movements.extend(rows)
        total += len(rows)
    _insert(tables["stock_items"], items)
    _copy_movements(movements)
    password_hash = hash_password(PASSWORD)
    users = [{"id": n, "username": f"sy-user{n:03d}", "display_name": "", "role": "keeper",
              "password_hash": password_hash, "active": True,
              "created_at": clock.now()} for n in range(1, scale.users + 1)]
    _insert(User.__table__, users)
    towns = [s for s in sites if s["kind"] == "town_store"]
    _insert(user_sites, [{"user_id": u["id"], "site_id": towns[i % len(towns)]["id"]}
                         for i, u in enumerate(users)])
    _reset_sequences()
    db.session.commit()
    return {"sites": len(sites), "materials": scale.materials, "items": len(items),
            "movements": total, "users": len(users)}


COLUMNS = ("at", "kind", "item_id", "site_id", "material_id", "quantity", "balance_after",
           "status_after", "note")
INSERT_MOVEMENTS = "INSERT INTO movements (%s) VALUES (%s)" % (  # noqa: S608,UP031 (fixed names)
    ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS)))


def _copy_movements(rows) -> None:
    """Movements in bulk: COPY on PostgreSQL, executemany on SQLite."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY movements ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(
        INSERT_MOVEMENTS,
        [(at.strftime("%Y-%m-%d %H:%M:%S.%f"), *rest) for at, *rest in rows])


def _reset_sequences() -> None:
    """After explicit ids, PostgreSQL's sequences must continue after the largest one."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in ("categories", "materials", "sites", "stock_items", "movements", "users"):
        table = db.metadata.tables[name]
        db.session.execute(sa.select(sa.func.setval(
            sa.func.pg_get_serial_sequence(name, "id"),
            sa.func.coalesce(sa.select(sa.func.max(table.c.id)).scalar_subquery(), 1))))

