"""Shortfalls against the norms: one set-based statement over balances, never a loop over
sites × materials (DESIGN.md §3.7). Per site, and rolled up to towns and the county."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from inventory import clock
from inventory.auth.access import scope_condition
from inventory.catalog.models import Material
from inventory.db import db
from inventory.norms.models import Norm, norm_materials
from inventory.sites.models import Agreement, Site, SiteHazard
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


def _norm_sites():
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
    pairs = _norm_sites()
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
              .where(StockItem.status == "available", StockItem.quantity > 0,
                     sa.or_(StockItem.expiry_date.is_(None), StockItem.expiry_date >= today))
              .group_by(holders.c.norm_id, holders.c.site_id).cte("usable"))
    quantity = sa.func.coalesce(usable.c.quantity, 0)
    return (sa.select(pairs.c.site_id, pairs.c.norm_id, pairs.c.required,
                      quantity.label("usable"))
            .outerjoin(usable, sa.and_(usable.c.norm_id == pairs.c.norm_id,
                                       usable.c.site_id == pairs.c.site_id)))


def shortfalls(user, *, site=None, include_sub_sites=True, everything=False,
               today: dt.date | None = None) -> list[dict]:
    """Shortfall rows the user may see: by default only those short of their norm."""
    rows = shortfall_rows(today=today)
    columns = rows.selected_columns
    # Sites and norms join the report's own statement, not a subquery around it, so the
    # database plans it as the one statement it is.
    query = (rows.add_columns(Site.code, Norm.name)
             .join(Site, Site.id == columns.site_id).join(Norm, Norm.id == columns.norm_id)
             .order_by(Site.path, Norm.name, Norm.id))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    if site is not None:
        query = query.where(Site.path.startswith(site.path, autoescape=True) if include_sub_sites
                            else Site.id == site.id)
    if not everything:
        query = query.where(columns.usable < columns.required)
    materials = _norm_material_codes()
    # CEIL of a NUMERIC is NUMERIC on PostgreSQL: the counts leave the database as integers here.
    return [{"site": code, "norm": norm_id, "name": name, "materials": materials.get(norm_id, []),
             "required": int(required), "usable": int(usable),
             "shortfall": max(0, int(required) - int(usable))}
            for _site_id, norm_id, required, usable, code, name in db.session.execute(query)]


def _norm_material_codes() -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    for norm_id, code in db.session.execute(
            sa.select(norm_materials.c.norm_id, Material.code)
            .join(Material, Material.id == norm_materials.c.material_id).order_by(Material.code)):
        codes.setdefault(norm_id, []).append(code)
    return codes


def shortfall_rollup(user, *, level: str, today: dt.date | None = None) -> list[dict]:
    """Per town (town room, its villages and agreement sites) or for the county (its whole tree):
    per norm name, what is required and usable in total, and the sum of the sites' shortfalls
    (a surplus in one village does not cover a shortfall in another)."""
    rows = shortfall_rows(today=today).subquery()
    area, member = aliased(Site), aliased(Site)
    kind = {"town": "town_store", "county": "county_depot"}[level]
    short = sa.case((rows.c.usable < rows.c.required, rows.c.required - rows.c.usable), else_=0)
    query = (sa.select(area.code, Norm.name, sa.func.sum(rows.c.required),
                       sa.func.sum(rows.c.usable), sa.func.sum(short))
             .select_from(rows)
             .join(member, member.id == rows.c.site_id)
             .join(area, sa.and_(area.kind == kind,
                                 member.path.startswith(area.path)))
             .join(Norm, Norm.id == rows.c.norm_id)
             .group_by(area.code, area.path, Norm.name).order_by(area.path, Norm.name))
    if (condition := scope_condition(user, area.path)) is not None:
        query = query.where(condition)
    return [{"area": code, "name": name, "required": int(required), "usable": int(usable),
             "shortfall": int(shortfall)}
            for code, name, required, usable, shortfall in db.session.execute(query)]
