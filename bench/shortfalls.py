"""PB5: the shortfall report for 1,000 sites × 300 materials against one hand-written SQL query
computing the same rows through the raw driver, in the same run; results must be identical.

Usage: .venv/bin/python bench/shortfalls.py [SITES] [ROUNDS] [DATABASE_URL]
(default 1000 sites, 5 rounds, a fresh SQLite file; pass a postgresql+psycopg:// URL of an
empty database to measure PostgreSQL). Target: ratio ≤ 1.5.
"""

import datetime as dt
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from inventory import create_app  # noqa: E402
from inventory.auth.access import COMMAND_LINE  # noqa: E402
from inventory.db import db  # noqa: E402
from inventory.norms.queries import shortfalls  # noqa: E402

TARGET = 1.5
GATE = 3.0
MATERIALS, NORMS_PER_KIND, ITEMS_PER_SITE = 300, 20, 25

# The same rows, written by hand as one statement for the raw driver (CEIL spelled per engine).
RAW_SQL = """
WITH norm_sites AS (
  SELECT n.id AS norm_id, s.id AS site_id, n.count_agreement_sites AS with_agreements,
         CASE WHEN {ceil} > n.min_quantity THEN {ceil} ELSE n.min_quantity END AS required
  FROM norms n JOIN sites s ON s.kind = n.site_kind AND s.active
  WHERE n.hazard IS NULL OR EXISTS (SELECT 1 FROM site_hazards h
                                    WHERE h.site_id = s.id AND h.hazard = n.hazard)
), holders AS (
  SELECT norm_id, site_id, site_id AS holder_id FROM norm_sites
  UNION ALL
  SELECT ns.norm_id, ns.site_id, a.id FROM norm_sites ns
  JOIN sites a ON a.parent_id = ns.site_id AND a.kind = 'agreement_site' AND a.active
  JOIN agreements g ON g.site_id = a.id
  WHERE ns.with_agreements AND g.last_verified >= :fresh
), usable AS (
  SELECT h.norm_id, h.site_id, SUM(i.quantity) AS quantity FROM holders h
  JOIN norm_materials nm ON nm.norm_id = h.norm_id
  JOIN stock_items i ON i.site_id = h.holder_id AND i.material_id = nm.material_id
  WHERE i.status = 'available' AND i.quantity > 0
    AND (i.expiry_date IS NULL OR i.expiry_date >= :today)
  GROUP BY h.norm_id, h.site_id
)
SELECT s.code, n.id, n.name, ns.required, COALESCE(u.quantity, 0)
FROM norm_sites ns JOIN sites s ON s.id = ns.site_id JOIN norms n ON n.id = ns.norm_id
LEFT JOIN usable u ON u.norm_id = ns.norm_id AND u.site_id = ns.site_id
ORDER BY s.path, n.name, n.id
"""
CEIL = {"sqlite": "(CAST(round(n.per_person * s.planning_population, 6) AS INTEGER) + "
                  "(round(n.per_person * s.planning_population, 6) > "
                  "CAST(round(n.per_person * s.planning_population, 6) AS INTEGER)))",
        "postgresql": "CEIL(round(n.per_person * s.planning_population, 6))"}


