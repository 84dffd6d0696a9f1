"""The paper of a stocktake: the 盘点表 (count sheet) and the 差异表 (variance sheet) — their rows,
shared by the print pages, the PDFs (sheets/pdf.py) and the Excel workbooks made here.

The count sheet is blind: it never holds what the books say, only what to count (each label as
its QR code, so a count written on paper can be keyed in later by scanning the row) and a blank
column to write the count in. The variance sheet is for reviewers: each line's books, count,
variance and its value, the reasons, the totals, the found goods and who approved.
"""

import datetime as dt
from dataclasses import dataclass

import segno
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from inventory import clock
from inventory.labels import qr
from inventory.labels.codes import format_label
from inventory.reports.spreadsheets import workbook
from inventory.stocktakes import queries
from inventory.stocktakes.models import STATUS_NAMES, Stocktake
from inventory.templating import unit_name

# Empty rows on the count sheet for goods found with no label or not on the books (盘盈).
FOUND_ROWS = 5
# A sheet's QR codes use one fixed mask: segno's search for the best of the eight is four fifths
# of its time (2.5 of 3 ms a code), 12 s of a 5,000-line sheet. Any mask is valid; zxing-cpp read
# 200 codes under every mask alike down to 2 pixels a module, and where blur began to defeat it,
# mask 5 read best (167 of 200, segno's pick 56). Content, version and error level are as on the
# label itself (labels/qr.py).
QR_MASK = 5


def person(user) -> str:
    """Who, by name: the display name, the login only when no name was given."""
    return (user.display_name or user.username) if user else ""


def counters(stocktake: Stocktake) -> str:
    return "、".join(person(user) for user in stocktake.counters)


def scope(stocktake: Stocktake) -> str:
    """What the stocktake covers: the site (with its sub-sites), and the categories of a cycle count."""
    where = stocktake.site.name
    if stocktake.include_sub_sites:
        where = _("%(site)s（含下属站点）", site=where)
    if stocktake.categories:
        where += " · " + "、".join(category.name for category in stocktake.categories)
    return where


