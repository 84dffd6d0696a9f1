"""The 盘点表 and 差异表 as A4 PDFs (ReportLab, WenQuanYi embedded as for labels: labels/pdf.py).

Pages are laid out in two passes: blocks of fixed height (the head, each table row, a heading,
the signature lines) are placed on pages first, so that each page can say "第 n 页 共 m 页" and a
table's header row is drawn again at the top of every page its rows continue on; then drawn.
Text is wrapped and shrunk to fit its cell, never cut (labels/pdf.py ``fit``).

A 5,000-line count sheet is 300-odd pages: each QR code is one literal path of its dark runs
(ReportLab's own path calls format every number in Python, six times slower), and a cell's text
is fitted once per distinct text and width.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from inventory import clock
from inventory.labels import pdf
from inventory.stocktakes import sheets
from inventory.stocktakes.models import Stocktake

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 12 * mm, 12 * mm, 14 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN_X
RUNNING_HEAD = 7 * mm  # above a continued page's table: which sheet of which stocktake
PAD = 1.2 * mm
TEXT = 8.0  # points, in table cells
QR_SIZE = 13 * mm  # 37 modules (version 4 with its quiet zone) of 0.35 mm: a phone reads it
QR = object()  # the cell of a row that holds its QR code


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    align: str = "left"


@dataclass(eq=False)
class Table:
    columns: list[Column]
    row_height: float
    header_height: float = 7 * mm
    lines: int = 2  # lines of text a cell may take


@dataclass(eq=False)
class Block:
    """Something drawn with its top at a given height. A row of ``table`` brings the table's
    header onto each page it starts; ``keep`` is the room the blocks after it need beside it."""

    height: float
    draw: Callable[[Canvas, float], None]
    table: Table | None = None
    keep: float = 0.0


@dataclass
class Document:
    title: str
    number: str
    site: str
    blocks: list[Block] = field(default_factory=list)
    fitted: dict = field(default_factory=dict)  # (text, width, size, lines) → (lines, size)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


# --- drawing -------------------------------------------------------------------------------------

def _text(document: Document, canvas: Canvas, text: str, x: float, top: float, width: float,
          height: float, *, size: float = TEXT, lines: int = 2, align: str = "left") -> None:
    """``text`` inside a box: wrapped, shrunk to fit, never cut; centred from top to bottom."""
    if not text:
        return
    key = (text, width, size, lines)
    if key not in document.fitted:
        document.fitted[key] = pdf.fit(text, width - 2 * PAD, size, lines)
    wrapped, size = document.fitted[key]
    leading = size * 1.18
    baseline = top - (height - leading * len(wrapped)) / 2 - size * 0.92
    canvas.setFont(pdf.FONT, size)
    for line in wrapped:
        if align == "right":
            canvas.drawRightString(x + width - PAD, baseline, line)
        elif align == "center":
            canvas.drawCentredString(x + width / 2, baseline, line)
        else:
            canvas.drawString(x + PAD, baseline, line)
        baseline -= leading


def _draw_qr(canvas: Canvas, matrix, x: float, y: float, size: float) -> None:
    """The QR code with its bottom left at (x, y): each row's dark runs, one filled path written
    in module units (a two-module quiet zone inside ``size``)."""
    border = 2
    module = size / (len(matrix) + 2 * border)
    runs = []
    for row_index, row in enumerate(matrix):
        start = None
        for column, dark in enumerate((*row, 0)):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                runs.append(f"{start + border} {row_index + border} {column - start} 1 re")
                start = None
    canvas.saveState()
    canvas.translate(x, y + size)
    canvas.scale(module, -module)  # rows run down the page, as in the matrix
    canvas.addLiteral(" ".join(runs) + " f")
    canvas.restoreState()


def _grid(canvas: Canvas, table: Table, top: float, height: float) -> None:
    """A row's box: its bottom line and the lines beside its cells (the row above drew its top)."""
    canvas.line(MARGIN_X, top - height, MARGIN_X + WIDTH, top - height)
    x = MARGIN_X
    canvas.line(x, top, x, top - height)
    for column in table.columns:
        x += column.width
        canvas.line(x, top, x, top - height)


