"""What the dashboard draws: the sites on a map graded by readiness, the towns that need attention
most, coverage of the norms, expiry by month."""

import datetime as dt
import math
from collections import Counter

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from inventory import clock
from inventory.alerts.queries import counts_by_site
from inventory.auth.access import restrict_to_scope
from inventory.dashboard import maps
from inventory.dashboard.maps import MAP_HEIGHT, MAP_WIDTH
from inventory.db import db
from inventory.norms.models import Norm
from inventory.norms.queries import group_of, norm_groups, shortfall_rows
from inventory.sites.models import Site
from inventory.stock.models import StockItem

# The map's labels are set at this size (static/css/app.css, svg.map text); a Chinese character
# is about one em wide, so a label's width is estimated as characters × size.
LABEL_FONT = 28
DOT_RADIUS = {"county_depot": 24, "town_store": 18, "agreement_site": 8}
VILLAGE_RADIUS = 10
LABELLED_KINDS = ("county_depot", "town_store")
RANKING_LIMIT = 10

# Readiness by degree, best to worst. Red splits by how many of the 三断 essentials fail (no
# comms, no power, water or food under half of its norm); amber by whether any norm is under half.
GRADES = ("none", "green", "amber-1", "amber-2", "red-1", "red-2")
GRADE_NAMES = {"red-2": _l("深红"), "red-1": _l("红"), "amber-2": _l("深黄"), "amber-1": _l("浅黄"),
               "green": _l("绿"), "none": _l("无定额")}
COLOURS = ("none", "green", "amber", "red")
DEEP_AMBER_SHARE = 0.5


def site_gaps(user, *, today: dt.date | None = None) -> dict[int, dict]:
    """Per site with norms, in one statement: its shortfall units as the shortfall report adds
    them (per group of norms the binding gap, norm_groups) and the lowest share of a norm held."""
    rows = shortfall_rows(today=today).subquery()
    gap = sa.case((rows.c.required > rows.c.usable, rows.c.required - rows.c.usable), else_=0)
    share = sa.case((rows.c.required > 0, sa.cast(rows.c.usable, sa.Float)
                     / sa.cast(rows.c.required, sa.Float)), else_=None)
    per_group = restrict_to_scope(
        sa.select(rows.c.site_id, sa.func.max(gap).label("gap"), sa.func.min(share).label("share"))
        .join(Site, Site.id == rows.c.site_id)
        .group_by(rows.c.site_id, group_of(rows.c.norm_id, norm_groups())), user, Site.path).subquery()
    return {site_id: {"shortfall": int(units or 0), "share": None if lowest is None else float(lowest)}
            for site_id, units, lowest in db.session.execute(
                sa.select(per_group.c.site_id, sa.func.sum(per_group.c.gap), sa.func.min(per_group.c.share))
                .group_by(per_group.c.site_id))}


def grade(colour: str, reasons: list, lowest_share: float | None) -> str:
    """A readiness colour's degree (GRADES): deep red when two or more essentials fail, deep amber
    when some norm is held at under half."""
    if colour == "red":
        return "red-2" if len(reasons) >= 2 else "red-1"
    if colour == "amber":
        return "amber-2" if lowest_share is not None and lowest_share < DEEP_AMBER_SHARE else "amber-1"
    return colour if colour in GRADES else "none"


def graded(colours: dict[int, dict], gaps: dict[int, dict]) -> dict[int, dict]:
    """readiness() with each site's grade and shortfall units added."""
    return {site_id: {**state, "grade": grade(state["colour"], state["reasons"],
                                              gaps.get(site_id, {}).get("share")),
                      "shortfall": gaps.get(site_id, {}).get("shortfall", 0)}
            for site_id, state in colours.items()}


def short_name(name: str) -> str:
    """A site's name as the map and the ranking print it."""
    return name.replace("物资储备室", "").replace("救灾物资储备库", "县库")


