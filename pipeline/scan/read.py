"""Table grid + page image → the grid with each cell's raw OCR text.

Only what is inside cells is read, and only cells with ink. Each cell is cropped inside its
rulings (a small inset, then any ruling still along the crop's edge is trimmed, so the
recognizer never reads a ruling as `1` or `|`), split into text lines by its ink profile (a
wrapped name is two lines; the recognizer reads one line at a time), and all lines of the page
go to the engine in one call, which batches them by width. Crops come from the paper-normalised
red channel, the same view the grid uses: the red seal fades and uneven light is flattened.

Nothing is corrected here. A cell's lines are joined with "\\n" so the corrector can tell a
wrapped name (join) from a cell holding two values (split); the text is otherwise exactly what
the engine returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..config import ReadConfig
from ..ocr.base import LineResult
from ..types import BBox, Cell, PageImage, TableGrid
from .rulings import long_strokes


@dataclass(frozen=True)
class LineCrop:
    """One text line of one cell, in page pixels. `dash`: the cell's only glyph is one flat stroke
    (the forms' `—` for "not applicable"), known from its shape: the recognizer reads a lone
    dash as `1`, `m` or `900`, with any confidence."""

    grid_index: int
    cell_index: int
    box: BBox
    dash: bool = False


DASH = "—"


@dataclass(frozen=True, eq=False)
class PageLines:
    """Every text line in the cells of a page's grids, and its crop as the engine will see it."""

    lines: list[LineCrop]
    crops: list[np.ndarray]


def page_lines(
    page: PageImage, ink: np.ndarray, grids: Sequence[TableGrid], cfg: ReadConfig, ink_threshold: int
) -> PageLines:
    """Cut every cell of `grids` into text-line crops, ready for one `engine.recognize` call.

    `ink` is the page's `grid.ink_image` (`DetectedPage.ink`); `page` is the image the grids'
    boxes refer to; `ink_threshold` is the grid's (`GridConfig.ink_threshold`). This is all of reading
    that needs no model, so it can run for the next page while the engine reads this one. Cells
    without ink get no lines.
    """
    ink = text_ink(ink, page.dpi, cfg, ink_threshold)
    binary = ink > ink_threshold
    lines = [
        crop
        for g, grid in enumerate(grids)
        for index, cell in enumerate(grid.cells)
        if cell.bbox is not None
        for crop in cell_lines(binary, g, index, cell.bbox, page.dpi, cfg)
    ]
    # Faint ink (seal ghosts, paper texture) becomes paper; the rest is shown as measured.
    # Blackening grey stroke edges too (solid_ink < 255) fattens glyphs, and PP-OCRv6 then
    # reads traditional forms (數 for 数) on 250–300 dpi scans.
    # A lookup table over the 256 ink levels: no full-page float temporaries.
    levels = (np.arange(256, dtype=np.float32) - cfg.view_floor) * (255.0 / max(1, cfg.solid_ink - cfg.view_floor))
    view = cv2.LUT(ink, (255 - np.clip(levels, 0, 255)).astype(np.uint8))
    crops = [np.repeat(view[c.box.y0 : c.box.y1, c.box.x0 : c.box.x1, None], 3, axis=2) for c in lines]
    return PageLines(lines=lines, crops=crops)


def fill_cells(
    grids: Sequence[TableGrid], lines: PageLines, results: Sequence[LineResult], engine: str
) -> list[TableGrid]:
    """Each cell's `text`, `confidence`, `alternatives` and `engine` from the engine's reading of
    `lines.crops` (in order). Cells without lines are empty with confidence 1."""
    per_cell: dict[tuple[int, int], list[LineResult]] = {}
    for crop, result in zip(lines.lines, results, strict=True):
        per_cell.setdefault((crop.grid_index, crop.cell_index), []).append(result)
    return [
        replace(grid, cells=tuple(
            _filled(cell, per_cell.get((g, index), []), engine) for index, cell in enumerate(grid.cells)
        ))
        for g, grid in enumerate(grids)
    ]


def text_ink(ink: np.ndarray, dpi: float, cfg: ReadConfig, ink_threshold: int) -> np.ndarray:
    """The page's ink (`grid.ink_image`) with rulings removed: a copy, `ink` is left as it is."""
    text = ink.copy()
    text[ruling_mask(ink > ink_threshold, dpi, cfg)] = 0
    return text


def ruling_mask(binary: np.ndarray, dpi: float, cfg: ReadConfig) -> np.ndarray:
    """Pixels of long straight strokes (rulings, also where slanted or broken), slightly widened.

    They are removed before cells are cut into lines and before crops are shown to the engine,
    so a ruling fragment inside a cell's box neither joins two text lines nor is read as `1`.
    Glyph strokes are shorter than `ruling_min_in`.
    """
    return long_strokes(binary, max(5, round(cfg.ruling_min_in * dpi)))


def _filled(cell: Cell, results: list[LineResult], engine: str) -> Cell:
    kept = [r for r in results if r.text.strip()]
    if not kept:
        # No ink, or only specks the engine read as nothing: an empty cell, and sure of it
        # unless the engine had doubts about the specks.
        confidence = 1.0 if not results else max(r.confidence for r in results)
        return replace(cell, text="", confidence=round(confidence, 4) if results else 1.0,
                       alternatives=(), engine=engine)
    texts = [r.text for r in kept]
    alternatives: list[str] = []
    for i, r in enumerate(kept):
        for alt in r.alternatives:
            alternatives.append("\n".join([*texts[:i], alt, *texts[i + 1 :]]))
    return replace(
        cell,
        text="\n".join(texts),
        confidence=min(r.confidence for r in kept),
        alternatives=tuple(dict.fromkeys(alternatives)),
        engine=engine,
    )


def cell_lines(
    binary: np.ndarray, grid_index: int, index: int, bbox: BBox, dpi: float, cfg: ReadConfig
) -> list[LineCrop]:
    """Text-line boxes inside one cell (page pixels), top to bottom; none if the cell is empty.

    `binary` is the page's text ink (`text_ink(...) > ink_threshold`).
    """
    inset = max(1, round(cfg.inset_in * dpi))
    x0, y0, x1, y1 = bbox.x0 + inset, bbox.y0 + inset, bbox.x1 - inset, bbox.y1 - inset
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    x0, y0, x1, y1 = _trim_rulings(binary, x0, y0, x1, y1, dpi, cfg)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    inside = binary[y0:y1, x0:x1]
    min_ink = cfg.min_ink_in2 * dpi * dpi
    if inside.sum() < min_ink:
        return []
    inside = glyph_ink(inside, dpi, cfg)
    pad = max(1, round(cfg.pad_in * dpi))
    dash = _dash(inside, dpi, cfg)
    if dash is not None:
        left, top, right, bottom = dash
        box = BBox(max(x0, x0 + left - pad), max(y0, y0 + top - pad), min(x1, x0 + right + pad), min(y1, y0 + bottom + pad))
        return [LineCrop(grid_index=grid_index, cell_index=index, box=box, dash=True)]
    bands = _bands(inside.sum(axis=1), dpi, cfg)
    crops: list[LineCrop] = []
    for top, bottom in bands:
        band = inside[top:bottom]
        if band.sum() < min_ink:
            continue
        cols = np.flatnonzero(band.any(axis=0))
        left, right = int(cols[0]), int(cols[-1]) + 1
        box = BBox(
            max(x0, x0 + left - pad),
            max(y0, y0 + top - pad),
            min(x1, x0 + right + pad),
            min(y1, y0 + bottom + pad),
        )
        crops.append(LineCrop(grid_index=grid_index, cell_index=index, box=box))
    return crops


def _dash(glyphs: np.ndarray, dpi: float, cfg: ReadConfig) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) of a cell's ink when it is one flat stroke of a dash's
    width (on a faint scan seen in pieces, with ink in most of its columns); None otherwise."""
    rows = np.flatnonzero(glyphs.any(axis=1))
    cols = glyphs.any(axis=0)
    if len(rows) == 0:
        return None
    xs = np.flatnonzero(cols)
    left, right, top, bottom = int(xs[0]), int(xs[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    width, height = right - left, bottom - top
    lo, hi = cfg.dash_width_in
    if not lo * dpi <= width <= hi * dpi or height > min(cfg.dash_flatness * width, cfg.dash_height_in * dpi):
        return None
    if cols[left:right].mean() < DASH_COLUMNS:
        return None
    return left, top, right, bottom


DASH_COLUMNS = 0.6
"""Share of a dash's columns with ink: a stroke broken by a faint scan, not a row of dots."""


