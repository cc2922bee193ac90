"""Page image → deskewed page + table grids (cells with row/col spans and pixel boxes).

How, and why this way:
- Ink is measured on the red channel divided by a blurred estimate of the paper: red seals are
  bright in red light so they fade instead of becoming lines or hiding text, and dividing by the
  paper removes uneven lighting and the dark scanner border (which becomes "paper" too).
- Skew is the angle whose row projection of the ink is sharpest (lines and text baselines both
  vote); the page is rotated once and every box refers to the rotated image.
- Rulings are found at two strictnesses. Long openings (≈ 0.2 in) find where rulings are; their
  collinear pieces are chained, so a faint ruling broken into pieces is still one ruling, and
  fitted as a line (position + slope), so slight perspective is followed. Rulings that cross form
  a table; lone lines (underlines, page edges) are dropped.
- Every ruling position spans the whole table as a grid line; whether a grid edge between two
  slots really exists is measured on a short opening (≈ 0.03 in) in a thin band along the fitted
  line, where text never is. Slots joined across missing edges are merged cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..config import GridConfig
from ..types import BBox, Cell, PageImage, TableGrid


@dataclass(frozen=True, eq=False)
class DetectedPage:
    """The deskewed page (all boxes refer to it), its ink (`ink_image`, deskewed with it: reading
    cuts text lines from it instead of measuring the page again), its tables top to bottom, and
    the skew removed (degrees)."""

    image: PageImage
    ink: np.ndarray
    grids: list[TableGrid]
    skew_deg: float


@dataclass
class _Ruling:
    """A line `pos = a + b * t` along coordinate t (x for horizontal rulings, y for vertical)."""

    a: float
    b: float
    t0: float
    t1: float
    covered: float

    def at(self, t: float | np.ndarray) -> float | np.ndarray:
        return self.a + self.b * t


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
    deskewed = PageImage(page=page.page, image=image, dpi=dpi)
    # A line straight in the scanner's frame, after the rotation by `angle`: x' = x·cos + y·sin,
    # y' = −x·sin + y·cos (cv2's rotation matrix), so a vertical one runs at +tan, a horizontal at −tan.
    tilt = math.tan(math.radians(angle)) if abs(angle) >= cfg.min_skew_deg else 0.0
    h_rulings, v_rulings = (_without_streaks(h_rulings, v_rulings, -tilt, dpi, cfg),
                            _without_streaks(v_rulings, h_rulings, tilt, dpi, cfg))
    h_edges = edge_mask(h_ridge, dpi, cfg)
    v_edges = edge_mask(v_ridge, dpi, cfg)
    grids: list[TableGrid] = []
    glyphs = _glyphs(ink, dpi, cfg)
    for hs, vs in tables(h_rulings, v_rulings, dpi, cfg):
        grid = build_grid(page.page, hs, vs, h_edges, v_edges, image.shape, dpi, cfg, glyphs=glyphs)
        if grid is not None and len(grid.cells) >= cfg.min_cells:
            grids.append(grid)
    grids.sort(key=lambda g: min(c.bbox.y0 for c in g.cells if c.bbox is not None))
    return DetectedPage(image=deskewed, ink=ink, grids=grids, skew_deg=angle)


# --- ink -----------------------------------------------------------------------------------------


def ink_image(bgr: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """How dark each pixel is against the local paper, 0 (paper) … 255 (black), in red light."""
    red = bgr[:, :, 2] if bgr.ndim == 3 else bgr
    h, w = red.shape
    scale = min(1.0, cfg.background_dpi / dpi)
    small = cv2.resize(red, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    k = _odd(cfg.background_kernel_in * dpi * scale)
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
    kb = _odd(cfg.border_min_in * dpi)
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


def _odd(value: float) -> int:
    n = max(3, int(round(value)))
    return n if n % 2 else n + 1


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[_Ruling], list[_Ruling]]:
    """The page turned by `angle`, its ink, ridge masks and rulings (horizontal, then vertical)."""
    if abs(angle) >= cfg.min_skew_deg:
        image = rotate(image, angle, border=(255, 255, 255))
        ink = rotate(ink, angle, border=0)
    h_ridge = ridge_mask(ink, dpi, cfg.ridge_windows_h_in, cfg)
    v_ridge = ridge_mask(np.ascontiguousarray(ink.T), dpi, cfg.ridge_windows_v_in, cfg)
    return image, ink, h_ridge, v_ridge, find_rulings(h_ridge, dpi, cfg), find_rulings(v_ridge, dpi, cfg)


def ruling_skew(h_rulings: list[_Ruling], v_rulings: list[_Ruling], cfg: GridConfig) -> float:
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


def rotate(image: np.ndarray, angle: float, border: int | tuple[int, int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    value = border if isinstance(border, tuple) else (border,) * 3
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=value)


# --- rulings -------------------------------------------------------------------------------------


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
    along = cv2.blur(ink.astype(np.float32), (_odd(cfg.ridge_smooth_in * dpi), 1))
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


def find_rulings(ridge: np.ndarray, dpi: float, cfg: GridConfig) -> list[_Ruling]:
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
    segments: list[_Ruling] = []
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
        segments.append(_Ruling(a=float(a), b=float(b), t0=x0, t1=x1, covered=x1 - x0))
    return _chain(segments, dpi, cfg)


def _without_streaks(
    rulings: list[_Ruling], across: list[_Ruling], scan_slope: float, dpi: float, cfg: GridConfig
) -> list[_Ruling]:
    """`rulings` without scanner streaks: a line the scanner drew through the page runs on past
    the last ruling across it into a margin, where a table's ruling stops at its border.

    A streak seen from margin to margin is one. A faint one is seen in pieces, so a piece that
    runs into one margin is a streak when it is also straight in the scanner's frame — slanted
    by the page's skew (`scan_slope`) among rulings the deskew made upright (their median slope
    apart from it by more than a skew worth correcting). A streak through a
    cell was taken for a column edge and cut the cell's text in two, through its decimal point.
    """
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

    def streak(r: _Ruling) -> bool:
        before, after = r.t0 < first - margin, r.t1 > last + margin
        scanner_straight = slanted and abs(r.b - scan_slope) < cfg.streak_slope_tolerance * apart
        return (before and after) or ((before or after) and scanner_straight)

    return [r for r in rulings if not streak(r)]


def _chain(segments: list[_Ruling], dpi: float, cfg: GridConfig) -> list[_Ruling]:
    """Join collinear pieces (a broken or faint ruling) into one fitted ruling, longest first."""
    tol = max(2.0, cfg.collinear_tol_in * dpi)
    rulings: list[list[_Ruling]] = []
    fits: list[_Ruling] = []
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
            fits.append(_Ruling(seg.a, seg.b, seg.t0, seg.t1, seg.covered))
        else:
            rulings[best].append(seg)
            fits[best] = _fit(rulings[best])
    return fits


def _fit(pieces: list[_Ruling]) -> _Ruling:
    t = np.array([p for s in pieces for p in (s.t0, (s.t0 + s.t1) / 2, s.t1)])
    pos = np.array([s.at(p) for s in pieces for p in (s.t0, (s.t0 + s.t1) / 2, s.t1)])
    weight = np.array([s.covered for s in pieces for _ in range(3)])
    long_piece = max(pieces, key=lambda s: s.covered)
    if np.ptp(t) < 1:
        b, a = long_piece.b, long_piece.a
    else:
        b, a = np.polyfit(t, pos, 1, w=np.sqrt(weight))
    return _Ruling(
        a=float(a),
        b=float(b),
        t0=min(s.t0 for s in pieces),
        t1=max(s.t1 for s in pieces),
        covered=sum(s.covered for s in pieces),
    )


# --- tables --------------------------------------------------------------------------------------


def _cross(h: _Ruling, v: _Ruling) -> tuple[float, float]:
    """Intersection (x, y) of horizontal y = a + b x and vertical x = c + d y."""
    y = (h.a + h.b * v.a) / (1.0 - h.b * v.b)
    return v.a + v.b * y, y


def tables(
    hs: list[_Ruling], vs: list[_Ruling], dpi: float, cfg: GridConfig
) -> list[tuple[list[_Ruling], list[_Ruling]]]:
    """Group rulings that cross into tables; a table needs two of each direction."""
    reach = cfg.corner_reach_in * dpi
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, h in enumerate(hs):
        for j, v in enumerate(vs):
            x, y = _cross(h, v)
            if h.t0 - reach <= x <= h.t1 + reach and v.t0 - reach <= y <= v.t1 + reach:
                parent[find(i)] = find(len(hs) + j)
    groups: dict[int, tuple[list[_Ruling], list[_Ruling]]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(v)
    return [(g_h, g_v) for g_h, g_v in groups.values() if len(g_h) >= 2 and len(g_v) >= 2]


def _merge_close(rulings: list[_Ruling], centre: float, gap: float) -> list[_Ruling]:
    """One grid line per ruling position: rulings closer than `gap` (double lines, pieces) merge."""
    ordered = sorted(rulings, key=lambda r: r.at(centre))
    merged: list[list[_Ruling]] = []
    for r in ordered:
        if merged and abs(r.at(centre) - merged[-1][-1].at(centre)) < gap:
            merged[-1].append(r)
        else:
            merged.append([r])
    return [_fit(group) if len(group) > 1 else group[0] for group in merged]


def edge_mask(ridge: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """Ridge runs of at least `edge_kernel_in`, widened across the line to a band."""
    length = max(3, round(cfg.edge_kernel_in * dpi))
    band = max(1, round(cfg.edge_band_in * dpi))
    mask = cv2.morphologyEx(ridge, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * band + 1)))


def _ruled(mask: np.ndarray, line: _Ruling, t0: float, t1: float, margin: float) -> np.ndarray:
    """Per pixel of the stretch t0..t1 of `line` (inset by `margin`): does it lie on a ruling?

    The mask holds ridge runs of at least `edge_kernel_in`: long enough that most glyph strokes
    sitting on a grid line do not count, short enough that the pieces of a broken ruling do.
    """
    a, b = t0 + margin, t1 - margin
    if b - a < 2:
        a, b = t0, t1
    t = np.arange(int(a), int(b) + 1)
    pos = np.round(line.at(t)).astype(int)
    h, w = mask.shape
    ok = (pos >= 0) & (pos < h) & (t >= 0) & (t < w)
    ruled = np.zeros(len(t), dtype=bool)
    ruled[ok] = mask[pos[ok], t[ok]] > 0
    return ruled


def _present(runs: list[np.ndarray], cfg: GridConfig) -> np.ndarray:
    """Which edges along one grid line exist, from where each is ruled (`_ruled` per edge).

    An edge ruled over `edge_coverage` of its length exists. A faint or broken ruling leaves
    some edges of a line well below that (0.4 between edges at 1.0); where a merged cell
    really crosses the line there is no ruling at all (≈ 0), or glyph strokes of the text in
    its middle. So an edge next to an existing one on the same line also exists when it is
    ruled over `weak_edge_coverage` and in each of its end quarters: one faint stretch no
    longer joins a row to the row below it, and text crossing a line (paper at both ends)
    does not cut a merged cell.
    """
    coverage = np.array([run.mean() if len(run) else 0.0 for run in runs])
    strong = coverage >= cfg.edge_coverage
    beside = np.r_[False, strong[:-1]] | np.r_[strong[1:], False]
    weak = np.array([_ruled_to_the_ends(run, cfg.weak_edge_coverage) for run in runs], dtype=bool)
    return strong | (weak & beside)


def _ruled_to_the_ends(ruled: np.ndarray, share: float) -> bool:
    if len(ruled) == 0:
        return False
    quarter = max(1, len(ruled) // 4)
    return bool(ruled.mean() >= share and ruled[:quarter].mean() >= share and ruled[-quarter:].mean() >= share)


def _strictly_ruled(ruled: np.ndarray, cfg: GridConfig) -> bool:
    """The test for an edge with no ruled neighbour along its grid line: mostly ruled and
    reaching both corners. A tall glyph (the `）` of `(人)`) on a grid line that is ruled only
    elsewhere in the table is such a lone edge; a real lone edge is drawn corner to corner."""
    return _ruled_to_the_ends(ruled, cfg.lone_edge_coverage)


def build_grid(
    page: int,
    hs: list[_Ruling],
    vs: list[_Ruling],
    h_edges: np.ndarray,
    v_edges: np.ndarray,
    shape: tuple[int, ...],
    dpi: float,
    cfg: GridConfig,
    glyphs: np.ndarray | None = None,
) -> TableGrid | None:
    """One table from its rulings: every ruling position is a grid line across the table, each
    slot edge is checked against the edge masks, and slots joined across missing edges become
    one merged cell. Boxes are the cells' corner points (ruling intersections) in page pixels.
    With the page's `glyphs` (`_glyphs`), a column edge lost where the text shows it is put back."""
    gap = cfg.min_cell_in * dpi
    centre_x = float(np.median([(h.t0 + h.t1) / 2 for h in hs]))
    centre_y = float(np.median([(v.t0 + v.t1) / 2 for v in vs]))
    hs = _merge_close(hs, centre_x, gap)
    vs = _merge_close(vs, centre_y, gap)
    n_rows, n_cols = len(hs) - 1, len(vs) - 1
    if n_rows < 1 or n_cols < 1:
        return None
    # Corner points of the grid lines: xs[j][i], ys[j][i] for horizontal line j, vertical line i.
    corners = np.array([[_cross(h, v) for v in vs] for h in hs])
    margin = cfg.corner_margin_in * dpi
    # right[r][c]: the vertical edge on the right of slot (r, c) exists; below[r][c] likewise.
    right = np.zeros((n_rows, n_cols + 1), dtype=bool)
    below = np.zeros((n_rows + 1, n_cols), dtype=bool)
    h_runs = [[_ruled(h_edges, h, corners[j, c, 0], corners[j, c + 1, 0], margin) for c in range(n_cols)]
              for j, h in enumerate(hs)]
    v_runs = [[_ruled(v_edges, v, corners[r, i, 1], corners[r + 1, i, 1], margin) for r in range(n_rows)]
              for i, v in enumerate(vs)]
    for j in range(n_rows + 1):
        below[j] = _present(h_runs[j], cfg)
    for i in range(n_cols + 1):
        right[:, i] = _present(v_runs[i], cfg)
    for j in range(1, n_rows):
        lone = below[j] & ~np.r_[False, below[j, :-1]] & ~np.r_[below[j, 1:], False]
        for c in np.flatnonzero(lone):
            below[j, c] = _strictly_ruled(h_runs[j][c], cfg)
    for i in range(1, n_cols):
        lone = right[:, i] & ~np.r_[False, right[:-1, i]] & ~np.r_[right[1:, i], False]
        for r in np.flatnonzero(lone):
            right[r, i] = _strictly_ruled(v_runs[i][r], cfg)
    if glyphs is not None:
        right = _parted_by_text(right, corners, glyphs, dpi, cfg)
    cells = _merge_slots(page, right, below, corners, shape)
    return TableGrid(page=page, n_rows=n_rows, n_cols=n_cols, cells=tuple(cells))


