"""期初库存: a bureau's stock as its Excel ledgers hold it, one row per lot (or per serial-numbered
unit), booked as an opening receipt per row (RK-, source 期初).

A row is *new* when the books hold nothing of it yet, *unchanged* when they hold exactly it (the
same lot with the same quantity, the same serial at the same site) — so the same file committed
twice books nothing the second time — and rejected otherwise: an opening import never changes
stock already on the books (that is a stocktake's work). Every problem is reported at its row
and column; the whole file is checked before anything is written.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from inventory import clock
from inventory.auth.access import can, restrict_to_scope
from inventory.catalog.models import Material
from inventory.db import db
from inventory.sites.models import Site
from inventory.spreadsheets.reading import Column, Table
from inventory.stock import ledger
from inventory.stock import services as stock
from inventory.stock.models import SOURCE_NAMES, StockItem

OWNER = "bureau"
SITE, MATERIAL, QUANTITY, LOT = "站点编码", "物资编码", "数量", "批次号"
PRODUCED, EXPIRES, SOURCE, DONOR, SERIAL = "生产日期", "有效期至", "来源", "捐赠方", "序列号"
COLUMNS = [
    Column(SITE, ("站点代码", "库点编码", "储备点编码"), required=True),
    Column(MATERIAL, ("物资代码", "物资编号"), required=True),
    Column(QUANTITY, ("库存数量", "数目", "件数", "实存数量"), required=True),
    Column(LOT, ("批号", "批次")),
    Column(PRODUCED, ("生产时间", "出厂日期")),
    Column(EXPIRES, ("有效期", "失效日期", "到期日期", "有效期至（日期）")),
    Column(SOURCE, ("资金来源", "物资来源")),
    Column(DONOR, ("捐赠单位", "捐赠人")),
    Column(SERIAL, ("序列号/SN", "SN", "出厂编号", "设备编号")),
]
NOTES = {
    SITE: "必填。站点编码，如 GT-XB（见站点列表）", MATERIAL: "必填。物资编码，如 TENT-12（见物资目录）",
    QUANTITY: "必填。正整数；一物一码的设备每行 1 件", LOT: "按批次管理的物资可填，同一批次只写一行",
    PRODUCED: "日期，如 2025-03-01", EXPIRES: "日期；有保质期的物资不填时按生产日期推算",
    SOURCE: "可选：" + "、".join(str(name) for name in SOURCE_NAMES.values()) + "；不填为“期初”",
    DONOR: "社会捐赠时填写捐赠方", SERIAL: "一物一码的设备必填，每行一个序列号",
}
EXAMPLE = {SITE: "GT-XB", MATERIAL: "TENT-12", QUANTITY: 20, LOT: "2024-07", PRODUCED: dt.date(2024, 7, 1),
           SOURCE: "中央财政"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
TEXT_LIMITS = {LOT: 40, DONOR: 100, SERIAL: 60}


@dataclass
class Line:
    """A new row, as it will be booked."""

    row: int
    site: Site
    material: Material
    quantity: int
    lot: str | None
    production: dt.date | None
    expiry: dt.date | None
    source: str
    donor: str
    serial: str | None


@dataclass
class Outcome:
    lines: list[Line] = field(default_factory=list)
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)
    rejected_rows: set = field(default_factory=set)

    def problem(self, row: int, column: str, value, message: str) -> None:
        self.errors.append({"row": row, "column": column, "value": "" if value is None else str(value),
                            "message": message})
        self.rejected_rows.add(row)

    @property
    def counts(self) -> dict:
        return {"new": len(self.lines), "changed": 0, "unchanged": self.unchanged,
                "rejected": len(self.rejected_rows)}


def _whole(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():  # folded: full-width digits too
        return int(value)
    return None


def _date(value) -> dt.date | None | str:
    """A date from a date cell or from text such as 2025-03-01, 2025/3/1, 2025年3月1日; the
    string "bad" for anything else."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str) and (match := _DATE.match(value)):
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            return "bad"
    return "bad"


def _source(value) -> str | None:
    if value is None:
        return "opening"
    by_name = {str(name): code for code, name in SOURCE_NAMES.items()}
    return value if value in SOURCE_NAMES else by_name.get(value)


