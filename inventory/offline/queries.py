"""Reads of the offline feature: a user's devices, a site's snapshot, the operations held."""

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from inventory.auth.access import authorize, is_scoped, restrict_to_scope
from inventory.db import db
from inventory.offline.models import Device, SyncConflict
from inventory.sites.models import Site
from inventory.stock import queries as stock
from inventory.stock.models import Movement, StockItem, Transfer
from inventory.stocktakes.models import Stocktake
from inventory.stocktakes.services import countable_items


def devices(user):
    """The user's own devices, newest first; an admin's list has everyone's."""
    query = sa.select(Device).order_by(Device.id.desc())
    return query if user.role == "admin" else query.where(Device.user_id == user.id)


def position() -> int:
    """The ledger's position: its last movement's id (0 before the first), which grows with
    every movement anywhere. Read it before what it stands for: whatever moves while the rest is
    read has a higher id, so a phone comparing positions never takes a read for newer than it is."""
    return db.session.scalar(sa.select(sa.func.max(Movement.id))) or 0


def on_hand(site: Site):
    """The select of ``site``'s goods on hand, as a snapshot lists them (the site not loaded:
    the caller has it)."""
    return (sa.select(StockItem).options(sa.orm.lazyload(StockItem.site))
            .where(StockItem.site_id == site.id, StockItem.quantity > 0)
            .order_by(StockItem.material_id, StockItem.expiry_date, StockItem.id))


def counting_at(*sites: Site):
    """The select of the stocktakes being counted at ``sites``, oldest first."""
    return (sa.select(Stocktake).where(Stocktake.site_id.in_([site.id for site in sites]),
                                       Stocktake.status == "counting").order_by(Stocktake.id))


def snapshot(user, site: Site) -> dict:
    """What a phone keeps of ``site`` to work offline (API.md): its goods on hand, its loans still
    out, the transfers on their way to it and its stocktakes being counted, with ``position`` —
    the ledger's last movement when it was read, which grows with every movement anywhere."""
    authorize(user, "stock.view", site)
    at = position()
    items = db.session.scalars(on_hand(site)).all()
    loans = db.session.scalars(stock.loans(user, site=site)).all()
    incoming = db.session.scalars(
        sa.select(Transfer).where(Transfer.to_site_id == site.id, Transfer.status == "in_transit")
        .order_by(Transfer.id)).unique().all()
    stocktakes = db.session.scalars(counting_at(site)).unique().all()
    return {"site": site, "position": at, "items": items, "loans": loans,
            "incoming_transfers": incoming, "stocktakes": stocktakes}


def paper_rows(user, site: Site, form: str, stocktake: Stocktake | None = None) -> tuple[int, list]:
    """What a paper form of ``site`` lists (offline/paper.py), read as its snapshot reads it, and
    the ledger position read first: nothing for an issue form (its rows are blank), the loans
    still out for a return form, for a count form the goods on hand that ``stocktake`` counts."""
    at = position()
    if form == "return":
        return at, db.session.scalars(stock.loans(user, site=site)).all()
    if form == "count":
        counted = countable_items(stocktake).with_only_columns(StockItem.id)
        return at, db.session.scalars(on_hand(site).where(StockItem.id.in_(counted))).all()
    return at, []


def paper_sites(user, code: str | None = None) -> list[tuple[Site, list[Stocktake]]]:
    """The sites whose paper forms the devices page offers, each with its stocktakes being
    counted: the user's own sites, and for a user of no site's scope (an admin, a manager) the
    site ``code`` names."""
    sites = sorted(user.sites, key=lambda site: site.code)
    if code and not is_scoped(user) and code not in {site.code for site in sites}:
        sites += db.session.scalars(sa.select(Site).where(Site.code == code)).all()
    counting: dict[int, list[Stocktake]] = {}
    for stocktake in db.session.scalars(counting_at(*sites)).unique() if sites else ():
        counting.setdefault(stocktake.site_id, []).append(stocktake)
    return [(site, counting.get(site.id, [])) for site in sites]


def conflicts(user, *, site=None, status=None):
    """Operations held for a manager at the sites in the user's scope, oldest first."""
    query = (sa.select(SyncConflict).outerjoin(Site, SyncConflict.site_id == Site.id)
             .options(contains_eager(SyncConflict.site)).order_by(SyncConflict.id))
    query = restrict_to_scope(query, user, Site.path)
    if site is not None:
        query = query.where(Site.path.startswith(site.path, autoescape=True))
    if status is not None:
        query = query.where(SyncConflict.status == status)
    return query


def recorded_lines(kind: str, body: dict) -> list[str]:
    """What a held operation recorded, a line each as the conflicts page shows it: the label (or
    material, loan line or transfer line) and the quantity, change or count. The body is as the
    phone sent it, so anything may be missing."""
    lines = body.get("lines") if kind not in ("adjustment", "count") else [body]
    shown = []
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        named = (str(line[name]) for name in ("label", "material", "issue_line", "line") if line.get(name))
        what = next(named, "—")
        if "quantity" in line:
            what += f" × {line['quantity']}"
        elif "delta" in line:
            what += f" {line['delta']:+d}" if isinstance(line["delta"], int) else f" {line['delta']}"
        elif "counted" in line:
            what += f" = {line['counted']}"
        elif "received" in line:
            what += f" → {line['received']}"
        shown.append(what)
    return shown
