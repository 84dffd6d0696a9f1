"""The rules of the stock ledger. The only code that writes quantities, statuses or movements.

Every public function is one transaction (see db.transactional) and raises named errors. Stock
goes down only through a conditional UPDATE (quantity + delta >= 0), never read-then-write;
documents that touch several items lock them in id order first, so two documents never wait on
each other in a circle.
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from inventory.auth.access import authorize
from inventory.catalog.models import Material
from inventory.db import db, execute, transactional, utcnow
from inventory.errors import (
    Duplicate,
    InsufficientStock,
    InvalidState,
    NotFound,
    ValidationError,
)
from inventory.sites.models import Site
from inventory.stock.models import (
    ADJUSTMENT_REASONS,
    DOCUMENT_PREFIXES,
    RECIPIENT_TYPES,
    RETURN_CONDITIONS,
    SOURCES,
    TEST_RESULTS,
    DocumentCounter,
    EquipmentTest,
    Issue,
    IssueLine,
    Movement,
    Receipt,
    Return,
    ReturnLine,
    StockItem,
    Transfer,
    TransferLine,
)
from inventory.validation import Array, Date, Integer, Object, String, listing, load

# Labels: 16 characters of Crockford's base 32 (no I, L, O, U), 80 random bits. What a person
# types is read leniently: O as 0, I and L as 1, any case, spaces and dashes ignored.
LABEL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LABEL_LENGTH = 16
LABEL_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None, "\t": None})
MAX_QUANTITY = 1_000_000_000
WRITEOFF_REASONS = {"damaged", "expired", "disposal"}
REVERSIBLE_KINDS = {"receipt", "adjustment", "writeoff", "stocktake"}

SOURCE_NAMES = {"central": _l("中央财政"), "provincial": _l("省级财政"), "municipal": _l("市级财政"),
                "county": _l("县级财政"), "donation": _l("社会捐赠"), "purchase": _l("采购"),
                "other": _l("其他")}
RECIPIENT_NAMES = {"household": _l("受灾家庭"), "person": _l("个人"), "unit": _l("单位"),
                   "team": _l("救援队伍")}
TEST_RESULT_NAMES = {"ok": _l("正常"), "fault": _l("故障")}
CONDITION_NAMES = {"good": _l("完好"), "damaged": _l("损坏"), "lost": _l("丢失")}
REASON_NAMES = {"count_correction": _l("盘点更正"), "damaged": _l("损坏报废"),
                "expired": _l("过期报废"), "disposal": _l("处置"), "other": _l("其他")}

STATUS_NAMES = {"available": _l("在库"), "on_loan": _l("借出"), "in_transit": _l("在途"),
                "damaged": _l("损坏"), "disposed": _l("已处置")}
MOVEMENT_NAMES = {"receipt": _l("入库"), "issue": _l("发放"), "return": _l("归还"),
                  "transfer_out": _l("调出"), "transfer_in": _l("调入"), "adjustment": _l("调整"),
                  "writeoff": _l("报废"), "stocktake": _l("盘点")}
TRANSFER_STATUS_NAMES = {"requested": _l("待发出"), "in_transit": _l("在途"),
                         "received": _l("已收货"), "cancelled": _l("已撤销")}

QUANTITY = Integer(minimum=1, maximum=MAX_QUANTITY, required=True)
CODE = String(max_length=32)
LABEL = String(max_length=40, description="库存件标签码（可含空格或 -）")
NOTE = String(max_length=500, min_length=0, multiline=True)

RECEIPT = Object({
    "site": String(max_length=32, required=True),
    "material": String(max_length=32, required=True),
    "quantity": QUANTITY,
    "lot": String(max_length=64, nullable=True),
    "production_date": Date(nullable=True),
    "expiry_date": Date(nullable=True),
    "serials": Array(String(max_length=64), max_items=1000, description="序列号，每台一个"),
    "source": String(max_length=20, choices=SOURCES, nullable=True),
    "donor": String(max_length=100, min_length=0),
    "owner": String(max_length=100, description="物资所有者：局方（bureau）或代储企业"),
    "note": NOTE,
})

ISSUE = Object({
    "site": String(max_length=32, required=True),
    "recipient": Object({
        "type": String(max_length=12, choices=RECIPIENT_TYPES, required=True),
        "name": String(max_length=100, required=True),
        "contact": String(max_length=50, min_length=0),
        "id_number": String(max_length=30, min_length=0, pattern=r"[0-9A-Za-z]*"),
    }, required=True),
    "incident": Integer(minimum=1, nullable=True),
    "purpose": NOTE,
    "lines": Array(Object({
        "label": LABEL,
        "material": CODE,
        "quantity": QUANTITY,
        "due_back": Date(nullable=True),
    }), max_items=200, min_items=1, required=True),
})

RETURN = Object({
    "issue": String(max_length=20, required=True),
    "lines": Array(Object({
        "issue_line": Integer(minimum=1, maximum=2**62, required=True),
        "quantity": QUANTITY,
        "condition": String(max_length=10, choices=RETURN_CONDITIONS, required=True),
    }), max_items=200, min_items=1, required=True),
    "note": NOTE,
})

TRANSFER = Object({
    "from_site": String(max_length=32, required=True),
    "to_site": String(max_length=32, required=True),
    "incident": Integer(minimum=1, nullable=True),
    "note": NOTE,
    "lines": Array(Object({"label": LABEL, "material": CODE, "quantity": QUANTITY}),
                   max_items=200, min_items=1, required=True),
})

TRANSFER_RECEIPT = Object({
    "lines": Array(Object({
        "line": Integer(minimum=1, maximum=2**62, required=True),
        "received": Integer(minimum=0, maximum=MAX_QUANTITY, required=True),
    }), max_items=400),
    "note": NOTE,
})

ADJUSTMENT = Object({
    "label": String(max_length=40, required=True),
    "delta": Integer(minimum=-MAX_QUANTITY, maximum=MAX_QUANTITY, required=True),
    "reason": String(max_length=20, choices=ADJUSTMENT_REASONS, required=True),
    "note": NOTE,
})


# --- building blocks -------------------------------------------------------------------------

def new_label() -> str:
    """A fresh label code: random, unguessable, unrelated to any id."""
    return "".join(secrets.choice(LABEL_ALPHABET) for _ in range(LABEL_LENGTH))


def normalize_label(text: str) -> str:
    """What a person typed or a scanner read, as a label code."""
    return text.upper().translate(LABEL_LOOK_ALIKES)


def format_label(label: str) -> str:
    """A label in groups of four, for reading aloud and typing."""
    return "-".join(label[i:i + 4] for i in range(0, len(label), 4))


def mask_id_number(number: str) -> str:
    """An ID number as pages show it: the first three and last four characters."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def _actor_id(actor) -> int | None:
    return getattr(actor, "id", None)


