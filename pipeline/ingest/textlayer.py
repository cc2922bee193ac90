"""Born-digital pages → `TableGrid` through camelot (lattice, vector engine), merged cells rebuilt.

camelot reads the ruled grid from the PDF's own vector lines (no rendering, ~0.07 s/page) and
marks each grid cell's four edges. A missing right/bottom edge means the cell continues into its
neighbour: a union of grid cells over missing edges gives each merged cell with its spans. Its
text is the text of its grid cells in reading order (camelot puts it where the glyphs fall).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from ..errors import UnreadableInput
from ..types import BBox, Cell, TableGrid


def read_text_tables(path: Path, page: int, page_height: float) -> list[TableGrid]:
    """The ruled tables of one born-digital page, top to bottom. Boxes are in PDF points (top-left origin)."""
    import camelot  # heavy import, only for documents that take this route

    logging.getLogger("camelot").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables = camelot.read_pdf(str(path), pages=str(page), flavor="lattice", engine="vector",
                                      line_scale=40, split_text=True, suppress_stdout=True)
    except Exception as exc:  # camelot raises bare exceptions for broken PDFs
        raise UnreadableInput(f"page {page}: the text layer cannot be read as a table ({exc})") from exc
    ordered = sorted(tables, key=lambda t: -max(c.y2 for row in t.cells for c in row))
    return [_grid(t.cells, page, page_height) for t in ordered]


def _grid(cells: list[list], page: int, page_height: float) -> TableGrid:
    n_rows, n_cols = len(cells), max(len(r) for r in cells)
    parent = {(r, c): (r, c) for r in range(n_rows) for c in range(len(cells[r]))}

    def find(x: tuple[int, int]) -> tuple[int, int]:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for r in range(n_rows):
        for c in range(len(cells[r])):
            cell = cells[r][c]
            if c + 1 < len(cells[r]) and not (cell.right or cells[r][c + 1].left):
                union((r, c), (r, c + 1))
            if r + 1 < n_rows and c < len(cells[r + 1]) and not (cell.bottom or cells[r + 1][c].top):
                union((r, c), (r + 1, c))

    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in parent:
        groups.setdefault(find(key), []).append(key)

    out = []
    for members in groups.values():
        rows = [m[0] for m in members]
        cols = [m[1] for m in members]
        r0, c0 = min(rows), min(cols)
        text = " ".join(cells[r][c].text.strip() for r, c in sorted(members) if cells[r][c].text.strip())
        x0 = min(cells[r][c].x1 for r, c in members)
        x1 = max(cells[r][c].x2 for r, c in members)
        top = max(cells[r][c].y2 for r, c in members)
        bottom = min(cells[r][c].y1 for r, c in members)
        bbox = BBox(int(x0), int(page_height - top), int(x1), int(page_height - bottom))
        out.append(Cell(page=page, row=r0, col=c0, text=text, rowspan=max(rows) - r0 + 1,
                        colspan=max(cols) - c0 + 1, confidence=1.0, bbox=bbox, engine="camelot"))
    out.sort(key=lambda c: (c.row, c.col))
    return TableGrid(page=page, n_rows=n_rows, n_cols=n_cols, cells=tuple(out))