def populate(sites: int) -> None:
    """A county-shaped tree of ``sites`` sites, 300 materials, norms and stock, inserted in bulk."""
    rng = random.Random(5)
    today = dt.date.today()
    db.session.execute(sa.text("INSERT INTO categories (id, code, name) VALUES (1, 'C', '类')"))
    db.session.execute(sa.text(
        "INSERT INTO materials (id, code, name, name_en, category_id, unit, spec, tracking, "
        "returnable, needs_testing, active) VALUES (:id, :code, :name, '', 1, '件', '', 'lot', "
        "false, false, true)"),
        [{"id": m, "code": f"M{m:03d}", "name": f"物资{m}"} for m in range(1, MATERIALS + 1)])
    towns = max(1, sites // 20)
    rows, hazards = [], []
    for n in range(1, sites + 1):
        if n == 1:
            kind, parent, path = "county_depot", None, "/1/"
        elif n <= towns + 1:
            kind, parent, path = "town_store", 1, f"/1/{n}/"
        else:
            town = 2 + n % towns
            kind = "agreement_site" if n % 10 == 0 else "village_point"
            parent, path = town, f"/1/{town}/{n}/"
        rows.append({"id": n, "code": f"S{n:05d}", "name": f"站点{n}", "kind": kind,
                     "parent_id": parent, "path": path, "planning_population": rng.randint(30, 900),
                     "active": True, "address": "", "keeper_name": "", "keeper_phone": ""})
        if n % 3 == 0:
            hazards.append({"site_id": n, "hazard": "three_outages"})
    db.session.execute(sa.text(
        "INSERT INTO sites (id, code, name, kind, parent_id, path, planning_population, active, "
        "address, keeper_name, keeper_phone, created_at) VALUES (:id, :code, :name, :kind, "
        ":parent_id, :path, :planning_population, :active, :address, :keeper_name, "
        ":keeper_phone, CURRENT_TIMESTAMP)"), rows)
    db.session.execute(sa.text("INSERT INTO site_hazards (site_id, hazard) VALUES (:site_id, :hazard)"),
                       hazards)
    db.session.execute(sa.text(
        "INSERT INTO agreements (site_id, partner, number, storage, valid_from, valid_to, "
        "last_verified, contact_name, contact_phone) VALUES (:site, '单位', :number, "
        "'bureau_goods', :start, :end, :verified, '', '')"),
        [{"site": r["id"], "number": f"X{r['id']}", "start": today - dt.timedelta(days=100),
          "end": today + dt.timedelta(days=300),
          "verified": today - dt.timedelta(days=rng.choice([10, 50, 120]))}
         for r in rows if r["kind"] == "agreement_site"])
    norms, links, number = [], [], 0
    for kind in ("county_depot", "town_store", "village_point"):
        for k in range(NORMS_PER_KIND):
            number += 1
            norms.append({"id": number, "name": f"定额{k}", "kind": kind,
                          "hazard": "three_outages" if k % 4 == 0 else None,
                          "min": rng.choice([0, 1, 2, 10]), "pp": rng.choice([0, 0.05, 0.3334, 1]),
                          "agree": k % 3 == 0})
            links += [{"norm": number, "material": m}
                      for m in rng.sample(range(1, MATERIALS + 1), rng.choice([1, 1, 2, 3]))]
    db.session.execute(sa.text(
        "INSERT INTO norms (id, name, site_kind, hazard, min_quantity, per_person, "
        "count_agreement_sites, basis) VALUES (:id, :name, :kind, :hazard, :min, :pp, :agree, '')"),
        norms)
    db.session.execute(sa.text("INSERT INTO norm_materials (norm_id, material_id) "
                               "VALUES (:norm, :material)"), links)
    items = []
    for site in range(1, sites + 1):
        for material in rng.sample(range(1, MATERIALS + 1), ITEMS_PER_SITE):
            expiry = rng.choice([None, today - dt.timedelta(days=5), today + dt.timedelta(days=200)])
            items.append({"label": f"L{site:05d}{material:03d}", "site": site, "material": material,
                          "key": f"{material}|{expiry}", "quantity": rng.randint(0, 400),
                          "expiry": expiry, "status": rng.choice(["available"] * 9 + ["damaged"])})
    db.session.execute(sa.text(
        "INSERT INTO stock_items (label, site_id, material_id, merge_key, quantity, status, "
        "expiry_date, donor, owner, received_at) VALUES (:label, :site, :material, :key, "
        ":quantity, :status, :expiry, '', 'bureau', CURRENT_TIMESTAMP)"), items)
    db.session.commit()


def measure(sites: int, rounds: int, url: str | None = None) -> dict:
    """The result row of this benchmark (see bench/run.py)."""
    with tempfile.TemporaryDirectory() as instance:
        url = url or f"sqlite:///{instance}/bench.db"
        app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            populate(sites)
            # As gunicorn.conf.py does in every worker once the app is built.
            gc.freeze()
            dialect = db.engine.dialect.name
            raw = db.engine.raw_connection()
            today = dt.date.today()
            statement = RAW_SQL.format(ceil=CEIL[dialect])
            if dialect == "sqlite":
                statement = statement.replace(":fresh", "?").replace(":today", "?")
                parameters = (today - dt.timedelta(days=92), today)
            else:
                statement = statement.replace(":fresh", "%(fresh)s").replace(":today", "%(today)s")
                parameters = {"fresh": today - dt.timedelta(days=92), "today": today}
            app_times, raw_times = [], []
            for _round in range(rounds):
                start = time.perf_counter()
                cursor = raw.cursor()
                cursor.execute(statement, parameters)
                baseline = [(c, n, name, int(r), int(u)) for c, n, name, r, u in cursor.fetchall()]
                cursor.close()
                raw_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                report = shortfalls(COMMAND_LINE, everything=True)
                app_times.append(time.perf_counter() - start)
                db.session.rollback()
            mine = [(r["site"], r["norm"], r["name"], r["required"], r["usable"]) for r in report]
            raw.close()
            db.engine.dispose()
    app_ms, raw_ms = statistics.median(app_times) * 1000, statistics.median(raw_times) * 1000
    return {"id": "PB5", "what": f"shortfall report, {sites} sites × {MATERIALS} materials "
                                 f"({len(mine)} rows)",
            "app": round(app_ms, 1), "baseline": round(raw_ms, 1), "unit": "ms",
            "ratio": round(app_ms / raw_ms, 2), "gate": GATE, "stretch": TARGET,
            "correct": mine == baseline, "scale": f"{sites} sites", "db": dialect}


def main() -> None:
    sites = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    result = measure(sites, rounds, sys.argv[3] if len(sys.argv) > 3 else None)
    print(f"PB5 shortfalls  {result['db']}, {result['what']}, median of {rounds}")
    print(f"  app {result['app']:.0f} ms   raw SQL {result['baseline']:.0f} ms   ratio "
          f"{result['ratio']:.2f} (target ≤ {TARGET})   identical results: {result['correct']}   "
          f"{'ok' if result['ratio'] <= TARGET and result['correct'] else 'MISSED'}")
    if not result["correct"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
