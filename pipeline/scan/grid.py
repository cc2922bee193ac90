"""Page image → deskewed page + table grids (cells with row/col spans and pixel boxes).

How, and why this way:
- Ink is measured on the red channel divided by a blurred estimate of the paper: red seals are
  bright in red light so they fade instead of becoming lines or hiding text, and dividing by the
  paper removes uneven lighting and the dark scanner border (which becomes "paper" too). On a
  greyscale scan the seal is found by its ring and faded (`seal.py`).
- Skew is the angle whose row projection of the ink is sharpest (lines and text baselines both
  vote); the page is rotated once from the original and every box refers to the rotated image.
  When the rulings still lean (`rulings.ruling_skew`), the projection was misled and the page is
  turned again from the original.
- A photo whose table's frame is a quadrilateral, not a rectangle, is flattened by it
  (`perspective.py`) and its rulings found again.
- Rulings and streaks are `rulings.py`'s; rulings that cross form a table (a frame side lost
  to a faint scan put back, `frame.py`), and its cells —
  which slot edges exist, merged cells — are `cells.py`'s.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..config import GridConfig
from ..types import BBox, PageImage, TableGrid
from .cells import build_grid, edge_mask, glyph_mask, tables
from .frame import with_lost_sides
from .perspective import flattening
from .rulings import Ruling, find_rulings, odd, ridge_mask, ruling_skew, without_streaks
from .seal import fade_grey_seal, is_grey


@dataclass(frozen=True, eq=False)
class DetectedPage:
    """The deskewed page (all boxes refer to it), its ink (`ink_image`, deskewed with it: reading
    cuts text lines from it instead of measuring the page again), its tables top to bottom, and
    the skew removed (degrees)."""

    image: PageImage
    ink: np.ndarray
    grids: list[TableGrid]
    skew_deg: float
    flatten: np.ndarray | None = None  # the perspective matrix applied after the turn (`perspective.py`)


def detect_grids(page: PageImage, cfg: GridConfig) -> DetectedPage:
    """Deskew the page and find its ruled tables with merged cells; cells carry no text yet.

    A page finer than `cfg.max_dpi` is searched at that resolution and the result scaled back:
    the search costs in proportion to pixels (a 300-dpi page 1.5 s, at 250 dpi 0.75 s)
    and rulings need no more, while reading gets the full resolution (text read from a 300-dpi
    scan resampled to 200 dpi loses characters: 8 wrong fixture values instead of 3).
    """
    scale = cfg.max_dpi / page.dpi
    if scale >= 1.0:
        return _detect(page, cfg)
    h, w = page.image.shape[:2]
    small = cv2.resize(page.image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    found = _detect(PageImage(page=page.page, image=small, dpi=page.dpi * small.shape[1] / w), cfg)
    image = page.image
    if abs(found.skew_deg) >= cfg.min_skew_deg:
        image = rotate(image, found.skew_deg, border=(255, 255, 255))
    sx, sy = w / small.shape[1], h / small.shape[0]
    if found.flatten is not None:
        scaling = np.diag([sx, sy, 1.0])
        image = _warped(image, scaling @ found.flatten @ np.linalg.inv(scaling))
    grids = [
        replace(grid, cells=tuple(
            replace(c, bbox=BBox(max(0, math.floor(c.bbox.x0 * sx)), max(0, math.floor(c.bbox.y0 * sy)),
                                 min(w, math.ceil(c.bbox.x1 * sx)), min(h, math.ceil(c.bbox.y1 * sy))))
            if c.bbox is not None else c
            for c in grid.cells
        ))
        for grid in found.grids
    ]
    return DetectedPage(image=PageImage(page=page.page, image=image, dpi=page.dpi),
                        ink=ink_image(image, page.dpi, cfg), grids=grids, skew_deg=found.skew_deg)


def _detect(page: PageImage, cfg: GridConfig) -> DetectedPage:
    dpi = page.dpi
    raw_ink = ink_image(page.image, dpi, cfg)
    angle = estimate_skew(raw_ink, dpi, cfg)
    image, ink, h_ridge, v_ridge, h_rulings, v_rulings = _rulings_at(page.image, raw_ink, angle, dpi, cfg)
    residual = ruling_skew(h_rulings, v_rulings, cfg)
    if abs(residual) >= cfg.residual_skew_deg:
        # The ink's projection was sharpest at the wrong angle (streaks and a page shadow straight
        # in the scanner's frame outweighed a table lying 2° askew under them): the rulings say how
        # far they still lean, and the page is turned from the original once more.
        angle += residual
        image, ink, h_ridge, v_ridge, h_rulings, v_rulings = _rulings_at(page.image, raw_ink, angle, dpi, cfg)
    flatten = flattening(h_rulings, v_rulings, cfg)
    if flatten is not None:
        # A photo at a slant: its table's frame is made a rectangle, and the rulings found again.
        image = _warped(image, flatten)
        ink = ink_image(image, dpi, cfg)
        h_ridge, v_ridge, h_rulings, v_rulings = _rulings_of(ink, dpi, cfg)
    deskewed = PageImage(page=page.page, image=image, dpi=dpi)
    # A line straight in the scanner's frame, after the rotation by `angle`: x' = x·cos + y·sin,
    # y' = −x·sin + y·cos (cv2's rotation matrix), so a vertical one runs at +tan, a horizontal at −tan.
    tilt = math.tan(math.radians(angle)) if abs(angle) >= cfg.min_skew_deg else 0.0
    h_rulings, v_rulings = (without_streaks(h_rulings, v_rulings, -tilt, dpi, cfg),
                            without_streaks(v_rulings, h_rulings, tilt, dpi, cfg))
    h_edges = edge_mask(h_ridge, dpi, cfg)
    v_edges = edge_mask(v_ridge, dpi, cfg)
    grids: list[TableGrid] = []
    # Only a table with a ruling lost on some rows or columns looks at the text (`cells._parted_by_text`).
    glyphs = functools.cache(lambda: glyph_mask(ink, dpi, cfg))
    for hs, vs in tables(h_rulings, v_rulings, dpi, cfg):
        hs, vs = with_lost_sides(hs, vs, dpi, cfg)
        grid = build_grid(page.page, hs, vs, h_edges, v_edges, image.shape, dpi, cfg, glyphs=glyphs)
        if grid is not None and len(grid.cells) >= cfg.min_cells:
            grids.append(grid)
    grids.sort(key=lambda g: min(c.bbox.y0 for c in g.cells if c.bbox is not None))
    return DetectedPage(image=deskewed, ink=ink, grids=grids, skew_deg=angle, flatten=flatten)


# --- ink -----------------------------------------------------------------------------------------


def ink_image(bgr: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """How dark each pixel is against the local paper, 0 (paper) … 255 (black), in red light, with a
    greyscale scan's seal faded (`seal.py`)."""
    ink = paper_ink(bgr, dpi, cfg)
    if is_grey(bgr):
        fade_grey_seal(ink, dpi, cfg)
    return ink


