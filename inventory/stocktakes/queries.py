"""The read side of stocktakes: lists, a stocktake's lines (blind or with the books), progress,
and which sites are due for their quarterly count."""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from inventory import clock
from inventory.auth.access import can, scope_condition
from inventory.auth.models import User
from inventory.catalog.models import Category, Material
from inventory.db import db
from inventory.errors import NotFound, ValidationError
from inventory.labels.codes import LABEL_LENGTH, format_label, normalize_label
from inventory.sites.models import Agreement, AgreementLine, Site
from inventory.stock.models import StockItem
from inventory.stocktakes.models import FoundLine, Stocktake, StocktakeLine, stocktake_categories
from inventory.stocktakes.services import COUNTABLE_STATUSES, beyond_threshold
from inventory.templating import unit_name


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


def counting_now(user, *, limit: int = 5) -> list[sa.Row]:
    """(id, site name) of the stocktakes in the user's sites that are being counted: a keeper's
    home offers each one's count page."""
    return db.session.execute(stocktakes(user, status="counting")
                              .with_only_columns(Stocktake.id, Site.name).limit(limit)).all()


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


def progress_of(stocktake_ids: list[int]) -> dict[int, Progress]:
    """已盘 n / m of each listed stocktake, in one statement."""
    if not stocktake_ids:
        return {}
    rows = db.session.execute(
        sa.select(StocktakeLine.stocktake_id, sa.func.count(StocktakeLine.counted), sa.func.count(),
                  sa.func.count().filter(StocktakeLine.recount.is_(True)))
        .where(StocktakeLine.stocktake_id.in_(stocktake_ids)).group_by(StocktakeLine.stocktake_id))
    shown = {row[0]: Progress(counted=row[1], total=row[2], recount=row[3]) for row in rows}
    return {stocktake_id: shown.get(stocktake_id, Progress(0, 0, 0)) for stocktake_id in stocktake_ids}


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
#
# A site's count falls due one interval (STOCKTAKE_INTERVAL_DAYS) after its last approved full
# count — or, never counted, after the site was opened: a village point set up last week is not
# overdue, one that has stood for a year without a count is. It is listed as due from
# STOCKTAKE_DUE_SOON_DAYS before that day, and is overdue the day after it. "Counted within the
# interval" (coverage) is exactly "not overdue".

def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the bureau's timezone: where its day begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.timezone())


def _interval() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["STOCKTAKE_INTERVAL_DAYS"])


def last_counted():
    """Per site, when an approved full count (of the site, or of a site above with its sub-sites)
    last covered it: a subquery of (site_id, counted_at). A cycle count of some categories is not
    the quarterly count."""
    counted = sa.orm.aliased(Site)
    covering = (sa.select(Site.id.label("site_id"), sa.func.max(Stocktake.closed_at).label("counted_at"))
                .select_from(Stocktake).join(counted, counted.id == Stocktake.site_id)
                # A path is ids and slashes: nothing in it for LIKE to escape.
                .join(Site, sa.or_(Site.id == Stocktake.site_id,
                                   sa.and_(Stocktake.include_sub_sites, Site.path.startswith(counted.path))))
                .where(Stocktake.status == "closed",
                       ~sa.exists().where(stocktake_categories.c.stocktake_id == Stocktake.id))
                .group_by(Site.id))
    return covering.subquery("last_counted")


def falling_due(user, *, by: dt.date):
    """A select of (Site, last counted_at) for the active sites in the user's scope whose count
    falls due on or before ``by``, in site order (one statement, for lists and counts alike)."""
    last = last_counted()
    since = sa.func.coalesce(last.c.counted_at, Site.created_at)
    query = (sa.select(Site, last.c.counted_at).select_from(Site)
             .outerjoin(last, last.c.site_id == Site.id)
             .where(Site.active.is_(True), since < _start_of(by + dt.timedelta(days=1)) - _interval())
             .order_by(Site.path).options(sa.orm.lazyload(Site.parent)))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    return query


def due_query(user, *, on: dt.date):
    """falling_due() for the sites due (within STOCKTAKE_DUE_SOON_DAYS of ``on``) or overdue."""
    return falling_due(user, by=on + dt.timedelta(days=current_app.config["STOCKTAKE_DUE_SOON_DAYS"]))


@dataclass
class Due:
    """A site whose quarterly count is due soon or overdue, and since when it is counted."""

    site: Site
    last_counted: dt.datetime | None
    due_on: dt.date
    days_overdue: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def due_sites(user, *, on: dt.date | None = None, limit: int | None = None) -> list[Due]:
    """Active sites in the user's scope whose quarterly count is due (within
    STOCKTAKE_DUE_SOON_DAYS) or overdue, in site order; at most ``limit``."""
    on = on or clock.today()
    query = due_query(user, on=on)
    if limit is not None:
        query = query.limit(limit)
    due = []
    for site, counted_at in db.session.execute(query):
        since = counted_at or site.created_at
        due_on = since.astimezone(clock.timezone()).date() + _interval()
        due.append(Due(site=site, last_counted=counted_at, due_on=due_on,
                       days_overdue=max((on - due_on).days, 0)))
    return due