def _header(document: Document, table: Table) -> Block:
    def draw(canvas: Canvas, top: float) -> None:
        canvas.setFillGray(0.92)
        canvas.rect(MARGIN_X, top - table.header_height, WIDTH, table.header_height, stroke=0, fill=1)
        canvas.setFillGray(0)
        canvas.line(MARGIN_X, top, MARGIN_X + WIDTH, top)
        _grid(canvas, table, top, table.header_height)
        x = MARGIN_X
        for column in table.columns:
            _text(document, canvas, column.title, x, top, column.width, table.header_height, lines=1,
                  align="center")
            x += column.width
    return Block(table.header_height, draw)


def _row(document: Document, table: Table, cells: list, matrix=None) -> Block:
    """A table row: its cells' text, and the QR code ``matrix`` in the cell given as ``QR``."""
    def draw(canvas: Canvas, top: float) -> None:
        _grid(canvas, table, top, table.row_height)
        x = MARGIN_X
        for column, text in zip(table.columns, cells, strict=True):
            if text is QR:
                size = min(QR_SIZE, table.row_height - PAD)
                _draw_qr(canvas, matrix, x + (column.width - size) / 2, top - (table.row_height + size) / 2,
                         size)
            else:
                _text(document, canvas, text, x, top, column.width, table.row_height, lines=table.lines,
                      align=column.align)
            x += column.width
    return Block(table.row_height, draw, table=table)


