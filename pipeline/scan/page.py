"""One scanned page: `prepare` (everything without a model) then `read` (the recognizer).

The split is what lets a document's pages overlap: while the engine reads page N on every core
it has, `prepare` runs for page N+1 — grid detection, cutting cells into text lines, the review
JPEG are mostly OpenCV and numpy work that releases the GIL. On 2 cores the recognizer alone
leaves a core idle at the end of each page and while a page is prepared; overlapping fills it.

The lines above the first table (title, year: they say which form this is) are read like one
tall cell, in the same engine call as the table's cells. A page without a table (a narrative
report page) needs full-page text detection: its lines' boxes give reading order and paragraphs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..config import Config
from ..ocr.base import LineResult, OcrEngine
from ..types import BBox, Cell, PageImage, TableGrid
from .grid import detect_grids
from .orientation import upright
from .read import DASH, PageLines, fill_cells, page_lines
from .signs import with_bar_seen

_MIN_BAND_PX = 10  # a table starting this close to the top has no title band worth reading


@dataclass(frozen=True, eq=False)
class PreparedPage:
    """A deskewed page with its grids found and their text lines cut, not yet recognised.

    `band` is the area above the first table as a one-cell grid (None when there is no table,
    or no room above it); its lines are the last grid's in `lines`.
    """

    image: PageImage
    grids: list[TableGrid]
    band: TableGrid | None
    lines: PageLines
    jpeg: bytes
    second_look_below: float = 0.0  # lines read below this confidence are read a second time
    band_by_detection: bool = False  # the band's lines ran together: it is read by text detection


def prepare(image: PageImage, cfg: Config) -> PreparedPage:
    """Orientation, grid detection, text lines of every cell and of the title band, and the
    review JPEG (of the page as turned upright: every box refers to it)."""
    detected = detect_grids(upright(image, cfg).image, cfg.grid)
    page = detected.image
    band = _title_band(page, detected.grids)
    to_read = _with_band(detected.grids, band)
    # A page without a table is read by detection (`read`); it has no cells to cut.
    lines = page_lines(page, detected.ink, to_read, cfg.read, cfg.grid.ink_threshold) if to_read else PageLines([], [])
    by_detection = band is not None and _run_together(lines, len(detected.grids), cfg.read.max_band_line_in * page.dpi)
    if by_detection:
        keep = [i for i, line in enumerate(lines.lines) if line.grid_index != len(detected.grids)]
        lines = PageLines([lines.lines[i] for i in keep], [lines.crops[i] for i in keep])
    ok, buf = cv2.imencode(".jpg", page.image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return PreparedPage(page, detected.grids, band, lines, buf.tobytes() if ok else b"", cfg.read.review_confidence,
                        by_detection)


def _run_together(lines: PageLines, band_index: int, tallest: float) -> bool:
    """The title band's lines, cut by its ink profile, run together: a line taller than any title
    line. A page's shadowed edge (a dark slanted border along the top and down one side) has ink
    on every row of the band, and its title, year and unit became one crop read as `定`."""
    return any(line.box.y1 - line.box.y0 > tallest for line in lines.lines if line.grid_index == band_index)


def _with_band(grids: list[TableGrid], band: TableGrid | None) -> list[TableGrid]:
    """The grids whose cells are cut into lines, in `PreparedPage.lines` order: the band last."""
    return grids + ([band] if band is not None else [])


def read(prepared: PreparedPage, engine: OcrEngine) -> list[TableGrid]:
    """The page's grids with their text: the title band's lines (one single-column grid) first."""
    page = prepared.image
    if not prepared.grids:
        text = _detected_text(page, engine)
        return [text] if text.cells else []
    band = None if prepared.band_by_detection else prepared.band
    filled = fill_cells(_with_band(prepared.grids, band), prepared.lines,
                        _recognized(engine, prepared.lines, prepared.second_look_below), engine.name)
    if prepared.band is None:
        return filled
    if prepared.band_by_detection:
        head = _detected_text(page, engine, within=prepared.band.cells[0].bbox)
        return ([head] if head.cells else []) + filled
    head = _band_lines(page, filled[-1].cells[0], engine.name)
    return ([head] if head.cells else []) + filled[:-1]


def _recognized(engine: OcrEngine, lines: PageLines, second_look_below: float) -> list[LineResult]:
    """Every line's reading: a dash is known from its shape, the rest go to the engine; a `≥`/`≤`
    the engine read without its bar gets it back where the glyph shows it (`signs.py`)."""
    to_read = [i for i, line in enumerate(lines.lines) if not line.dash]
    crops = [lines.crops[i] for i in to_read]
    read = _second_look(engine, crops, engine.recognize(crops), second_look_below) if crops else []
    results = [LineResult(DASH, 1.0)] * len(lines.lines)
    for i, crop, result in zip(to_read, crops, read, strict=True):
        seen = with_bar_seen(result.text, crop)
        results[i] = result if seen == result.text else replace(
            result, text=seen, alternatives=(result.text, *result.alternatives))
    return results


_SECOND_LOOK_STRETCH = 4 / 3  # another geometry of the line (for rapidocr: its width before the 0.75 narrowing)


def _second_look(
    engine: OcrEngine, crops: list[np.ndarray], results: list[LineResult], below: float
) -> list[LineResult]:
    """Lines read below `below` confidence, read again stretched wider; when both readings give the
    same text, the line is as sure as the surer reading.

    A doubtful glyph is doubtful in one geometry of the line; read at another width, the same
    text again is evidence that it was read right. Readings that differ stay as first read, with
    the first reading's doubt (the row is flagged for review).
    """
    doubtful = [i for i, r in enumerate(results) if r.text.strip() and r.confidence < below]
    if not doubtful:
        return results
    wide = [cv2.resize(crops[i], (max(1, round(crops[i].shape[1] * _SECOND_LOOK_STRETCH)), crops[i].shape[0]),
                       interpolation=cv2.INTER_CUBIC) for i in doubtful]
    out = list(results)
    for i, again in zip(doubtful, engine.recognize(wide), strict=True):
        if again.text == results[i].text:
            out[i] = replace(results[i], confidence=max(results[i].confidence, again.confidence))
    return out


def _title_band(page: PageImage, grids: list[TableGrid]) -> TableGrid | None:
    top = min((c.bbox.y0 for g in grids for c in g.cells if c.bbox), default=None)
    if top is None or top < _MIN_BAND_PX:
        return None
    # As wide as the tables below it, not the page: a scan's dark edge or vignette runs down the
    # page's sides and would join the title's lines into one tall band.
    x0 = min(c.bbox.x0 for g in grids for c in g.cells if c.bbox)
    x1 = max(c.bbox.x1 for g in grids for c in g.cells if c.bbox)
    return TableGrid(page=page.page, n_rows=1, n_cols=1,
                     cells=(Cell(page=page.page, row=0, col=0, bbox=BBox(x0, 0, x1, max(1, top - 2))),))


def _band_lines(page: PageImage, band: Cell, engine: str) -> TableGrid:
    """The read title band as one row per text line (what the form finder expects)."""
    lines = [line.strip() for line in band.text.splitlines() if line.strip()]
    cells = tuple(
        Cell(page=page.page, row=i, col=0, text=line, confidence=band.confidence, bbox=band.bbox, engine=engine)
        for i, line in enumerate(lines)
    )
    return TableGrid(page=page.page, n_rows=len(cells), n_cols=1, cells=cells)


def _detected_text(page: PageImage, engine: OcrEngine, within: BBox | None = None) -> TableGrid:
    """A page without a table (or the part of it `within` a box): every text line found by
    detection, in reading order, boxes in page pixels."""
    x, y = (within.x0, within.y0) if within is not None else (0, 0)
    region = page.image[within.y0 : within.y1, within.x0 : within.x1] if within is not None else page.image
    boxes = sorted((BBox(b.x0 + x, b.y0 + y, b.x1 + x, b.y1 + y) for b in engine.detect_lines(region)),
                   key=lambda b: (b.y0, b.x0))
    results = engine.recognize([page.image[b.y0 : b.y1, b.x0 : b.x1] for b in boxes]) if boxes else []
    cells = tuple(
        Cell(page=page.page, row=i, col=0, text=r.text, confidence=r.confidence, bbox=b, engine=engine.name)
        for i, (b, r) in enumerate(zip(boxes, results, strict=True))
    )
    return TableGrid(page=page.page, n_rows=len(cells), n_cols=1, cells=cells)
