"""The stocktake actions: open, count, record found goods, submit, send back, cancel — and the
claim on a stocktake's row they share with approval (stocktakes/approval.py).

Every public function is one unit of work (db.transactional), authorises at the choke point and
changes stock only through stock/ledger.py — and only approval changes stock at all.

Why the count needs no freeze: a line keeps what the books said *when it was counted*
(``expected_at_count``) beside the count, and the variance is the one against the other. Goods
issued or received after the count are the ledger's own movements and stay as they are; approval
adds the variance to whatever the item holds then (QUALITY.md R10: counted 40 against 50, 5
issued after the count, approved → 35). A line nobody counted is counted as 0 against the books
at approval.

How two writers are kept apart: every count holds a shared lock on the stocktake's row
(PostgreSQL FOR SHARE; SQLite's BEGIN IMMEDIATE serialises writers anyway), and every change of
state (submit, send back, approve, cancel) is a conditional UPDATE of that row — so a count
never lands in a stocktake that has just gone to review, and of two approvals one finds it done.
"""


import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from inventory import clock
from inventory.auth.access import authorize, can
from inventory.auth.models import User
from inventory.catalog.models import Category, Material
from inventory.db import db, execute, transactional
from inventory.errors import Duplicate, InvalidState, NotFound, ValidationError
from inventory.labels.codes import format_label, normalize_label
from inventory.sites.models import Site
from inventory.stock import ledger
from inventory.stock.models import StockItem
from inventory.stock.services import site_for
from inventory.stocktakes.models import (
    PERIOD,
    FoundLine,
    Stocktake,
    StocktakeCount,
    StocktakeLine,
    quarter_of,
    stocktake_counters,
)
from inventory.stocktakes.schemas import COUNT, FOUND, OPENING, RECOUNT
from inventory.validation import listing, load

# Items a count covers: on the shelf (available or damaged) with something in them. Goods on
# loan or on the road have left the books' quantity already.
COUNTABLE_STATUSES = ("available", "damaged")
_LINES = StocktakeLine.__table__
_SET_COUNT = (sa.update(_LINES)
              .where(_LINES.c.id == sa.bindparam("line_id"))
              .values(counted=sa.bindparam("counted_value"), expected_at_count=sa.bindparam("books"),
                      counted_by_id=sa.bindparam("user"), counted_at=sa.bindparam("at"), recount=False))


# --- what the actions look up ------------------------------------------------------------------

def get_stocktake(stocktake_id: int) -> Stocktake:
    stocktake = db.session.get(Stocktake, stocktake_id)
    if stocktake is None:
        raise NotFound(_("盘点单不存在"))
    return stocktake


def visible_stocktake(actor, stocktake_id: int) -> Stocktake:
    """The stocktake if ``actor`` may see its site; NotFound otherwise, as for a label."""
    stocktake = db.session.get(Stocktake, stocktake_id)
    if stocktake is None or not can(actor, "stocktakes.view", stocktake.site):
        raise NotFound(_("盘点单不存在"))
    return stocktake


def _lock_row(stocktake: Stocktake, *, shared: bool) -> Stocktake:
    """Lock the stocktake's row (shared for a count, exclusive for a change of state) and read
    its state fresh; on SQLite the write transaction already holds the database."""
    db.session.execute(sa.select(Stocktake.id).where(Stocktake.id == stocktake.id)
                       .with_for_update(read=shared))
    db.session.refresh(stocktake, ["status", "version"])
    return stocktake


def claim(actor, stocktake_id: int, permission: str, *, status: str, shared: bool) -> Stocktake:
    """The stocktake an action works on: visible to ``actor`` (NotFound), ``permission`` at its
    site (Forbidden), its row locked (shared for a count, exclusive for a change of state) and
    in ``status`` (InvalidState)."""
    stocktake = visible_stocktake(actor, stocktake_id)
    authorize(actor, permission, stocktake.site)
    _lock_row(stocktake, shared=shared)
    _require(stocktake, status)
    return stocktake