def _insert_ignoring_conflict(model, values: dict, index_elements, index_where=None):
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).values(values)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=index_elements,
                                                     index_where=index_where))


# The statements every issue sends, built once: each execution only brings its values (building
# and hashing a statement anew cost about as much as running it, bench/README).
_COUNTERS, _ITEMS = DocumentCounter.__table__, StockItem.__table__
_BUMP_COUNTER = (sa.update(_COUNTERS)
                 .where(_COUNTERS.c.prefix == sa.bindparam("counter_prefix"),
                        _COUNTERS.c.year == sa.bindparam("counter_year"))
                 .values(last=_COUNTERS.c.last + 1).returning(_COUNTERS.c.last))
_CHANGE_QUANTITY = (sa.update(_ITEMS)
                    .where(_ITEMS.c.id == sa.bindparam("item_id"),
                           _ITEMS.c.quantity + sa.bindparam("delta") >= 0)
                    .values(quantity=_ITEMS.c.quantity + sa.bindparam("delta"),
                            status=sa.func.coalesce(sa.bindparam("status", type_=sa.String),
                                                    _ITEMS.c.status))
                    .returning(_ITEMS.c.quantity, _ITEMS.c.status))
_RECORD_MOVEMENT = sa.insert(Movement.__table__).returning(Movement.__table__.c.id)
# A document's site: what it needs is the site's path and code, not its parent.
_SITE_BY_CODE = sa.select(Site).where(Site.code == sa.bindparam("code")).options(
    sa.orm.lazyload(Site.parent))
# A scanned item with its site (for the scope check and the answer), not the site's parent.
_SCANNED_ITEM = sa.select(StockItem).where(StockItem.label == sa.bindparam("label")).options(
    sa.orm.defaultload(StockItem.site).lazyload(Site.parent))
# A line's item: its site is the document's (checked by the caller), already loaded.
_ITEM_BY_LABEL = sa.select(StockItem).where(StockItem.label == sa.bindparam("label")).options(
    sa.orm.lazyload(StockItem.site))
_LOCK_ITEMS = (sa.select(_ITEMS.c.id, _ITEMS.c.quantity, _ITEMS.c.status, _ITEMS.c.moved_to_id)
               .where(_ITEMS.c.id.in_(sa.bindparam("ids", expanding=True)))
               .order_by(_ITEMS.c.id).with_for_update())


