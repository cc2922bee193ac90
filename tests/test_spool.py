"""A document's grids wait on disk, not in memory, while its pages are read."""

from __future__ import annotations

import gc
import tempfile

from pipeline import document
from pipeline.config import load_config
from pipeline.scan.spool import GridSpool
from pipeline.types import BBox, Cell, TableGrid
from tests.benchmark.longdoc import build_long_pdf


def grid(page: int, texts: list[str]) -> TableGrid:
    cells = tuple(Cell(page=page, row=i, col=0, text=t, rowspan=1 + i % 2, confidence=0.5 + i / 10,
                       bbox=BBox(10, 20 * i, 300, 20 * i + 18), engine="rapidocr", alternatives=(t + "?",))
                  for i, t in enumerate(texts))
    return TableGrid(page=page, n_rows=len(texts) + 1, n_cols=1, cells=cells)


def test_grids_come_back_whole_and_in_order_and_no_file_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pages = [[grid(1, ["项目名称", "7.50"]), grid(1, [])], [], [grid(3, ["产出指标", "≥95%", "授"])]]
    with GridSpool() as spool:
        for grids in pages:
            spool.add(grids)
        assert list(tmp_path.iterdir()) == []  # unlinked from the start: a killed worker leaves nothing
        back = spool.read_all()
    assert back == [g for grids in pages for g in grids]
    assert list(tmp_path.iterdir()) == []


def test_a_long_document_holds_no_earlier_pages_grids_while_reading(tmp_path, monkeypatch):
    """Counted at each page: the grids alive do not grow with the pages already read."""
    path = build_long_pdf("u000_digital", 24, tmp_path / "long.pdf")
    alive: list[int] = []
    read_page = document._text_page

    def counting(*args):
        alive.append(sum(isinstance(o, TableGrid) for o in gc.get_objects()))
        return read_page(*args)

    monkeypatch.setattr(document, "_text_page", counting)
    result = document.process_file(path, load_config(None))
    assert result.document.pages == len(alive) >= 24
    assert max(alive[len(alive) // 2:]) <= max(alive[:4]), alive
    assert result.document.indicators and result.document.header.form_type == "unit_overall"