def move(stocktake: Stocktake, *, expected: tuple[str, ...], to: str, **stamps) -> None:
    """counting → review → closed (or back to counting, or cancelled), conditionally: if another
    user moved it first, nothing changes and the caller is told why."""
    moved = db.session.execute(
        sa.update(Stocktake)
        .where(Stocktake.id == stocktake.id, Stocktake.status.in_(expected),
               Stocktake.version == stocktake.version)
        .values(status=to, version=Stocktake.version + 1, **stamps)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(stocktake, ["status", "version"])
        raise _wrong_state(stocktake)
    db.session.refresh(stocktake)


def _wrong_state(stocktake: Stocktake) -> InvalidState:
    return InvalidState({
        "counting": _("盘点单 %(number)s 正在清点，尚未提交审核", number=stocktake.number),
        "review": _("盘点单 %(number)s 已提交审核，不能再清点；如需复盘请由管理员退回",
                    number=stocktake.number),
        "closed": _("盘点单 %(number)s 已审批完成，不能再更改", number=stocktake.number),
        "cancelled": _("盘点单 %(number)s 已撤销", number=stocktake.number),
    }[stocktake.status])


def _require(stocktake: Stocktake, status: str) -> None:
    if stocktake.status != status:
        raise _wrong_state(stocktake)


def _category_ids(stocktake: Stocktake) -> list[int] | None:
    """The categories a cycle count covers, with every category under them; None for all."""
    if not stocktake.categories:
        return None
    children: dict[int | None, list[int]] = {}
    for category_id, parent_id in db.session.execute(sa.select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(category_id)
    covered, todo = set(), [category.id for category in stocktake.categories]
    while todo:
        category_id = todo.pop()
        if category_id not in covered:
            covered.add(category_id)
            todo.extend(children.get(category_id, ()))
    return sorted(covered)


def scope_sites(stocktake: Stocktake):
    """The ids of the sites a stocktake counts, as a subquery: its site, or its whole subtree."""
    if not stocktake.include_sub_sites:
        return sa.select(sa.literal(stocktake.site_id))
    return sa.select(Site.id).where(Site.path.startswith(stocktake.site.path, autoescape=True))


def countable_items(stocktake: Stocktake):
    """The select of the items the stocktake counts: on the shelf, in its sites and categories."""
    query = (sa.select(StockItem.id, StockItem.quantity)
             .where(StockItem.site_id.in_(scope_sites(stocktake)),
                    StockItem.status.in_(COUNTABLE_STATUSES), StockItem.quantity > 0))
    if (categories := _category_ids(stocktake)) is not None:
        query = query.where(StockItem.material_id.in_(
            sa.select(Material.id).where(Material.category_id.in_(categories))))
    return query


def _covers(stocktake: Stocktake, item: StockItem) -> bool:
    if item.site_id != stocktake.site_id and not (stocktake.include_sub_sites
                                                    and item.site.within(stocktake.site)):
        return False
    categories = _category_ids(stocktake)
    return categories is None or item.material.category_id in categories


def _user_named(username: str, field: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.active:
        raise ValidationError({field: _("用户 %(name)s 不存在或已停用", name=username)})
    return user


def _check_period(period: str) -> None:
    year, quarter = map(int, PERIOD.fullmatch(period).groups())
    today = clock.today()
    if (year, quarter) > tuple(map(int, PERIOD.fullmatch(quarter_of(today)).groups())):
        raise ValidationError({"period": _("不能盘点尚未开始的季度（现在是 %(now)s）", now=quarter_of(today))})
    if year < today.year - 5:
        raise ValidationError({"period": _("季度 %(period)s 太早", period=period)})


def _overlapping(site: Site, include_sub_sites: bool, categories: list[Category]) -> Stocktake | None:
    """An open stocktake that would count some of the same items: the same site, a site above
    that counts its sub-sites, or (with sub-sites) a site below. Cycle counts of different
    categories do not overlap."""
    ancestors = [int(part) for part in site.path.strip("/").split("/") if part]
    same_or_above = sa.or_(Stocktake.site_id == site.id,
                           sa.and_(Stocktake.site_id.in_(ancestors), Stocktake.include_sub_sites))
    condition = same_or_above
    if include_sub_sites:
        below = sa.select(Site.id).where(Site.path.startswith(site.path, autoescape=True))
        condition = sa.or_(same_or_above, Stocktake.site_id.in_(below))
    for other in db.session.scalars(sa.select(Stocktake).where(
            Stocktake.status.in_(("counting", "review")), condition)):
        mine, theirs = {c.id for c in categories}, {c.id for c in other.categories}
        if not (mine and theirs and not (mine & theirs)):
            return other
    return None


# --- opening ----------------------------------------------------------------------------------

@transactional
def open_stocktake(*, actor, data: dict) -> Stocktake:
    """开始盘点: number it and take the snapshot — one line per item on the shelf in its scope."""
    fields = load(OPENING, data)
    site = site_for(fields["site"], "site")
    authorize(actor, "stocktakes.open", site)
    if not site.active:
        raise ValidationError({"site": _("站点已停用")})
    _check_period(fields["period"])
    categories = []
    for code in fields.get("categories") or ():
        category = db.session.scalar(sa.select(Category).where(Category.code == code))
        if category is None:
            raise ValidationError({"categories": _("分类 %(code)s 不存在", code=code)})
        categories.append(category)
    counters = [_user_named(name, "counters") for name in fields.get("counters") or ()]
    for counter in counters:
        if not can(counter, "stocktakes.count", site):
            raise ValidationError({"counters": _("%(name)s 无权在该站点盘点", name=counter.username)})
    witness = None
    if fields.get("witness"):
        witness = _user_named(fields["witness"], "witness")
        if not can(witness, "stocktakes.review", site):
            raise ValidationError({"witness": _("监盘人须是该站点的审计员或管理员")})
    include_sub_sites = bool(fields.get("include_sub_sites"))
    if (other := _overlapping(site, include_sub_sites, categories)) is not None:
        raise Duplicate(_("%(site)s 已有进行中的盘点 %(number)s，请先完成或撤销",
                          site=other.site.name, number=other.number))
    stocktake = Stocktake(number=ledger.next_number("stocktake"), site=site, period=fields["period"],
                          include_sub_sites=include_sub_sites, note=fields.get("note") or "",
                          witness=witness, created_by_id=getattr(actor, "id", None),
                          counters=counters, categories=categories)
    db.session.add(stocktake)
    db.session.flush()
    snapshot = countable_items(stocktake).subquery()
    execute(sa.insert(_LINES).from_select(
        ["stocktake_id", "item_id", "snapshot", "recount", "reason"],
        sa.select(sa.literal(stocktake.id), snapshot.c.id, snapshot.c.quantity, sa.false(),
                  sa.literal(""))))
    return stocktake


# --- counting -----------------------------------------------------------------------------------

def _insert_ignoring_conflict(table, values: dict, index_elements) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(values)
    execute(insert.on_conflict_do_nothing(index_elements=index_elements))


def _line_for(stocktake: Stocktake, item: StockItem) -> StocktakeLine:
    """The item's line, made (snapshot 0) for an item that came onto the shelf since opening."""
    find = sa.select(StocktakeLine).where(StocktakeLine.stocktake_id == stocktake.id,
                                          StocktakeLine.item_id == item.id)
    line = db.session.scalar(find)
    if line is None:
        _insert_ignoring_conflict(_LINES, {"stocktake_id": stocktake.id, "item_id": item.id,
                                           "snapshot": 0, "recount": False, "reason": ""},
                                  ["stocktake_id", "item_id"])
        line = db.session.scalar(find)
    return line


def _join_counters(stocktake: Stocktake, actor) -> None:
    """Whoever counts is one of the stocktake's counters (盘点人), named or not."""
    if getattr(actor, "id", None) is not None:
        _insert_ignoring_conflict(stocktake_counters, {"stocktake_id": stocktake.id,
                                                       "user_id": actor.id},
                                  ["stocktake_id", "user_id"])


@transactional
def record_count(*, actor, stocktake_id: int, data: dict) -> StocktakeLine:
    """清点: the latest count of a label stands. The answer says nothing of the books."""
    fields = load(COUNT, data)
    stocktake = claim(actor, stocktake_id, "stocktakes.count", status="counting", shared=True)
    item = db.session.scalar(sa.select(StockItem).where(
        StockItem.label == normalize_label(fields["label"])))
    if item is None or not _covers(stocktake, item) or not can(actor, "stock.view", item.site):
        raise ValidationError({"label": _("标签 %(label)s 不在本次盘点范围内（%(site)s）",
                                          label=fields["label"], site=stocktake.site.name)})
    counted = fields["counted"]
    if item.serial and counted > 1:
        raise ValidationError({"counted": _("一物一码物资只能记“在”（1）或“不在”（0）")})
    if item.status not in COUNTABLE_STATUSES and counted > 0:
        raise ValidationError({"label": _("标签 %(label)s 的物品已借出或在途，不在库内，不能计数",
                                          label=format_label(item.label))})
    line = _line_for(stocktake, item)
    books = db.session.scalar(sa.select(StockItem.quantity).where(StockItem.id == item.id))
    at = clock.now()
    execute(_SET_COUNT, {"line_id": line.id, "counted_value": counted, "books": books,
                         "user": getattr(actor, "id", None), "at": at})
    db.session.add(StocktakeCount(line_id=line.id, counted=counted, user_id=getattr(actor, "id", None),
                                  at=at))
    _join_counters(stocktake, actor)
    db.session.flush()
    db.session.refresh(line)
    return line


@transactional
def record_found(*, actor, stocktake_id: int, data: dict) -> FoundLine:
    """盘盈: goods on the shelf that are not on the books, to become stock items on approval."""
    fields = load(FOUND, data)
    stocktake = claim(actor, stocktake_id, "stocktakes.count", status="counting", shared=True)
    material = db.session.scalar(sa.select(Material).where(Material.code == fields["material"]))
    if material is None:
        raise ValidationError({"material": _("物资 %(code)s 不存在", code=fields["material"])})
    categories = _category_ids(stocktake)
    if categories is not None and material.category_id not in categories:
        raise ValidationError({"material": _("%(name)s 不在本次盘点的分类内", name=material.name)})
    serial = (fields.get("serial") or "").strip() or None
    if material.tracking == "serial":
        if serial is None:
            raise ValidationError({"serial": _("一物一码物资须填写序列号")})
        if fields["quantity"] != 1:
            raise ValidationError({"quantity": _("一物一码物资每行 1 台")})
        holder = db.session.scalar(sa.select(StockItem).where(
            StockItem.material_id == material.id, StockItem.serial == serial, StockItem.quantity > 0))
        if holder is not None:
            raise Duplicate(_("序列号 %(serial)s 已在账上（%(site)s，标签 %(label)s）：请扫它的标签计数",
                              serial=serial, site=holder.site.name, label=format_label(holder.label)))
        twice = db.session.scalar(sa.select(sa.exists().where(
            FoundLine.stocktake_id == stocktake.id, FoundLine.material_id == material.id,
            FoundLine.serial == serial)))
        if twice:
            raise Duplicate(_("序列号 %(serial)s 已登记为盘盈", serial=serial))
    elif serial:
        raise ValidationError({"serial": _("按批次管理的物资不填序列号")})
    found = FoundLine(stocktake_id=stocktake.id, material=material, quantity=fields["quantity"],
                      lot=(fields.get("lot") or "").strip() or None, serial=serial,
                      expiry_date=fields.get("expiry_date"), note=fields.get("note") or "",
                      user_id=getattr(actor, "id", None))
    db.session.add(found)
    _join_counters(stocktake, actor)
    db.session.flush()
    return found


@transactional
def remove_found(*, actor, stocktake_id: int, found_id: int) -> None:
    """A found line entered by mistake, taken off while counting."""
    stocktake = claim(actor, stocktake_id, "stocktakes.count", status="counting", shared=True)
    found = db.session.get(FoundLine, found_id)
    if found is None or found.stocktake_id != stocktake.id:
        raise NotFound(_("盘盈记录不存在"))
    db.session.delete(found)


# --- review -----------------------------------------------------------------------------------

@transactional
def submit(*, actor, stocktake_id: int) -> Stocktake:
    """提交审核: counting ends; items that came onto the shelf since opening get their lines,
    so the reviewer sees them among the uncounted."""
    stocktake = claim(actor, stocktake_id, "stocktakes.count", status="counting", shared=False)
    move(stocktake, expected=("counting",), to="review", submitted_at=clock.now())
    arrived = countable_items(stocktake).where(~StockItem.id.in_(
        sa.select(_LINES.c.item_id).where(_LINES.c.stocktake_id == stocktake.id))).subquery()
    execute(sa.insert(_LINES).from_select(
        ["stocktake_id", "item_id", "snapshot", "recount", "reason"],
        sa.select(sa.literal(stocktake.id), arrived.c.id, sa.literal(0), sa.false(), sa.literal(""))))
    return stocktake


def _lines_by_label(stocktake: Stocktake, labels, field: str) -> list[StocktakeLine]:
    wanted = {normalize_label(label): label for label in labels}
    lines = list(db.session.scalars(
        sa.select(StocktakeLine).join(StocktakeLine.item)
        .where(StocktakeLine.stocktake_id == stocktake.id, StockItem.label.in_(wanted))))
    unknown = wanted.keys() - {line.item.label for line in lines}
    if unknown:
        raise ValidationError({field: _("这些标签不在本盘点单内：%(labels)s",
                                        labels=listing(wanted[label] for label in sorted(unknown)))})
    return lines


@transactional
def request_recount(*, actor, stocktake_id: int, data: dict) -> Stocktake:
    """退回复盘: the chosen lines' counts are cleared and marked, and counting opens again."""
    fields = load(RECOUNT, data)
    stocktake = claim(actor, stocktake_id, "stocktakes.approve", status="review", shared=False)
    lines = _lines_by_label(stocktake, fields["labels"], "labels")
    move(stocktake, expected=("review",), to="counting", submitted_at=None)
    db.session.execute(sa.update(StocktakeLine)
                       .where(StocktakeLine.id.in_([line.id for line in lines]))
                       .values(counted=None, expected_at_count=None, counted_by_id=None,
                               counted_at=None, recount=True)
                       .execution_options(synchronize_session=False))
    return stocktake


@transactional
def cancel(*, actor, stocktake_id: int) -> Stocktake:
    """撤销: a stocktake opened by mistake; nothing was posted, nothing is."""
    stocktake = visible_stocktake(actor, stocktake_id)
    authorize(actor, "stocktakes.open", stocktake.site)
    _lock_row(stocktake, shared=False)
    if stocktake.status not in ("counting", "review"):
        raise _wrong_state(stocktake)
    move(stocktake, expected=("counting", "review"), to="cancelled", cancelled_at=clock.now())
    return stocktake


def beyond_threshold(expected: int, counted: int | None) -> bool:
    """Whether review should highlight a line: goods where the books had none, none counted, or
    a variance of at least STOCKTAKE_VARIANCE_PERCENT of the books."""
    delta = (counted or 0) - expected
    if delta == 0:
        return False
    if expected == 0 or counted is None:
        return True
    return abs(delta) * 100 >= current_app.config["STOCKTAKE_VARIANCE_PERCENT"] * expected