def next_number(kind: str) -> str:
    """The next document number of ``kind`` this year, e.g. RK-2026-000001: unique, no gaps.

    The counter row is updated in the document's own transaction, so a rollback gives the number
    back; concurrent documents of one kind queue on that row for the rest of their transaction.
    """
    prefix, year = DOCUMENT_PREFIXES[kind], dt.date.today().year
    counter = {"counter_prefix": prefix, "counter_year": year}
    number = execute(_BUMP_COUNTER, counter).scalar_one_or_none()
    if number is None:
        _insert_ignoring_conflict(DocumentCounter, {"prefix": prefix, "year": year, "last": 0},
                                  ["prefix", "year"])
        number = execute(_BUMP_COUNTER, counter).scalar_one()
    return f"{prefix}-{year}-{number:06d}"


def change_quantity(item: StockItem, delta: int, *, kind: str, actor, document=None,
                    status=None, reason=None, note="", reverses=None) -> int:
    """Add ``delta`` to an item (and set its status) with its one movement, whose id it returns;
    raise InsufficientStock.

    A conditional UPDATE: the database refuses to go below zero whatever ran concurrently.
    """
    row = execute(_CHANGE_QUANTITY, {"item_id": item.id, "delta": delta, "status": status}
                  ).one_or_none()
    if row is None:
        raise InsufficientStock(details=[{"line": 0, "requested": -delta,
                                          "available": item.quantity}])
    set_committed_value(item, "quantity", row.quantity)
    set_committed_value(item, "status", row.status)
    return execute(_RECORD_MOVEMENT, {
        "kind": kind, "item_id": item.id, "site_id": item.site_id, "material_id": item.material_id,
        "quantity": delta, "balance_after": row.quantity, "status_after": row.status,
        "document": document, "reason": reason, "note": note or "", "user_id": _actor_id(actor),
        "reverses_id": reverses.id if reverses is not None else None}).scalar_one()


def _merge_key(lot, expiry, owner) -> str:
    return f"{lot or ''}|{expiry.isoformat() if expiry else ''}|{owner}"


def _lot_item(site: Site, material: Material, *, lot, expiry, owner, status="available",
              production_date=None, source=None, donor="") -> StockItem:
    """The available (or damaged) item of this batch at ``site``, made if there is none yet.

    Two first receipts racing on PostgreSQL both insert; the unique index keeps one, the other's
    insert does nothing, and both then add to the same row.
    """
    key = _merge_key(lot, expiry, owner)
    find = (sa.select(StockItem)
            .where(StockItem.site_id == site.id, StockItem.material_id == material.id,
                   StockItem.merge_key == key, StockItem.status == status,
                   StockItem.serial.is_(None)))
    item = db.session.scalar(find)
    if item is None:
        _insert_ignoring_conflict(StockItem, {
            "label": new_label(), "site_id": site.id, "material_id": material.id, "lot": lot,
            "expiry_date": expiry, "production_date": production_date, "source": source,
            "donor": donor or "", "owner": owner, "merge_key": key, "quantity": 0,
            "status": status, "received_at": utcnow(),
        }, ["site_id", "material_id", "merge_key", "status"],
            index_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"))
        item = db.session.scalar(find)
    return item


def _lock(items) -> None:
    """Lock these items (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) in id
    order, and bring what the ledger changes (quantity, status, where a serial item went) fresh
    from the database into them. The rest of an item never changes once it is made, so the
    loaded objects are kept rather than loaded again with their site and material."""
    by_id = {item.id: item for item in items}
    if not by_id:
        return
    for row in execute(_LOCK_ITEMS, {"ids": sorted(by_id)}):
        for name in ("quantity", "status", "moved_to_id"):
            set_committed_value(by_id[row.id], name, getattr(row, name))


def _site_for(code: str, field: str) -> Site:
    site = db.session.scalar(_SITE_BY_CODE, {"code": code})
    if site is None:
        raise ValidationError({field: _("站点 %(code)s 不存在", code=code)})
    return site


def _material_for(code: str, field: str) -> Material:
    material = db.session.scalar(sa.select(Material).where(Material.code == code))
    if material is None:
        raise ValidationError({field: _("物资 %(code)s 不存在", code=code)})
    return material


def get_item(label: str) -> StockItem:
    """The stock item with this label; raise NotFound."""
    item = db.session.scalar(_SCANNED_ITEM, {"label": normalize_label(label)})
    if item is None:
        raise NotFound(_("标签 %(label)s 不存在", label=label))
    return item


def _item_for(label: str, field: str) -> StockItem:
    """get_item for a form's field: an unknown label is that field's error."""
    try:
        return get_item(label)
    except NotFound as unknown:
        raise ValidationError({field: unknown.message}) from None


def _today() -> dt.date:
    return dt.date.today()


def _is_expired(item: StockItem) -> bool:
    return item.expiry_date is not None and item.expiry_date < _today()


def _serial_is_known(material: Material, serial: str) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        StockItem.material_id == material.id, StockItem.serial == serial,
        StockItem.status != "disposed"))) or False


