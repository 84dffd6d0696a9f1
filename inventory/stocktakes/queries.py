"""The read side of stocktakes: lists, a stocktake's lines (blind or with the books), progress,
and which sites are due for their quarterly count."""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from inventory import clock
from inventory.auth.access import can, scope_condition
from inventory.catalog.models import Material
from inventory.db import db
from inventory.sites.models import Agreement, AgreementLine, Site
from inventory.stock.models import StockItem
from inventory.stocktakes.models import FoundLine, Stocktake, StocktakeLine, stocktake_categories
from inventory.stocktakes.services import beyond_threshold


def stocktakes(user, *, site=None, period=None, status=None):
    """Stocktakes in the user's scope, newest first (a select, for paging)."""
    query = (sa.select(Stocktake).join(Stocktake.site).order_by(Stocktake.id.desc()))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    if site is not None:
        query = query.where(Stocktake.site_id == site.id)
    if period:
        query = query.where(Stocktake.period == period)
    if status:
        query = query.where(Stocktake.status == status)
    return query


def sees_books(user, stocktake: Stocktake) -> bool:
    """Whether ``user`` may see what the books expect: reviewers do, counters never (blind)."""
    return can(user, "stocktakes.review", stocktake.site)


@dataclass
class Line:
    """A line as a page or the API shows it; ``expected`` and ``delta`` only for reviewers."""

    id: int
    item: StockItem
    counted: int | None
    counted_by: str | None
    counted_at: dt.datetime | None
    recount: bool
    reason: str
    expected: int | None = None
    delta: int | None = None
    highlighted: bool = False

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def value(self) -> float | None:
        """What the variance is worth at the material's reference price (元)."""
        price = self.item.material.unit_price
        return None if self.delta is None or price is None else round(self.delta * price, 2)


def lines(stocktake: Stocktake, *, books: bool) -> list[Line]:
    """Every line in shelf order (site, material, lot, expiry). With ``books``: what was expected
    — the books when it was counted, or (uncounted) the books now, or once closed what approval
    measured against — and the variance."""
    rows = db.session.scalars(
        sa.select(StocktakeLine).join(StocktakeLine.item).join(StockItem.site).join(StockItem.material)
        .where(StocktakeLine.stocktake_id == stocktake.id)
        .order_by(Site.path, Material.code, StockItem.lot, StockItem.expiry_date, StockItem.serial))
    shown = []
    for row in rows:
        counter = row.counted_by
        line = Line(id=row.id, item=row.item, counted=row.counted,
                    counted_by=(counter.display_name or counter.username) if counter else None,
                    counted_at=row.counted_at, recount=row.recount, reason=row.reason)
        if books:
            if stocktake.status == "closed":
                line.delta = row.delta or 0
                line.expected = (row.counted or 0) - line.delta
            else:
                line.expected = row.item.quantity if row.counted is None else row.expected_at_count
                line.delta = (row.counted or 0) - line.expected
            line.highlighted = beyond_threshold(line.expected, row.counted)
        shown.append(line)
    return shown


def found(stocktake: Stocktake) -> list[FoundLine]:
    return list(db.session.scalars(sa.select(FoundLine).where(FoundLine.stocktake_id == stocktake.id)
                                   .order_by(FoundLine.id)))


@dataclass
class Progress:
    counted: int
    total: int
    recount: int

    @property
    def left(self) -> int:
        return self.total - self.counted


def progress(stocktake: Stocktake) -> Progress:
    """已盘 n / m: lines counted of all, and how many were sent back for a recount."""
    row = db.session.execute(
        sa.select(sa.func.count(StocktakeLine.counted), sa.func.count(),
                  sa.func.count().filter(StocktakeLine.recount.is_(True)))
        .where(StocktakeLine.stocktake_id == stocktake.id)).one()
    return Progress(counted=row[0], total=row[1], recount=row[2])


