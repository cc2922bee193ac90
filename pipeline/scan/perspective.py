"""A table photographed at a slant → the homography that makes its frame a rectangle again.

On a phone photo the sheet is seen in perspective: the table's rulings fan out, so no single
rotation lines them up (d02's money block and its indicator table needed different turns) and
cells near one edge are cut by lines fitted for the other. The table's own frame — its
outermost rulings, top, bottom, left and right — is the best reference the page has: drawn
as a rectangle, seen as a quadrilateral. Mapping that quadrilateral onto a rectangle of its
longer sides' width and height (about the same centre) flattens the whole sheet, which is a
plane; nothing is shrunk (a thin ruling resampled smaller faded and lost a row edge), and the
resampling is bicubic for the same reason.

A scan's rulings are parallel (at most turned by the skew already removed): when opposite
sides of the frame differ in direction by less than `photo_min_slant_deg`, nothing is done.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..config import GridConfig
from .rulings import Ruling, crossing


def flattening(h_rulings: list[Ruling], v_rulings: list[Ruling], cfg: GridConfig) -> np.ndarray | None:
    """The 3×3 perspective matrix that maps the table's frame onto a rectangle, or None when the
    frame is a rectangle already (or there is no frame of long rulings to go by)."""
    frame = _frame(h_rulings, v_rulings)
    if frame is None:
        return None
    top, bottom, left, right = frame
    slant = max(abs(math.degrees(math.atan(top.b) - math.atan(bottom.b))),
                abs(math.degrees(math.atan(left.b) - math.atan(right.b))))
    if slant < cfg.photo_min_slant_deg:
        return None
    corners = np.array([crossing(top, left), crossing(top, right), crossing(bottom, right),
                        crossing(bottom, left)], dtype=np.float64)
    tl, tr, br, bl = corners
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    cx, cy = corners.mean(axis=0)
    target = np.array([[cx - width / 2, cy - height / 2], [cx + width / 2, cy - height / 2],
                       [cx + width / 2, cy + height / 2], [cx - width / 2, cy + height / 2]])
    return cv2.getPerspectiveTransform(corners.astype(np.float32), target.astype(np.float32))


def _frame(h_rulings: list[Ruling], v_rulings: list[Ruling]) -> tuple[Ruling, Ruling, Ruling, Ruling] | None:
    """The outermost long rulings: top, bottom, left, right (long: at least half the longest of
    their direction, so a title's underline or a stray piece is no side of the frame)."""
    def long(rulings: list[Ruling]) -> list[Ruling]:
        if len(rulings) < 2:
            return []
        longest = max(r.t1 - r.t0 for r in rulings)
        return [r for r in rulings if r.t1 - r.t0 >= longest / 2]

    hs, vs = long(h_rulings), long(v_rulings)
    if len(hs) < 2 or len(vs) < 2:
        return None

    def middle(r: Ruling) -> float:
        return float(r.at((r.t0 + r.t1) / 2))

    hs.sort(key=middle)
    vs.sort(key=middle)
    return hs[0], hs[-1], vs[0], vs[-1]