# --- receipts ----------------------------------------------------------------------------------

@transactional
def receive(*, actor, data: dict) -> Receipt:
    """入库: add a lot to its batch item at the site, or make one item per serial number."""
    fields = load(RECEIPT, data)
    site = _site_for(fields["site"], "site")
    authorize(actor, "stock.receive", site)
    material = _material_for(fields["material"], "material")
    quantity, serials = fields["quantity"], fields.get("serials") or []
    errors = {}
    if not site.active:
        errors["site"] = _("站点已停用")
    if not material.active:
        errors["material"] = _("物资已停用")
    production, expiry = fields.get("production_date"), fields.get("expiry_date")
    if expiry is None and production and material.shelf_life_days:
        expiry = production + dt.timedelta(days=material.shelf_life_days)
    if production and production > _today():
        errors["production_date"] = _("生产日期不能晚于今天")
    if production and expiry and expiry < production:
        errors["expiry_date"] = _("有效期不能早于生产日期")
    elif expiry and expiry < _today():
        errors["expiry_date"] = _("已过期的物资不能入库")
    if material.tracking == "serial":
        if len(serials) != quantity:
            errors["serials"] = _("一物一码物资须填写 %(n)d 个序列号，实际 %(m)d 个",
                                  n=quantity, m=len(serials))
        elif len(set(serials)) != len(serials):
            errors["serials"] = _("序列号有重复")
    elif serials:
        errors["serials"] = _("按批次管理的物资不填序列号")
    if errors:
        raise ValidationError(errors)
    known = [serial for serial in serials if _serial_is_known(material, serial)]
    if known:
        raise Duplicate(_("序列号已登记：%(serials)s", serials=listing(known)))

    number = next_number("receipt")
    owner = fields.get("owner") or "bureau"
    receipt = Receipt(number=number, site=site, material=material, quantity=quantity,
                      source=fields.get("source"), donor=fields.get("donor") or "",
                      note=fields.get("note") or "", user_id=_actor_id(actor))
    db.session.add(receipt)
    if material.tracking == "serial":
        for serial in serials:
            item = StockItem(label=new_label(), site=site, material=material, serial=serial,
                             lot=fields.get("lot"), production_date=production, expiry_date=expiry,
                             source=fields.get("source"), donor=fields.get("donor") or "",
                             owner=owner, merge_key=_merge_key(serial, expiry, owner), quantity=0)
            db.session.add(item)
            db.session.flush()
            try:
                change_quantity(item, 1, kind="receipt", actor=actor, document=number,
                                note=receipt.note)
            except IntegrityError as error:
                # A concurrent receipt of the same serial committed first (PostgreSQL waited on
                # the unique index); the check above could not have seen it.
                if "uq_stock_items_serial" not in str(error.orig):
                    raise
                raise Duplicate(_("序列号已登记：%(serials)s", serials=serial)) from None
    else:
        item = _lot_item(site, material, lot=fields.get("lot"), expiry=expiry, owner=owner,
                         production_date=production, source=fields.get("source"),
                         donor=fields.get("donor") or "")
        change_quantity(item, quantity, kind="receipt", actor=actor, document=number,
                        note=receipt.note)
    db.session.flush()  # ids and defaults for the caller's answer
    return receipt


# --- issues ------------------------------------------------------------------------------------

def _available_for_issue(site: Site, material: Material):
    """Items a material line may take, first expiry first out, never expired."""
    return (sa.select(StockItem).options(sa.orm.lazyload(StockItem.site))  # the site is known
            .where(StockItem.site_id == site.id, StockItem.material_id == material.id,
                   StockItem.status == "available", StockItem.quantity > 0,
                   sa.or_(StockItem.expiry_date.is_(None), StockItem.expiry_date >= _today()))
            .order_by(StockItem.expiry_date.is_(None), StockItem.expiry_date,
                      StockItem.received_at, StockItem.id))


