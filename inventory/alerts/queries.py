"""What needs attention, within the user's scope: shortfalls, expiry, late loans, untested
equipment, agreements running out or unchecked, transfers stuck on the road, quarterly counts
due or overdue; and each site's readiness for roads, power and networks being cut
(reference/norms-default.md §9.4)."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager

from inventory import clock
from inventory.auth.access import restrict_to_scope
from inventory.catalog.models import Material
from inventory.db import db
from inventory.norms.models import Norm, norm_materials
from inventory.norms.queries import VERIFICATION_FRESH_DAYS, group_of, norm_groups, shortfall_rows
from inventory.sites.models import Agreement, Site
from inventory.stock import queries as stock_queries
from inventory.stock.models import EquipmentTest, StockItem, Transfer
from inventory.stocktakes import queries as stocktake_queries

EXPIRY_WARNING_DAYS = 90
UNTESTED_DAYS = 30
AGREEMENT_WARNING_DAYS = 60
TRANSIT_LATE_DAYS = 3
LIST_LIMIT = 200


def _last_tested():
    return (sa.select(EquipmentTest.item_id, sa.func.max(EquipmentTest.tested_on).label("on"))
            .group_by(EquipmentTest.item_id).subquery())


def untested_equipment(user, *, today: dt.date):
    """Equipment on the shelf that must be test-run and was not within 30 days (or never)."""
    last = _last_tested()
    return restrict_to_scope(
        sa.select(StockItem).join(Site, StockItem.site_id == Site.id)
        .join(Material, StockItem.material_id == Material.id)
        .outerjoin(last, last.c.item_id == StockItem.id)
        .where(Material.needs_testing.is_(True), StockItem.status == "available",
               StockItem.quantity > 0,
               sa.or_(last.c.on.is_(None), last.c.on < today - dt.timedelta(days=UNTESTED_DAYS)))
        .order_by(Site.path, StockItem.id), user, Site.path)


def _lots(user, *, since: dt.date | None, before: dt.date):
    query = (sa.select(StockItem).join(Site, StockItem.site_id == Site.id)
             .where(StockItem.status == "available", StockItem.quantity > 0,
                    StockItem.expiry_date < before)
             .order_by(StockItem.expiry_date, StockItem.id))
    if since is not None:
        query = query.where(StockItem.expiry_date >= since)
    return restrict_to_scope(query, user, Site.path)


def agreements_needing_attention(user, *, today: dt.date):
    """Agreement sites whose agreement ends within 60 days, or whose stock was not verified
    within 92 days (or ever)."""
    return restrict_to_scope(
        sa.select(Site).join(Agreement, Agreement.site_id == Site.id)
        .options(contains_eager(Site.agreement))
        .where(Site.active.is_(True), sa.or_(
            Agreement.valid_to <= today + dt.timedelta(days=AGREEMENT_WARNING_DAYS),
            Agreement.last_verified.is_(None),
            Agreement.last_verified < today - dt.timedelta(days=VERIFICATION_FRESH_DAYS)))
        .order_by(Site.path), user, Site.path)


def late_before(today: dt.date) -> dt.datetime:
    """A transfer dispatched before this instant and still on the road is late."""
    return dt.datetime.combine(today - dt.timedelta(days=TRANSIT_LATE_DAYS), dt.time(), dt.UTC)


def _alert_queries(user, *, today: dt.date, expiry_days: int) -> dict:
    short = shortfall_rows(today=today).subquery()
    late = stock_queries.transfers(user, status="in_transit").where(Transfer.dispatched_at < late_before(today))
    return {
        "expiring": _lots(user, since=today, before=today + dt.timedelta(days=expiry_days)),
        "expired": _lots(user, since=None, before=today),
        "overdue_loans": stock_queries.loans(user, overdue_on=today),
        "untested_equipment": untested_equipment(user, today=today),
        "agreements_expiring": agreements_needing_attention(user, today=today),
        "transfers_late": late,
        "stocktakes_due": stocktake_queries.due_query(user, on=today),
        # One per site and group of norms, as the shortfall report lists them (norm_groups).
        "shortfalls": restrict_to_scope(sa.select(short.c.site_id, group_of(short.c.norm_id, norm_groups()))
                              .join(Site, Site.id == short.c.site_id)
                              .where(short.c.usable < short.c.required).distinct(), user, Site.path),
    }


def alert_counts(user, *, today: dt.date | None = None,
                 expiry_days: int = EXPIRY_WARNING_DAYS) -> dict[str, int]:
    """How many of each alert there are (one count query each)."""
    queries = _alert_queries(user, today=today or clock.today(), expiry_days=expiry_days)
    return {name: stock_queries.count_of(query) for name, query in queries.items()}


def alerts(user, *, today: dt.date | None = None, expiry_days: int = EXPIRY_WARNING_DAYS) -> dict:
    """Every alert, as lists of records (at most 200 each) and their full counts; the sites due
    for their quarterly count as stocktakes.queries.Due (site, due date, days overdue)."""
    today = today or clock.today()
    queries = _alert_queries(user, today=today, expiry_days=expiry_days)
    counts = {name: stock_queries.count_of(query) for name, query in queries.items()}
    del queries["shortfalls"]  # a count is all the alert needs; the report lists the rows
    del queries["stocktakes_due"]  # listed with their due dates below
    return {"counts": counts, "shortfalls": counts["shortfalls"],
            **{name: list(db.session.scalars(query.limit(LIST_LIMIT)))
               for name, query in queries.items()},
            "stocktakes_due": stocktake_queries.due_sites(user, on=today, limit=LIST_LIMIT)}


READINESS_RED, READINESS_AMBER, READINESS_GREEN = "red", "amber", "green"


def readiness(user, *, today: dt.date | None = None) -> dict[int, dict]:
    """三断 readiness per site that has norms, by §9.4:

    red — no working comms (no satellite phone or Beidou terminal on the shelf), or no working
    power, or water or food below 50 % of its norm; amber — any norm below 100 %, comms or
    power equipment untested for over 30 days, food or water expiring within 90 days, or the
    quarterly count overdue (stocktakes.queries); green otherwise.
    Returns {site_id: {"colour", "reasons"}}.
    """
    today = today or clock.today()
    short = shortfall_rows(today=today).subquery()
    rows = db.session.execute(restrict_to_scope(
        sa.select(short.c.site_id, Norm.readiness, Norm.name, short.c.required, short.c.usable)
        .join(Norm, Norm.id == short.c.norm_id).join(Site, Site.id == short.c.site_id),
        user, Site.path)).all()
    untested = {item.site_id for item in db.session.scalars(
        untested_equipment(user, today=today).join(norm_materials, norm_materials.c.material_id
                                                   == StockItem.material_id)
        .join(Norm, sa.and_(Norm.id == norm_materials.c.norm_id,
                            Norm.readiness.in_(("comms", "power")))))}
    expiring = set(db.session.scalars(restrict_to_scope(
        sa.select(StockItem.site_id).join(Site, StockItem.site_id == Site.id)
        .join(norm_materials, norm_materials.c.material_id == StockItem.material_id)
        .join(Norm, sa.and_(Norm.id == norm_materials.c.norm_id,
                            Norm.readiness.in_(("water", "food"))))
        .where(StockItem.status == "available", StockItem.quantity > 0,
               StockItem.expiry_date >= today,
               StockItem.expiry_date <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS)),
        user, Site.path)))
    uncounted = stocktake_queries.overdue_site_ids(user, on=today)
    result: dict[int, dict] = {}
    for site_id, group, name, required, usable in rows:
        site = result.setdefault(site_id, {"red": [], "amber": [], "groups": {}})
        required, usable = int(required), int(usable)
        if group:
            held = site["groups"].setdefault(group, 0)
            site["groups"][group] = held + usable
        if group in ("water", "food") and required and usable * 2 < required:
            site["red"].append(f"{name} {usable}/{required}")
        elif usable < required:
            site["amber"].append(f"{name} {usable}/{required}")
    for site_id, site in result.items():
        if "comms" in site["groups"] and not site["groups"]["comms"]:
            site["red"].insert(0, _("无可用通信设备（卫星电话、北斗终端）"))
        if "power" in site["groups"] and not site["groups"]["power"]:
            site["red"].insert(0, _("无可用电源（发电机、储能电源）"))
        if site_id in untested:
            site["amber"].append(_("通信或电力设备超过 %(n)d 天未试机", n=UNTESTED_DAYS))
        if site_id in expiring:
            site["amber"].append(_("食品或饮用水 %(n)d 天内到期", n=EXPIRY_WARNING_DAYS))
        if site_id in uncounted:
            site["amber"].append(_("季度盘点逾期"))
        colour = (READINESS_RED if site["red"] else READINESS_AMBER if site["amber"]
                  else READINESS_GREEN)
        result[site_id] = {"colour": colour, "reasons": site["red"] or site["amber"]}
    return result


def counts_by_site(user, *, today: dt.date | None = None) -> dict[str, dict[int, int]]:
    """Expired lots and untested equipment per site, as alert_counts counts them:
    {"expired": {site_id: n}, "untested_equipment": {site_id: n}} (one grouped query each)."""
    today = today or clock.today()
    found = {}
    for name, query in (("expired", _lots(user, since=None, before=today)),
                        ("untested_equipment", untested_equipment(user, today=today))):
        listed = query.order_by(None).subquery()
        found[name] = {site_id: int(count) for site_id, count in db.session.execute(
            sa.select(listed.c.site_id, sa.func.count()).group_by(listed.c.site_id))}
    return found
