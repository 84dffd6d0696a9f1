"""What the dashboard draws: the sites on a map, coverage of the norms, expiry by month."""

import datetime as dt
import math
from collections import Counter

import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import restrict_to_scope
from inventory.db import db
from inventory.norms.models import Norm
from inventory.norms.queries import shortfall_rows
from inventory.sites.models import Site
from inventory.stock.models import StockItem

MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 1000, 640, 40


def map_points(user, colours: dict[int, dict]) -> list[dict]:
    """Active sites with coordinates, projected into the map's box (north up, true proportions)."""
    sites = db.session.scalars(restrict_to_scope(
        sa.select(Site).where(Site.active.is_(True), Site.latitude.is_not(None))
        .order_by(Site.path), user, Site.path)).all()
    if not sites:
        return []
    lat_mid = sum(s.latitude for s in sites) / len(sites)
    xs = [s.longitude * math.cos(math.radians(lat_mid)) for s in sites]
    ys = [s.latitude for s in sites]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / max(max(xs) - min(xs), span / 4),
                (MAP_HEIGHT - 2 * MAP_MARGIN) / max(max(ys) - min(ys), span / 4))
    return [{"site": site, "x": round(MAP_MARGIN + (x - min(xs)) * scale, 1),
             "y": round(MAP_HEIGHT - MAP_MARGIN - (y - min(ys)) * scale, 1),
             "colour": colours.get(site.id, {}).get("colour", "none"),
             "reasons": colours.get(site.id, {}).get("reasons", [])}
            for site, x, y in zip(sites, xs, ys, strict=True)]


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
        row = table.setdefault(code, {"code": code, "name": name, "cells": {}})
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
