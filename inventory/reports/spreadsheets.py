"""Excel exports (xlsxwriter). Text that a spreadsheet would read as a formula is written as
plain text, so a material named =HYPERLINK(…) cannot act when staff open the file (QUALITY.md
S11); numbers stay numbers."""

import io

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralised(value):
    """A cell value that cannot become a formula: risky text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def workbook(sheet: str, headers: list[str], rows, *, widths: list[int] | None = None) -> bytes:
    """One sheet with a bold header row; every string written as a string, never a formula."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    page = book.add_worksheet(sheet)
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    page.write_row(0, 0, headers, bold)
    page.freeze_panes(1, 0)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, str):
                page.write_string(number, column, neutralised(value))
            elif value is None:
                page.write_blank(number, column, None)
            else:
                page.write_number(number, column, value)
    for column, width in enumerate(widths or []):
        page.set_column(column, column, width)
    book.close()
    return buffer.getvalue()
