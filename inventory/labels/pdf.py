"""Label sheets as PDF (ReportLab, with an embedded CJK TrueType font).

Two layouts: A4 sheets of 3 × 8 labels of 70 × 37 mm, and single 50 × 30 mm thermal labels.
Each label carries the QR of the scan URL, the material name (wrapped, shrunk to fit, never cut),
spec, lot or serial, expiry, site and the label code in text.
"""

import io
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from inventory.labels import qr

# WenQuanYi Zen Hei (GPLv2 with a font-embedding exception), from Debian's fonts-wqy-zenhei.
FONT_FILES = (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),)
FONT = "WQY"


class FontMissing(RuntimeError):
    """No CJK font to embed: install fonts-wqy-zenhei."""


@dataclass(frozen=True)
class Layout:
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int
    rows: int
    margin_left: float
    margin_top: float
    qr_size: float
    font_size: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


LAYOUTS = {
    "a4": Layout(A4[0], A4[1], 70 * mm, 37 * mm, 3, 8, 0, 0.5 * mm, 31 * mm, 8.5),
    "thermal": Layout(50 * mm, 30 * mm, 50 * mm, 30 * mm, 1, 1, 0, 0, 25 * mm, 6.5),
}


@dataclass(frozen=True)
class LabelText:
    """What a label says besides its QR."""

    payload: str
    name: str
    details: tuple[str, ...]
    code: str


def _register_font() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for path in FONT_FILES:
        if path.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            return
    raise FontMissing("apt-get install fonts-wqy-zenhei")


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (CJK text breaks between characters)."""
    lines, line = [], ""
    for char in text:
        if pdfmetrics.stringWidth(line + char, FONT, size) > width and line:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    return [*lines, line] if line else lines


def _fit(text: str, width: float, size: float, max_lines: int) -> tuple[list[str], float]:
    """The largest size (down to half) at which ``text`` wraps into ``max_lines``; never cut."""
    for step in range(11):
        trial = size * (1 - step * 0.05)
        lines = _wrap(text, width, trial)
        if len(lines) <= max_lines:
            return lines, trial
    return _wrap(text, width, size * 0.5), size * 0.5


def _draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """The QR as one filled path: each row's dark modules merged into runs."""
    matrix = qr.make(payload).matrix
    border = 2  # modules of quiet zone inside ``size``; the label's own margin adds to it
    module = size / (len(matrix) + 2 * border)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + border + 1) * module
        start = None
        for column, dark in enumerate((*row, 0)):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                path.rect(x + (start + border) * module, top, (column - start) * module, module)
                start = None
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_label(canvas: Canvas, layout: Layout, text: LabelText, x: float, y: float) -> None:
    pad = 1.5 * mm
    qr_size = min(layout.qr_size, layout.label_height - 2 * pad)
    _draw_qr(canvas, text.payload, x + pad, y + (layout.label_height - qr_size) / 2, qr_size)
    left = x + pad + qr_size + 1 * mm
    width = x + layout.label_width - pad - left
    top = y + layout.label_height - pad
    size = layout.font_size
    name_lines, name_size = _fit(text.name, width, size + 1, 3)
    canvas.setFont(FONT, name_size)
    for line in name_lines:
        top -= name_size * 1.15
        canvas.drawString(left, top, line)
    small = size * 0.9
    for detail in text.details:
        for line in _wrap(detail, width, small)[:2]:
            if top - small * 1.2 < y + pad + small * 1.4:
                break
            top -= small * 1.2
            canvas.setFont(FONT, small)
            canvas.drawString(left, top, line)
    code_lines, code_size = _fit(text.code, width, size, 1)
    canvas.setFont(FONT, code_size)
    canvas.drawString(left, y + pad + 0.3 * mm, code_lines[0])


def render(labels: list[LabelText], layout_name: str = "a4") -> bytes:
    """A PDF of ``labels`` in the chosen layout."""
    _register_font()
    layout = LAYOUTS[layout_name]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(layout.page_width, layout.page_height), pageCompression=1)
    canvas.setTitle("应急物资标签")
    for index, text in enumerate(labels):
        slot = index % layout.per_page
        if slot == 0 and index:
            canvas.showPage()
        column, row = slot % layout.columns, slot // layout.columns
        x = layout.margin_left + column * layout.label_width
        y = layout.page_height - layout.margin_top - (row + 1) * layout.label_height
        _draw_label(canvas, layout, text, x, y)
    canvas.save()
    return buffer.getvalue()