def overdue_site_ids(user, *, on: dt.date | None = None) -> set[int]:
    """The ids of the active sites in scope whose quarterly count is overdue."""
    on = on or clock.today()
    query = falling_due(user, by=on - dt.timedelta(days=1))
    return set(db.session.scalars(query.with_only_columns(Site.id).order_by(None)))


def coverage(user, *, on: dt.date | None = None) -> tuple[int, int]:
    """Audit coverage: active sites in scope counted within the interval, of all active sites."""
    on = on or clock.today()
    last = last_counted()
    fresh = last.c.counted_at >= _start_of(on) - _interval()
    query = (sa.select(sa.func.count(), sa.func.count().filter(fresh))
             .select_from(Site).outerjoin(last, last.c.site_id == Site.id).where(Site.active.is_(True)))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    total, counted = db.session.execute(query).one()
    return counted, total


# --- the count page's blind lookup (PB4: a scan is answered in a few statements) ----------------
#
# Both statements are built once, with bind parameters: building the item query (a recursive
# category CTE, an aliased counter) on every scan cost several times its execution.

_STOCKTAKE_TO_COUNT = (sa.select(Stocktake).where(Stocktake.id == sa.bindparam("stocktake_id"))
                       .options(*(sa.orm.lazyload(relation) for relation in (
                           Stocktake.counters, Stocktake.categories, Stocktake.witness,
                           Stocktake.created_by, Stocktake.approved_by))))
_CHOSEN = stocktake_categories.c.stocktake_id == sa.bindparam("stocktake_id")
_COVERED = (sa.select(stocktake_categories.c.category_id.label("id")).where(_CHOSEN)
            .cte("covered", recursive=True))
_COVERED = _COVERED.union_all(sa.select(Category.id).where(Category.parent_id == _COVERED.c.id))
# Any material, when the stocktake names no categories; else one in them or below them.
_IN_CATEGORIES = sa.or_(~sa.exists().where(_CHOSEN), StockItem.material_id.in_(
    sa.select(Material.id).where(Material.category_id.in_(sa.select(_COVERED.c.id)))))
_COUNTER = sa.orm.aliased(User, name="counter")
_BLIND_ITEM = (
    sa.select(StockItem, StocktakeLine.counted, StocktakeLine.recount,
              sa.func.coalesce(sa.func.nullif(_COUNTER.display_name, ""), _COUNTER.username),
              _IN_CATEGORIES)
    .outerjoin(StocktakeLine, sa.and_(StocktakeLine.item_id == StockItem.id,
                                      StocktakeLine.stocktake_id == sa.bindparam("stocktake_id")))
    .outerjoin(_COUNTER, _COUNTER.id == StocktakeLine.counted_by_id)
    .where(StockItem.label == sa.bindparam("label")))


def stocktake_to_count(user, stocktake_id: int) -> Stocktake:
    """The stocktake for a lookup, in one statement: its site but not its people or categories
    (the item query asks the database about those); NotFound unless the user may see it."""
    stocktake = db.session.scalar(_STOCKTAKE_TO_COUNT, {"stocktake_id": stocktake_id})
    if stocktake is None or not can(user, "stocktakes.view", stocktake.site):
        raise NotFound(_("盘点单不存在"))
    return stocktake


def label_of(text: str) -> str:
    """A label from what was typed or scanned: a bare code, or the scan URL of one."""
    text = (text or "").strip()
    if "/s/" in text:
        text = text.rsplit("/s/", 1)[1]
    return normalize_label(text)[:40]


def blind_item(user, stocktake: Stocktake, text: str) -> dict:
    """What the counter sees of a label this stocktake counts — never the books' quantity — in
    one statement; ValidationError when the stocktake does not count it (another site, another
    category, unknown, unseen: the same answer)."""
    label, row = label_of(text), None
    if len(label) == LABEL_LENGTH:
        row = db.session.execute(_BLIND_ITEM, {"stocktake_id": stocktake.id, "label": label}).first()
    if row is not None:
        item, counted, recount, counted_by, in_categories = row
        in_sites = item.site_id == stocktake.site_id or (stocktake.include_sub_sites
                                                         and item.site.within(stocktake.site))
        if in_sites and in_categories and can(user, "stock.view", item.site):
            return {"label": item.label, "label_text": format_label(item.label),
                    "material": item.material.code, "name": item.material.name,
                    "unit": unit_name(item.material.unit), "lot": item.lot,
                    "expiry": item.expiry_date.isoformat() if item.expiry_date else None,
                    "serial": item.serial, "site_name": item.site.name,
                    "counted": counted, "counted_by": counted_by if counted is not None else None,
                    "recount": bool(recount), "on_shelf": item.status in COUNTABLE_STATUSES}
    raise ValidationError({"label": _("标签 %(label)s 不在本次盘点范围内（%(site)s）",
                                      label=text.strip()[:40] or "—", site=stocktake.site.name)})
