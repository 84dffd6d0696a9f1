"""纸质单: the paper a keeper writes on when the network and the power are out (三断) — A4 PDFs of
a site's 发放登记单 (blank rows), 借用归还单 (a row per loan still out) and 盘点清点单 (a row per
item an open stocktake counts), each page with the site, the time printed, the snapshot position
and signature lines (ReportLab, with the labels' embedded CJK font: labels/pdf.py).

Each row carries a QR code of the offline app's address with the row's fields and an operation
key made as the PDF is drawn (the server keeps nothing of it). Back online, the keeper scans the
row and types what was written; the app sends it under that key, so a row entered twice is
applied once. Counting stays blind: a count row never shows the books.
"""

import io
import uuid
from dataclasses import dataclass

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from inventory import clock
from inventory.labels import pdf, qr
from inventory.labels.codes import format_label
from inventory.sites.models import Site
from inventory.stock.models import IssueLine, StockItem
from inventory.stocktakes.models import Stocktake
from inventory.templating import unit_name

FORM_NAMES = {"issue": _l("发放登记单"), "return": _l("借用归还单"), "count": _l("盘点清点单")}
MAX_ISSUE_PAGES = 10  # of blank rows, in one PDF

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X, MARGIN_Y = 12 * mm, 10 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN_X
HEADER_ROW = 7 * mm
# A row is as tall as its QR code and the key below it: a count or return row's address is ~155
# characters, a version 9 code of 57 modules with its quiet zone, 0.3 mm each at 17 mm — read by
# a phone held close and by zxing-cpp at 200 dpi (tests/offline/test_paper.py).
ROW = 21 * mm
QR_SIZE = 17 * mm
SIGNATURES = 13 * mm
FOOTER = 6 * mm
TEXT = 8.5  # points, in table cells
LEADING = 1.2
PAD = 1.2 * mm
CONDITION = object()  # the cell of a return row where the keeper ticks good, damaged or lost


@dataclass(frozen=True)
class Column:
    title: str
    width: float


@dataclass(frozen=True)
class Row:
    """One row of a form: its key, what its QR code says, and its cells' text (a cell's parts
    each start a line)."""

    key: str
    payload: str
    cells: tuple


def _key() -> str:
    return str(uuid.uuid4())


def _issue_rows(site: Site, count: int) -> list[Row]:
    """Blank rows of a 发放登记单, each its own key."""
    rows = []
    for _n in range(count):
        key = _key()
        rows.append(Row(key, qr.offline_app_url({"kind": "issue", "key": key, "site": site.code}),
                        ((), (), (), ())))
    return rows


def _return_rows(site: Site, loans: list[IssueLine]) -> list[Row]:
    """A 借用归还单 row per loan line still out: who has it, what, how many are out."""
    rows = []
    for loan in loans:
        key, item = _key(), loan.item
        fields = {"kind": "return", "key": key, "site": site.code, "issue": loan.issue.number,
                  "line": loan.id, "label": item.label}
        due = _("应还 %(date)s", date=loan.due_date.isoformat()) if loan.due_date else ""
        rows.append(Row(key, qr.offline_app_url(fields), (
            (loan.issue.number, loan.issue.recipient_name, due),
            (item.material.name, _lot(item), format_label(item.label)),
            (f"{loan.outstanding} {unit_name(item.material.unit)}",), (), CONDITION, ())))
    return rows


def _count_rows(site: Site, stocktake: Stocktake, position: int, items: list[StockItem]) -> list[Row]:
    """A 盘点清点单 row per item to count: its label, material, lot or serial — never the books."""
    rows = []
    for item in items:
        key = _key()
        fields = {"kind": "count", "key": key, "site": site.code, "stocktake": stocktake.id,
                  "label": item.label, "position": position}
        material = " ".join(part for part in (item.material.name, item.material.spec) if part)
        expiry = _("有效期至 %(date)s", date=item.expiry_date.isoformat()) if item.expiry_date else ""
        rows.append(Row(key, qr.offline_app_url(fields), (
            (format_label(item.label), material, " ".join(part for part in (_lot(item), expiry) if part)),
            (unit_name(item.material.unit),), (), ())))
    return rows


def _lot(item: StockItem) -> str:
    if item.serial:
        return _("序列号 %(serial)s", serial=item.serial)
    return _("批号 %(lot)s", lot=item.lot) if item.lot else ""


def _columns(form: str) -> list[Column]:
    qr_column = Column(_("二维码"), 22 * mm)
    if form == "issue":
        return [qr_column, Column(_("标签/物资"), 62 * mm), Column(_("数量"), 22 * mm),
                Column(_("领用人"), 42 * mm), Column(_("签字"), WIDTH - 148 * mm)]
    if form == "return":
        return [qr_column, Column(_("借用单/领用人"), 34 * mm), Column(_("物资/标签"), 44 * mm),
                Column(_("未还"), 15 * mm), Column(_("归还数量"), 19 * mm), Column(_("状况"), 25 * mm),
                Column(_("签字"), WIDTH - 159 * mm)]
    return [qr_column, Column(_("标签/物资/批次"), 84 * mm), Column(_("单位"), 14 * mm),
            Column(_("实盘数量"), 28 * mm), Column(_("签字"), WIDTH - 148 * mm)]


