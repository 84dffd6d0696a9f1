"""PB12: a dispatch plan for a 10-line request at province scale (20,000 sites, stock of the
request's materials at 5,000 of them) against ONE hand-written SQL statement through the raw
driver that finds the same candidate sources — the same filters, the norm floors as CTEs,
grouped per site, material and owner, fetched fully — followed by the same nearest-first greedy
in plain Python. The plans must be equal, allocation by allocation.

Both sides read nearest first: the statement takes a latitude/longitude box around the
requesting site (radius 30 km, then ×3 while the greedy is not settled: a line short, or the
last source a line took farther than the radius), at last without the box. The baseline does
it by hand, the box's bounds as parameters. A second line compares the full read of every
candidate (app: `candidate_sources` + `greedy`; baseline: the statement without a box).

The app side is `planning.plan` (a whole unit of work: the request claimed, its allocations
replaced, the event recorded, committed). Medians of ROUNDS runs after one warm-up of each
side, app and baseline alternating.

Usage: .venv/bin/python bench/dispatch_plan.py [SITES] [ROUNDS] [DATABASE_URL]
(default 20,000 sites, 7 rounds, a fresh SQLite file; pass a postgresql+psycopg:// URL of an
empty database to measure PostgreSQL). Gate: ratio ≤ 3.0 (stretch 1.5), and the plan < 300 ms.
"""

import datetime as dt
import gc
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from inventory import clock, create_app  # noqa: E402
from inventory.auth.access import COMMAND_LINE  # noqa: E402
from inventory.db import db  # noqa: E402
from inventory.dispatch import planning  # noqa: E402
from inventory.dispatch import services as dispatch  # noqa: E402
from inventory.dispatch.models import Request  # noqa: E402
from inventory.sites.models import Site  # noqa: E402

GATE, STRETCH, ABSOLUTE_MS = 3.0, 1.5, 300.0
# One county block, as the synthetic province has it: a depot, 15 towns, 200 village points
# and 16 agreement sites; 86 blocks make 19,952 sites.
TOWNS, VILLAGES, AGREEMENT_SITES = 15, 200, 16
BLOCK = 1 + TOWNS + VILLAGES + AGREEMENT_SITES
LINES, OTHER_MATERIALS = 10, 20
CUT_OFF = 60
OTHER_OWNER = "省应急管理厅"

# The candidate sources of one request, and the spare of every norm floor that caps one of them
# (usable − required, one row per source and norm), in one statement. {ceil} is spelled per
# engine; {materials} is one parameter per line; {box} is BOX or nothing.
RAW_SQL = """
WITH stock AS (
  SELECT i.site_id, i.material_id, i.owner, SUM(i.quantity) AS quantity
  FROM stock_items i
  WHERE i.material_id IN ({materials}) AND i.status = 'available' AND i.quantity > 0
    AND (i.expiry_date IS NULL OR i.expiry_date >= :today)
    AND i.owner = 'bureau' AND i.site_id <> :to_site{box}
  GROUP BY i.site_id, i.material_id, i.owner
), sources AS (
  SELECT st.site_id, st.material_id, st.owner, st.quantity,
         s.code, s.latitude, s.longitude, s.kind, s.planning_population
  FROM stock st JOIN sites s ON s.id = st.site_id
  WHERE s.active
    AND s.id NOT IN (SELECT c.site_id FROM incident_sites c
                     WHERE c.incident_id = :incident AND c.cut_off)
    AND (s.kind <> 'agreement_site' OR EXISTS (
         SELECT 1 FROM agreements g WHERE g.site_id = s.id
         AND g.valid_from <= :today AND g.valid_to >= :today))
), floors AS (
  SELECT so.site_id, so.material_id, so.owner, n.id AS norm_id,
         CASE WHEN {ceil} > n.min_quantity THEN {ceil} ELSE n.min_quantity END AS required
  FROM sources so
  JOIN norm_materials counted ON counted.material_id = so.material_id
  JOIN norms n ON n.id = counted.norm_id AND n.site_kind = so.kind
  WHERE n.hazard IS NULL OR EXISTS (SELECT 1 FROM site_hazards h
                                    WHERE h.site_id = so.site_id AND h.hazard = n.hazard)
)
SELECT so.site_id, so.code, so.latitude, so.longitude, so.material_id, so.owner, so.quantity,
       NULL, NULL
FROM sources so
UNION ALL
SELECT f.site_id, NULL, NULL, NULL, f.material_id, f.owner, NULL, f.norm_id, COALESCE((
         SELECT SUM(i.quantity) FROM norm_materials nm
         JOIN stock_items i ON i.material_id = nm.material_id AND i.site_id = f.site_id
         WHERE nm.norm_id = f.norm_id AND i.status = 'available' AND i.quantity > 0
           AND (i.expiry_date IS NULL OR i.expiry_date >= :today)), 0) - f.required
FROM floors f
"""
BOX = """
    AND i.site_id IN (SELECT b.id FROM sites b WHERE b.latitude BETWEEN :south AND :north
                      AND b.longitude BETWEEN :west AND :east)"""
