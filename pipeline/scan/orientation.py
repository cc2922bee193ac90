"""Page image → the same page turned upright (0°, 90°, 180° or 270°), before the grid is searched.

Pages are fed into scanners sideways and upside down. The grid search finds a sideways table
just as well (rulings are rulings), but then every cell holds text on its side and no form is
recognised. Two questions, answered cheaply at ~100 dpi on the page's text ink (rulings
removed):

- Which way do the text lines run? Chinese characters are square, but a line's characters
  sit closer together than its lines do. Smearing the ink a little along x joins many more
  components than smearing it along y on an upright page, and the reverse on a sideways one
  (upright pages of the dev set and fixtures: 1.2–6; sideways ones 0.25–0.55).
- Upright or upside down? PP-OCR's direction classifier reads the page's longest text lines
  (upright pages: mean P(180°) ≤ 0.07; upside-down ones ≥ 0.85).

A page whose text gives no clear answer (too few lines) is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import Config
from ..ocr.direction import direction_classifier
from ..types import PageImage
from .grid import paper_ink
from .read import ruling_mask

_DPI = 100.0
_SMEAR_PX = (3, 5)  # at _DPI: a character gap, not a line gap
_MAX_LINES = 16


@dataclass(frozen=True)
class Orientation:
    """`turned` is the clockwise rotation applied to the page (0, 90, 180, 270)."""

    image: PageImage
    turned: int


def upright(page: PageImage, cfg: Config) -> Orientation:
    if not cfg.imaging.orient:
        return Orientation(page, 0)
    scale = min(1.0, _DPI / page.dpi)
    small = cv2.resize(page.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    dpi = page.dpi * scale
    text = paper_ink(small, dpi, cfg.grid) > cfg.grid.ink_threshold
    text[ruling_mask(text, dpi, cfg.read)] = False
    turned = 0
    if _line_direction(text) < cfg.imaging.sideways_ratio:
        turned = 90
        text = np.ascontiguousarray(np.rot90(text, k=-1))
    image = _rotate(page.image, turned)
    crops = _line_crops(image, text, scale, dpi)
    if len(crops) >= cfg.imaging.orient_min_lines:
        flipped = direction_classifier().upside_down(crops)
        if float(np.mean(flipped)) > 0.5:
            turned = (turned + 180) % 360
            image = _rotate(page.image, turned)
    if turned == 0:
        return Orientation(page, 0)
    return Orientation(PageImage(page=page.page, image=image, dpi=page.dpi), turned)


def _line_direction(text: np.ndarray) -> float:
    """How much more smearing along x joins the ink than smearing along y (> 1: lines run
    across the page), as the geometric mean over two smear lengths."""
    ink = text.astype(np.uint8)
    alone = cv2.connectedComponents(ink, connectivity=8)[0]
    ratios = []
    for k in _SMEAR_PX:
        across = alone - cv2.connectedComponents(cv2.dilate(ink, np.ones((1, k), np.uint8)), connectivity=8)[0]
        down = alone - cv2.connectedComponents(cv2.dilate(ink, np.ones((k, 1), np.uint8)), connectivity=8)[0]
        ratios.append(max(across, 1) / max(down, 1))
    return float(np.sqrt(np.prod(ratios)))


def _line_crops(image: np.ndarray, text: np.ndarray, scale: float, dpi: float) -> list[np.ndarray]:
    """The longest text lines of the (turned) page, cut from the full-resolution image."""
    joined = cv2.dilate(text.astype(np.uint8), np.ones((1, _SMEAR_PX[1]), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    low, high = 0.06 * dpi, 0.3 * dpi  # a line of 9–24 pt text
    lines = [
        stats[i, :4] for i in range(1, n)
        if stats[i, 2] >= 3 * stats[i, 3] and low <= stats[i, 3] <= high
    ]
    lines.sort(key=lambda s: -int(s[2]))
    crops = []
    h, w = image.shape[:2]
    for x, y, bw, bh in lines[:_MAX_LINES]:
        pad = max(1, int(bh) // 4)
        x0, y0 = max(0, int((x - pad) / scale)), max(0, int((y - pad) / scale))
        x1, y1 = min(w, int((x + bw + pad) / scale) + 1), min(h, int((y + bh + pad) / scale) + 1)
        crops.append(image[y0:y1, x0:x1])
    return crops


def _rotate(image: np.ndarray, clockwise: int) -> np.ndarray:
    if clockwise == 90:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if clockwise == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if clockwise == 270:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image