def _lookup(model, codes: set) -> dict:
    found = {}
    codes = sorted(code for code in codes if isinstance(code, str))
    for start in range(0, len(codes), 1000):
        for thing in db.session.scalars(sa.select(model).where(model.code.in_(codes[start:start + 1000]))):
            found[thing.code] = thing
    return found


def _on_the_books(lines: list[Line]) -> tuple[dict, dict]:
    """What the books hold already of these rows: lot items by (site, material, merge key) and
    serial items by (material, serial)."""
    lots, serials = {}, {}
    pairs = {(line.site.id, line.material.id) for line in lines if line.serial is None}
    for site_id in {site for site, _material in pairs}:
        materials = sorted({material for site, material in pairs if site == site_id})
        for item in db.session.execute(
                sa.select(StockItem.site_id, StockItem.material_id, StockItem.merge_key, StockItem.quantity)
                .where(StockItem.site_id == site_id, StockItem.material_id.in_(materials),
                       StockItem.serial.is_(None), StockItem.status == "available")):
            lots[(item.site_id, item.material_id, item.merge_key)] = item.quantity
    wanted = sorted({(line.material.id, line.serial) for line in lines if line.serial is not None})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for item in db.session.execute(
                sa.select(StockItem.material_id, StockItem.serial, StockItem.site_id, StockItem.quantity)
                .where(sa.tuple_(StockItem.material_id, StockItem.serial).in_(chunk))):
            serials[(item.material_id, item.serial)] = item
    return lots, serials


def check(table: Table, actor) -> Outcome:
    """Every row of ``table`` checked against the catalog, the sites the actor may receive at,
    the rest of the file and the books."""
    outcome = Outcome()
    sites = _lookup(Site, {cells.get(SITE) for _row, cells in table.rows})
    materials = _lookup(Material, {cells.get(MATERIAL) for _row, cells in table.rows})
    today = clock.today()
    candidates = []
    for row, cells in table.rows:
        bad = len(outcome.errors)
        for name, limit in TEXT_LIMITS.items():
            value = cells.get(name)
            if value is not None and len(str(value)) > limit:
                outcome.problem(row, name, value, _("不能超过 %(n)d 个字符", n=limit))
        site = sites.get(cells.get(SITE))
        if cells.get(SITE) is None:
            outcome.problem(row, SITE, None, _("必填"))
        elif site is None:
            outcome.problem(row, SITE, cells[SITE], _("站点编码不存在"))
        elif not site.active:
            outcome.problem(row, SITE, cells[SITE], _("站点已停用"))
        elif not can(actor, "stock.receive", site):
            outcome.problem(row, SITE, cells[SITE], _("无权在此站点入库"))
        material = materials.get(cells.get(MATERIAL))
        if cells.get(MATERIAL) is None:
            outcome.problem(row, MATERIAL, None, _("必填"))
        elif material is None:
            outcome.problem(row, MATERIAL, cells[MATERIAL], _("物资编码不存在"))
        elif not material.active:
            outcome.problem(row, MATERIAL, cells[MATERIAL], _("物资已停用"))
        quantity = _whole(cells.get(QUANTITY))
        if cells.get(QUANTITY) is None:
            outcome.problem(row, QUANTITY, None, _("必填"))
        elif quantity is None or quantity < 1:
            outcome.problem(row, QUANTITY, cells[QUANTITY], _("数量须为正整数（阿拉伯数字）"))
        production, expiry = _date(cells.get(PRODUCED)), _date(cells.get(EXPIRES))
        for name, value in ((PRODUCED, production), (EXPIRES, expiry)):
            if value == "bad":
                outcome.problem(row, name, cells[name], _("无法识别的日期：请填写日期，如 2025-03-01"))
        production = None if production == "bad" else production
        expiry = None if expiry == "bad" else expiry
        if production and production > today:
            outcome.problem(row, PRODUCED, cells[PRODUCED], _("生产日期不能晚于今天"))
        if expiry is None and production and material is not None and material.shelf_life_days:
            expiry = production + dt.timedelta(days=material.shelf_life_days)
        if production and expiry and expiry < production:
            outcome.problem(row, EXPIRES, cells.get(EXPIRES) or expiry, _("有效期不能早于生产日期"))
        source = _source(cells.get(SOURCE))
        if source is None:
            outcome.problem(row, SOURCE, cells[SOURCE], _("来源须为：%(names)s", names="、".join(
                str(name) for name in SOURCE_NAMES.values())))
        serial = cells.get(SERIAL)
        serial = str(serial) if serial is not None else None
        if material is not None and material.tracking == "serial":
            if serial is None:
                outcome.problem(row, SERIAL, None, _("一物一码的设备须填写序列号"))
            if quantity is not None and quantity != 1:
                outcome.problem(row, QUANTITY, cells[QUANTITY], _("一物一码的设备每行 1 件"))
        elif material is not None and serial is not None:
            outcome.problem(row, SERIAL, serial, _("按批次管理的物资不填序列号"))
        if len(outcome.errors) == bad:
            lot = cells.get(LOT)
            candidates.append(Line(row, site, material, quantity, str(lot) if lot is not None else None,
                                   production, expiry, source, str(cells.get(DONOR) or ""), serial))
    _against_file_and_books(candidates, outcome)
    return outcome