RADII_KM = (30.0, 90.0, 270.0, 810.0, 2430.0)
CEIL = {"sqlite": "(CAST(round(n.per_person * so.planning_population, 6) AS INTEGER) + "
                  "(round(n.per_person * so.planning_population, 6) > "
                  "CAST(round(n.per_person * so.planning_population, 6) AS INTEGER)))",
        "postgresql": "CEIL(round(CAST(n.per_person * so.planning_population AS numeric), 6))"}


# --- the data ------------------------------------------------------------------------------------

def populate(sites: int) -> dict:
    """``sites`` sites in county blocks across Gansu with coordinates and hazards, agreements
    (a quarter of them expired), norms for the request's materials at every kind, stock of the
    request's materials at a quarter of the sites (some expired, damaged or another level's),
    other materials elsewhere; inserted in bulk. Answer what the request needs."""
    rng = random.Random(12)
    tables, now, today = db.metadata.tables, clock.now(), clock.today()
    db.session.execute(tables["categories"].insert(), [{"id": 1, "code": "PB12", "name": "调度压测"}])
    materials = LINES + OTHER_MATERIALS
    db.session.execute(tables["materials"].insert(), [{
        "id": m, "code": f"PB-M{m:02d}", "name": f"物资{m}", "name_en": "", "category_id": 1,
        "unit": "件", "spec": "", "tracking": "lot", "returnable": False, "needs_testing": False,
        "active": True} for m in range(1, materials + 1)])
    rows, hazards, centre = [], [], None
    for n in range(1, sites + 1):
        place = (n - 1) % BLOCK
        if place == 0:
            depot, towns = n, []
            centre = (33 + rng.random() * 9, 93 + rng.random() * 14)
            kind, parent, path = "county_depot", None, f"/{n}/"
        elif place <= TOWNS:
            towns.append(n)
            kind, parent, path = "town_store", depot, f"/{depot}/{n}/"
        else:
            town = towns[place % TOWNS]
            kind = "village_point" if place <= TOWNS + VILLAGES else "agreement_site"
            parent, path = town, f"/{depot}/{town}/{n}/"
        planning_population = {"county_depot": 5000, "town_store": rng.randint(100, 600),
                               "village_point": rng.randint(30, 150)}.get(kind, 0)
        rows.append({"id": n, "code": f"PB-{n:05d}", "name": f"站点{n}", "kind": kind,
                     "parent_id": parent, "path": path, "planning_population": planning_population,
                     "latitude": round(centre[0] + rng.uniform(-0.4, 0.4), 6),
                     "longitude": round(centre[1] + rng.uniform(-0.5, 0.5), 6),
                     # A few closed sites: never a source.
                     "active": n % 97 != 0, "created_at": now})
        if n % 3 == 0:
            hazards.append({"site_id": n, "hazard": "three_outages"})
        if n % 5 == 0:
            hazards.append({"site_id": n, "hazard": "flood"})
    db.session.execute(tables["sites"].insert(), rows)
    db.session.execute(tables["site_hazards"].insert(), hazards)
    db.session.execute(tables["agreements"].insert(), [{
        "site_id": r["id"], "partner": "代储企业", "number": f"PB-{r['id']}",
        "valid_from": today - dt.timedelta(days=200),
        # A quarter expired ten days ago: their stock is not to be called off.
        "valid_to": today + dt.timedelta(days=-10 if r["id"] % 4 == 0 else 300),
        "last_verified": today - dt.timedelta(days=30)} for r in rows if r["kind"] == "agreement_site"])
    _norms(rng)
    holders = rng.sample(rows, sites // 4)
    items, number = [], 0
    for site in holders:
        for material in range(1, LINES + 1):
            if rng.random() < 0.45:
                continue
            for _lot in range(rng.choice((1, 1, 2))):
                number += 1
                expiry = rng.choice((None, None, today - dt.timedelta(days=3), today,
                                     today + dt.timedelta(days=rng.randint(1, 700))))
                items.append(_item(number, site["id"], material, rng.randint(1, 300), expiry,
                                   "damaged" if rng.random() < 0.05 else "available",
                                   OTHER_OWNER if rng.random() < 0.06 else "bureau", now))
    for _other in range(sites):
        number += 1
        items.append(_item(number, rng.randint(1, sites), rng.randint(LINES + 1, materials),
                           rng.randint(1, 300), None, "available", "bureau", now))
    db.session.execute(tables["stock_items"].insert(), items)
    _reset_sequences()
    db.session.commit()
    # The requesting town: in the first county block, so its neighbours are the block's sites.
    to_site = rows[TOWNS // 2]
    nearest = sorted((r for r in rows if r["id"] != to_site["id"]),
                     key=lambda r: (r["latitude"] - to_site["latitude"]) ** 2
                     + (r["longitude"] - to_site["longitude"]) ** 2)
    return {"to_site": to_site["code"], "items": len(items), "stock_sites": len(holders),
            # Among the nearest: what a road cut takes out first.
            "cut_off": [r["code"] for r in nearest[:CUT_OFF * 3:3]]}


def _item(number, site_id, material_id, quantity, expiry, status, owner, now) -> dict:
    return {"id": number, "label": f"PB{number:07d}", "site_id": site_id, "material_id": material_id,
            "lot": f"L{number}", "merge_key": f"L{number}|{expiry}|{owner}", "expiry_date": expiry,
            "quantity": quantity, "status": status, "donor": "", "owner": owner, "received_at": now}


def _norms(rng) -> None:
    """Norms of every kind for the request's materials, as norms.csv has them: per person or a
    fixed count, some for a hazard, some counting two materials (棉被 or 毛毯)."""
    norms, links, number = [], [], 0
    for kind in ("county_depot", "town_store", "village_point"):
        for material in range(1, LINES + 1):
            number += 1
            norms.append({"id": number, "name": f"定额{material}", "site_kind": kind, "hazard": None,
                          "min_quantity": rng.choice((0, 0, 2, 10)),
                          "per_person": rng.choice((0, 0.05, 0.3334, 0.682)),
                          "count_agreement_sites": False, "basis": ""})
            links.append({"norm_id": number, "material_id": material})
            if material % 4 == 0:
                links.append({"norm_id": number, "material_id": material - 1})
            if material % 3 == 0:
                number += 1
                norms.append({"id": number, "name": f"三断定额{material}", "site_kind": kind,
                              "hazard": "three_outages", "min_quantity": rng.choice((5, 20)),
                              "per_person": 0.5, "count_agreement_sites": False, "basis": ""})
                links.append({"norm_id": number, "material_id": material})
    db.session.execute(db.metadata.tables["norms"].insert(), norms)
    db.session.execute(db.metadata.tables["norm_materials"].insert(), links)


def _reset_sequences() -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in ("categories", "materials", "sites", "stock_items", "norms", "agreements"):
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                   f"(SELECT max(id) FROM {name}))"))


