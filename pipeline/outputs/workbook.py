"""`perfscan.xlsx`: the CSV tables as one workbook, one sheet each, for people who live in Excel;
then every ruled table read, one sheet each, laid out as on paper with its merged cells merged.

Cells keep what the CSVs say: text stays text — a 年度指标值 such as `=100.00(%)` must never become
a formula, so every string cell is written as a string explicitly — and numbers stay numbers, shown
with the decimals they were written with (`7.50`, not `7.5`). Characters XML cannot carry (control
codes in OCR residue) are dropped, since one of them would make Excel refuse the whole file.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..records import Table
from .folder import WORKBOOK_NAME, atomic_write

MAX_CELL_CHARS = 32767  # Excel's limit for one cell
MAX_COLUMN_WIDTH = 60
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
# The document properties' created/modified: one fixed time, so that the bytes depend on the tables only.
SETTLED_TIME = datetime(2000, 1, 1)
SETTLED_STAMP = SETTLED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()


def write_xlsx(out_dir: Path, tables: dict[str, pd.DataFrame], grids: list[tuple[str, Table]] = ()) -> Path:
    """Write `out_dir/perfscan.xlsx` (temp file, then rename) with one sheet per table, in order,
    then one per ruled table in `grids` ((doc_id, table): sheet `DOC_ID p3 t1`)."""
    book = Workbook(write_only=True)
    for name, frame in tables.items():
        _sheet(book, name, frame)
    for doc_id, table in grids:
        _grid_sheet(book, f"{doc_id} p{table.page} t{table.table}", table)
    if not tables and not grids:
        book.create_sheet("documents")
    book.properties.created = book.properties.modified = SETTLED_TIME
    buf = io.BytesIO()
    book.save(buf)
    path = Path(out_dir) / WORKBOOK_NAME
    atomic_write(path, _without_times(buf.getvalue()))
    return path


def _without_times(xlsx: bytes) -> bytes:
    """The workbook with every zip entry dated alike: the same records give the same bytes, like
    the CSVs, so a redone or rebuilt folder can be compared file by file."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info)
            if info.filename == "docProps/core.xml":  # openpyxl stamps `modified` with the time of saving
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + SETTLED_STAMP, data)
            dst.writestr(entry, data)
    return out.getvalue()


def _sheet(book: Workbook, name: str, frame: pd.DataFrame) -> None:
    sheet = book.create_sheet(SHEET_NAME_BAD.sub("_", name)[:31] or "sheet")
    columns = [str(c) for c in frame.columns]
    rows = [[_value(v) for v in record] for record in frame.itertuples(index=False, name=None)]
    for index, column in enumerate(columns):
        width = max([_width(column), *(_width(r[index]) for r in rows[:500])])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(MAX_COLUMN_WIDTH, width + 2)
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=_clean(column))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for values in rows:
        sheet.append([_cell(sheet, v) for v in values])


def _grid_sheet(book: Workbook, name: str, table: Table) -> None:
    """A ruled table as its grid: each cell at its place, a merged cell merged over its span, a
    plain decimal as a number (with its decimals), anything else as text."""
    sheet = book.create_sheet(SHEET_NAME_BAD.sub("_", name)[:31])
    values: list[list[object]] = [[None] * table.n_cols for _ in range(table.n_rows)]
    for cell in table.cells:
        if cell.row < table.n_rows and cell.col < table.n_cols and cell.text:
            values[cell.row][cell.col] = Decimal(cell.text) if PLAIN_NUMBER.match(cell.text) else cell.text
        last_row = min(cell.row + cell.row_span, table.n_rows)
        last_col = min(cell.col + cell.col_span, table.n_cols)
        if last_row > cell.row + 1 or last_col > cell.col + 1:
            sheet.merged_cells.add(f"{get_column_letter(cell.col + 1)}{cell.row + 1}:"
                                   f"{get_column_letter(last_col)}{last_row}")
    for index in range(table.n_cols):
        width = max([_width(row[index]) for row in values[:500]], default=0)
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(MAX_COLUMN_WIDTH, width + 2)
    for row in values:
        sheet.append([_cell(sheet, v) for v in row])


def _value(value: object) -> object:
    """A plain Python value: numpy scalars unwrapped, missing values (None, NaN, NA) as None."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes, Decimal)):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _clean(text: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _cell(sheet, value: object) -> WriteOnlyCell | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, (int, float, Decimal)):
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, Decimal):
            places = -value.as_tuple().exponent if isinstance(value.as_tuple().exponent, int) else 0
            cell.number_format = "0." + "0" * places if places > 0 else "0"
        return cell
    cell = WriteOnlyCell(sheet, value=_clean(str(value)))
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def _width(value: object) -> int:
    """Display width: CJK characters take two columns."""
    text = "" if value is None else format(value, "f") if isinstance(value, Decimal) else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text[:200])