def glyph_ink(inside: np.ndarray, dpi: float, cfg: ReadConfig) -> np.ndarray:
    """A cell's ink without the specks that are not part of any glyph (scanner noise, JPEG
    blocks, a seal's dots), which decides where its text lines are and how far each reaches.

    A speck a few rows above or below a line made its crop half again as tall, and the
    recognizer, which scales every line to 48 px, then saw the glyphs at two thirds of their
    size: `=100.00(%)` read as `10.00%)`. A component counts as glyph ink when it is at least
    `min_glyph_in` tall or wide (a `-` or `一` is wide and flat), or when it lies in the rows of
    a glyph component (a decimal point, a comma): only the crop's extent changes, the engine
    still sees every pixel inside it. A ruling left in the cell (long and thin) is not glyph ink.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inside.astype(np.uint8), connectivity=8)
    if n <= 1:
        return inside
    size = max(2, round(cfg.min_glyph_in * dpi))
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    big = (widths >= size) | (heights >= size)
    # A ruling left in the cell (slanted on a photo, so the straight-stroke mask missed it) is
    # longer than any glyph and thin: it would join every line of the cell into one band.
    # Thin means few ink pixels per pixel of length: a line of glyphs run together is as long,
    # but many times as dense.
    long = max(size + 1, round(cfg.ruling_min_in * dpi))
    length = np.maximum(widths, heights)
    thin = stats[:, cv2.CC_STAT_AREA] <= length * max(2.0, cfg.ruling_max_thickness_in * dpi)
    ruling = (length >= long) & thin
    big &= ~ruling
    big[0] = False
    if not big[1:].any():
        return inside & ~ruling[labels]
    rows = np.zeros(inside.shape[0] + 1, dtype=np.int32)
    for i in np.flatnonzero(big):
        top = stats[i, cv2.CC_STAT_TOP]
        rows[top] += 1
        rows[top + stats[i, cv2.CC_STAT_HEIGHT]] -= 1
    in_glyph_rows = np.cumsum(rows[:-1]) > 0
    tops = stats[:, cv2.CC_STAT_TOP]
    keep = big.copy()
    for i in np.flatnonzero(~big[1:] & ~ruling[1:]) + 1:
        keep[i] = bool(in_glyph_rows[tops[i] : tops[i] + heights[i]].all())
    return keep[labels]


def _trim_rulings(
    binary: np.ndarray, x0: int, y0: int, x1: int, y1: int, dpi: float, cfg: ReadConfig
) -> tuple[int, int, int, int]:
    """Move each side of the crop inward past a ruling still lying along it.

    The grid's box runs from ruling centre to ruling centre; thick or slightly curved rulings
    can still show inside the inset. A row (column) near the edge that is mostly ink is one.
    """
    reach = max(2, round(cfg.trim_reach_in * dpi))
    for _ in range(2):
        region = binary[y0:y1, x0:x1]
        if region.size == 0:
            break
        rows = region.mean(axis=1)
        cols = region.mean(axis=0)
        top = [i for i in range(min(reach, len(rows))) if rows[i] > cfg.ruling_fill]
        bottom = [i for i in range(max(0, len(rows) - reach), len(rows)) if rows[i] > cfg.ruling_fill]
        left = [i for i in range(min(reach, len(cols))) if cols[i] > cfg.ruling_fill]
        right = [i for i in range(max(0, len(cols) - reach), len(cols)) if cols[i] > cfg.ruling_fill]
        new = (
            x0 + (max(left) + 2 if left else 0),
            y0 + (max(top) + 2 if top else 0),
            x0 + (min(right) - 1 if right else len(cols)),
            y0 + (min(bottom) - 1 if bottom else len(rows)),
        )
        if new == (x0, y0, x1, y1):
            break
        x0, y0, x1, y1 = new
    return x0, y0, x1, y1


def _bands(profile: np.ndarray, dpi: float, cfg: ReadConfig) -> list[tuple[int, int]]:
    """Text lines from a cell's row ink profile.

    Rows with ink form runs; runs closer than `line_gap_in` belong to one line (the strokes of
    二 or = leave blank rows inside a line), and a run too thin to be text on its own (a
    stray speck, an underline, a comma hanging below) joins its nearest neighbour.
    """
    rows = np.flatnonzero(profile > 0)
    if len(rows) == 0:
        return []
    gap = max(1, round(cfg.line_gap_in * dpi))
    runs: list[list[int]] = [[int(rows[0]), int(rows[0]) + 1]]
    for r in rows[1:]:
        if r - runs[-1][1] < gap:
            runs[-1][1] = int(r) + 1
        else:
            runs.append([int(r), int(r) + 1])
    min_height = cfg.min_line_in * dpi
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for i, (top, bottom) in enumerate(runs):
            if bottom - top >= min_height:
                continue
            if i == 0:
                j = 1
            elif i == len(runs) - 1:
                j = i - 1
            else:
                j = i - 1 if top - runs[i - 1][1] <= runs[i + 1][0] - bottom else i + 1
            a, b = sorted((i, j))
            runs[a] = [runs[a][0], runs[b][1]]
            del runs[b]
            changed = True
            break
    return [(top, bottom) for top, bottom in runs]