def paper_ink(bgr: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """`ink_image` without the search for a grey seal (a sixth of a second a page): enough for
    telling which way text lines run."""
    red = bgr[:, :, 2] if bgr.ndim == 3 else bgr
    h, w = red.shape
    scale = min(1.0, cfg.background_dpi / dpi)
    small = cv2.resize(red, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    k = odd(cfg.background_kernel_in * dpi * scale)
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    paper = cv2.blur(paper, (k, k))
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    # 255 · (1 − clip(red / max(paper, 1), 0, 1)), computed in one float buffer: full-page float
    # temporaries are what a worker's heap is made of (15 MB each at 200 dpi).
    ratio = red.astype(np.float32)
    np.divide(ratio, np.maximum(paper, 1).astype(np.float32), out=ratio)
    np.clip(ratio, 0.0, 1.0, out=ratio)
    np.subtract(1.0, ratio, out=ratio)
    np.multiply(ratio, 255.0, out=ratio)
    ink = ratio.astype(np.uint8)
    del ratio
    if bgr.ndim == 3:
        # Seal ink is saturated red; JPEG chroma blur darkens its red channel at the edges, so
        # the red channel alone leaves a ghost. Black text under a seal stays dark in red.
        seal = red.astype(np.int16) - np.maximum(bgr[:, :, 0], bgr[:, :, 1]) > cfg.seal_saturation
        seal &= red > cfg.seal_min_red
        ink[seal] = 0
    # Large dark areas reaching the page edge (scanner border, shadows) are not ink. Only those
    # touching the edge: a bold, dense glyph (算, 置) blurred by JPEG is a thick dark blob too.
    dark = (red < cfg.border_level).astype(np.uint8)
    kb = odd(cfg.border_min_in * dpi)
    thick = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (kb, kb)))
    if thick.any():
        n, labels, stats, _ = cv2.connectedComponentsWithStats(thick, connectivity=8)
        x, y, bw, bh = (stats[:, i] for i in range(4))
        at_edge = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
        at_edge[0] = False  # label 0 is the background
        if at_edge.any():
            border = at_edge[labels].astype(np.uint8)
            border = cv2.dilate(border, cv2.getStructuringElement(cv2.MORPH_RECT, (kb, kb)))
            ink[border > 0] = 0
    return ink