def _against_file_and_books(candidates: list[Line], outcome: Outcome) -> None:
    lots, serials = _on_the_books(candidates)
    first = {}
    for line in candidates:
        if line.serial is not None:
            key, column, value = ("serial", line.material.id, line.serial), SERIAL, line.serial
        else:
            key = ("lot", line.site.id, line.material.id, ledger.merge_key(line.lot, line.expiry, OWNER))
            column, value = LOT, line.lot
        if key in first:
            message = (_("序列号在文件中重复（第 %(row)d 行）", row=first[key]) if line.serial is not None
                       else _("同一批次在文件中出现两次（第 %(row)d 行）：请合并为一行", row=first[key]))
            outcome.problem(line.row, column, value, message)
            continue
        first[key] = line.row
        if line.serial is not None:
            known = serials.get((line.material.id, line.serial))
            if known is None:
                outcome.lines.append(line)
            elif known.site_id == line.site.id and known.quantity == 1:
                outcome.unchanged += 1
            else:
                outcome.problem(line.row, SERIAL, line.serial, _("序列号已登记在其他站点或已出库"))
            continue
        held = lots.get(key[1:])
        if held is None or held == 0:
            outcome.lines.append(line)
        elif held == line.quantity:
            outcome.unchanged += 1
        else:
            outcome.problem(line.row, QUANTITY, line.quantity, _(
                "账面已有此批次 %(held)d 件：期初导入只登记新批次，数量差异请用盘点调整", held=held))


def rows_on_the_books(actor):
    """The stock the actor sees, as rows of this template (columns in order): what an export
    holds, and what importing it back finds unchanged."""
    query = (sa.select(Site.code, Material.code, StockItem.quantity, StockItem.lot, StockItem.production_date,
                       StockItem.expiry_date, StockItem.source, StockItem.donor, StockItem.serial)
             .join(Site, StockItem.site_id == Site.id).join(Material, StockItem.material_id == Material.id)
             .where(StockItem.quantity > 0, StockItem.status == "available", StockItem.owner == OWNER)
             .order_by(Site.code, Material.code, StockItem.id))
    names = {code: str(name) for code, name in SOURCE_NAMES.items()}
    for row in db.session.execute(restrict_to_scope(query, actor, Site.path)):
        yield [row[0], row[1], row[2], row[3], row[4], row[5], names.get(row[6]), row[7] or None, row[8]]


def book(lines: list[Line], actor, *, progress=None) -> None:
    """Book the new rows as opening receipts, IMPORT_CHUNK_ROWS at a time (each a few batched
    statements), in the caller's one transaction."""
    size = current_app.config["IMPORT_CHUNK_ROWS"]
    for start in range(0, len(lines), size):
        chunk = lines[start:start + size]
        stock.book_receipts(actor=actor, note=_("期初导入"), lines=[
            {"site": line.site, "material": line.material, "quantity": line.quantity, "lot": line.lot,
             "production": line.production, "expiry": line.expiry, "serial": line.serial,
             "source": line.source, "donor": line.donor, "owner": OWNER} for line in chunk])
        if progress is not None:
            progress(start + len(chunk))