def town_ranking(user, states: dict[int, dict], *, today: dt.date | None = None) -> list[dict]:
    """Every active town room the user may see, worst first: by colour (red, amber, green, none),
    then shortfall units, expired lots, untested equipment. A town's figures are its whole tree —
    the town room, its village points and agreement sites — as the shortfall report for the town
    (?site=) and the town roll-up count them; its colour and grade are the worst in the tree, and
    its reasons those of the sites of that colour: the town room's own, then one per other site
    ("东大村储备点：无可用电源…、应急食品 0/22")."""
    # Every site, active or not: an expired lot at a closed village point is still an alert.
    sites = db.session.execute(restrict_to_scope(
        sa.select(Site.id, Site.code, Site.name, Site.kind, Site.path, Site.active)
        .order_by(Site.path), user, Site.path)).all()
    towns = {site.path: {"code": site.code, "name": site.name, "short": short_name(site.name),
                         "path": site.path, "colour": "none",
                         "grade": "none", "reasons": [], "shortfall": 0, "expired": 0, "untested": 0}
             for site in sites if site.kind == "town_store" and site.active}
    if not towns:
        return []
    counts = counts_by_site(user, today=today)
    for site in sites:
        steps = site.path.strip("/").split("/")
        town = next((towns[path] for depth in range(1, len(steps) + 1)
                     if (path := "/" + "/".join(steps[:depth]) + "/") in towns), None)
        if town is None:
            continue
        town["expired"] += counts["expired"].get(site.id, 0)
        town["untested"] += counts["untested_equipment"].get(site.id, 0)
        if (state := states.get(site.id)) is None:
            continue
        town["shortfall"] += state["shortfall"]
        if GRADES.index(state["grade"]) > GRADES.index(town["grade"]):
            town["grade"] = state["grade"]
        if COLOURS.index(state["colour"]) > COLOURS.index(town["colour"]):
            town["colour"], town["reasons"] = state["colour"], []
        if state["colour"] == town["colour"]:
            # Sites come in path order, so the town room's reasons come before its villages'.
            if site.path == town["path"]:
                town["reasons"] += state["reasons"]
            elif state["reasons"]:
                town["reasons"].append(f"{short_name(site.name)}：{'、'.join(state['reasons'])}")
    ranked = sorted(towns.values(), key=lambda town: (
        -COLOURS.index(town["colour"]), -town["shortfall"], -town["expired"], -town["untested"]))
    return [{**town, "rank": rank} for rank, town in enumerate(ranked, start=1)]


# A label's box as Chromium lays the text out (measured: the glyph cell runs from 1.19 em above
# the baseline to 0.3 em below it, each CJK character 1 em wide), grown by the half of the halo
# stroke (static/css/app.css: stroke-width 4px) that paints outside it.
LABEL_ASCENT, LABEL_DESCENT, LABEL_HALO = 1.2, 0.3, 2
# Spots tried for a label, in rings around its dot: close by, a little further out, and then two
# rings out with a leader line from the dot, before the name is left off.
LEADER_RINGS = 2


def label_box(anchor: str, x: float, y: float, text: str, font: int = LABEL_FONT) -> tuple:
    """The box (left, top, right, bottom) a label of ``text`` with baseline at ``y`` covers on
    screen, its halo included."""
    width = len(text) * font
    left = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
    return (left - LABEL_HALO, y - font * LABEL_ASCENT - LABEL_HALO,
            left + width + LABEL_HALO, y + font * LABEL_DESCENT + LABEL_HALO)


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _spots(x: float, y: float, r: float, font: int) -> list[tuple[str, float, float, bool]]:
    """(anchor, x, baseline, with a leader line) of each spot around a dot, nearest first:
    right, left, above, below, then the four diagonals, ring by ring."""
    middle = y + font * (LABEL_ASCENT - LABEL_DESCENT) / 2  # the baseline that centres the text
    above, below = font * LABEL_DESCENT + LABEL_HALO, font * LABEL_ASCENT + LABEL_HALO
    spots = []
    rings = [r + 4, r + 4 + font * 0.75] + [r + 4 + font * (1.5 + step) for step in range(LEADER_RINGS)]
    for ring, distance in enumerate(rings):
        corner = distance * 0.75
        leader = ring >= 2
        spots += [("start", x + distance, middle, leader), ("end", x - distance, middle, leader),
                  ("middle", x, y - distance - above, leader), ("middle", x, y + distance + below, leader),
                  ("start", x + corner, y - corner - above, leader),
                  ("end", x - corner, y - corner - above, leader),
                  ("start", x + corner, y + corner + below, leader),
                  ("end", x - corner, y + corner + below, leader)]
    return spots


def _leader(x: float, y: float, r: float, box: tuple) -> tuple:
    """A line from the dot's edge to the nearest point of the label's box."""
    near_x, near_y = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
    length = math.hypot(near_x - x, near_y - y) or 1
    return (round(x + (near_x - x) * r / length, 1), round(y + (near_y - y) * r / length, 1),
            round(near_x, 1), round(near_y, 1))


def place_labels(marks: list[dict], *, width: float = MAP_WIDTH, height: float = MAP_HEIGHT,
                 font: int = LABEL_FONT) -> list[dict | None]:
    """Where to print each mark's label ({"x", "y", "r", "text"}; text None for none): the first
    spot around the dot (_spots: close by, a little further out, then further still with a leader
    line back to the dot) whose box stays on the map and overlaps neither another dot nor a label
    already placed, the marks taken in the order given (most important first).
    A label that fits nowhere is None: the dot's title still names the site."""
    dots = [(mark["x"] - mark["r"], mark["y"] - mark["r"], mark["x"] + mark["r"], mark["y"] + mark["r"])
            for mark in marks]
    placed: list[tuple] = []
    labels: list[dict | None] = []
    for number, mark in enumerate(marks):
        if not mark.get("text"):
            labels.append(None)
            continue
        label = None
        for anchor, left, baseline, leader in _spots(mark["x"], mark["y"], mark["r"], font):
            left, baseline = round(left, 1), round(baseline, 1)
            box = label_box(anchor, left, baseline, mark["text"], font)
            if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
                continue
            if any(_overlaps(box, other) for other in placed) or any(
                    _overlaps(box, dot) for index, dot in enumerate(dots) if index != number):
                continue
            label = {"text": mark["text"], "x": left, "y": baseline, "anchor": anchor, "box": box,
                     "leader": _leader(mark["x"], mark["y"], mark["r"], box) if leader else None}
            placed.append(box)
            break
        labels.append(label)
    return labels