def open_request(made: dict, quantity: int) -> int:
    """The incident (its cut-off sites among the town's nearest) and the 10-line request."""
    incident = dispatch.open_incident(actor=COMMAND_LINE, data={
        "name": "调度压测地震", "type": "earthquake", "level": 2, "started_at": clock.now().isoformat(),
        "areas": [made["to_site"]], "cut_off_sites": made["cut_off"]})
    request = dispatch.create_request(actor=COMMAND_LINE, incident_id=incident.id, data={
        "to_site": made["to_site"],
        "lines": [{"material": f"PB-M{m:02d}", "quantity": quantity + 37 * m} for m in range(1, LINES + 1)]})
    return request.id


# --- the baseline ---------------------------------------------------------------------------------

def haversine_km(lat1, lon1, lat2, lon2):
    if None in (lat1, lon1, lat2, lon2):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(2 * 6371.0 * math.asin(math.sqrt(min(1.0, a))), 1)


def box(latitude, longitude, radius_km):
    """The bounds of the latitude/longitude box holding the circle of radius_km (+1 km for the
    0.1 km rounding) around the origin: ± d in latitude, ± asin(sin d / cos φ) in longitude."""
    reach = (radius_km + 1.0) / 6371.0
    half_width = math.degrees(math.asin(math.sin(reach) / math.cos(math.radians(latitude))))
    return {"south": latitude - math.degrees(reach), "north": latitude + math.degrees(reach),
            "west": longitude - half_width, "east": longitude + half_width}