# --- skew ----------------------------------------------------------------------------------------


def estimate_skew(ink: np.ndarray, dpi: float, cfg: GridConfig) -> float:
    """Degrees to rotate (counter-clockwise positive, as OpenCV) so rows of ink line up.

    The row projection of rulings and text lines is sharpest (largest sum of squares) when they
    are horizontal; searched coarse at ~50 dpi, then fine at ~100 dpi. The projection is taken
    from ink pixel coordinates directly (y' = cos·y − sin·x, OpenCV's rotation), which is far
    cheaper than rotating the image for every candidate angle.
    """
    best = 0.0
    for target_dpi, span, step in ((50.0, cfg.max_skew_deg, 0.25), (100.0, 0.3, 0.03)):
        scale = min(1.0, target_dpi / dpi)
        small = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ys, xs = np.nonzero(small > cfg.ink_threshold // 2)
        if len(ys) == 0:
            return 0.0
        weights = small[ys, xs].astype(np.float64)
        xs_c = xs - small.shape[1] / 2.0
        ys_c = ys - small.shape[0] / 2.0
        offset = float(np.hypot(*small.shape)) + 1
        angles = np.arange(best - span, best + span + step / 2, step)
        scores = []
        for angle in angles:
            rad = np.deg2rad(angle)
            rows = np.round(np.cos(rad) * ys_c - np.sin(rad) * xs_c + offset).astype(np.int64)
            scores.append(float(np.square(np.bincount(rows, weights=weights)).sum()))
        best = float(angles[int(np.argmax(scores))])
    return best


def _rulings_at(
    image: np.ndarray, ink: np.ndarray, angle: float, dpi: float, cfg: GridConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Ruling], list[Ruling]]:
    """The page turned by `angle`, its ink, ridge masks and rulings (horizontal, then vertical)."""
    if abs(angle) >= cfg.min_skew_deg:
        image = rotate(image, angle, border=(255, 255, 255))
        ink = rotate(ink, angle, border=0)
    return image, ink, *_rulings_of(ink, dpi, cfg)


def _rulings_of(
    ink: np.ndarray, dpi: float, cfg: GridConfig
) -> tuple[np.ndarray, np.ndarray, list[Ruling], list[Ruling]]:
    """Ridge masks and rulings of a page's ink: horizontal, then vertical."""
    h_ridge = ridge_mask(ink, dpi, cfg.ridge_windows_h_in, cfg)
    v_ridge = ridge_mask(np.ascontiguousarray(ink.T), dpi, cfg.ridge_windows_v_in, cfg)
    return h_ridge, v_ridge, find_rulings(h_ridge, dpi, cfg), find_rulings(v_ridge, dpi, cfg)


def _warped(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The page under a perspective matrix (`perspective.flattening`), bicubic: a thin ruling
    resampled bilinearly faded."""
    h, w = image.shape[:2]
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255))


def rotate(image: np.ndarray, angle: float, border: int | tuple[int, int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    value = border if isinstance(border, tuple) else (border,) * 3
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=value)
