"""A table's frame side lost to a faint scan, put back where the rulings across it end together.

A table's outer ruling can fade away on a poor scan while the rulings across it, darker or
longer, still run out to where it was: the top and bottom rulings and those between the 一级
blocks reach the left border, past the last column ruling still seen. Without the side, the
column between goes missing with its text (一级 name and 权重 read nowhere, every row of a
continuation page without its weight). Two rulings running on past the outermost one by more
than a column's width (`min_column_in`) are evidence enough: the side stands where the longer
of them ends, a little further out (a faint ruling's end fades before the corner). Its own edges
are never measured — an outer side is the table's border — so the slots beside it join exactly
as far as the rulings across say: one merged 一级 cell per block.
"""

from __future__ import annotations

import numpy as np

from ..config import GridConfig
from .rulings import Ruling


def with_lost_sides(
    hs: list[Ruling], vs: list[Ruling], dpi: float, cfg: GridConfig
) -> tuple[list[Ruling], list[Ruling]]:
    """The table's rulings with a lost left or right side (and top or bottom) put back."""
    vs = vs + _lost_sides(hs, vs, dpi, cfg)
    hs = hs + _lost_sides(vs, hs, dpi, cfg)
    return hs, vs


def _lost_sides(across: list[Ruling], rulings: list[Ruling], dpi: float, cfg: GridConfig) -> list[Ruling]:
    """Sides parallel to `rulings` where two or more of `across` run past the outermost of them."""
    if len(rulings) < 2 or len(across) < 2:
        return []
    reach = cfg.min_column_in * dpi
    pad = cfg.corner_reach_in * dpi
    slope = float(np.median([r.b for r in rulings]))
    t0 = min(a.at(a.t0) for a in across)
    t1 = max(a.at(a.t1) for a in across)
    centre = (t0 + t1) / 2
    found: list[Ruling] = []
    # Left (top): the smallest positions and each ruling across's start; right (bottom): the largest and ends.
    for side, outermost, end_of in ((-1, min, lambda a: a.t0), (1, max, lambda a: a.t1)):
        ends = [end_of(a) for a in across
                if side * (end_of(a) - outermost(r.at(a.at((a.t0 + a.t1) / 2)) for r in rulings)) > reach]
        if len(ends) >= 2:
            pos = outermost(ends) + side * pad
            found.append(Ruling(a=pos - slope * centre, b=slope, t0=t0, t1=t1, covered=0.0))
    return found
