"""The 总分 row's 分值 and 得分, also where a lost ruling joined their cells to a neighbour.

The 总分 row is the last of the table, where the unit's seal is stamped: the seal's ring crosses
the rulings beside the totals, and the grid may lose one of them there. Its cell then covers two
columns, and its centre — which decides a cell's column elsewhere (`layout.Row.under`) — falls in
the wrong one or on the line between:

- a cell covering both 分值 and 得分 that holds two numbers gives the left one to 分值 and the
  right one to 得分 (each keeps the cell's confidence, and the join is logged);
- a 得分 column left empty takes the cell that begins in it (joined to the 偏差原因 column, which
  is empty on this row).
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..records import Correction, Totals
from ..types import Cell
from .fields import FieldReader
from .layout import Column, Row

_FIGURE = re.compile(r"\d+(?:[.:]\d+)?")
_APART = re.compile(r"[^\d.:]+")


def read_totals(row: Row, max_col: Column | None, score_col: Column | None, reader: FieldReader) -> Totals:
    """The 总分 row's figures, read from `row` under the 分值 and 得分 header columns."""
    max_cells = row.under(max_col) if max_col is not None else []
    score_cells = row.under(score_col) if score_col is not None else []
    if max_col is not None and score_col is not None:
        joined = _joined(row, max_col, score_col, max_cells + [c for c in score_cells if c not in max_cells])
        if joined is not None:
            cell, (left, right) = joined
            reader.corrections.append(Correction(page=cell.page, field="total_score", raw=cell.text,
                                                 corrected=f"{left} | {right}", kind="merged_columns",
                                                 confidence=cell.confidence))
            max_cells, score_cells = [replace(cell, text=left)], [replace(cell, text=right)]
        elif not score_cells:
            score_cells = [c for c in row.beginning_in(score_col) if c not in max_cells]
    mx, _, pmx = reader.number(max_cells, "total_max_score")
    sc, _, psc = reader.number(score_cells, "total_score")
    prov = {k: v for k, v in (("max_score", pmx), ("score", psc)) if v is not None}
    return Totals(max_score=mx, score=sc, provenance=prov)


def _joined(row: Row, max_col: Column, score_col: Column, cells: list[Cell]) -> tuple[Cell, tuple[str, str]] | None:
    """The one cell covering both columns, with its two figures, or None."""
    if len(cells) != 1 or cells[0].bbox is None or row.left is None \
            or None in (max_col.x0, max_col.x1, score_col.x0, score_col.x1):
        return None
    cell = cells[0]
    shift = row.left - max_col.left
    x0, x1 = cell.bbox.x0 - shift, cell.bbox.x1 - shift
    # It reaches over the middle of each column, not only across the ruling between them.
    if not (x0 <= (max_col.x0 + max_col.x1) / 2 and x1 >= (score_col.x0 + score_col.x1) / 2):
        return None
    figures = [t for t in _APART.split(cell.text) if t]
    if len(figures) != 2 or not all(_FIGURE.fullmatch(t) for t in figures):
        return None  # not two whole figures apart (`100.0000.0`: where one ends is anyone's guess)
    return cell, (figures[0], figures[1])
