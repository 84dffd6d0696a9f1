"""Reading an uploaded spreadsheet: .xlsx and .xls through pandas' calamine engine, .csv in UTF-8
or GBK; its header row found and matched leniently (trimmed, full-width folded to half-width,
common synonyms), its cells folded the same way. Anything that is not a readable spreadsheet,
a file over the limit or a zip that would unpack to far more than it weighs is refused whole.
"""

import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import pandas
import python_calamine
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inventory.errors import ValidationError

MAX_BYTES = 10 * 1024 * 1024         # an upload larger than this is refused before it is read
MAX_UNPACKED = 256 * 1024 * 1024     # an .xlsx whose parts unpack beyond this is a zip bomb
MAX_ROWS = 200_000
HEADER_SEARCH_ROWS = 10              # a title or a note may stand above the header row
EXTENSIONS = (".xlsx", ".xls", ".csv")
_MARKS = re.compile(r"[*＊\s]|[（(]必填[)）]")


def fold(text: str) -> str:
    """Full-width letters, digits and punctuation as half-width, trimmed (NFKC)."""
    return unicodedata.normalize("NFKC", text).strip()


def header_key(text: str) -> str:
    """A header as matched: folded, without spaces, required marks or case."""
    return _MARKS.sub("", fold(text)).lower()


@dataclass(frozen=True)
class Column:
    """A column a kind of import reads: its name in templates, and other names it answers to."""

    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = False

    def answers_to(self) -> set[str]:
        return {header_key(name) for name in (self.name, *self.synonyms)}


@dataclass
class Table:
    """A sheet's rows under its header: ``rows`` are (the row's number as Excel shows it, its
    cells by column name); ``unknown`` are headers no column answers to."""

    headers: list[str]
    rows: list[tuple[int, dict]]
    unknown: list[str]


def refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


_XLSX, _XLS = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a zip; an OLE compound file
NOT_A_WORKBOOK = _l("无法读取此文件：它不是有效的 Excel 表格")


def screen(data: bytes, filename: str) -> str:
    """The file's extension, once it is plausibly the spreadsheet its name says — of a type we
    read, not empty, within the limit, no zip bomb, a workbook calamine can open — else a
    refusal. Cheap: the sheets' rows are not read."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in EXTENSIONS:
        raise refuse(_("只接受 .xlsx、.xls 或 .csv 文件"))
    if not data:
        raise refuse(_("文件是空的"))
    if len(data) > MAX_BYTES:
        raise refuse(_("文件超过 %(mb)d MB，请拆分后分批导入", mb=MAX_BYTES // (1024 * 1024)))
    if extension == ".csv":
        if b"\x00" in data[:4096]:
            raise refuse(_("无法读取此 CSV 文件：它不是文本文件"))
        return extension
    if not data.startswith(_XLSX if extension == ".xlsx" else _XLS):
        raise refuse(str(NOT_A_WORKBOOK))
    if extension == ".xlsx":
        _refuse_zip_bombs(data)
    _workbook_sheets(data)
    return extension


def _frame(data: bytes, filename: str) -> pandas.DataFrame:
    if screen(data, filename) == ".csv":
        return _csv(data)
    try:
        return pandas.read_excel(io.BytesIO(data), engine="calamine", header=None, dtype=object)
    except Exception:  # calamine raises its own errors, and others, for anything it cannot read
        raise refuse(str(NOT_A_WORKBOOK)) from None


def _refuse_zip_bombs(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise refuse(str(NOT_A_WORKBOOK)) from None
    if unpacked > MAX_UNPACKED:
        raise refuse(_("文件解压后过大，拒绝读取"))


def _workbook_sheets(data: bytes) -> list[str]:
    """The names of a workbook's sheets, or a refusal when it is no workbook calamine can open."""
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names
    except Exception:  # calamine's errors for a broken or foreign file, and a panic turned into one
        raise refuse(str(NOT_A_WORKBOOK)) from None


def _csv(data: bytes) -> pandas.DataFrame:
    # UTF-8 first (with or without the BOM Excel writes); then GB18030, which reads GBK and GB2312.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return pandas.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                                   skip_blank_lines=True)
        except (pandas.errors.ParserError, pandas.errors.EmptyDataError):
            raise refuse(_("无法读取此 CSV 文件：列数不一致或内容为空")) from None
    raise refuse(_("无法识别此 CSV 文件的编码：请存为 UTF-8 或 GBK"))


def cell(value):
    """A cell as the checks take it: None for empty, folded text, a whole float as an int, dates
    as dates."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        value = fold(value)
        return value or None
    if isinstance(value, pandas.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read(data: bytes, filename: str, columns: list[Column]) -> Table:
    """The first sheet of the file under its header row — the first of its top rows in which at
    least two cells name one of ``columns`` — or a refusal naming what is wrong."""
    frame = _frame(data, filename)
    if len(frame) > MAX_ROWS:
        raise refuse(_("文件超过 %(n)d 行，请拆分后分批导入", n=MAX_ROWS))
    by_key = {key: column.name for column in columns for key in column.answers_to()}
    values = frame.to_numpy().tolist()

    def names_in(row) -> list[str]:
        return [header_key(str(text)) if cell(text) is not None else "" for text in row]

    top = next((index for index, row in enumerate(values[:HEADER_SEARCH_ROWS])
                if sum(name in by_key for name in names_in(row)) >= 2), None)
    if top is None:
        expected = "、".join(column.name for column in columns if column.required)
        raise refuse(_("找不到表头：第一张工作表的前 %(n)d 行里须有这些列：%(columns)s",
                       n=HEADER_SEARCH_ROWS, columns=expected))
    names = names_in(values[top])
    headers = [str(cell(text) or "") for text in values[top]]
    at = {}
    for index, name in enumerate(names):
        if name in by_key and by_key[name] not in at.values():
            at[index] = by_key[name]
    missing = [column.name for column in columns if column.required and column.name not in at.values()]
    if missing:
        raise refuse(_("缺少必填列：%(columns)s", columns="、".join(missing)))
    rows = []
    for offset, row in enumerate(values[top + 1:], start=top + 2):  # Excel counts rows from 1
        cells = {name: cell(row[index]) for index, name in at.items()}
        if any(value is not None for value in cells.values()):
            rows.append((offset, cells))
    unknown = [header for index, header in enumerate(headers) if header and index not in at]
    return Table(headers=headers, rows=rows, unknown=unknown)
