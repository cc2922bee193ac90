"""A seal on a greyscale scan: found by its ring, faded where it lies over the table's last rows.

On a colour scan the red seal is told apart by its hue (`grid.ink_image`). A greyscale scan has
lost the hue: the seal is a mid-grey disc over the last rows and the 总分, its star and its ring of
characters touching the rulings and digits. The grid then misses the ruling the star lies on (a
ruling is found as a dark line between paper) and the reader reads the seal's characters
with the digits (`城市9.19` for `10.00`).

What tells a seal is its shape, not its grey level alone (a per-page two-level split of the ink
also erased faint text elsewhere on the page): a ring of mid-grey ink, apart from black strokes,
along most of the visible length of a circle of a seal's size. Only inside that circle is grey
ink removed, and only where it is not the grey edge of a black stroke: text keeps its shape, the
ring, star and characters become paper. Where the page's text is hardly darker than seal ink (a
blurred 150-dpi scan), fading would erase the text with the seal, so the page is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import GridConfig
from .rulings import odd

SEARCH_DPI = 50.0
"""Rings are searched at this resolution: a seal's ring is 70+ pixels across there."""

TEXT_PERCENTILE = 90
"""The page's text level: this percentile of its ink outside the seal (stroke cores, not edges)."""


@dataclass(frozen=True)
class Seal:
    """A seal's ring (pixels of the page it was found on) and the page's text level."""

    x: float
    y: float
    radius: float
    text_level: float


def is_grey(bgr: np.ndarray) -> bool:
    """Whether the image carries no colour (a greyscale scan, possibly stored as RGB)."""
    if bgr.ndim == 2:
        return True
    sample = bgr[::8, ::8].astype(np.int16)
    return float(np.abs(sample[:, :, 0] - sample[:, :, 2]).mean()) < 2.0 and float(
        np.abs(sample[:, :, 1] - sample[:, :, 2]).mean()) < 2.0


def find_seal(ink: np.ndarray, dpi: float, cfg: GridConfig) -> Seal | None:
    """The strongest ring of grey seal ink on the page, if one covers `cfg.grey_seal_cover` of its circle.

    Grey pixels next to black strokes are the strokes' anti-aliased edges, not seal ink, and are
    left out; the rest is correlated with thin rings of every radius in `cfg.grey_seal_radius_in`.
    """
    grey = (ink > cfg.ink_threshold // 2) & (ink < cfg.grey_seal_max_ink)
    black = cv2.dilate((ink >= cfg.grey_seal_max_ink).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    grey &= ~black
    scale = min(1.0, SEARCH_DPI / dpi)
    small_grey = cv2.resize(grey.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small_black = cv2.resize(black.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    lo, hi = cfg.grey_seal_radius_in
    best: tuple[float, float, float, float] | None = None
    for radius in np.arange(lo * dpi * scale, hi * dpi * scale + 1e-6, 2.0):
        size = int(2 * radius + 7) | 1
        yy, xx = np.mgrid[:size, :size] - size // 2
        ring = (np.abs(np.hypot(yy, xx) - radius) < 1.5).astype(np.float32)
        ring /= ring.sum()
        # Where text or a ruling crosses the ring, the ring is hidden, not absent: the cover is
        # the grey share of the ring's visible length.
        visible = 1.0 - cv2.filter2D(small_black, -1, ring, borderType=cv2.BORDER_CONSTANT)
        cover = cv2.filter2D(small_grey, -1, ring, borderType=cv2.BORDER_CONSTANT) / np.maximum(visible, 0.5)
        y, x = np.unravel_index(int(cover.argmax()), cover.shape)
        if best is None or cover[y, x] > best[0]:
            best = (float(cover[y, x]), x / scale, y / scale, radius / scale)
    if best is None or best[0] < cfg.grey_seal_cover:
        return None
    _, x, y, radius = best
    x0, y0, x1, y1 = _square(ink.shape, x, y, radius * 1.1)
    outside = ink > cfg.ink_threshold
    outside[y0:y1, x0:x1] = False
    if not outside.any():
        return None
    return Seal(x=x, y=y, radius=radius, text_level=float(np.percentile(ink[outside], TEXT_PERCENTILE)))


def _square(shape: tuple[int, ...], x: float, y: float, reach: float) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    return max(0, int(x - reach)), max(0, int(y - reach)), min(w, int(x + reach) + 1), min(h, int(y + reach) + 1)


def fade_grey_seal(ink: np.ndarray, dpi: float, cfg: GridConfig) -> Seal | None:
    """Fade a grey seal (in place): inside its circle, grey ink that is not the edge of a black
    stroke becomes paper. Returns the seal, or None when there is none or the page's text is too
    close to seal ink in grey to part them."""
    seal = find_seal(ink, dpi, cfg)
    if seal is None or seal.text_level - cfg.grey_seal_max_ink < cfg.grey_seal_text_margin:
        return None
    reach = seal.radius * 1.1
    x0, y0, x1, y1 = _square(ink.shape, seal.x, seal.y, reach)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    inside = (yy - seal.y) ** 2 + (xx - seal.x) ** 2 <= reach * reach
    window = ink[y0:y1, x0:x1]
    # Text strokes have cores darker than any seal ink; their grey edges lie next to them. Seal
    # ink away from such cores is paper.
    cores = (window >= cfg.grey_seal_max_ink).astype(np.uint8)
    reach_px = odd(cfg.grey_seal_edge_in * dpi)
    near = cv2.dilate(cores, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach_px, reach_px))) > 0
    window[inside & ~near] = 0
    return seal