def _resolve_lines(lines, site: Site, *, field="lines"):
    """Name each line's item (label) or candidate items (material); raise on unknown ones.

    Each line comes back as (line, material, items): the named item, or the candidates in the
    order a material line takes them.
    """
    resolved, errors = [], {}
    for index, line in enumerate(lines):
        where = f"{field}.{index}"
        if ("label" in line) == ("material" in line):
            errors[where] = _("每行须且只能填写标签或物资编码之一")
            continue
        if "label" in line:
            item = db.session.scalar(_ITEM_BY_LABEL, {"label": normalize_label(line["label"])})
            if item is None:
                errors[f"{where}.label"] = _("标签 %(label)s 不存在", label=line["label"])
            elif item.site_id != site.id:
                errors[f"{where}.label"] = _("标签 %(label)s 不在 %(site)s", label=line["label"],
                                             site=site.name)
            else:
                resolved.append((line, item.material, [item]))
            continue
        material = db.session.scalar(sa.select(Material).where(Material.code == line["material"]))
        if material is None:
            errors[f"{where}.material"] = _("物资 %(code)s 不存在", code=line["material"])
            continue
        resolved.append((line, material, list(db.session.scalars(
            _available_for_issue(site, material)))))
    if errors:
        raise ValidationError(errors)
    return resolved


def _allocate(resolved, *, allow_damaged=False) -> list[tuple[dict, StockItem, int]]:
    """Lock every candidate item in id order, then give each line its items and quantities.

    Raise InvalidState for a named item that cannot go, InsufficientStock listing every short line.
    """
    _lock(item for _line, _material, items in resolved for item in items)
    remaining = {item.id: item.quantity for _line, _material, items in resolved for item in items}
    allocations, short = [], []
    for index, (line, _material, items) in enumerate(resolved):
        wanted = line["quantity"]
        if "label" in line:
            item = items[0]
            allowed = ("available", "damaged") if allow_damaged else ("available",)
            if item.status not in allowed:
                raise InvalidState(_("标签 %(label)s 的状态是“%(status)s”，不能出库",
                                     label=format_label(item.label),
                                     status=STATUS_NAMES[item.status]))
            if _is_expired(item) and not allow_damaged:
                raise InvalidState(_("标签 %(label)s 已于 %(date)s 过期，不能发放",
                                     label=format_label(item.label), date=item.expiry_date))
        taken = []
        for item in items:
            share = min(wanted - sum(q for _item, q in taken), remaining[item.id])
            if share > 0:
                taken.append((item, share))
                remaining[item.id] -= share
        got = sum(q for _item, q in taken)
        if got < wanted:
            short.append({"line": index, "requested": wanted, "available": got})
        allocations.extend((line, item, q) for item, q in taken)
    if short:
        raise InsufficientStock(_("库存不足，没有任何改动"), details=short)
    return allocations


@transactional
def issue(*, actor, data: dict) -> Issue:
    """发放: hand stock to a recipient; returnable materials become loans. All lines or none."""
    fields = load(ISSUE, data)
    site = _site_for(fields["site"], "site")
    authorize(actor, "stock.issue", site)
    if fields.get("incident") is not None:
        raise ValidationError({"incident": _("灾情事件不存在")})
    for index, line in enumerate(fields["lines"]):
        if line.get("due_back") and line["due_back"] < _today():
            raise ValidationError({f"lines.{index}.due_back": _("归还日期不能早于今天")})
    allocations = _allocate(_resolve_lines(fields["lines"], site))
    # Numbered last: every issue queues on the counter's row until it commits, so take it once
    # the items are locked and checked, not before.
    number = next_number("issue")
    recipient = fields["recipient"]
    document = Issue(number=number, site=site, recipient_type=recipient["type"],
                     recipient_name=recipient["name"], recipient_contact=recipient.get("contact", ""),
                     recipient_id_number=recipient.get("id_number", "").upper(),
                     purpose=fields.get("purpose") or "", user_id=_actor_id(actor), lines=[])
    db.session.add(document)
    for line, item, quantity in allocations:
        loan = item.material.returnable
        status = ("on_loan" if loan else "available") if item.serial else None
        change_quantity(item, -quantity, kind="issue", actor=actor, document=number, status=status,
                        note=recipient["name"])
        document.lines.append(IssueLine(item=item, quantity=quantity, is_loan=loan,
                                        due_date=line.get("due_back") if loan else None))
    db.session.flush()  # ids and defaults for the caller's answer
    return document


# --- returns -----------------------------------------------------------------------------------

