"""Shortfalls against the norms: one set-based statement over balances, never a loop over
sites × materials (DESIGN.md §3.7). Per site, and rolled up to towns and the county."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from inventory import clock
from inventory.auth.access import restrict_to_scope
from inventory.catalog.models import Material
from inventory.db import db
from inventory.norms.models import Norm, norm_materials
from inventory.sites.models import Agreement, Site, SiteHazard
from inventory.stock.allocation import usable_items
from inventory.stock.models import StockItem

# An agreement site's stock counts while its last verified count is at most this old.
VERIFICATION_FRESH_DAYS = 92


class ceiling(FunctionElement):
    """CEIL(x) for x ≥ 0; SQLite has no CEIL unless built with its maths functions."""

    type = sa.Integer()
    inherit_cache = True


@compiles(ceiling)
def _ceiling(element, compiler, **kw):
    return f"CEIL({compiler.process(element.clauses, **kw)})"


@compiles(ceiling, "sqlite")
def _ceiling_sqlite(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"(CAST({value} AS INTEGER) + ({value} > CAST({value} AS INTEGER)))"


def norm_sites():
    """Every (norm, site) pair the norm applies to, with the quantity it requires."""
    applies = sa.or_(Norm.hazard.is_(None), sa.exists().where(
        SiteHazard.site_id == Site.id, SiteHazard.hazard == Norm.hazard))
    # Rounded to 6 places first, so 0.1 × 30 is 3 and not 3.0000000000000004 on SQLite's REAL.
    per_person = ceiling(sa.func.round(Norm.per_person * Site.planning_population, 6))
    required = sa.case((per_person > Norm.min_quantity, per_person), else_=Norm.min_quantity)
    # Typed as a plain integer: no per-row numeric conversion on the way out.
    return (sa.select(Norm.id.label("norm_id"), Site.id.label("site_id"),
                      Norm.count_agreement_sites.label("with_agreements"),
                      sa.type_coerce(required, sa.Integer).label("required"))
            .join(Site, sa.and_(Site.kind == Norm.site_kind, Site.active.is_(True)))
            .where(applies).cte("norm_sites"))


def shortfall_rows(*, today: dt.date | None = None):
    """A select of (site_id, norm_id, required, usable) for every norm at every site it applies to.

    usable = available, unexpired stock of any of the norm's materials at the site, plus — when
    the norm says so — at its agreement sites verified within the last 92 days.
    """
    today = today or clock.today()
    pairs = norm_sites()
    holder = aliased(Site)
    holders = sa.union_all(
        sa.select(pairs.c.norm_id, pairs.c.site_id, pairs.c.site_id.label("holder_id")),
        sa.select(pairs.c.norm_id, pairs.c.site_id, holder.id)
        .join(holder, sa.and_(holder.parent_id == pairs.c.site_id,
                              holder.kind == "agreement_site", holder.active.is_(True)))
        .join(Agreement, Agreement.site_id == holder.id)
        .where(pairs.c.with_agreements.is_(True),
               Agreement.last_verified >= today - dt.timedelta(days=VERIFICATION_FRESH_DAYS)),
    ).cte("holders")
    usable = (sa.select(holders.c.norm_id, holders.c.site_id,
                        sa.func.sum(StockItem.quantity).label("quantity"))
              .join(norm_materials, norm_materials.c.norm_id == holders.c.norm_id)
              .join(StockItem, sa.and_(StockItem.site_id == holders.c.holder_id,
                                       StockItem.material_id == norm_materials.c.material_id))
              .where(*usable_items(today))
              .group_by(holders.c.norm_id, holders.c.site_id).cte("usable"))
    quantity = sa.func.coalesce(usable.c.quantity, 0)
    return (sa.select(pairs.c.site_id, pairs.c.norm_id, pairs.c.required,
                      quantity.label("usable"))
            .outerjoin(usable, sa.and_(usable.c.norm_id == pairs.c.norm_id,
                                       usable.c.site_id == pairs.c.site_id)))


def shortfalls(user, *, site=None, include_sub_sites=True, everything=False,
               today: dt.date | None = None, site_ids=None) -> list[dict]:
    """Shortfall rows the user may see: by default only those short of their norm; of the sites
    ``site_ids`` only, when given."""
    rows = shortfall_rows(today=today)
    columns = rows.selected_columns
    # Sites and norms join the report's own statement, not a subquery around it, so the
    # database plans it as the one statement it is.
    query = (rows.add_columns(Site.code, Norm.name, Norm.hazard)
             .join(Site, Site.id == columns.site_id).join(Norm, Norm.id == columns.norm_id)
             .order_by(Site.path, Norm.name, Norm.id))
    query = restrict_to_scope(query, user, Site.path)
    if site is not None:
        query = query.where(Site.path.startswith(site.path, autoescape=True) if include_sub_sites
                            else Site.id == site.id)
    if site_ids is not None:
        query = query.where(Site.id.in_(list(site_ids)))
    if not everything:
        query = query.where(columns.usable < columns.required)
    materials = _norm_material_codes()
    # CEIL of a NUMERIC is NUMERIC on PostgreSQL: the counts leave the database as integers here.
    return [{"site": code, "norm": norm_id, "name": name, "hazard": hazard,
             "materials": materials.get(norm_id, []), "required": int(required),
             "usable": int(usable), "shortfall": max(0, int(required) - int(usable))}
            for _site_id, norm_id, required, usable, code, name, hazard in db.session.execute(query)]


def norm_groups() -> dict[int, int]:
    """Each norm's group, named by its first norm's id: norms that count the same materials
    (棉被 per person, and the 三断 minimum of 棉被) ask one quantity of a site, the larger, and
    must not be counted twice. A norm of no materials is a group of its own."""
    materials = _norm_material_codes()
    first: dict[tuple, int] = {}
    return {norm_id: first.setdefault(tuple(materials.get(norm_id)) or ("norm", norm_id), norm_id)
            for norm_id in db.session.scalars(sa.select(Norm.id).order_by(Norm.id))}


def group_of(norm_id_column, groups: dict[int, int]):
    """``norm_id_column``'s group (norm_groups) in SQL."""
    return sa.case(groups, value=norm_id_column, else_=norm_id_column) if groups else norm_id_column


