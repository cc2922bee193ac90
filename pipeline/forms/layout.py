"""The rows of a document's tables, across pages, and columns found by their header text.

Columns are never taken by position: each form's header row names them (`一级指标`, `分值`, …),
and OCR of a header is noisy, so a column matches on a short key (`分值` also as the traditional
`分數` after correction) rather than on the whole header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..correct import correct
from ..types import Cell, TableGrid


@dataclass(frozen=True)
class Row:
    page: int
    cells: tuple[Cell | None, ...]
    first_on_page: bool

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
        for i, cells in enumerate(grid.dense()):
            rows.append(Row(page=grid.page, cells=tuple(cells), first_on_page=(i == 0)))
    return rows


def find_row(rows: list[Row], pattern: str, start: int = 0) -> int | None:
    regex = re.compile(pattern)
    for i in range(start, len(rows)):
        if regex.search(rows[i].joined_label()):
            return i
    return None


def map_columns(row: Row, keys: dict[str, str]) -> dict[str, int]:
    """Column index of each field whose header matches its regex; the leftmost match wins."""
    found: dict[str, int] = {}
    for col in range(len(row.cells)):
        text = row.label(col)
        if not text:
            continue
        for name, pattern in keys.items():
            if name not in found and re.search(pattern, text):
                found[name] = col
    return found
