"""Label sheets as PDF (ReportLab, with an embedded CJK TrueType font).

Two layouts: A4 sheets of 3 × 8 labels of 70 × 37 mm, and single 50 × 30 mm thermal labels.
Each label carries the QR of the scan URL, the material name (wrapped, shrunk to fit, never cut),
spec, lot or serial, expiry, site and the label code in text. Lines break only at spaces and
beside CJK characters, never inside a word, a number with its unit, a date or a lot number.
A sheet may start at any cell: a half-used sheet goes back into the printer.
"""

import io
import re
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


def register_font() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for path in FONT_FILES:
        if path.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            return
    raise FontMissing("apt-get install fonts-wqy-zenhei")


# Where a line may break: at a space, or beside a CJK character. A Latin word, a number with its
# unit ("4×6m", "30kg", "500毫升"), a date or a lot number ("ZP-2026-01") is one run and never
# splits; closing punctuation stays with what it closes, opening punctuation with what it opens.
_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_OPENING = frozenset("（［｛〔【《〈「『“‘")
_CJK_CLOSING = frozenset("）］｝〕】》〉」』”’，。、；：！？％")
_OPENING = _CJK_OPENING | frozenset("([{")
_CLOSING = _CJK_CLOSING | frozenset(")]},.;:!?%")
# Units written in CJK that stay with the number before them ("30公斤", "2026年"); longest first.
_CJK_UNIT = re.compile("(?<=[0-9])(?:{})".format("|".join(sorted((
    "公斤", "千克", "克", "斤", "吨", "升", "毫升", "米", "厘米", "毫米", "平方米", "立方米", "千瓦",
    "瓦", "伏", "毫安时", "小时", "分钟", "年", "月", "日", "天", "个", "件", "箱", "顶", "台", "张",
    "条", "床", "套", "包", "袋", "瓶", "桶", "块", "双", "人", "层", "号", "型", "寸"),
    key=len, reverse=True))))


def runs(text: str) -> list[str]:
    """``text`` in the pieces a line may break between: single spaces, CJK characters (with
    their punctuation), and runs that never break."""
    # Positions a line may not break before: each character of a CJK unit after a number.
    glued = {index for unit in _CJK_UNIT.finditer(text) for index in range(*unit.span())}
    pieces: list[str] = []
    for index, char in enumerate(text):
        if char.isspace():
            if pieces and pieces[-1] != " ":
                pieces.append(" ")
            continue
        before = text[index - 1] if index else " "
        breaks = before.isspace() or (
            index not in glued and before not in _OPENING and char not in _CLOSING
            and bool(_IDEOGRAPH.match(before) or _IDEOGRAPH.match(char) or before in _CJK_CLOSING
                     or char in _CJK_OPENING))
        if breaks or not pieces:
            pieces.append(char)
        else:
            pieces[-1] += char
    return pieces


def _measured(text: str) -> list[tuple[str, float]]:
    """The pieces of ``text`` and their widths at size 1 (a width grows in step with the size)."""
    return [(piece, pdfmetrics.stringWidth(piece, FONT, 1)) for piece in runs(text)]


def _lines(pieces: list[tuple[str, float]], room: float, *, split_runs: bool = False) -> list[str]:
    """Fill lines ``room`` wide (at size 1) with ``pieces``, breaking only between them; a piece
    wider than a line stands alone, too wide, unless ``split_runs`` breaks it between characters."""
    lines, line, used = [], "", 0.0
    for piece, piece_width in pieces:
        if piece == " ":
            if line:
                line, used = line + piece, used + piece_width
            continue
        if line and used + piece_width > room:
            lines.append(line.rstrip())
            line, used = "", 0.0
        if split_runs and piece_width > room:
            for char in piece:
                char_width = pdfmetrics.stringWidth(char, FONT, 1)
                if line and used + char_width > room:
                    lines.append(line)
                    line, used = "", 0.0
                line, used = line + char, used + char_width
            continue
        line, used = line + piece, used + piece_width
    line = line.rstrip()
    return [*lines, line] if line else lines