def baseline_plan(cursor, statement: str, parameters, origin, lines: list[tuple[int, int]], radius=None):
    """The raw statement, fetched fully; then per source its limit (stock capped by every norm
    spare), nearest first, and the greedy that shares each norm's spare across its materials.
    Answer the plan, the number of sources, and whether it is settled: read without a box
    (radius None), or every line met with the last source it took within ``radius``."""
    cursor.execute(statement, parameters)
    sources: dict[tuple, list] = {}
    floors_of: dict[tuple, dict] = {}
    for site_id, code, lat, lon, material_id, owner, quantity, norm_id, spare in cursor.fetchall():
        if code is not None:  # a source: (site, material, owner) with its stock
            sources[site_id, material_id, owner] = [site_id, code, lat, lon, material_id, owner,
                                                    int(quantity)]
        else:  # a norm floor capping that source
            floors_of.setdefault((site_id, material_id, owner), {})[norm_id] = int(spare)
    for key, source in sources.items():
        source.append(floors_of.get(key, {}))
    position = {material_id: index for index, (material_id, _quantity) in enumerate(lines)}
    ordered, spare_left = [], {}
    for site_id, code, lat, lon, material_id, owner, quantity, floors in sources.values():
        limit = max(0, min([quantity, *floors.values()]))
        if limit == 0:
            continue
        distance = haversine_km(origin[0], origin[1], lat, lon)
        for norm_id, spare in floors.items():
            spare_left[site_id, norm_id] = spare
        ordered.append(((distance is None, distance or 0.0, code, position[material_id], owner != "bureau",
                         owner), site_id, code, material_id, owner, quantity, floors, distance))
    ordered.sort(key=lambda entry: entry[0])
    by_material: dict[int, list] = {}
    for entry in ordered:
        by_material.setdefault(entry[3], []).append(entry)
    plan, settled = [], True
    for material_id, needed in lines:
        farthest = 0.0
        for _key, site_id, code, _m, owner, quantity, floors, distance in by_material.get(material_id, ()):
            if needed == 0:
                break
            # Each line has a material of its own, so a source is met once: its stock is whole.
            taken = min(needed, max(0, min([quantity, *(spare_left[site_id, n] for n in floors)])))
            if taken > 0:
                for norm_id in floors:
                    spare_left[site_id, norm_id] -= taken
                needed -= taken
                farthest = distance
                plan.append((code, material_id, owner, taken, distance))
        if radius is not None and (needed > 0 or farthest is None or farthest > radius):
            settled = False
    return plan, len(ordered), settled