def _head(document: Document, facts: list[tuple[str, str]], stamp: str = "") -> Block:
    """The first page's head: the unit, the title and number, a stamp (待审批), the facts two
    to a line."""
    height = 22 * mm + (len(facts) + 1) // 2 * 5 * mm
    organization = current_app.config["ORGANIZATION_NAME"]

    def draw(canvas: Canvas, top: float) -> None:
        middle = PAGE_WIDTH / 2
        canvas.setFont(pdf.FONT, 12)
        canvas.drawCentredString(middle, top - 12, organization)
        canvas.setFont(pdf.FONT, 17)
        canvas.drawCentredString(middle, top - 32, document.title)
        canvas.setFont(pdf.FONT, 9)
        canvas.drawCentredString(middle, top - 46, _("单号 %(number)s", number=document.number))
        if stamp:
            canvas.saveState()
            canvas.setStrokeColorRGB(0.75, 0.1, 0.1)
            canvas.setFillColorRGB(0.75, 0.1, 0.1)
            canvas.setLineWidth(1.2)
            canvas.setFont(pdf.FONT, 11)
            width = pdfmetrics.stringWidth(stamp, pdf.FONT, 11) + 4 * mm
            canvas.rect(PAGE_WIDTH - MARGIN_X - width, top - 34, width, 8 * mm, stroke=1, fill=0)
            canvas.drawCentredString(PAGE_WIDTH - MARGIN_X - width / 2, top - 28, stamp)
            canvas.restoreState()
        half = WIDTH / 2
        for index, (caption, value) in enumerate(facts):
            x = MARGIN_X + (index % 2) * half - PAD
            y = top - 20 * mm - (index // 2) * 5 * mm
            _text(document, canvas, f"{caption}：{value or '—'}", x, y, half, 5 * mm, size=8.5, lines=1)
    return Block(height, draw)


def _heading(text: str, keep: float) -> Block:
    def draw(canvas: Canvas, top: float) -> None:
        canvas.setFont(pdf.FONT, 10)
        canvas.drawString(MARGIN_X, top - 6 * mm, text)
    return Block(8 * mm, draw, keep=keep)


def _paragraph(text: str, size: float = 8) -> Block:
    lines = pdf.wrap(text, WIDTH, size)

    def draw(canvas: Canvas, top: float) -> None:
        canvas.setFont(pdf.FONT, size)
        y = top - 2 * mm - size
        for line in lines:
            canvas.drawString(MARGIN_X, y, line)
            y -= size * 1.3
    return Block(len(lines) * size * 1.3 + 3 * mm, draw)


def _signatures(document: Document, lines: list[tuple[str, str]]) -> Block:
    """Signature lines three to a row: a caption, a line to sign on, the name printed below it."""
    lines = [*lines, (_("日期"), "")]
    third = WIDTH / 3

    def draw(canvas: Canvas, top: float) -> None:
        for index, (caption, name) in enumerate(lines):
            x = MARGIN_X + (index % 3) * third
            y = top - 10 * mm - (index // 3) * 11 * mm
            caption = f"{caption}："
            canvas.setFont(pdf.FONT, 9.5)
            canvas.drawString(x, y, caption)
            start = x + pdfmetrics.stringWidth(caption, pdf.FONT, 9.5)
            end = x + third - 6 * mm
            canvas.line(start, y - 1.2, end, y - 1.2)
            if name:
                _text(document, canvas, f"（{name}）", start, y - 1.5, end - start, 4 * mm, size=7.5,
                      lines=1, align="right")
    return Block(6 * mm + (len(lines) + 2) // 3 * 11 * mm, draw)


# --- pages ---------------------------------------------------------------------------------------

def _paginate(document: Document) -> list[list[tuple[Block, float]]]:
    """Each block where it fits, top down; a table's header before its first row on every page."""
    top, bottom = PAGE_HEIGHT - MARGIN_TOP - RUNNING_HEAD, MARGIN_BOTTOM
    pages, page = [], []
    y, headed = PAGE_HEIGHT - MARGIN_TOP, None
    for block in document.blocks:
        header = block.table is not None and headed is not block.table
        need = block.height + block.keep + (block.table.header_height if header else 0)
        if page and y - need < bottom:
            pages.append(page)
            page, y, headed = [], top, None
            header = block.table is not None
        if header:
            page.append((_header(document, block.table), y))
            y -= block.table.header_height
            headed = block.table
        page.append((block, y))
        y -= block.height
    pages.append(page)
    return pages


def _render(document: Document) -> bytes:
    """Raises labels.pdf.FontMissing when the CJK font is not installed."""
    pdf.register_font()  # the labels' font, registered once a process
    pages = _paginate(document)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{document.title} {document.number}")
    canvas.setAuthor(current_app.config["ORGANIZATION_NAME"])
    for number, page in enumerate(pages, start=1):
        canvas.setLineWidth(0.4)
        if number > 1:
            canvas.setFont(pdf.FONT, 8)
            canvas.drawString(MARGIN_X, PAGE_HEIGHT - MARGIN_TOP - 4 * mm,
                              f"{document.title} {document.number} · {document.site}")
        for block, top in page:
            block.draw(canvas, top)
        canvas.setFont(pdf.FONT, 8)
        canvas.drawCentredString(PAGE_WIDTH / 2, MARGIN_BOTTOM - 7 * mm,
                                 _("第 %(n)d 页 共 %(m)d 页", n=number, m=len(pages)))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- the two sheets ------------------------------------------------------------------------------

def count_sheet(stocktake: Stocktake, rows: list[sheets.CountRow]) -> bytes:
    """The 盘点表: a row per line with its QR code and a blank count box, empty rows for found
    goods, the counters' and the witness's signature lines. Blind: no book quantity anywhere."""
    document = Document(_("盘点表"), stocktake.number, stocktake.site.name)
    document.add(_head(document, [
        (_("站点"), sheets.scope(stocktake)), (_("期间"), stocktake.period),
        (_("开单日期"), sheets.when(stocktake.created_at, "yyyy-MM-dd")),
        (_("打印时间"), sheets.when(clock.now())),
        (_("盘点人"), sheets.counters(stocktake)), (_("监盘人"), sheets.witness(stocktake))]))
    table = Table([Column(_("序号"), 8 * mm, "center"), Column(_("二维码"), 16 * mm),
                   Column(_("标签"), 30 * mm), Column(_("物资名称"), 31 * mm), Column(_("规格/单位"), 22 * mm),
                   Column(_("批号/序列号"), 23 * mm), Column(_("有效期至"), 17 * mm, "center"),
                   Column(_("实盘数量"), 17 * mm), Column(_("备注"), WIDTH - 164 * mm)],
                  row_height=QR_SIZE + 2 * mm)
    for row in rows:
        document.add(_row(document, table, [
            str(row.number), QR, row.label_text, row.material,
            " / ".join(part for part in (row.spec, row.unit) if part), row.lot, row.expiry, "", ""],
            matrix=row.qr().matrix))
    found = Table([Column(_("物资名称"), 50 * mm), Column(_("规格/单位"), 28 * mm),
                   Column(_("批号/序列号"), 30 * mm), Column(_("有效期至"), 22 * mm),
                   Column(_("数量"), 20 * mm), Column(_("备注"), WIDTH - 150 * mm)], row_height=9 * mm)
    document.add(_heading(_("账外物资（盘盈）登记：无标签或不在账上的物资"),
                          keep=found.header_height + 2 * found.row_height))
    document.add(*(_row(document, found, [""] * len(found.columns)) for _n in range(sheets.FOUND_ROWS)))
    document.add(_paragraph(_("实盘数量按实物清点填写；序列号物资在则填 1、不在填 0。"
                              "扫描每行二维码可把纸面数量录入系统。")),
                 _signatures(document, [(_("盘点人签字"), sheets.counters(stocktake)),
                                        (_("监盘人签字"), sheets.witness(stocktake))]))
    return _render(document)


def variance_sheet(sheet: sheets.VarianceSheet) -> bytes:
    """The 差异表: the lines, the totals, the found goods, the approval and its signatures;
    stamped 待审批 until approved (作废 once cancelled)."""
    stocktake = sheet.stocktake
    document = Document(_("盘点差异表"), stocktake.number, stocktake.site.name)
    document.add(_head(document, [(_("站点"), sheets.scope(stocktake)), (_("期间"), stocktake.period),
                                  (_("盘点人"), sheets.counters(stocktake)), *sheets.approval(stocktake)],
                       stamp=sheet.stamp))
    table = Table([Column(_("标签"), 29 * mm), Column(_("物资"), 29 * mm), Column(_("批号/序列号"), 22 * mm),
                   Column(_("账面"), 13 * mm, "right"), Column(_("实盘"), 16 * mm, "right"),
                   Column(_("差异"), 13 * mm, "right"), Column(_("单价"), 15 * mm, "right"),
                   Column(_("差异金额"), 18 * mm, "right"), Column(_("原因"), WIDTH - 155 * mm)],
                  row_height=9 * mm)
    for row in sheet.rows:
        counted = _("%(n)d（未盘）", n=row.counted) if row.uncounted else str(row.counted)
        document.add(_row(document, table, [
            row.label_text, f"{row.material} / {row.unit}", row.lot, str(row.expected), counted,
            f"{row.delta:+d}" if row.delta else "0", sheets.money(row.price), sheets.money(row.value),
            row.reason]))
    if not sheet.rows:
        document.add(_paragraph(_("无差异：账实相符") if sheet.lines else _("本盘点单没有明细")))
    totals, money = sheet.totals, sheets.money
    summary = _("盘盈合计：数量 %(gain)d，金额 %(gain_value)s 元；"
                "盘亏合计：数量 %(loss)d，金额 %(loss_value)s 元",
                gain=totals.gain_quantity, gain_value=money(totals.gain_value),
                loss=totals.loss_quantity, loss_value=money(totals.loss_value))
    if totals.unpriced:
        summary += _("（另有 %(n)d 项无参考单价，未计入金额）", n=totals.unpriced)
    document.add(_paragraph(summary, size=9))
    if sheet.found:
        found = Table([Column(_("新标签"), 29 * mm), Column(_("物资"), 38 * mm),
                       Column(_("批号/序列号"), 24 * mm), Column(_("有效期至"), 18 * mm, "center"),
                       Column(_("数量"), 14 * mm, "right"), Column(_("金额"), 18 * mm, "right"),
                       Column(_("备注"), WIDTH - 141 * mm)], row_height=9 * mm)
        document.add(_heading(_("账外盘盈（审批后入账为新物品）"), keep=found.header_height + found.row_height))
        document.add(*(_row(document, found, [
            entry.label_text if entry.label else _("待审批"), f"{entry.material} / {entry.unit}",
            entry.lot, entry.expiry, str(entry.quantity), money(entry.value), entry.note])
            for entry in sheet.found))
    document.add(_signatures(document, [(_("盘点人签字"), sheets.counters(stocktake)),
                                        (_("监盘人签字"), sheets.witness(stocktake)),
                                        (_("审批人签字"), sheets.person(stocktake.approved_by))]))
    return _render(document)