def map_sites(user) -> list[Site]:
    """The active sites the user sees that have coordinates, in tree order."""
    return list(db.session.scalars(restrict_to_scope(
        sa.select(Site).where(Site.active.is_(True), Site.latitude.is_not(None),
                              Site.longitude.is_not(None))
        .order_by(Site.path), user, Site.path)))


def county_map(user, states: dict[int, dict]) -> dict:
    """The dashboard's map: its points and the county's outline as an SVG path
    ("" without boundary data)."""
    sites = map_sites(user)
    if not sites:
        return {"points": [], "outline": ""}
    outline = maps.boundary()
    project = maps.fit(sites, outline)
    points = [{"site": site, "x": x, "y": y,
               "r": DOT_RADIUS.get(site.kind, VILLAGE_RADIUS),
               "colour": states.get(site.id, {}).get("colour", "none"),
               "grade": states.get(site.id, {}).get("grade", "none"),
               "reasons": states.get(site.id, {}).get("reasons", [])}
              for site in sites for x, y in [project(site.longitude, site.latitude)]]
    where = {point["site"].id: point for point in points}
    for point in points:
        parent = where.get(point["site"].parent_id)
        linked = parent is not None and point["site"].kind != "agreement_site"
        point["parent"] = (parent["x"], parent["y"]) if linked else None
    # The county depot's label first, then the towns', worst first: those keep their names when
    # the map is crowded.
    order = sorted(range(len(points)), key=lambda index: (
        points[index]["site"].kind != "county_depot", -GRADES.index(points[index]["grade"]), index))
    marks = [{"x": points[index]["x"], "y": points[index]["y"], "r": points[index]["r"],
              "text": short_name(points[index]["site"].name)
              if points[index]["site"].kind in LABELLED_KINDS else None} for index in order]
    for index, label in zip(order, place_labels(marks), strict=True):
        points[index]["label"] = label
    return {"points": points, "outline": maps.outline_path(outline, project)}


def coverage(user) -> tuple[list[str], list[dict]]:
    """The county depot and town rooms × their norms: usable as a share of required."""
    rows = shortfall_rows().subquery()
    found = db.session.execute(restrict_to_scope(
        sa.select(Site.code, Site.name, Site.path, Norm.name, rows.c.required, rows.c.usable)
        .join(Site, Site.id == rows.c.site_id).join(Norm, Norm.id == rows.c.norm_id)
        .where(Site.kind.in_(("county_depot", "town_store")))
        .order_by(Site.path, Norm.name), user, Site.path)).all()
    columns: list[str] = []
    table: dict[str, dict] = {}
    for code, name, _path, norm, required, usable in found:
        if norm not in columns:
            columns.append(norm)
        row = table.setdefault(code, {"code": code, "name": name, "short": short_name(name), "cells": {}})
        share = 1.0 if not required else min(int(usable) / int(required), 9.99)
        # Two norms of one name at a site (三断 and ordinary): the stricter one shows.
        if norm not in row["cells"] or share < row["cells"][norm]["share"]:
            row["cells"][norm] = {"share": share, "required": int(required),
                                  "usable": int(usable)}
    return columns, list(table.values())


def expiry_by_month(user, *, months: int = 12) -> list[dict]:
    """Lots (and units) expiring in each of the coming months, the current one first."""
    today = clock.today()
    end = dt.date(today.year + (today.month - 1 + months) // 12,
                  (today.month - 1 + months) % 12 + 1, 1)
    rows = db.session.execute(restrict_to_scope(
        sa.select(StockItem.expiry_date, sa.func.count(), sa.func.sum(StockItem.quantity))
        .join(Site, StockItem.site_id == Site.id)
        .where(StockItem.status == "available", StockItem.quantity > 0,
               StockItem.expiry_date >= today, StockItem.expiry_date < end)
        .group_by(StockItem.expiry_date), user, Site.path)).all()
    lots, units = Counter(), Counter()
    for expiry, count, quantity in rows:
        lots[(expiry.year, expiry.month)] += count
        units[(expiry.year, expiry.month)] += int(quantity)
    result = []
    for step in range(months):
        year, month = today.year + (today.month - 1 + step) // 12, (today.month - 1 + step) % 12 + 1
        result.append({"year": year, "month": month, "first": dt.date(year, month, 1),
                       "lots": lots[(year, month)], "units": units[(year, month)]})
    return result