@transactional
def return_items(*, actor, data: dict) -> Return:
    """归还: loaned goods come back good (available), damaged (a damaged item) or lost."""
    fields = load(RETURN, data)
    document = db.session.scalar(sa.select(Issue).where(Issue.number == fields["issue"]))
    if document is None:
        raise ValidationError({"issue": _("发放单 %(number)s 不存在", number=fields["issue"])})
    authorize(actor, "stock.return", document.site)
    lines_by_id = {line.id: line for line in document.lines}
    errors = {}
    for index, line in enumerate(fields["lines"]):
        issue_line = lines_by_id.get(line["issue_line"])
        if issue_line is None:
            errors[f"lines.{index}.issue_line"] = _("该发放单没有这一行")
        elif not issue_line.is_loan:
            errors[f"lines.{index}.issue_line"] = _("这一行不是借用，无需归还")
    if errors:
        raise ValidationError(errors)
    number = next_number("return")
    receipt = Return(number=number, issue=document, note=fields.get("note") or "",
                     user_id=_actor_id(actor), lines=[])
    db.session.add(receipt)
    # Lock the items the goods go back into in id order before touching any of them.
    _lock(lines_by_id[line["issue_line"]].item for line in fields["lines"])
    for index, line in enumerate(fields["lines"]):
        issue_line, quantity = lines_by_id[line["issue_line"]], line["quantity"]
        condition = {"good": "returned", "damaged": "damaged", "lost": "lost"}[line["condition"]]
        counted = getattr(IssueLine, condition)
        # Conditional: two returns of the same loan at once can never bring back more than lent.
        updated = db.session.execute(
            sa.update(IssueLine)
            .where(IssueLine.id == issue_line.id,
                   IssueLine.returned + IssueLine.damaged + IssueLine.lost + quantity
                   <= IssueLine.quantity)
            .values({condition: counted + quantity})
            .execution_options(synchronize_session=False)).rowcount
        if updated != 1:
            raise ValidationError({f"lines.{index}.quantity": _(
                "超过未归还数量 %(n)d", n=issue_line.outstanding)})
        db.session.refresh(issue_line)
        receipt.lines.append(ReturnLine(issue_line=issue_line, quantity=quantity,
                                        condition=line["condition"],
                                        item=_take_back(issue_line.item, quantity, line["condition"],
                                                        actor=actor, number=number)))
    db.session.flush()  # ids and defaults for the caller's answer
    return receipt


def _take_back(item: StockItem, quantity: int, condition: str, *, actor, number) -> StockItem | None:
    """Put returned goods where they belong; return the item they went into (None when lost)."""
    note = str(CONDITION_NAMES[condition])
    if item.serial:
        status = {"good": "available", "damaged": "damaged", "lost": "disposed"}[condition]
        change_quantity(item, 0 if condition == "lost" else 1,
                        kind="writeoff" if condition == "lost" else "return",
                        actor=actor, document=number, status=status, note=note)
        return None if condition == "lost" else item
    if condition == "lost":
        return None  # the units left the balance when they were lent; only the loan changes
    target = _lot_item(item.site, item.material, lot=item.lot, expiry=item.expiry_date,
                       owner=item.owner, status="available" if condition == "good" else "damaged",
                       production_date=item.production_date, source=item.source, donor=item.donor)
    change_quantity(target, quantity, kind="return", actor=actor, document=number, note=note)
    return target


# --- transfers ---------------------------------------------------------------------------------

def get_transfer(number: str) -> Transfer:
    """The transfer with this number; raise NotFound."""
    transfer = db.session.scalar(sa.select(Transfer).where(Transfer.number == number))
    if transfer is None:
        raise NotFound(_("调拨单 %(number)s 不存在", number=number))
    return transfer


@transactional
def create_transfer(*, actor, data: dict) -> Transfer:
    """调拨申请: what should go from one site to another; stock stays until dispatch."""
    fields = load(TRANSFER, data)
    source = _site_for(fields["from_site"], "from_site")
    destination = _site_for(fields["to_site"], "to_site")
    authorize(actor, "stock.transfer", source)
    errors = {}
    if source.id == destination.id:
        errors["to_site"] = _("调入站点不能与调出站点相同")
    elif not destination.active:
        errors["to_site"] = _("站点已停用")
    if fields.get("incident") is not None:
        errors["incident"] = _("灾情事件不存在")
    if errors:
        raise ValidationError(errors)
    resolved = _resolve_lines(fields["lines"], source)
    _check_available(resolved)
    transfer = Transfer(number=next_number("transfer"), from_site=source, to_site=destination,
                        note=fields.get("note") or "", created_by_id=_actor_id(actor))
    for line, material, items in resolved:
        transfer.lines.append(TransferLine(material=material, quantity=line["quantity"],
                                           from_item=items[0] if "label" in line else None))
    db.session.add(transfer)
    db.session.flush()  # ids and defaults for the caller's answer
    return transfer