def binding_shortfalls(user, *, site=None, include_sub_sites=True, everything=False,
                       today: dt.date | None = None, site_ids=None) -> list[dict]:
    """One row per site and group of norms (norm_groups): the requirement that binds — the
    largest shortfall, else the largest requirement — with every norm behind it in ``norms``.
    What pages, exports and the dashboard count; the API answers per norm (API.md)."""
    groups = norm_groups()
    binding: dict[tuple, dict] = {}
    for row in shortfalls(user, site=site, include_sub_sites=include_sub_sites, everything=True,
                          today=today, site_ids=site_ids):
        key = (row["site"], groups.get(row["norm"], row["norm"]))
        held = binding.get(key)
        norms = [*(held["norms"] if held else []),
                 {"id": row["norm"], "name": row["name"], "hazard": row["hazard"]}]
        if held is None or (row["shortfall"], row["required"]) > (held["shortfall"], held["required"]):
            held = row
        binding[key] = {**held, "group": key[1], "norms": norms}
    # The binding norm first, then the others it outweighs.
    return [{**row, "norms": sorted(row["norms"], key=lambda norm: norm["id"] != row["norm"])}
            for row in binding.values() if everything or row["shortfall"]]


def _norm_material_codes() -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    for norm_id, code in db.session.execute(
            sa.select(norm_materials.c.norm_id, Material.code)
            .join(Material, Material.id == norm_materials.c.material_id).order_by(Material.code)):
        codes.setdefault(norm_id, []).append(code)
    return codes


def shortfall_rollup(user, *, level: str, today: dt.date | None = None) -> list[dict]:
    """Per town (town room, its villages and agreement sites) or for the county (its whole tree):
    per group of norms, the binding requirements and usable stock of its sites in total, and the
    sum of their shortfalls — one site's surplus never covers another's gap."""
    kind = {"town": "town_store", "county": "county_depot"}[level]
    areas = dict(db.session.execute(restrict_to_scope(
        sa.select(Site.path, Site.code).where(Site.kind == kind), user, Site.path)).all())
    paths = dict(db.session.execute(restrict_to_scope(
        sa.select(Site.code, Site.path), user, Site.path)).all())
    totals: dict[tuple, dict] = {}
    for row in binding_shortfalls(user, everything=True, today=today):
        # The site's area is the one of its ancestors (or itself) of that kind: "/1/4/17/" lies
        # in "/1/" and "/1/4/".
        steps = paths[row["site"]].strip("/").split("/")
        for depth in range(1, len(steps) + 1):
            if (area := areas.get("/" + "/".join(steps[:depth]) + "/")) is None:
                continue
            total = totals.setdefault((area, row["group"]), {
                "area": area, "name": row["name"], "required": 0, "usable": 0, "shortfall": 0})
            total["required"] += row["required"]
            total["usable"] += row["usable"]
            total["shortfall"] += row["shortfall"]
    return sorted(totals.values(), key=lambda total: (paths[total["area"]], total["name"]))
