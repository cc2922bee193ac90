"""Ink → rulings: where a page's table lines run, as fitted lines, without scanner streaks.

- A ruling stands out from the paper beside it (`ridge_mask`); long openings (≈ 0.2 in) find
  where rulings are, their collinear pieces are chained, so a faint ruling broken into pieces is
  still one ruling, and fitted as a line (position + slope), so slight perspective is followed.
- A scanner streak is a line too: it runs on past the table into a margin (`without_streaks`).
- The rulings also say how far they still lean (`ruling_skew`), which checks the deskew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..config import GridConfig


@dataclass
class Ruling:
    """A line `pos = a + b * t` along coordinate t (x for horizontal rulings, y for vertical)."""

    a: float
    b: float
    t0: float
    t1: float
    covered: float

    def at(self, t: float | np.ndarray) -> float | np.ndarray:
        return self.a + self.b * t


def crossing(h: Ruling, v: Ruling) -> tuple[float, float]:
    """Where a horizontal ruling (y = a + b·x) meets a vertical one (x = a + b·y), as (x, y)."""
    y = (h.a + h.b * v.a) / (1.0 - h.b * v.b)
    return v.a + v.b * y, y


def crosses(h: Ruling, v: Ruling, reach: float) -> bool:
    """The two rulings meet within their drawn lengths (give or take `reach`). Symmetric: each
    ruling is a line in its own frame, so which one is called horizontal does not matter."""
    x, y = crossing(h, v)
    return h.t0 - reach <= x <= h.t1 + reach and v.t0 - reach <= y <= v.t1 + reach


def odd(value: float) -> int:
    n = max(3, int(round(value)))
    return n if n % 2 else n + 1


def long_strokes(binary: np.ndarray, length: int) -> np.ndarray:
    """Pixels of straight strokes at least `length` px long, across or down (rulings, also where
    slanted or broken; scanner streaks), widened by a pixel: longer than any glyph stroke."""
    mask = binary.astype(np.uint8)
    lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    lines |= cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    return cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0


def ridge_mask(
    ink: np.ndarray, dpi: float, windows: tuple[tuple[float, float, float], ...], cfg: GridConfig
) -> np.ndarray:
    """Where a thin horizontal stroke stands out from the page above and below it (pass the
    transpose for vertical strokes).

    Ink is averaged along the row over a short window (bridging the gaps of a broken ruling),
    then compared with the strongest such average a little way off on either side. A ruling has
    paper there, however faint the ruling is; a row through text has more text there, however
    long and dark its strokes are, and a row of glyphs sharing a baseline stroke is only somewhat
    darker than the rows above it. Faint rulings (ink ≈ 30) and bold, touching glyphs (ink ≈ 220)
    are thus told apart by shape, where a single ink threshold cannot.

    Each `windows` entry (near, mid, far), in inches, asks for paper on both sides between near
    and mid, and on at least one side between mid and far; any entry will do. The one-sided far
    band lets a ruling with left-aligned text a millimetre beside it pass, while a glyph stroke
    inside a line of text (a `）` that happens to sit on a grid line) has text on both sides.
    """
    along = cv2.blur(ink.astype(np.float32), (odd(cfg.ridge_smooth_in * dpi), 1))
    dominated = cfg.ridge_dominance * along
    mask = np.zeros(ink.shape, dtype=bool)
    for near_in, mid_in, far_in in windows:
        near = max(2, round(near_in * dpi))
        mid = max(near + 1, round(mid_in * dpi))
        beside = _band_max(along, near, mid, np.maximum)
        ok = beside < dominated
        ok &= np.subtract(along, beside, out=beside) > cfg.ridge_threshold
        far = round(far_in * dpi)
        if far > mid:
            ok &= _band_max(along, mid, far, np.minimum) < dominated
        mask |= ok
    return mask.astype(np.uint8) * 255


def _band_max(along: np.ndarray, near: int, far: int, combine: np.ufunc) -> np.ndarray:
    """Per pixel, the largest value `near`…`far` rows above it and the largest below it, combined
    (`np.maximum`: the darker side; `np.minimum`: the lighter one). Beyond the image is paper (0).
    Two shifted views of one dilation, so no per-side copies of the image are made."""
    side = cv2.dilate(along, np.ones((far - near + 1, 1), np.uint8))
    centre = (near + far) // 2
    if len(side) <= 2 * centre:  # a sliver of an image: pad with paper and shift
        padded = np.pad(side, ((centre, centre), (0, 0)))
        return combine(padded[: len(side)], padded[2 * centre :])
    out = np.empty_like(side)
    combine(side[: -2 * centre], side[2 * centre :], out=out[centre:-centre])
    # Near the top and bottom one side is off the page: paper.
    out[:centre] = combine(side[centre : 2 * centre], 0)
    out[-centre:] = combine(side[-2 * centre : -centre], 0)
    return out


def find_rulings(ridge: np.ndarray, dpi: float, cfg: GridConfig) -> list[Ruling]:
    """Horizontal rulings of a ridge mask (pass the transposed mask for vertical ones)."""
    length = max(8, round(cfg.line_kernel_in * dpi))
    mask = cv2.morphologyEx(ridge, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return []
    ys, xs = np.nonzero(mask)
    lab = labels[ys, xs]
    order = np.argsort(lab, kind="stable")
    ys, xs, lab = ys[order], xs[order], lab[order]
    bounds = np.searchsorted(lab, np.arange(1, n + 1))
    max_thick = cfg.max_line_thickness_in * dpi + 2
    segments: list[Ruling] = []
    for i in range(1, n):
        sx, sy = xs[bounds[i - 1] : bounds[i]], ys[bounds[i - 1] : bounds[i]]
        x0, x1 = float(stats[i, cv2.CC_STAT_LEFT]), float(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH])
        if len(sx) < 2 or x1 - x0 < length:
            continue
        # Thickness: pixels per column. Thick blobs are filled areas or text smears, not rulings.
        if len(sx) / (x1 - x0) > max_thick:
            continue
        if np.ptp(sx) > 0:
            b, a = np.polyfit(sx.astype(np.float64), sy.astype(np.float64), 1)
        else:
            b, a = 0.0, float(sy.mean())
        segments.append(Ruling(a=float(a), b=float(b), t0=x0, t1=x1, covered=x1 - x0))
    return _chain(segments, dpi, cfg)


def without_streaks(
    rulings: list[Ruling], across: list[Ruling], scan_slope: float, dpi: float, cfg: GridConfig
) -> list[Ruling]:
    """`rulings` without scanner streaks: a line the scanner drew through the page runs on past
    the last ruling across it into a margin, where a table's ruling stops at its border.

    A streak seen from margin to margin is one. A faint one is seen in pieces, so a piece that
    runs into one margin is a streak when it is also straight in the scanner's frame — slanted
    by the page's skew (`scan_slope`) among rulings the deskew made upright (their median slope
    apart from it by more than a skew worth correcting). A streak through a
    cell was taken for a column edge and cut the cell's text in two, through its decimal point.
    On a page with no skew to tell by, a line that lies mostly beyond the table, running on far
    past it (`streak_alone_overrun_in`), is a streak when most rulings do not: where a table's
    last ruling across was lost, all its rulings run on together (a column of streaks through a
    seal cut `6.50` into `6.5` and `0`).
    """
    # The table's extent: rulings across that cross two of these (a page's edge or a stray line
    # beyond the table, seen as a ruling, crosses none).
    reach = cfg.corner_reach_in * dpi
    across = [a for a in across if sum(crosses(a, r, reach) for r in rulings) >= 2]
    if len(across) < 2:
        return rulings
    first = min(min(r.at(r.t0), r.at(r.t1)) for r in across)
    last = max(max(r.at(r.t0), r.at(r.t1)) for r in across)
    margin = cfg.streak_overrun_in * dpi
    # The rulings' own slope: the median of the better-covered half (a perspective photo's rulings
    # fan out, and its skew estimate may leave them all slanted like the scanner's frame).
    covered = sorted(rulings, key=lambda r: -r.covered)[: max(1, len(rulings) // 2)]
    own = float(np.median([r.b for r in covered])) if covered else 0.0
    apart = abs(scan_slope - own)
    slanted = apart >= math.tan(math.radians(cfg.streak_min_skew_deg))

    far = cfg.streak_alone_overrun_in * dpi

    def mostly_beyond(r: Ruling, overrun: float) -> bool:
        # A real ruling chained with a streak's piece in line with it lies mostly in the table.
        return overrun > far and overrun > min(r.t1, last) - max(r.t0, first)

    far_before = [mostly_beyond(r, first - r.t0) for r in rulings]
    far_after = [mostly_beyond(r, r.t1 - last) for r in rulings]
    # A table's rulings run on together where its last ruling across was lost; a streak runs on alone.
    alone_before = 2 * sum(far_before) < len(rulings)
    alone_after = 2 * sum(far_after) < len(rulings)

    def streak(r: Ruling, runs_on_before: bool, runs_on_after: bool) -> bool:
        before, after = r.t0 < first - margin, r.t1 > last + margin
        scanner_straight = slanted and abs(r.b - scan_slope) < cfg.streak_slope_tolerance * apart
        alone = (runs_on_before and alone_before) or (runs_on_after and alone_after)
        return (before and after) or ((before or after) and scanner_straight) or alone

    return [r for r, b, a in zip(rulings, far_before, far_after, strict=True) if not streak(r, b, a)]


def _chain(segments: list[Ruling], dpi: float, cfg: GridConfig) -> list[Ruling]:
    """Join collinear pieces (a broken or faint ruling) into one fitted ruling, longest first."""
    tol = max(2.0, cfg.collinear_tol_in * dpi)
    rulings: list[list[Ruling]] = []
    fits: list[Ruling] = []
    for seg in sorted(segments, key=lambda s: -s.covered):
        mid = (seg.t0 + seg.t1) / 2
        best, best_d = -1, tol
        for k, fit in enumerate(fits):
            # Compare at the piece's ends (both must agree), predicted from the ruling's line.
            d = max(abs(fit.at(seg.t0) - seg.at(seg.t0)), abs(fit.at(seg.t1) - seg.at(seg.t1)))
            if abs(fit.at(mid) - seg.at(mid)) <= tol and d <= best_d:
                best, best_d = k, d
        if best < 0:
            rulings.append([seg])
            fits.append(Ruling(seg.a, seg.b, seg.t0, seg.t1, seg.covered))
        else:
            rulings[best].append(seg)
            fits[best] = fitted(rulings[best])
    return fits


def fitted(pieces: list[Ruling]) -> Ruling:
    t = np.array([p for s in pieces for p in (s.t0, (s.t0 + s.t1) / 2, s.t1)])
    pos = np.array([s.at(p) for s in pieces for p in (s.t0, (s.t0 + s.t1) / 2, s.t1)])
    weight = np.array([s.covered for s in pieces for _ in range(3)])
    long_piece = max(pieces, key=lambda s: s.covered)
    if np.ptp(t) < 1:
        b, a = long_piece.b, long_piece.a
    else:
        b, a = np.polyfit(t, pos, 1, w=np.sqrt(weight))
    return Ruling(
        a=float(a),
        b=float(b),
        t0=min(s.t0 for s in pieces),
        t1=max(s.t1 for s in pieces),
        covered=sum(s.covered for s in pieces),
    )


def ruling_skew(h_rulings: list[Ruling], v_rulings: list[Ruling], cfg: GridConfig) -> float:
    """Degrees the rulings still lean, as `estimate_skew` counts them: the median over their
    length (a horizontal one at slope b is levelled by atan(b), a vertical one by atan(−b)) — when
    at least half their length leans that way. Scanner streaks lie straight among a table's many
    rulings and are outweighed; a photo's rulings fan out (perspective) and agree on no one turn."""
    angles = np.array([math.degrees(math.atan(r.b)) for r in h_rulings]
                      + [math.degrees(math.atan(-r.b)) for r in v_rulings])
    weights = np.array([r.covered for r in h_rulings] + [r.covered for r in v_rulings])
    if not len(angles) or weights.sum() <= 0:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(weights[order])
    median = float(angles[order][int(np.searchsorted(cumulative, cumulative[-1] / 2))])
    agreeing = weights[np.abs(angles - median) <= cfg.residual_agreement_deg].sum() / weights.sum()
    return median if agreeing >= 0.5 else 0.0
