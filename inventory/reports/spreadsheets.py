"""Excel exports (xlsxwriter). Text that a spreadsheet would read as a formula is written as
plain text, so a material named =HYPERLINK(…) cannot act when staff open the file (QUALITY.md
S11); numbers stay numbers."""

import io
from dataclasses import dataclass

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralised(value):
    """A cell value that cannot become a formula: risky text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write_row(page, row_number: int, row, style=None) -> None:
    for column, value in enumerate(row):
        if isinstance(value, str):
            page.write_string(row_number, column, neutralised(value), style)
        elif value is None:
            page.write_blank(row_number, column, None, style)
        else:
            page.write_number(row_number, column, value, style)


@dataclass
class Sheet:
    """One sheet of a workbook: its name, header row, rows, column widths and bold totals."""

    name: str
    headers: list[str]
    rows: list
    widths: list[int] | None = None
    totals: list | None = None


def workbook(sheet: str, headers: list[str], rows, *, widths: list[int] | None = None,
             title: str | None = None, note: str | None = None, totals=None) -> bytes:
    """One sheet, as ``workbooks`` writes each."""
    return workbooks([Sheet(sheet, headers, rows, widths, totals)], title=title, note=note)


def workbooks(sheets: list[Sheet], *, title: str | None = None, note: str | None = None) -> bytes:
    """Each sheet: a title row and a note row (when given), then a bold header row that stays in
    view and filters the rows below it, and its totals rows (when given) in bold after them,
    outside the filter; every string written as a string, never a formula."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    big, grey = book.add_format({"bold": True, "font_size": 14}), book.add_format({"font_color": "#5F6368"})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    strong = book.add_format({"bold": True, "top": 1})
    for sheet in sheets:
        page = book.add_worksheet(sheet.name)
        top = 0
        if title is not None:
            page.write_string(top, 0, neutralised(title), big)
            top += 1
        if note is not None:
            page.write_string(top, 0, neutralised(note), grey)
            top += 1
        page.write_row(top, 0, sheet.headers, bold)
        page.freeze_panes(top + 1, 0)
        last = top  # the last row written, for the filter's range
        for last, row in enumerate(sheet.rows, start=top + 1):
            _write_row(page, last, row)
        page.autofilter(top, 0, last, len(sheet.headers) - 1)
        for offset, row in enumerate(sheet.totals or [], start=1):
            _write_row(page, last + offset, row, strong)
        for column, width in enumerate(sheet.widths or []):
            page.set_column(column, column, width)
    book.close()
    return buffer.getvalue()