def wrap(text: str, width: float, size: float, *, split_runs: bool = False) -> list[str]:
    """Break ``text`` into lines of at most ``width`` at ``size``, only where a line may break
    (see ``runs``): a run wider than the line stands on a line of its own, too wide, unless
    ``split_runs`` lets it break between characters as a last resort."""
    register_font()
    return _lines(_measured(text), width / size, split_runs=split_runs)


def _widest(lines: list[str]) -> float:
    return max((pdfmetrics.stringWidth(line, FONT, 1) for line in lines), default=0.0)


def fit(text: str, width: float, size: float, max_lines: int) -> tuple[list[str], float]:
    """The largest size (down to half) at which ``text`` wraps into ``max_lines`` lines none
    wider than ``width``. Never cut: at half size a run still too wide breaks between characters."""
    register_font()
    pieces = _measured(text)
    for step in range(11):
        trial = size * (1 - step * 0.05)
        lines = _lines(pieces, width / trial)
        if len(lines) <= max_lines and _widest(lines) * trial <= width:
            return lines, trial
    return _lines(pieces, width / (size * 0.5), split_runs=True), size * 0.5


def draw_qr(canvas: Canvas, matrix, x: float, y: float, size: float) -> None:
    """The QR as one filled path: each row's dark modules merged into runs."""
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


def _draw_label(canvas: Canvas, layout: Layout, text: LabelText, matrix, x: float, y: float) -> None:
    pad = 1.5 * mm
    qr_size = min(layout.qr_size, layout.label_height - 2 * pad)
    draw_qr(canvas, matrix, x + pad, y + (layout.label_height - qr_size) / 2, qr_size)
    left = x + pad + qr_size + 1 * mm
    width = x + layout.label_width - pad - left
    top = y + layout.label_height - pad
    size = layout.font_size
    name_lines, name_size = fit(text.name, width, size + 1, 3)
    canvas.setFont(FONT, name_size)
    for line in name_lines:
        top -= name_size * 1.15
        canvas.drawString(left, top, line)
    small = size * 0.9
    for detail in text.details:
        lines, detail_size = fit(detail, width, small, 2)
        for line in lines:
            if top - small * 1.2 < y + pad + small * 1.4:
                break
            top -= small * 1.2
            canvas.setFont(FONT, detail_size)
            canvas.drawString(left, top, line)
    code_lines, code_size = fit(text.code, width, size, 1)
    canvas.setFont(FONT, code_size)
    canvas.drawString(left, y + pad + 0.3 * mm, code_lines[0])


def render(labels: list[LabelText], layout_name: str = "a4", start: int = 1) -> bytes:
    """A PDF of ``labels`` in the chosen layout, the first at cell ``start`` of the first sheet
    (counted left to right, top to bottom; later sheets start at cell 1).

    Raises ValueError when ``start`` is not a cell of the layout's sheet."""
    layout = LAYOUTS[layout_name]
    if not 1 <= start <= layout.per_page:
        raise ValueError(f"start cell {start} is not one of 1..{layout.per_page}")
    register_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(layout.page_width, layout.page_height), pageCompression=1)
    canvas.setTitle("应急物资标签")
    matrices = {}  # copies of one label share its QR code
    for index, text in enumerate(labels, start=start - 1):
        if text.payload not in matrices:
            matrices[text.payload] = qr.make(text.payload).matrix
        slot = index % layout.per_page
        if slot == 0 and index >= layout.per_page:
            canvas.showPage()
        column, row = slot % layout.columns, slot // layout.columns
        x = layout.margin_left + column * layout.label_width
        y = layout.page_height - layout.margin_top - (row + 1) * layout.label_height
        _draw_label(canvas, layout, text, matrices[text.payload], x, y)
    canvas.save()
    return buffer.getvalue()
