"""A comparison sign's bar, seen in the pixels: `≥` read as `>` is put right by its shape.

The recognizer drops the bar of `≥`/`≤` on faint, small or 1-bit bold print (`≥95.00(%)` read
`>95.00(%)`, with any confidence), and a strict `>` is a legal sign on these forms, so the
text alone cannot tell them apart. The glyph can: `>` and `<` sit on the middle of the line,
ending well above the baseline of the figures after them (0.15–0.17 of a digit's height in
the Song and Hei faces, at 20–40 px, grey or 1-bit), while the bar of `≥`/`≤` lies on the
baseline or below it. A first glyph that reaches the baseline of the figures after it has its
bar; one that ends clearly above it has none; anything between (or glyphs that touch, a crop
without contrast) is left as read, and the reading checks still ask about a strict sign.
"""

from __future__ import annotations

import cv2
import numpy as np

BAR_AT_MOST = 0.06  # the sign ends this close to the baseline (share of the digit's height): a bar
NO_BAR_FROM = 0.11  # …or this far above it: none

_BARRED = {">": "≥", "<": "≤"}


def with_bar_seen(text: str, crop: np.ndarray) -> str:
    """`text` with a leading `>`/`<` made `≥`/`≤` when the crop shows the bar under it."""
    if not text or text[0] not in _BARRED or len(text) < 2 or not text[1].isdigit():
        return text
    return _BARRED[text[0]] + text[1:] if sign_has_bar(crop) else text


def sign_has_bar(crop: np.ndarray) -> bool | None:
    """Whether the line's first glyph (a comparison sign) reaches the baseline of the figures after it;
    None when the crop cannot tell."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if int(grey.max()) - int(grey.min()) < 64:
        return None
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    runs = _column_runs(ink.any(axis=0))
    rows = [np.flatnonzero(ink[:, a:b].any(axis=1)) for a, b in runs]
    extent = [float(r[-1] - r[0] + 1) for r in rows]
    tallest = max(extent, default=0.0)
    glyphs = [k for k, e in enumerate(extent) if e >= 0.3 * tallest]  # specks are no glyph
    if len(glyphs) < 2:
        return None
    sign = glyphs[0]
    # The figures after it: the next three glyphs as tall as digits (a point is not); their
    # median bottom is the baseline (a `9` or `3` may hang a pixel below it).
    digits = [k for k in glyphs[1:] if extent[k] >= 0.6 * tallest][:3]
    if not digits:
        return None
    baseline = float(np.median([rows[k][-1] for k in digits]))
    height = float(np.median([extent[k] for k in digits]))
    s0, s1 = runs[sign]
    if height < 6 or s1 - s0 > 1.2 * height:  # too small to measure, or glyphs run together
        return None
    above = (baseline - rows[sign][-1]) / height
    if above <= BAR_AT_MOST:
        return True
    if above >= NO_BAR_FROM:
        return False
    return None


def _column_runs(inked: np.ndarray) -> list[tuple[int, int]]:
    """Runs of inked columns, as (start, end) with end exclusive."""
    edges = np.flatnonzero(np.diff(np.r_[0, inked.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
