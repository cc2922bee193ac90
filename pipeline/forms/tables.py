"""Ruled tables → `Table` records: every table perfscan reads, of forms and other documents alike.

Archive teams digitize whole boxes, and the 决算/预算 tables filed beside the 自评表 are worth as much
to them as the forms; perfscan has found each grid and read each cell anyway. A cell's text is
cleaned as the form builders clean theirs (`correct`): as a number or measure when it starts like
one (`7. 50`, `=100. 00 (%)`), else as text — so the indicator grid of a form reads here exactly as
in indicators.csv. Every cell keeps its evidence (page, box, raw text, confidence, engine).
"""

from __future__ import annotations

import re

from ..correct import FieldKind, correct
from ..records import Provenance, Table, TableCell
from ..types import Cell, TableGrid

MEASURE_START = re.compile(r"^\s*(?:[=≥≤><＝＞＜≧≦]|[-+]?\s*\d)")


def read_tables(grids: list[TableGrid], review_confidence: float) -> list[Table]:
    """`grids` (ruled tables, in page order) as records, numbered from 1 on each page."""
    tables: list[Table] = []
    for grid in grids:
        number = 1 + sum(t.page == grid.page for t in tables)
        cells = [_cell(c, review_confidence) for c in sorted(grid.cells, key=lambda c: (c.row, c.col))]
        tables.append(Table(page=grid.page, table=number, n_rows=grid.n_rows, n_cols=grid.n_cols, cells=cells))
    return tables


def cell_kind(raw: str) -> FieldKind:
    """How a cell of unknown meaning is cleaned: a figure as a measure, anything else as text."""
    return "measure" if MEASURE_START.match(raw) else "text"


def _cell(cell: Cell, review_confidence: float) -> TableCell:
    raw = cell.text.strip()
    text = correct(raw, cell_kind(raw)).text if raw else ""
    return TableCell(
        row=cell.row, col=cell.col, row_span=cell.rowspan, col_span=cell.colspan, text=text,
        confidence=cell.confidence, needs_review=bool(raw) and cell.confidence < review_confidence,
        provenance=Provenance(page=cell.page, bbox=cell.bbox.as_list() if cell.bbox else None, raw=cell.text,
                              confidence=cell.confidence, engine=cell.engine),
    )
