"""Tab-separated text extractions of the forms → `TableGrid`s (the `import-text` route).

The format is one table row per line, cells separated by tabs, a blank line between pages
(what copying a PDF's tables into a text file gives). Merged cells are not marked: a label sits
on one line of its block, which is why the forms never forward-fill 一级 labels from text input.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UnreadableInput
from ..types import Cell, TableGrid

MAX_TEXT_BYTES = 20_000_000


def read_text_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableInput(f"cannot read it ({exc.strerror or exc})") from exc
    if not data.strip():
        raise UnreadableInput("the file is empty")
    if len(data) > MAX_TEXT_BYTES:
        raise UnreadableInput(f"too large for a text extraction ({len(data)} bytes)")
    if b"\x00" in data[:4096]:
        raise UnreadableInput("binary content, not a tab-separated text extraction")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableInput("not UTF-8 or GB18030 text")


def text_to_grids(text: str) -> list[TableGrid]:
    """Split into pages at blank lines after content; each line is a row, each tab a column."""
    pages: list[list[list[str]]] = [[]]
    for line in text.splitlines():
        if not line.strip():
            if pages[-1]:
                pages.append([])
            continue
        pages[-1].append(line.split("\t"))
    pages = [p for p in pages if p]
    grids = []
    for number, rows in enumerate(pages, start=1):
        n_cols = max(len(r) for r in rows)
        cells = tuple(
            Cell(page=number, row=r, col=c, text=value)
            for r, row in enumerate(rows)
            for c, value in enumerate(row)
            if value.strip()
        )
        grids.append(TableGrid(page=number, n_rows=len(rows), n_cols=n_cols, cells=cells))
    return grids
