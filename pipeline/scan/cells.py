"""Rulings → a table's cells: grid lines across the table, which slot edges exist, merged cells.

Every ruling position spans the whole table as a grid line; whether a grid edge between two
slots really exists is measured on a short opening (≈ 0.03 in) in a thin band along the fitted
line, where text never is, and where a faded column ruling left no ink the text may still show
it. Slots joined across missing edges are merged cells (`slots.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np

from ..config import GridConfig
from ..types import TableGrid
from .rulings import Ruling, crosses, crossing, fitted, long_strokes
from .slots import merged_cells


def tables(
    hs: list[Ruling], vs: list[Ruling], dpi: float, cfg: GridConfig
) -> list[tuple[list[Ruling], list[Ruling]]]:
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
            if crosses(h, v, reach):
                parent[find(i)] = find(len(hs) + j)
    groups: dict[int, tuple[list[Ruling], list[Ruling]]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(v)
    return [(g_h, g_v) for g_h, g_v in groups.values() if len(g_h) >= 2 and len(g_v) >= 2]


def _merge_close(rulings: list[Ruling], centre: float, gap: float) -> list[Ruling]:
    """One grid line per ruling position: rulings closer than `gap` (double lines, pieces) merge."""
    ordered = sorted(rulings, key=lambda r: r.at(centre))
    merged: list[list[Ruling]] = []
    for r in ordered:
        if merged and abs(r.at(centre) - merged[-1][-1].at(centre)) < gap:
            merged[-1].append(r)
        else:
            merged.append([r])
    return [fitted(group) if len(group) > 1 else group[0] for group in merged]


def edge_mask(ridge: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """Ridge runs of at least `edge_kernel_in`, widened across the line to a band."""
    length = max(3, round(cfg.edge_kernel_in * dpi))
    band = max(1, round(cfg.edge_band_in * dpi))
    mask = cv2.morphologyEx(ridge, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * band + 1)))


def _ruled(mask: np.ndarray, line: Ruling, t0: float, t1: float, margin: float) -> np.ndarray:
    """Per pixel of the stretch t0..t1 of `line` (inset by `margin`): does it lie on a ruling?

    The mask holds ridge runs of at least `edge_kernel_in`: long enough that most glyph strokes
    sitting on a grid line do not count, short enough that the pieces of a broken ruling do.
    """
    t = _stretch(t0, t1, margin)
    pos = np.round(line.at(t)).astype(int)
    h, w = mask.shape
    ok = (pos >= 0) & (pos < h) & (t >= 0) & (t < w)
    ruled = np.zeros(len(t), dtype=bool)
    ruled[ok] = mask[pos[ok], t[ok]] > 0
    return ruled


def _stretch(t0: float, t1: float, margin: float) -> np.ndarray:
    """The pixels along a grid line between two corners, inset by `margin` at both ends."""
    a, b = t0 + margin, t1 - margin
    if b - a < 2:
        a, b = t0, t1
    return np.arange(int(a), int(b) + 1)


def _coverage(lines: list[list[np.ndarray]]) -> np.ndarray:
    """The share of each edge seen ruled (`_ruled` runs, one list per grid line): [line, edge]."""
    return np.array([[run.mean() if len(run) else 0.0 for run in line] for line in lines])


def _present(runs: list[np.ndarray], coverage: np.ndarray, cfg: GridConfig) -> np.ndarray:
    """Which edges along one grid line exist, from where each is ruled (`_ruled` per edge, and
    `coverage`: the share of each ruled).

    An edge ruled over `edge_coverage` of its length, into one of its ends at least, exists (the
    `1` of `1,774.65` stood on a grid line ruled elsewhere in the table, in the middle of two rows
    one above the other, and cut both amounts in two). A faint or broken ruling leaves
    some edges of a line well below that (0.4 between edges at 1.0); where a merged cell
    really crosses the line there is no ruling at all (≈ 0), or glyph strokes of the text in
    its middle. So an edge next to an existing one on the same line also exists when it is
    ruled over `weak_edge_coverage` and in each of its end quarters: one faint stretch no
    longer joins a row to the row below it, and text crossing a line (paper at both ends)
    does not cut a merged cell.
    """
    strong = (coverage >= cfg.edge_coverage) & np.array([_reaches_an_end(run, cfg.weak_edge_coverage) for run in runs],
                                                        dtype=bool)
    beside = np.r_[False, strong[:-1]] | np.r_[strong[1:], False]
    weak = np.array([_ruled_to_the_ends(run, cfg.weak_edge_coverage) for run in runs], dtype=bool)
    return strong | (weak & beside)


def _reaches_an_end(ruled: np.ndarray, share: float) -> bool:
    """Ruled over `share` of one end eighth at least: a ruling seen in part (broken, faint, or
    drifting off its grid line on a photo) still runs into a corner; a glyph stroke standing on
    the line in the middle of its row reaches neither."""
    eighth = max(1, len(ruled) // 8)
    return len(ruled) > 0 and bool(ruled[:eighth].mean() >= share or ruled[-eighth:].mean() >= share)


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
    hs: list[Ruling],
    vs: list[Ruling],
    h_edges: np.ndarray,
    v_edges: np.ndarray,
    shape: tuple[int, ...],
    dpi: float,
    cfg: GridConfig,
    glyphs: Callable[[], np.ndarray] | None = None,
) -> TableGrid | None:
    """One table from its rulings: every ruling position is a grid line across the table, each
    slot edge is checked against the edge masks, and slots joined across missing edges become
    one merged cell. Boxes are the cells' corner points (ruling intersections) in page pixels.
    Given the page's `glyphs` (`glyph_mask`, made when first asked for), a column edge lost where
    the text shows it is put back."""
    gap = cfg.min_cell_in * dpi
    centre_x = float(np.median([(h.t0 + h.t1) / 2 for h in hs]))
    centre_y = float(np.median([(v.t0 + v.t1) / 2 for v in vs]))
    hs = _merge_close(hs, centre_x, gap)
    vs = _merge_close(vs, centre_y, gap)
    n_rows, n_cols = len(hs) - 1, len(vs) - 1
    if n_rows < 1 or n_cols < 1:
        return None
    # Corner points of the grid lines: xs[j][i], ys[j][i] for horizontal line j, vertical line i.
    corners = np.array([[crossing(h, v) for v in vs] for h in hs])
    margin = cfg.corner_margin_in * dpi
    # right[r][c]: the vertical edge on the right of slot (r, c) exists; below[r][c] likewise.
    right = np.zeros((n_rows, n_cols + 1), dtype=bool)
    below = np.zeros((n_rows + 1, n_cols), dtype=bool)
    h_runs = [[_ruled(h_edges, h, corners[j, c, 0], corners[j, c + 1, 0], margin) for c in range(n_cols)]
              for j, h in enumerate(hs)]
    v_runs = [[_ruled(v_edges, v, corners[r, i, 1], corners[r + 1, i, 1], margin) for r in range(n_rows)]
              for i, v in enumerate(vs)]
    # Share of each edge ruled: ruled_below[j, c] like below, ruled_right[r, i] like right.
    ruled_below, ruled_right = _coverage(h_runs), _coverage(v_runs).T
    for j in range(n_rows + 1):
        below[j] = _present(h_runs[j], ruled_below[j], cfg)
    for i in range(n_cols + 1):
        right[:, i] = _present(v_runs[i], ruled_right[:, i], cfg)
    for j in range(1, n_rows):
        lone = below[j] & ~np.r_[False, below[j, :-1]] & ~np.r_[below[j, 1:], False]
        for c in np.flatnonzero(lone):
            below[j, c] = _strictly_ruled(h_runs[j][c], cfg)
    for i in range(1, n_cols):
        lone = right[:, i] & ~np.r_[False, right[:-1, i]] & ~np.r_[right[1:, i], False]
        for r in np.flatnonzero(lone):
            right[r, i] = _strictly_ruled(v_runs[i][r], cfg)
    right = _without_slivers(right, corners, ruled_right, dpi, cfg)
    if glyphs is not None:
        glyph_edges = functools.partial(_glyph_strokes, glyphs=glyphs, margin=margin, dpi=dpi, cfg=cfg)
        below = glyph_edges(below, h_runs, hs, corners[:, :, 0], across_rows=True)
        right = glyph_edges(right.T, v_runs, vs, corners[:, :, 1].T, across_rows=False).T
        right = _parted_by_text(right, below, corners, glyphs, dpi, cfg)
        # The same across a faded row ruling: the two amounts of a money-block column read as one cell.
        across = corners.transpose(1, 0, 2)[..., ::-1]
        below = _parted_by_text(below.T, right.T, across, lambda: glyphs().T, dpi, cfg).T
    cells = merged_cells(page, right, below, corners, shape, ruled_right, ruled_below)
    return TableGrid(page=page, n_rows=n_rows, n_cols=n_cols, cells=tuple(cells))


def _without_slivers(
    right: np.ndarray, corners: np.ndarray, ruled_right: np.ndarray, dpi: float, cfg: GridConfig
) -> np.ndarray:
    """`right` without the weaker of two column edges closer than any column of the forms, on the
    rows where both are there.

    A streak drawn on the page beside a column ruling (straight in the page's frame, so not told
    by its slope) was seen on the rows where it is darkest: there it cut a sliver off the
    年度指标值 cells, through their `=` sign (`E100.00(%)`). Two lines that close, in different
    blocks of a table (the money block's columns above the indicators'), are never both on one
    row; where they are, the cell between them is no column, and the line less ruled on that row
    is not its edge.
    """
    narrow = cfg.min_column_in * dpi
    out = right.copy()
    n_rows, n_lines = right.shape
    for r in range(n_rows):
        ruled = list(np.flatnonzero(right[r]))
        for i, j in zip(ruled, ruled[1:], strict=False):
            x0 = (corners[r, i, 0] + corners[r + 1, i, 0]) / 2
            x1 = (corners[r, j, 0] + corners[r + 1, j, 0]) / 2
            if not cfg.min_cell_in * dpi <= x1 - x0 < narrow:
                continue  # a column, or one ruling seen as two lines (`_merge_close` joins those at the centre)
            weaker = i if ruled_right[r, i] < ruled_right[r, j] else j
            if 0 < weaker < n_lines - 1:
                out[r, weaker] = False
    return out


def _glyph_strokes(
    present: np.ndarray, runs: list[list[np.ndarray]], lines: list[Ruling], ends: np.ndarray, *,
    across_rows: bool, glyphs: Callable[[], np.ndarray], margin: float, dpi: float, cfg: GridConfig,
) -> np.ndarray:
    """`present` (one row per grid line, one column per edge along it) without the edges that are
    a glyph's stroke standing on the grid line, not a ruling.

    A column ruled elsewhere in the table runs as a grid line through the header rows, where a
    value's text may cross it; a glyph's vertical stroke right on the line (the 朱 of a 主管部门
    value, at 150 dpi and 10 pt) is ruled over 0.72 of the row and cut the value in two, or a
    label (主管部 | 门). Such a stroke leaves the cell's padding unruled at both ends of the edge,
    where a ruling runs corner to corner, and other strokes of its glyph join it from the side,
    where a ruling (a dashed one too, which also stops short of a corner) has paper beside it.
    `ends[k][e]` is where edge `e` of line `k` starts along it (edge `e + 1` starts where it ends);
    `across_rows`: the lines are horizontal, so across one is down the glyph mask's rows.
    """
    paper = max(2, round(cfg.edge_end_paper_in * dpi))
    join = max(3, round(cfg.glyph_join_in * dpi))
    candidates = [
        (k, e) for k, e in zip(*np.nonzero(present), strict=True)
        if len(runs[k][e]) > 2 * paper and runs[k][e].any()
        and not runs[k][e][:paper].any() and not runs[k][e][-paper:].any()
    ]
    if not candidates:
        return present
    mask = glyphs().T if across_rows else glyphs()  # mask[t, across]
    out = present.copy()
    for k, e in candidates:
        t = _stretch(ends[k][e], ends[k][e + 1], margin)[runs[k][e]]
        pos = np.round(lines[k].at(t)).astype(int)
        out[k, e] = not any(_joined_width(mask, ti, pi, join) >= join for ti, pi in zip(t, pos, strict=True))
    return out


def _joined_width(mask: np.ndarray, t: int, pos: int, reach: int) -> int:
    """How wide the ink is, across a grid line at `t`, that runs unbroken through the line at `pos`
    (±1 pixel), looked at up to `reach` either side."""
    if not 0 <= t < mask.shape[0]:
        return 0
    lo, hi = max(0, pos - reach), min(mask.shape[1], pos + reach + 1)
    row = mask[t, lo:hi]
    centre = pos - lo
    on = [i for i in (centre, centre - 1, centre + 1) if 0 <= i < len(row) and row[i]]
    if not on:
        return 0
    a = b = on[0]
    while a > 0 and row[a - 1]:
        a -= 1
    while b + 1 < len(row) and row[b + 1]:
        b += 1
    return b - a + 1


def glyph_mask(ink: np.ndarray, dpi: float, cfg: GridConfig) -> np.ndarray:
    """Ink that is not a long straight stroke: text, without rulings (faint ones the grid did
    not take are still here) or scanner streaks, which are longer than any glyph stroke — and
    without specks (smaller than half of `text_min_in` both ways): scattered over a merged
    cell of a 1-bit scan they added up to text beside an empty row and cut the cell there."""
    binary = ink > cfg.ink_threshold
    text = (binary & ~long_strokes(binary, max(5, round(cfg.line_kernel_in * dpi)))).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=8)
    speck = cfg.text_min_in * dpi / 2
    small = (stats[:, cv2.CC_STAT_WIDTH] < speck) & (stats[:, cv2.CC_STAT_HEIGHT] < speck)
    small[0] = False
    return (text > 0) & ~small[labels]


def _parted_by_text(
    right: np.ndarray, below: np.ndarray, corners: np.ndarray, glyphs: Callable[[], np.ndarray], dpi: float,
    cfg: GridConfig,
) -> np.ndarray:
    """`right` with the column edges a faded ruling lost put back where the text parts there.

    A column line ruled on other rows of the table, missing on a run of rows, where on every row
    of the run the text stands well apart on both sides of it or there is none: two cells, not
    one (a faded 分值 | 得分 ruling read `7.50` `7.50` as `7.507.50`). A merged cell's text runs
    across the lines inside it or stands to one side of them, and keeps the cell whole. Rows
    joined on both sides of the line (no row edge, `below`, between them there) are looked at
    as one: a column cut into narrow slots by rulings of another part of the table is seen whole.
    Given `below.T`, `right.T`, the corners with rows and columns (and x and y) swapped and the
    glyphs transposed, the same holds for a row line (`build_grid` does both).
    """
    n_rows, n_lines = right.shape
    half = max(1, round(cfg.text_gap_in * dpi))
    min_ink = max(4, round((cfg.text_min_in * dpi) ** 2))
    out = right.copy()
    # Each edge's length: how much of a line is ruled is measured along it, not in slots (lines
    # of another part of the table cut a column into narrow slots, each counted as a row).
    lengths = np.linalg.norm(np.diff(corners, axis=0), axis=-1)
    for i in range(1, n_lines - 1):
        ruled_length = float((lengths[:, i] * right[:, i]).sum())
        if right[:, i].sum() < 2 or ruled_length < cfg.column_line_share * float(lengths[:, i].sum()):
            continue  # not a column line of this table, or too rarely ruled to call one
        r = 0
        while r < n_rows:
            if right[r, i]:
                r += 1
                continue
            end = r
            while end < n_rows and not right[end, i]:
                end += 1
            starts = [row for row in range(r, end) if row == r or below[row, i - 1] or below[row, i]]
            spans = zip(starts, [*starts[1:], end], strict=True)
            sides = [_sides(glyphs(), corners, right[r0:r1], r0, r1, i, half, min_ink) for r0, r1 in spans]
            if "both" in sides and all(side in ("both", "neither") for side in sides):
                out[r:end, i] = True
            r = end
    return out


def _sides(
    text: np.ndarray, corners: np.ndarray, ruled: np.ndarray, r0: int, r1: int, i: int, half: int, min_ink: int
) -> str:
    """Where the text of rows `r0`…`r1 - 1` (one cell on each side) stands about vertical grid
    line `i`, within the cell it would part (between the nearest lines ruled on these rows,
    `ruled`): "across" (ink on the line, or only a gap between characters beside it: two cells'
    texts are apart by both cells' padding), "both" sides, "one", or "neither". What is left of
    a ruling along the cell's sides and along the line itself (a quarter of `half` either side)
    is not looked at."""
    clear = max(2, half // 4)
    on_row = ruled.any(axis=0)
    before, after = np.flatnonzero(on_row[:i]), np.flatnonzero(on_row[i + 1 :]) + i + 1
    a = before[-1] if len(before) else 0
    b = after[0] if len(after) else len(on_row) - 1
    y0 = round(max(corners[r0, a, 1], corners[r0, i, 1], corners[r0, b, 1])) + half
    y1 = round(min(corners[r1, a, 1], corners[r1, i, 1], corners[r1, b, 1])) - half
    x = round((corners[r0, i, 0] + corners[r1, i, 0]) / 2)
    x0 = round(max(corners[r0, a, 0], corners[r1, a, 0])) + clear
    x1 = round(min(corners[r0, b, 0], corners[r1, b, 0])) - clear
    if y1 - y0 < 2 or not x0 + half < x < x1 - half:
        return "across"
    inked = np.flatnonzero(text[y0:y1, x0:x1].any(axis=0)) + x0
    left, right = inked[inked < x - clear], inked[inked > x + clear]
    if len(left) and len(right) and right[0] - left[-1] <= 2 * half:
        return "across"
    on_left = text[y0:y1, x0 : x - clear].sum() >= min_ink
    on_right = text[y0:y1, x + clear + 1 : x1].sum() >= min_ink
    return "both" if on_left and on_right else "one" if on_left or on_right else "neither"
