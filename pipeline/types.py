"""Frozen stage data shared by the routes.

Both routes (scan → OCR, text layer → camelot, tab-separated text) meet at `TableGrid`:
cells with row/col spans, a box in page pixels (top-left origin) when there is an image,
the text as read and the reader's confidence. Nothing downstream needs to know which route
produced a grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class BBox:
    """A box in page pixels, top-left origin, x1/y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True, eq=False)
class PageImage:
    """One page as pixels (BGR, uint8), at `dpi`; `page` is 1-based."""

    page: int
    image: np.ndarray
    dpi: float


@dataclass(frozen=True, slots=True)
class Cell:
    """One (possibly merged) table cell: its top-left grid position, spans and what was read."""

    page: int
    row: int
    col: int
    text: str = ""
    rowspan: int = 1
    colspan: int = 1
    confidence: float = 1.0
    bbox: BBox | None = None
    engine: str = "text"
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TableGrid:
    """A table on one page. `cells` hold only origins of merged cells, not every covered slot."""

    page: int
    n_rows: int
    n_cols: int
    cells: tuple[Cell, ...] = field(default_factory=tuple)

    def dense(self) -> list[list[Cell | None]]:
        """Row-major matrix: a merged cell appears in every row it spans, only in its first column.

        That is the contract's rule: a merged cell's text applies to every row it spans, and a
        cell spanning several columns belongs to its first column.
        """
        out: list[list[Cell | None]] = [[None] * self.n_cols for _ in range(self.n_rows)]
        for cell in self.cells:
            for r in range(cell.row, min(cell.row + cell.rowspan, self.n_rows)):
                if cell.col < self.n_cols:
                    out[r][cell.col] = cell
        return out
