"""A system's output as one shape: rows of positioned text tokens.

OCR peers give text boxes on a page; table systems give rows of cells. Both become
`list[list[Token]]` so that one matcher (`accuracy.py`) scores them all. Cells of a table get
synthetic positions (x = column number, y = row number), so "the same column" and "the next
row" mean the same thing for every system.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

Row = list["Token"]


@dataclass(frozen=True)
class Token:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @classmethod
    def from_list(cls, item: list) -> Token:
        return cls(str(item[0]), *map(float, item[1:5]))


def rows_from_boxes(tokens: list[Token]) -> list[Row]:
    """Group text boxes into rows by vertical centre, each row left to right.

    A box joins the current row when its centre is within half a typical line height of the
    row's mean centre: the usual way to turn full-page OCR into lines. Wrapped cells become
    several rows; the matcher allows for that with windows of consecutive rows.
    """
    boxes = [t for t in tokens if t.text.strip()]
    if not boxes:
        return []
    tolerance = statistics.median(t.y1 - t.y0 for t in boxes) / 2
    rows: list[Row] = []
    centre = 0.0
    for token in sorted(boxes, key=lambda t: t.cy):
        if rows and abs(token.cy - centre) <= tolerance:
            rows[-1].append(token)
            centre = sum(t.cy for t in rows[-1]) / len(rows[-1])
        else:
            rows.append([token])
            centre = token.cy
    return [sorted(row, key=lambda t: t.x0) for row in rows]


def rows_from_cells(cells: list[list[str]], first_row: int = 0) -> list[Row]:
    """Table rows of cell texts as tokens at (column, row) positions."""
    return [
        [Token(text, c, r, c + 0.9, r + 0.9) for c, text in enumerate(row) if text.strip()]
        for r, row in enumerate(cells, start=first_row)
    ]