def _instructions(form: str) -> tuple[str, ...]:
    """What the head tells the keeper, a sentence each."""
    return (_("断网断电时手写；恢复后在离线工作页扫描每行二维码录入；同一行录入两次只记一次。"),
            {"issue": _("每行写一种物资：标签或物资名称、数量、领用人，由领用人签字。"),
             "return": _("按实际归还填写数量并勾选状况；丢失的须由负责人录入。"),
             "count": _("实盘数量按实物清点填写；序列号物资在则填 1、不在填 0。")}[form],
            # The keys are per account (idempotency.py), and a photocopy repeats them.
            _("整张单请用同一账号录入。每次打印的二维码都不同：需要多份请重新打印，不要复印。"))


# --- drawing -------------------------------------------------------------------------------------

def _fitted(parts, width: float, height: float, size: float = TEXT, lines: int = 2) -> list[tuple[str, float]]:
    """The lines of ``parts`` (each starting a line) and their sizes: each part wrapped and shrunk
    to ``width`` (labels/pdf.py ``fit``), all shrunk further if they would not fit ``height``."""
    fitted = [(line, part_size) for part in parts if part
              for wrapped, part_size in [pdf.fit(part, width, size, lines)] for line in wrapped]
    needed = sum(line_size * LEADING for _line, line_size in fitted)
    scale = min(1.0, height / needed) if needed else 1.0
    return [(line, line_size * scale) for line, line_size in fitted]


def _text(canvas: Canvas, parts, x: float, top: float, width: float, height: float, *,
          size: float = TEXT, lines: int = 2, center: bool = False) -> None:
    """``parts`` inside a box, from its top down, centred from top to bottom; never outside it."""
    fitted = _fitted(parts, width - 2 * PAD, height - PAD, size, lines)
    y = top - (height - sum(line_size * LEADING for _line, line_size in fitted)) / 2
    for line, line_size in fitted:
        y -= line_size * LEADING
        canvas.setFont(pdf.FONT, line_size)
        if center:
            canvas.drawCentredString(x + width / 2, y + line_size * 0.22, line)
        else:
            canvas.drawString(x + PAD, y + line_size * 0.22, line)


def _grid(canvas: Canvas, columns: list[Column], top: float, height: float) -> None:
    canvas.rect(MARGIN_X, top - height, WIDTH, height, stroke=1, fill=0)
    x = MARGIN_X
    for column in columns[:-1]:
        x += column.width
        canvas.line(x, top, x, top - height)


def _condition(canvas: Canvas, x: float, top: float, width: float) -> None:
    """Three boxes to tick: 完好, 损坏, 丢失."""
    box, step = 2.6 * mm, ROW / 3
    for index, name in enumerate((_("完好"), _("损坏"), _("丢失"))):
        middle = top - step * (index + 0.5)
        canvas.rect(x + PAD, middle - box / 2, box, box, stroke=1, fill=0)
        _text(canvas, (name,), x + PAD + box, middle + step / 2, width - PAD - box, step, lines=1)


def _row(canvas: Canvas, columns: list[Column], row: Row, top: float) -> None:
    _grid(canvas, columns, top, ROW)
    qr_x = MARGIN_X + (columns[0].width - QR_SIZE) / 2
    pdf.draw_qr(canvas, qr.make(row.payload).matrix, qr_x, top - 0.7 * mm - QR_SIZE, QR_SIZE)
    canvas.setFont(pdf.FONT, 6)  # the key's start, to tell rows apart: eight hex digits always fit
    canvas.drawCentredString(MARGIN_X + columns[0].width / 2, top - ROW + 0.9 * mm, row.key[:8])
    x = MARGIN_X + columns[0].width
    for column, cell in zip(columns[1:], row.cells, strict=True):
        if cell is CONDITION:
            _condition(canvas, x, top, column.width)
        else:
            _text(canvas, cell, x, top, column.width, ROW, lines=2)
        x += column.width