def _glyphs(ink: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """Ink that is not a long straight stroke: text, without rulings (faint ones the grid did
    not take are still here) or scanner streaks, which are longer than any glyph stroke."""
    binary = (ink > cfg.ink_threshold).astype(np.uint8)
    length = max(5, round(cfg.line_kernel_in * dpi))
    lines = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    lines |= cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    return (binary > 0) & (cv2.dilate(lines, np.ones((3, 3), np.uint8)) == 0)


def _parted_by_text(
    right: np.ndarray, corners: np.ndarray, text: np.ndarray, dpi: float, cfg: GridConfig
) -> np.ndarray:
    """`right` with the column edges a faded ruling lost put back where the text parts there.

    A column line ruled on other rows of the table, missing on a run of rows, where on every row
    of the run the text stands well apart on both sides of it or there is none: two cells, not
    one (a faded 分值 | 得分 ruling read `7.50` `7.50` as `7.507.50`). A merged cell's text runs
    across the lines inside it or stands to one side of them, and keeps the cell whole.
    """
    n_rows, n_lines = right.shape
    half = max(1, round(cfg.text_gap_in * dpi))
    min_ink = max(4, round((cfg.text_min_in * dpi) ** 2))
    out = right.copy()
    for i in range(1, n_lines - 1):
        if right[:, i].sum() < max(2, cfg.column_line_share * n_rows):
            continue  # not a column line of this table, or too rarely ruled to call one
        r = 0
        while r < n_rows:
            if right[r, i]:
                r += 1
                continue
            end = r
            while end < n_rows and not right[end, i]:
                end += 1
            sides = [_sides(text, corners, right[row], row, i, half, min_ink) for row in range(r, end)]
            if "both" in sides and all(side in ("both", "neither") for side in sides):
                out[r:end, i] = True
            r = end
    return out


def _sides(text: np.ndarray, corners: np.ndarray, ruled: np.ndarray, r: int, i: int, half: int, min_ink: int) -> str:
    """Where row `r`'s text stands about vertical grid line `i`, within the cell it would part
    (between the nearest lines ruled on this row, `ruled`): "across" (ink on the line, or only a
    gap between characters beside it: two cells' texts are apart by both cells' padding),
    "both" sides, "one", or "neither". What is left of a ruling along the cell's sides and along
    the line itself (a quarter of `half` either side) is not looked at."""
    clear = max(2, half // 4)
    a = max(k for k in range(i) if ruled[k]) if ruled[:i].any() else 0
    b = min(k for k in range(i + 1, len(ruled)) if ruled[k]) if ruled[i + 1 :].any() else len(ruled) - 1
    y0 = round(max(corners[r, a, 1], corners[r, i, 1], corners[r, b, 1])) + half
    y1 = round(min(corners[r + 1, a, 1], corners[r + 1, i, 1], corners[r + 1, b, 1])) - half
    x = round((corners[r, i, 0] + corners[r + 1, i, 0]) / 2)
    x0 = round(max(corners[r, a, 0], corners[r + 1, a, 0])) + clear
    x1 = round(min(corners[r, b, 0], corners[r + 1, b, 0])) - clear
    if y1 - y0 < 2 or not x0 + half < x < x1 - half:
        return "across"
    inked = np.flatnonzero(text[y0:y1, x0:x1].any(axis=0)) + x0
    left, right = inked[inked < x - clear], inked[inked > x + clear]
    if len(left) and len(right) and right[0] - left[-1] <= 2 * half:
        return "across"
    on_left = text[y0:y1, x0 : x - clear].sum() >= min_ink
    on_right = text[y0:y1, x + clear + 1 : x1].sum() >= min_ink
    return "both" if on_left and on_right else "one" if on_left or on_right else "neither"


def _merge_slots(
    page: int, right: np.ndarray, below: np.ndarray, corners: np.ndarray, shape: tuple[int, ...]
) -> list[Cell]:
    """Union slots across missing inner edges; every cell is a rectangle of slots.

    A group that is not a rectangle comes from an edge lost inside a real cell or a real edge
    too faint to see. It is cut into rectangles, row-major. Widening it to its bounding box
    instead swallowed its neighbours, whose bounding boxes swallowed theirs: one faint edge
    beside a label made one cell of a whole page (measured on the dev set, cutting against
    widening: rows 0.949 → 0.969, numbers 0.874 → 0.896; fixture scans unchanged).
    """
    n_rows, n_cols = below.shape[0] - 1, right.shape[1] - 1
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and not right[r, c + 1]:
                union(r * n_cols + c, r * n_cols + c + 1)
            if r + 1 < n_rows and not below[r + 1, c]:
                union(r * n_cols + c, (r + 1) * n_cols + c)
    group = np.array([find(i) for i in range(n_rows * n_cols)]).reshape(n_rows, n_cols)
    boxes = _rectangles(group)
    h, w = shape[:2]
    cells: list[Cell] = []
    for r0, c0, r1, c1 in boxes:
        pts = corners[[r0, r0, r1 + 1, r1 + 1], [c0, c1 + 1, c0, c1 + 1]]
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
        bbox = BBox(max(0, int(x0)), max(0, int(y0)), min(w, int(x1) + 1), min(h, int(y1) + 1))
        cells.append(
            Cell(page=page, row=r0, col=c0, rowspan=r1 - r0 + 1, colspan=c1 - c0 + 1, bbox=bbox,
                 confidence=0.0, engine="")
        )
    return cells


def _rectangles(label: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cut a slot labelling into rectangles (r0, c0, r1, c1), row-major: from each slot not yet
    taken, as far right as its label goes, then as far down as the whole width does."""
    n_rows, n_cols = label.shape
    taken = np.zeros(label.shape, dtype=bool)
    boxes: list[tuple[int, int, int, int]] = []
    for r in range(n_rows):
        for c in range(n_cols):
            if taken[r, c]:
                continue
            key = label[r, c]
            c1 = c
            while c1 + 1 < n_cols and label[r, c1 + 1] == key and not taken[r, c1 + 1]:
                c1 += 1
            r1 = r
            while r1 + 1 < n_rows and bool(
                (label[r1 + 1, c : c1 + 1] == key).all() and not taken[r1 + 1, c : c1 + 1].any()
            ):
                r1 += 1
            taken[r : r1 + 1, c : c1 + 1] = True
            boxes.append((r, c, r1, c1))
    return boxes