def _check_available(resolved) -> None:
    """Refuse a request that could not be met with today's stock (without locking anything)."""
    short = []
    for index, (line, _material, items) in enumerate(resolved):
        quantity = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockItem.quantity), 0))
                                     .where(StockItem.id.in_([item.id for item in items])))
        if quantity < line["quantity"]:
            short.append({"line": index, "requested": line["quantity"], "available": quantity})
    if short:
        raise InsufficientStock(_("库存不足，没有任何改动"), details=short)


def _move_transfer(transfer: Transfer, *, expected: str, to: str, stamp: str) -> None:
    """Move a transfer between states with a conditional UPDATE: two clicks cannot both win."""
    moved = db.session.execute(
        sa.update(Transfer).where(Transfer.id == transfer.id, Transfer.status == expected)
        .values({"status": to, stamp: utcnow()})
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(transfer)
        raise InvalidState(_("调拨单 %(number)s 当前状态为“%(status)s”，不能执行此操作",
                             number=transfer.number, status=TRANSFER_STATUS_NAMES[transfer.status]))
    db.session.refresh(transfer)


@transactional
def dispatch_transfer(*, actor, number: str) -> Transfer:
    """发出: the stock leaves the source site; the transfer is in transit. All lines or none."""
    transfer = get_transfer(number)
    authorize(actor, "stock.transfer", transfer.from_site)
    _move_transfer(transfer, expected="requested", to="in_transit", stamp="dispatched_at")
    requests = []
    for line in transfer.lines:
        items = ([line.from_item] if line.from_item_id else
                 list(db.session.scalars(_available_for_issue(transfer.from_site, line.material))))
        request = {"quantity": line.quantity}
        if line.from_item_id:
            request["label"] = line.from_item.label
        requests.append((request, line.material, items))
    allocations = _allocate(requests, allow_damaged=True)
    # A material line spread over several items becomes one line per item.
    transfer.lines = []
    db.session.flush()
    for _request, item, quantity in allocations:
        status = "in_transit" if item.serial else None
        change_quantity(item, -quantity, kind="transfer_out", actor=actor, document=number,
                        status=status, note=transfer.to_site.name)
        transfer.lines.append(TransferLine(material=item.material, quantity=quantity,
                                           from_item=item))
    db.session.flush()  # ids and defaults for the caller's answer
    return transfer


@transactional
def receive_transfer(*, actor, number: str, data: dict | None = None) -> Transfer:
    """收货: what arrived becomes available at the destination; shortages stay on the line."""
    fields = load(TRANSFER_RECEIPT, data or {})
    transfer = get_transfer(number)
    authorize(actor, "stock.transfer", transfer.to_site)
    received = {}
    lines_by_id = {line.id: line for line in transfer.lines}
    for index, given in enumerate(fields.get("lines") or []):
        line = lines_by_id.get(given["line"])
        if line is None:
            raise ValidationError({f"lines.{index}.line": _("调拨单没有这一行")})
        if given["line"] in received:
            raise ValidationError({f"lines.{index}.line": _("同一行只能填写一次")})
        if given["received"] > line.quantity:
            raise ValidationError({f"lines.{index}.received": _(
                "实收不能超过调拨数量 %(n)d", n=line.quantity)})
        received[given["line"]] = given["received"]
    _move_transfer(transfer, expected="in_transit", to="received", stamp="received_at")
    for line in transfer.lines:
        line.received = received.get(line.id, line.quantity)
        source = line.from_item
        if source.serial:
            if line.received:
                arrived = StockItem(label=new_label(), site=transfer.to_site,
                                    material=source.material, serial=source.serial, lot=source.lot,
                                    production_date=source.production_date,
                                    expiry_date=source.expiry_date, source=source.source,
                                    donor=source.donor, owner=source.owner,
                                    merge_key=source.merge_key, quantity=0,
                                    received_at=utcnow())
                db.session.add(arrived)
                db.session.flush()
                change_quantity(arrived, 1, kind="transfer_in", actor=actor, document=number,
                                note=transfer.from_site.name)
                source.moved_to = arrived
                line.to_item = arrived
            else:
                change_quantity(source, 0, kind="writeoff", actor=actor, document=number,
                                status="disposed", note=_("调拨途中短少"))
        elif line.received:
            arrived = _lot_item(transfer.to_site, source.material, lot=source.lot,
                                expiry=source.expiry_date, owner=source.owner,
                                production_date=source.production_date, source=source.source,
                                donor=source.donor)
            change_quantity(arrived, line.received, kind="transfer_in", actor=actor,
                            document=number, note=transfer.from_site.name)
            line.to_item = arrived
    db.session.flush()  # ids and defaults for the caller's answer
    return transfer


@transactional
def cancel_transfer(*, actor, number: str) -> Transfer:
    """撤销: only a transfer that has not left yet."""
    transfer = get_transfer(number)
    authorize(actor, "stock.transfer", transfer.from_site)
    _move_transfer(transfer, expected="requested", to="cancelled", stamp="cancelled_at")
    return transfer


# --- equipment tests ---------------------------------------------------------------------------

EQUIPMENT_TEST = Object({
    "label": String(max_length=40, required=True),
    "result": String(max_length=8, choices=TEST_RESULTS, required=True),
    "tested_on": Date(nullable=True, description="默认今天"),
    "note": NOTE,
})


@transactional
def record_test(*, actor, data: dict) -> EquipmentTest:
    """试机: record a test run; a fault takes the item out of service (status damaged)."""
    fields = load(EQUIPMENT_TEST, data)
    item = _item_for(fields["label"], "label")
    authorize(actor, "stock.test", item.site)
    tested_on = fields.get("tested_on") or _today()
    errors = {}
    if not item.material.needs_testing:
        errors["label"] = _("%(name)s 不需要试机", name=item.material.name)
    elif not item.serial:
        errors["label"] = _("只有一物一码的设备登记试机")
    if tested_on > _today():
        errors["tested_on"] = _("试机日期不能晚于今天")
    if errors:
        raise ValidationError(errors)
    if item.status not in ("available", "damaged"):
        raise InvalidState(_("状态为“%(status)s”的设备不能试机", status=STATUS_NAMES[item.status]))
    test = EquipmentTest(item=item, tested_on=tested_on, result=fields["result"],
                         note=fields.get("note") or "", user_id=_actor_id(actor))
    db.session.add(test)
    if fields["result"] == "fault" and item.status == "available":
        _lock([item])
        change_quantity(item, 0, kind="adjustment", actor=actor, status="damaged", reason="damaged",
                        note=_("试机故障：%(note)s", note=test.note) if test.note else _("试机故障"))
    db.session.flush()
    return test


# --- adjustments and reversals -----------------------------------------------------------------

@transactional
def adjust(*, actor, data: dict) -> Movement:
    """调整: correct an item's quantity with a reason; write-offs need a manager."""
    fields = load(ADJUSTMENT, data)
    item = _item_for(fields["label"], "label")
    delta, reason = fields["delta"], fields["reason"]
    writeoff = reason in WRITEOFF_REASONS and delta < 0
    authorize(actor, "stock.writeoff" if writeoff else "stock.adjust", item.site)
    if delta == 0:
        raise ValidationError({"delta": _("调整数量不能为 0")})
    if item.serial and item.quantity + delta > 1:
        raise ValidationError({"delta": _("一物一码物资数量只能是 0 或 1")})
    if item.status in ("in_transit", "on_loan", "disposed"):
        raise InvalidState(_("状态为“%(status)s”的物资不能调整", status=STATUS_NAMES[item.status]))
    _lock([item])
    status = "disposed" if item.serial and writeoff and item.quantity + delta == 0 else None
    try:
        movement_id = change_quantity(item, delta, kind="writeoff" if writeoff else "adjustment",
                                      actor=actor, status=status, reason=reason,
                                      note=fields.get("note") or "")
        return db.session.get(Movement, movement_id)
    except InsufficientStock:
        raise InsufficientStock(_("调整后数量将小于 0（现有 %(n)d）", n=item.quantity),
                                details=[{"line": 0, "requested": -delta,
                                          "available": item.quantity}]) from None


@transactional
def reverse(*, actor, movement_id: int, note: str = "") -> Movement:
    """冲销: append the opposite of a receipt, adjustment or write-off; the original stays."""
    original = db.session.get(Movement, movement_id)
    if original is None:
        raise NotFound(_("台账记录不存在"))
    authorize(actor, "stock.writeoff", original.item.site)
    if original.kind not in REVERSIBLE_KINDS or original.reverses_id is not None:
        raise InvalidState(_("只能冲销入库、调整、报废或盘点记录"))
    if db.session.scalar(sa.select(sa.exists().where(Movement.reverses_id == original.id))):
        raise InvalidState(_("该记录已冲销"))
    item = original.item
    _lock([item])
    status = None
    if item.serial:
        status = "available" if item.quantity - original.quantity == 1 else "disposed"
    movement_id = change_quantity(item, -original.quantity, kind=original.kind, actor=actor,
                                  document=original.document, status=status,
                                  reason=original.reason,
                                  note=note or _("冲销 #%(id)d", id=original.id), reverses=original)
    return db.session.get(Movement, movement_id)