def baseline_nearest(cursor, statements, parameters, origin, lines):
    """The box read at 30, 90, 270 … km until the plan is settled, at last the full read."""
    boxed, full = statements
    for radius in RADII_KM:
        plan, count, settled = baseline_plan(cursor, boxed, {**parameters, **box(*origin, radius)}, origin,
                                             lines, radius)
        if settled:
            return plan, count, radius
    plan, count, _settled = baseline_plan(cursor, full, parameters, origin, lines)
    return plan, count, None


def raw_statement(dialect: str, material_ids: list[int], *, boxed: bool = False) -> str:
    marks = ", ".join(f":m{n}" for n in range(len(material_ids)))
    statement = RAW_SQL.format(materials=marks, ceil=CEIL[dialect], box=BOX if boxed else "")
    if dialect == "sqlite":
        return statement
    # psycopg's named parameters are %(name)s.
    for name in ("today", "to_site", "incident", "south", "north", "west", "east",
                 *(f"m{n}" for n in range(len(material_ids)))):
        statement = statement.replace(f":{name}", f"%({name})s")
    return statement


# --- the measurement ----------------------------------------------------------------------------

def measure(sites: int, rounds: int, url: str | None = None) -> dict:
    """The result row of this benchmark (see bench/run.py)."""
    with tempfile.TemporaryDirectory() as instance:
        url = url or f"sqlite:///{instance}/bench.db"
        app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            made = populate(sites)
            # Enough per line that each takes from many sources, not only the nearest one.
            request_id = open_request(made, quantity=max(200, sites // 8))
            db.session.commit()
            gc.freeze()  # as gunicorn.conf.py does in every worker once the app is built
            dialect = db.engine.dialect.name
            request = db.session.get(Request, request_id)
            lines = [(line.material_id, line.quantity) for line in request.lines]
            origin = (request.to_site.latitude, request.to_site.longitude)
            parameters = {"today": clock.today(), "to_site": request.to_site_id,
                          "incident": request.incident_id,
                          **{f"m{n}": material_id for n, (material_id, _q) in enumerate(lines)}}
            material_ids = [material_id for material_id, _q in lines]
            statements = (raw_statement(dialect, material_ids, boxed=True),
                          raw_statement(dialect, material_ids))
            raw = db.engine.raw_connection()
            if dialect == "postgresql":  # statistics for the freshly loaded tables
                cursor = raw.cursor()
                cursor.execute("ANALYZE")
                cursor.close()
                raw.commit()
            app_times, raw_times, read_times, full_app_times, full_raw_times = [], [], [], [], []
            for round_ in range(rounds + 1):
                start = time.perf_counter()
                cursor = raw.cursor()
                baseline, _count, radius = baseline_nearest(cursor, statements, parameters, origin, lines)
                cursor.close()
                raw.commit()  # ends the read, as the app's unit of work does
                raw_elapsed = time.perf_counter() - start
                start = time.perf_counter()
                planned = planning.plan(actor=COMMAND_LINE, request_id=request_id)
                app_elapsed = time.perf_counter() - start
                mine = [(a.from_site.code, a.material.id, a.owner, a.quantity, a.distance_km)
                        for a in planned.allocations]
                db.session.rollback()
                # The read side alone, as the baseline has it: the nearest-first reads and greedy.
                start = time.perf_counter()
                planning.nearest_plan(db.session.get(Request, request_id), allow_below_norm=False)
                read_elapsed = time.perf_counter() - start
                db.session.rollback()
                # The full read of every candidate, each side.
                start = time.perf_counter()
                cursor = raw.cursor()
                full_baseline, candidates, _settled = baseline_plan(cursor, statements[1], parameters, origin,
                                                                    lines)
                cursor.close()
                raw.commit()
                full_raw_elapsed = time.perf_counter() - start
                start = time.perf_counter()
                request = db.session.get(Request, request_id)
                sources = planning.candidate_sources(request, allow_below_norm=False)
                full_plan = planning.greedy(request, sources)
                full_app_elapsed = time.perf_counter() - start
                full_mine = [(db.session.get(Site, a.from_site_id).code, a.material_id, a.owner, a.quantity,
                              a.distance_km) for a in full_plan]
                db.session.rollback()
                if round_:  # the first round warms both sides up
                    app_times.append(app_elapsed)
                    raw_times.append(raw_elapsed)
                    read_times.append(read_elapsed)
                    full_app_times.append(full_app_elapsed)
                    full_raw_times.append(full_raw_elapsed)
            unmet = sum(quantity for _m, quantity in lines) - sum(q for *_rest, q, _d in baseline)
            raw.close()
            db.engine.dispose()
    app_ms, raw_ms = statistics.median(app_times) * 1000, statistics.median(raw_times) * 1000
    read_ms = statistics.median(read_times) * 1000
    full_app_ms, full_raw_ms = (statistics.median(full_app_times) * 1000,
                                statistics.median(full_raw_times) * 1000)
    plans_equal = mine == baseline == full_baseline == full_mine
    # Correct is the plans' equality — nearest first and full read, app and baseline — and a
    # plan that takes something; the absolute limit is reported beside it, as the ratio is.
    correct = plans_equal and len(sources) == candidates and bool(baseline)
    return {"id": "PB12", "what": f"dispatch plan, 10 lines, {sites} sites, stock at {made['stock_sites']}",
            "app": round(app_ms, 1), "baseline": round(raw_ms, 1), "unit": "ms",
            "ratio": round(app_ms / raw_ms, 2), "gate": GATE, "stretch": STRETCH,
            "correct": correct, "under_limit": app_ms < ABSOLUTE_MS,
            "scale": f"{sites} sites", "db": dialect, "radius_km": radius, "read_ms": round(read_ms, 1),
            "full_app": round(full_app_ms, 1), "full_baseline": round(full_raw_ms, 1),
            "allocations": len(mine), "candidates": candidates,
            "unmet": unmet, "items": made["items"], "plans_equal": plans_equal}


def main() -> None:
    sites = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    result = measure(sites, rounds, sys.argv[3] if len(sys.argv) > 3 else None)
    print(f"PB12 dispatch plan  {result['db']}, {result['what']} ({result['items']:,} items, "
          f"{result['candidates']:,} candidate sources, {result['allocations']} allocations, "
          f"{result['unmet']} unmet), median of {rounds}")
    radius = (f"settled within {result['radius_km']:,.0f} km" if result["radius_km"]
              else "settled by the full read")
    print(f"  nearest first ({radius}): app plan {result['app']:.1f} ms   raw SQL + greedy "
          f"{result['baseline']:.1f} ms   ratio {result['ratio']:.2f} (gate ≤ {GATE}, stretch ≤ {STRETCH})   "
          f"under {ABSOLUTE_MS:.0f} ms: {result['under_limit']}")
    print(f"  of which the reads and greedy (nearest_plan, no writes) {result['read_ms']:.1f} ms, "
          f"ratio {result['read_ms'] / result['baseline']:.2f}")
    print(f"  full read: candidate_sources + greedy {result['full_app']:.1f} ms   raw SQL + greedy "
          f"{result['full_baseline']:.1f} ms   ratio {result['full_app'] / result['full_baseline']:.2f}   "
          f"plans equal: {result['plans_equal']}   correct: {result['correct']}")
    if not result["correct"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