def witness(stocktake: Stocktake) -> str:
    """The 监盘人 by name; before approval with none named, the approver will be."""
    if stocktake.witness:
        return person(stocktake.witness)
    return "" if stocktake.status == "closed" else _("（未指定：由审批人监盘）")


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def when(at: dt.datetime | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(at, pattern) if at else ""


def _lot(item) -> str:
    return item.serial or item.lot or ""


# --- the rows ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CountRow:
    """One line of the count sheet: what to look for, never how many the books hold."""

    number: int
    label: str
    label_text: str
    site: str
    material_code: str
    material: str
    spec: str
    unit: str
    lot: str
    serial: bool
    expiry: str
    payload: str  # what the row's QR code says: the label's scan URL

    def qr(self) -> segno.QRCode:
        """The row's QR code: the label's scan URL, as its label has it (with a fixed mask)."""
        return segno.make_qr(self.payload, error="m", boost_error=False, mask=QR_MASK)

    def qr_svg(self) -> str:
        """The QR code as inline SVG markup (segno's own output: no user text in it)."""
        return self.qr().svg_inline(scale=2, border=2, omitsize=True)


def count_rows(stocktake: Stocktake) -> list[CountRow]:
    """Every line of the stocktake in shelf order, blind."""
    rows = []
    for number, line in enumerate(queries.lines(stocktake, books=False), start=1):
        item, material = line.item, line.item.material
        rows.append(CountRow(
            number=number, label=item.label, label_text=format_label(item.label), site=item.site.name,
            material_code=material.code, material=material.name, spec=material.spec,
            unit=unit_name(material.unit), lot=_lot(item), serial=bool(item.serial),
            expiry=item.expiry_date.isoformat() if item.expiry_date else "",
            payload=qr.scan_url(item.label)))
    return rows


@dataclass(frozen=True)
class VarianceRow:
    """One line of the variance sheet: the books, the count (an uncounted line counts 0)."""

    label: str
    label_text: str
    site: str
    material_code: str
    material: str
    unit: str
    lot: str
    expected: int
    counted: int
    uncounted: bool
    delta: int
    price: float | None
    value: float | None
    reason: str
    highlighted: bool

    @property
    def kind(self) -> str:
        return _("盘盈") if self.delta > 0 else _("盘亏") if self.delta < 0 else _("相符")


@dataclass(frozen=True)
class FoundRow:
    """盘盈 goods found on the shelf; ``label`` is the new item's once approval booked it."""

    label: str | None
    label_text: str
    material_code: str
    material: str
    unit: str
    lot: str
    expiry: str
    quantity: int
    price: float | None
    value: float | None
    note: str
    by: str


@dataclass
class Totals:
    """盘盈 and 盘亏 over every line and found goods: quantities, and values where priced."""

    gain_quantity: int = 0
    gain_value: float = 0.0
    loss_quantity: int = 0
    loss_value: float = 0.0
    unpriced: int = 0  # variance lines and found goods with no reference price (not in the values)

    def add(self, delta: int, value: float | None) -> None:
        if delta > 0:
            self.gain_quantity += delta
        elif delta < 0:
            self.loss_quantity += -delta
        if delta and value is None:
            self.unpriced += 1
        elif value and value > 0:
            self.gain_value = round(self.gain_value + value, 2)
        elif value:
            self.loss_value = round(self.loss_value - value, 2)


@dataclass
class VarianceSheet:
    stocktake: Stocktake
    rows: list[VarianceRow]
    found: list[FoundRow]
    totals: Totals
    everything: bool  # every line, or only those with a variance
    lines: int  # how many lines the stocktake has in all

    @property
    def stamp(self) -> str:
        """What the sheet is stamped with until approval made it final: a draft, or void."""
        if self.stocktake.status == "cancelled":
            return _("已撤销 · 作废")
        return "" if self.stocktake.status == "closed" else _("待审批 · 草稿")


def variance_sheet(stocktake: Stocktake, *, everything: bool = False) -> VarianceSheet:
    """The lines with a variance (or every line), the found goods and the totals of both."""
    totals, rows = Totals(), []
    lines = queries.lines(stocktake, books=True)
    for line in lines:
        totals.add(line.delta, line.value)
        if not (everything or line.delta):
            continue
        item, material = line.item, line.item.material
        rows.append(VarianceRow(
            label=item.label, label_text=format_label(item.label), site=item.site.name,
            material_code=material.code, material=material.name, unit=unit_name(material.unit),
            lot=_lot(item), expected=line.expected, counted=line.counted or 0,
            uncounted=line.counted is None, delta=line.delta, price=material.unit_price,
            value=line.value, reason=line.reason or (_("未说明") if line.delta else ""),
            highlighted=line.highlighted))
    found = []
    for entry in queries.found(stocktake):
        material, price = entry.material, entry.material.unit_price
        value = None if price is None else round(entry.quantity * price, 2)
        totals.add(entry.quantity, value)
        label = entry.item.label if entry.item else None
        found.append(FoundRow(
            label=label, label_text=format_label(label) if label else "", material_code=material.code,
            material=material.name, unit=unit_name(material.unit), lot=entry.serial or entry.lot or "",
            expiry=entry.expiry_date.isoformat() if entry.expiry_date else "", quantity=entry.quantity,
            price=price, value=value, note=entry.note, by=person(entry.user)))
    return VarianceSheet(stocktake=stocktake, rows=rows, found=found, totals=totals,
                         everything=everything, lines=len(lines))


def approval(stocktake: Stocktake) -> list[tuple[str, str]]:
    """The variance sheet's status lines: (caption, value) pairs."""
    if stocktake.status != "closed":
        return [(_("状态"), str(STATUS_NAMES[stocktake.status])), (_("监盘人"), witness(stocktake))]
    return [(_("状态"), str(STATUS_NAMES["closed"])), (_("审批人"), person(stocktake.approved_by)),
            (_("审批时间"), when(stocktake.closed_at)), (_("监盘人"), witness(stocktake))]


# --- Excel ---------------------------------------------------------------------------------------

def _title(stocktake: Stocktake, what: str) -> str:
    return f"{current_app.config['ORGANIZATION_NAME']} {what} {stocktake.number}"


def _facts(stocktake: Stocktake) -> str:
    return _("站点：%(scope)s · 期间：%(period)s · 盘点人：%(counters)s · 生成时间：%(at)s",
             scope=scope(stocktake), period=stocktake.period, counters=counters(stocktake) or "—",
             at=when(clock.now()))


def count_workbook(stocktake: Stocktake, rows: list[CountRow]) -> bytes:
    """The count sheet as Excel: what to count, a blank 实盘数量 column to fill in."""
    headers = [_("序号"), _("标签"), _("站点"), _("物资编码"), _("物资名称"), _("规格"), _("单位"),
               _("批号/序列号"), _("有效期至"), _("实盘数量"), _("备注")]
    return workbook(_("盘点表"), headers,
                    ([row.number, row.label_text, row.site, row.material_code, row.material, row.spec,
                      row.unit, row.lot, row.expiry, None, None] for row in rows),
                    widths=[6, 17, 18, 12, 26, 18, 6, 18, 11, 10, 20],
                    title=_title(stocktake, _("盘点表")), note=_facts(stocktake))


def variance_workbook(sheet: VarianceSheet) -> bytes:
    """The variance sheet as Excel: the lines (and found goods as 账外盘盈), then the totals."""
    stocktake = sheet.stocktake
    headers = [_("类型"), _("标签"), _("站点"), _("物资编码"), _("物资名称"), _("单位"), _("批号/序列号"),
               _("账面数量"), _("实盘数量"), _("未盘"), _("差异"), _("单价（元）"), _("差异金额（元）"),
               _("原因/备注")]

    def priced(value):
        return "—" if value is None else value

    rows = [[row.kind, row.label_text, row.site, row.material_code, row.material, row.unit, row.lot,
             row.expected, row.counted, _("未盘（按 0 计）") if row.uncounted else None, row.delta,
             priced(row.price), priced(row.value), row.reason] for row in sheet.rows]
    rows += [[_("账外盘盈"), found.label_text or _("待审批后生成"), stocktake.site.name, found.material_code,
              found.material, found.unit, found.lot, 0, found.quantity, None, found.quantity,
              priced(found.price), priced(found.value), found.note] for found in sheet.found]
    totals, skip = sheet.totals, [None] * 9  # the totals stand under 差异 and 差异金额
    footer = [[_("盘盈合计"), *skip, totals.gain_quantity, None, totals.gain_value],
              [_("盘亏合计"), *skip, -totals.loss_quantity, None, -totals.loss_value]]
    if totals.unpriced:
        footer.append([_("另有 %(n)d 项无参考单价，未计入金额", n=totals.unpriced)])
    note = " · ".join([_facts(stocktake), *(f"{caption}：{value}" for caption, value in approval(stocktake)
                                             if value), *([sheet.stamp] if sheet.stamp else [])])
    return workbook(_("差异表"), headers, rows, totals=footer,
                    widths=[10, 17, 18, 12, 26, 6, 18, 10, 10, 14, 8, 11, 14, 30],
                    title=_title(stocktake, _("差异表")), note=note)
