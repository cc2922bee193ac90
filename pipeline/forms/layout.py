"""The rows of a document's tables, across pages, and columns found by their header text.

Columns are never taken by position: each form's header row names them (`一级指标`, `分值`, …),
and OCR of a header is noisy, so a column matches on a short key (`分值` also as the traditional
`分數` after correction) rather than on the whole header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..correct import correct
from ..types import Cell, TableGrid


@dataclass(frozen=True)
class Column:
    """A header column: its grid index and, when the route gives boxes, its x-range."""

    index: int
    x0: float | None = None
    x1: float | None = None
    left: float = 0.0  # left edge of the header's table, to align tables of other pages


@dataclass(frozen=True)
class Row:
    page: int
    cells: tuple[Cell | None, ...]
    first_on_page: bool
    left: float | None = None  # left edge of this row's table, when the route gives boxes

    def under(self, column: Column, to_right: bool = False) -> list[Cell]:
        """The non-empty cells of this row under a header column (or from it rightwards).

        With boxes, a cell belongs to the header column its centre falls in, after aligning the
        two tables' left edges: tables of later pages split columns differently (page 1's money
        block adds grid lines), so grid indexes do not carry across pages but positions do.
        """
        if column.x0 is None or self.left is None:
            if to_right:
                return self.cells_from(column.index)
            cell = self.cell(column.index)
            return [cell] if cell is not None and cell.text.strip() else []
        shift = self.left - column.left
        out = []
        for cell in self.unique_cells():
            if cell.bbox is None or not cell.text.strip():
                continue
            centre = (cell.bbox.x0 + cell.bbox.x1) / 2 - shift
            if column.x0 <= centre and (to_right or centre < column.x1):
                out.append(cell)
        return out

    def beginning_in(self, column: Column) -> list[Cell]:
        """Non-empty cells whose left edge is `column`'s (nearer it than its middle; boxes needed):
        a cell joined to the column right of it by a lost ruling, whose centre lies there."""
        if column.x0 is None or column.x1 is None or self.left is None:
            return []
        shift = self.left - column.left
        half = (column.x1 - column.x0) / 2
        return [c for c in self.unique_cells()
                if c.bbox is not None and c.text.strip() and abs(c.bbox.x0 - shift - column.x0) < half]

    def unique_cells(self) -> list[Cell]:
        seen: list[Cell] = []
        for cell in self.cells:
            if cell is not None and all(cell is not s for s in seen):
                seen.append(cell)
        return seen

    def text(self, col: int) -> str:
        cell = self.cells[col] if 0 <= col < len(self.cells) else None
        return cell.text.strip() if cell is not None else ""

    def label(self, col: int) -> str:
        """The cell's text as a label: corrected, spaces removed (for matching, not for output)."""
        return label_of(self.text(col))

    def cell(self, col: int) -> Cell | None:
        return self.cells[col] if 0 <= col < len(self.cells) else None

    def cells_from(self, start: int, stop: int | None = None) -> list[Cell]:
        picked = self.cells[start:stop] if stop is not None else self.cells[start:]
        return [c for c in picked if c is not None and c.text.strip()]

    def joined_label(self) -> str:
        return label_of(" ".join(c.text for c in self.cells if c is not None and c.text.strip()))

    def is_blank(self) -> bool:
        return not any(c is not None and c.text.strip() for c in self.cells)


def label_of(text: str) -> str:
    return correct(text, "name").text if text.strip() else ""


def document_rows(grids: list[TableGrid]) -> list[Row]:
    rows: list[Row] = []
    for grid in grids:
        boxes = [c.bbox for c in grid.cells if c.bbox is not None]
        left = min(b.x0 for b in boxes) if boxes and len(boxes) == len(grid.cells) else None
        starts = {c.row for c in grid.cells}
        for i, cells in enumerate(grid.dense()):
            if i not in starts:
                continue  # a grid line that only merged cells cross: not a row of its own
            rows.append(Row(page=grid.page, cells=tuple(cells), first_on_page=(i == 0), left=left))
    return rows