@dataclass(frozen=True)
class Head:
    """What every page of a form repeats above its rows."""

    title: str
    facts: list[str]
    instructions: list[str]  # lines, wrapped to the page
    columns: list[Column]

    @property
    def height(self) -> float:
        """From the top margin to the first row."""
        return (13 * mm + (len(self.facts) + 1) // 2 * 5 * mm + 1 * mm + len(self.instructions) * 8 * LEADING
                + 2 * mm + HEADER_ROW)

    @property
    def per_page(self) -> int:
        return max(1, int((PAGE_HEIGHT - 2 * MARGIN_Y - self.height - FOOTER - SIGNATURES) // ROW))


def _head(form: str, site: Site, position: int, stocktake: Stocktake | None = None) -> Head:
    facts = [_("站点：%(name)s（%(code)s）", name=site.name, code=site.code),
             _("打印时间：%(at)s", at=format_datetime(clock.now(), "yyyy-MM-dd HH:mm")),
             _("快照位置：%(position)d", position=position)]
    if stocktake is not None:
        facts.append(_("盘点单：%(number)s（%(period)s）", number=stocktake.number, period=stocktake.period))
    instructions = [line for sentence in _instructions(form)
                    for line in pdf.wrap(sentence, WIDTH, 8, split_runs=True)]
    return Head(str(FORM_NAMES[form]), facts, instructions, _columns(form))


def _draw_head(canvas: Canvas, head: Head) -> float:
    """The head and the table's header row; answers where the rows start."""
    top = PAGE_HEIGHT - MARGIN_Y
    organization = current_app.config["ORGANIZATION_NAME"]
    _text(canvas, (organization,), MARGIN_X, top, WIDTH, 5 * mm, size=9, lines=1, center=True)
    _text(canvas, (head.title,), MARGIN_X, top - 5 * mm, WIDTH, 8 * mm, size=15, lines=1, center=True)
    top -= 13 * mm
    half = WIDTH / 2
    for index, fact in enumerate(head.facts):
        _text(canvas, (fact,), MARGIN_X + (index % 2) * half - PAD, top - (index // 2) * 5 * mm, half, 5 * mm,
              size=9, lines=1)
    top -= (len(head.facts) + 1) // 2 * 5 * mm + 1 * mm
    canvas.setFont(pdf.FONT, 8)
    for line in head.instructions:
        top -= 8 * LEADING
        canvas.drawString(MARGIN_X, top + 2, line)
    top -= 2 * mm
    canvas.setFillGray(0.92)
    canvas.rect(MARGIN_X, top - HEADER_ROW, WIDTH, HEADER_ROW, stroke=0, fill=1)
    canvas.setFillGray(0)
    _grid(canvas, head.columns, top, HEADER_ROW)
    x = MARGIN_X
    for column in head.columns:
        _text(canvas, (column.title,), x, top, column.width, HEADER_ROW, lines=2, center=True)
        x += column.width
    return top - HEADER_ROW


def _draw_foot(canvas: Canvas, number: int, pages: int) -> None:
    """保管员签字, 复核人签字 and 日期 lines, and 第 n 页 共 m 页."""
    third = WIDTH / 3
    y = MARGIN_Y + FOOTER + 4 * mm
    for index, caption in enumerate((_("保管员签字"), _("复核人签字"), _("日期"))):
        x = MARGIN_X + index * third
        for line, size in _fitted((f"{caption}：",), third / 2, 5 * mm, size=9.5, lines=1):
            canvas.setFont(pdf.FONT, size)
            canvas.drawString(x, y, line)
            start = x + canvas.stringWidth(line, pdf.FONT, size) + 1 * mm
            canvas.line(start, y - 1.2, x + third - 5 * mm, y - 1.2)
    canvas.setFont(pdf.FONT, 8)
    canvas.drawCentredString(PAGE_WIDTH / 2, MARGIN_Y + 1 * mm, _("第 %(n)d 页 共 %(m)d 页", n=number, m=pages))


def _render(head: Head, rows: list[Row], *, empty: str = "") -> bytes:
    """The rows as an A4 PDF: the head on every page, as many rows a page as fit, signature lines
    at the foot of each; ``empty`` said in place of rows when there are none.

    Raises labels.pdf.FontMissing when the CJK font is not installed."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(head.title)
    canvas.setAuthor(current_app.config["ORGANIZATION_NAME"])
    pages = max(1, -(-len(rows) // head.per_page))
    for number in range(1, pages + 1):
        canvas.setLineWidth(0.4)
        top = _draw_head(canvas, head)
        for row in rows[(number - 1) * head.per_page:number * head.per_page]:
            _row(canvas, head.columns, row, top)
            top -= ROW
        if not rows:
            _text(canvas, (empty,), MARGIN_X, top, WIDTH, 10 * mm, size=10, center=True)
        _draw_foot(canvas, number, pages)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- the three forms -----------------------------------------------------------------------------

def issue_form(site: Site, *, position: int, pages: int = 1) -> bytes:
    """发放登记单: ``pages`` pages of blank rows. Raises labels.pdf.FontMissing."""
    pdf.register_font()
    head = _head("issue", site, position)
    return _render(head, _issue_rows(site, head.per_page * pages))


def return_form(site: Site, *, position: int, loans: list[IssueLine]) -> bytes:
    """借用归还单: a row per loan still out. Raises labels.pdf.FontMissing."""
    pdf.register_font()
    return _render(_head("return", site, position), _return_rows(site, loans),
                   empty=_("本站点没有未归还的借用"))


def count_form(site: Site, *, stocktake: Stocktake, position: int, items: list[StockItem]) -> bytes:
    """盘点清点单: a row per item ``stocktake`` counts. Raises labels.pdf.FontMissing."""
    pdf.register_font()
    return _render(_head("count", site, position, stocktake), _count_rows(site, stocktake, position, items),
                   empty=_("本站点没有待清点的物资"))
