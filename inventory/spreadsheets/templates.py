"""Import templates: an .xlsx a bureau fills in — Chinese headers on the first sheet (required
ones in red, each with a note saying what goes in it, drop-down lists where the values are a
list), and a 说明 sheet with each column's rules and an example row. The importer reads the
first sheet only, so the example is never imported by mistake."""

import datetime as dt
import io

import xlsxwriter

from inventory.reports.spreadsheets import neutralised
from inventory.spreadsheets import opening_stock
from inventory.stock.models import SOURCE_NAMES

DATA_ROWS = 5000  # how far down the drop-down lists reach


def _choices(kind: str) -> dict[str, list[str]]:
    if kind == "opening_stock":
        return {opening_stock.SOURCE: [str(name) for name in SOURCE_NAMES.values()]}
    return {}


def _write(sheet, row: int, values: list, date) -> None:
    for column, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, dt.date):
            sheet.write_datetime(row, column, dt.datetime.combine(value, dt.time()), date)
        elif isinstance(value, int | float):
            sheet.write_number(row, column, value)
        else:
            sheet.write_string(row, column, neutralised(str(value)))


def workbook(kind: str, rows=()) -> bytes:
    """The template of ``kind``; with ``rows`` (lists in the columns' order), filled — an export
    that imports back as unchanged."""
    spec = {"opening_stock": opening_stock}[kind]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "font_color": "#B3261E"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet = book.add_worksheet("数据")
    choices = _choices(kind)
    for column, spec_column in enumerate(spec.COLUMNS):
        sheet.write_string(0, column, spec_column.name, required if spec_column.required else header)
        sheet.write_comment(0, column, spec.NOTES[spec_column.name], {"x_scale": 2, "y_scale": 1.5})
        sheet.set_column(column, column, max(12, 2 * len(spec_column.name) + 4),
                         date if "日期" in spec_column.name or "有效期" in spec_column.name else None)
        if spec_column.name in choices:
            sheet.data_validation(1, column, DATA_ROWS, column, {
                "validate": "list", "source": choices[spec_column.name],
                "error_title": "请从列表中选择", "error_message": "、".join(choices[spec_column.name])})
    for row, values in enumerate(rows, start=1):
        _write(sheet, row, values, date)
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet("说明")
    notes.write_row(0, 0, ["列", "必填", "说明", "示例"], header)
    for row, spec_column in enumerate(spec.COLUMNS, start=1):
        example = spec.EXAMPLE.get(spec_column.name, "")
        notes.write_row(row, 0, [spec_column.name, "是" if spec_column.required else "",
                                 neutralised(spec.NOTES[spec_column.name])])
        if isinstance(example, dt.date):
            notes.write_datetime(row, 3, dt.datetime.combine(example, dt.time()), date)
        elif isinstance(example, int):
            notes.write_number(row, 3, example)
        else:
            notes.write_string(row, 3, example)
    notes.set_column(0, 0, 12)
    notes.set_column(2, 2, 60)
    notes.set_column(3, 3, 14)
    book.close()
    return buffer.getvalue()