def aligned_pages(rows: list[Row], header_index: int) -> list[Row]:
    """The rows, with the tables of the header's later pages placed by their column edges.

    A table continued on the next page is placed under the header by its left edge. When that
    page's outer column lost its ruling (faint, or in the shadow of the page's edge), its left edge
    is the next column's, and every cell fell one column to the left of its header. The offset that
    lines up the most column edges with the header's table is taken instead, when it lines up
    half the page's edges and at least two more than the left edge does.
    """
    header = rows[header_index]
    if header.left is None:
        return rows
    reference = column_lines([r for r in rows[header_index:] if r.page == header.page and r.left == header.left])
    if len(reference) < 3:
        return rows
    tolerance = 0.01 * (reference[-1] - reference[0])
    placed: dict[tuple[int, float], float] = {}
    for key in {(r.page, r.left) for r in rows[header_index + 1 :] if r.page != header.page and r.left is not None}:
        edges = column_lines([r for r in rows[header_index + 1 :] if (r.page, r.left) == key])
        if len(edges) < 3:
            continue

        def lined_up(offset: float, edges: np.ndarray = edges) -> int:
            gaps = np.abs(edges[:, None] - offset - reference[None, :]).min(axis=1)
            return int((gaps <= tolerance).sum())

        current = key[1] - header.left
        best = max({float(e - f) for e in edges for f in reference}, key=lambda o: (lined_up(o), -abs(o - current)))
        if lined_up(best) >= max(lined_up(current) + 2, len(edges) / 2):
            placed[key] = header.left + best
    if not placed:
        return rows
    return [replace(r, left=placed[(r.page, r.left)]) if (r.page, r.left) in placed else r for r in rows]


def column_lines(rows: list[Row]) -> np.ndarray:
    """The x positions of these rows' column rulings: where at least three cells begin or end,
    within 0.5% of the table's width (a photo's slanted rulings give no such line, and are left
    where their left edge puts them)."""
    xs = sorted(float(x) for r in rows for c in r.unique_cells() if c.bbox is not None for x in (c.bbox.x0, c.bbox.x1))
    if not xs:
        return np.asarray([])
    gap = 0.005 * (xs[-1] - xs[0])
    clusters: list[list[float]] = [[xs[0]]]
    for x in xs[1:]:
        if x - clusters[-1][-1] > gap:
            clusters.append([])
        clusters[-1].append(x)
    return np.asarray([float(np.median(c)) for c in clusters if len(c) >= 3])


def map_columns(row: Row, keys: dict[str, str]) -> dict[str, Column]:
    """The header column of each field whose header matches its regex; the leftmost match wins.
    Columns a garbled header does not name are placed by `indicators.complete_columns`."""
    found: dict[str, Column] = {}
    for col in range(len(row.cells)):
        text = row.label(col)
        if not text:
            continue
        for name, pattern in keys.items():
            if name not in found and re.search(pattern, text):
                found[name] = column_at(row, col)
    return found


def split_joined(cols: dict[str, Column], order: tuple[str, ...], lines: Sequence[float] = ()) -> dict[str, Column]:
    """`cols` with one header cell named for two neighbouring columns (`分值得分`, `全年预算数全年执行数`:
    the ruling between them lost in the header row) split, when the route gives boxes: at the
    column ruling of the rows below (`lines`, x positions) nearest its middle, else at its middle.
    `order` is the columns' order left to right."""
    cols = dict(cols)
    for index in {c.index for c in cols.values()}:
        names = sorted((n for n, c in cols.items() if c.index == index), key=order.index)
        column = cols[names[0]]
        if len(names) == 2 and column.x0 is not None and column.x1 is not None:
            middle = (column.x0 + column.x1) / 2
            margin = 0.15 * (column.x1 - column.x0)
            inside = [x for x in lines if column.x0 + margin < x < column.x1 - margin]
            cut = float(min(inside, key=lambda x: abs(x - middle), default=middle))
            cols[names[0]], cols[names[1]] = replace(column, x1=cut), replace(column, x0=cut)
    return cols


def column_at(row: Row, col: int) -> Column:
    """The header column of grid column `col` of `row` (with its x-range when the route gives boxes)."""
    cell = row.cells[col]
    if cell is not None and cell.bbox is not None and row.left is not None:
        return Column(col, cell.bbox.x0, cell.bbox.x1, row.left)
    return Column(col)