def agreement_check(stocktake: Stocktake) -> list[dict]:
    """代储核查: for an agreement site, each agreed material against what was counted (and found)
    there — the partner's promise beside the shelf."""
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.site_id == stocktake.site_id))
    if agreement is None:
        return []
    counted = dict(db.session.execute(
        sa.select(StockItem.material_id, sa.func.coalesce(sa.func.sum(StocktakeLine.counted), 0))
        .join(StocktakeLine.item).where(StocktakeLine.stocktake_id == stocktake.id)
        .group_by(StockItem.material_id)).all())
    for material_id, quantity in db.session.execute(
            sa.select(FoundLine.material_id, sa.func.sum(FoundLine.quantity))
            .where(FoundLine.stocktake_id == stocktake.id).group_by(FoundLine.material_id)):
        counted[material_id] = counted.get(material_id, 0) + quantity
    agreed = db.session.scalars(sa.select(AgreementLine).where(AgreementLine.agreement_id == agreement.id)
                                .order_by(AgreementLine.id))
    return [{"material": line.material, "agreed": line.quantity,
             "counted": counted.get(line.material_id, 0),
             "short": max(line.quantity - counted.get(line.material_id, 0), 0)} for line in agreed]


# --- the quarterly schedule ---------------------------------------------------------------------

def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the bureau's timezone: where its day begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.timezone())


def last_counted():
    """Per site, when an approved full count (of the site, or of a site above with its sub-sites)
    last covered it: a subquery of (site_id, counted_at)."""
    counted = sa.orm.aliased(Site)
    covering = (sa.select(Site.id.label("site_id"), sa.func.max(Stocktake.closed_at).label("counted_at"))
                .select_from(Stocktake).join(counted, counted.id == Stocktake.site_id)
                .join(Site, sa.or_(Site.id == Stocktake.site_id,
                                   sa.and_(Stocktake.include_sub_sites,
                                           Site.path.startswith(counted.path, autoescape=True))))
                .where(Stocktake.status == "closed",
                       ~sa.exists().where(stocktake_categories.c.stocktake_id == Stocktake.id))
                .group_by(Site.id))
    return covering.subquery("last_counted")


def due_sites(user, *, on: dt.date | None = None) -> list[dict]:
    """Active sites in the user's scope whose quarterly count is due (within the last
    STOCKTAKE_DUE_SOON_DAYS of the interval) or overdue: {site, last_counted, due_on, overdue}."""
    on = on or clock.today()
    interval = dt.timedelta(days=current_app.config["STOCKTAKE_INTERVAL_DAYS"])
    soon = dt.timedelta(days=current_app.config["STOCKTAKE_DUE_SOON_DAYS"])
    last = last_counted()
    query = (sa.select(Site, last.c.counted_at).outerjoin(last, last.c.site_id == Site.id)
             .where(Site.active.is_(True)).order_by(Site.path)
             .options(sa.orm.lazyload(Site.parent)))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    threshold = _start_of(on + soon) - interval
    query = query.where(sa.or_(last.c.counted_at.is_(None), last.c.counted_at < threshold))
    due = []
    for site, counted_at in db.session.execute(query):
        due_on = (counted_at.astimezone(clock.timezone()).date() + interval) if counted_at else on
        due.append({"site": site, "last_counted": counted_at, "due_on": due_on,
                    "overdue": due_on <= on})
    return due


def coverage(user, *, on: dt.date | None = None) -> tuple[int, int]:
    """Audit coverage: active sites in scope counted within the interval, of all active sites."""
    on = on or clock.today()
    interval = dt.timedelta(days=current_app.config["STOCKTAKE_INTERVAL_DAYS"])
    last = last_counted()
    query = (sa.select(sa.func.count(), sa.func.count().filter(last.c.counted_at >= _start_of(on) - interval))
             .select_from(Site).outerjoin(last, last.c.site_id == Site.id).where(Site.active.is_(True)))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    total, counted = db.session.execute(query).one()
    return counted, total
