"""Running text of a narrative page → lines in reading order → paragraphs, page furniture dropped.

Both routes hand a narrative page over as one-column grids of text lines: the text layer as lines
without boxes, OCR as detected text boxes with their pixels. From those this module rebuilds what a
reader sees:

- **reading order**: boxes on one visual line are merged left to right; a page set in two columns
  (an empty gutter down the middle that most lines respect) is read column by column, lines that
  span the gutter (titles) keeping their place between the column blocks;
- **furniture**: page numbers (`- 3 -`, `第 3 页 共 5 页`, `3/5`) and a running header or footer (the same
  first or last line on two or more pages) are not text and would break a sentence that runs across
  the page break, so they go;
- **paragraphs**: a wrapped line continues on the next line, also across a page break
  (`…政治领导` / `力、…` is one sentence). With boxes the layout decides — an indented line starts a
  paragraph, a line that stops well short of the right margin ends one; without boxes a line ending a
  sentence (`。！？`) ends its paragraph. A heading (`（二）…`, `3、…`) is a paragraph of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from statistics import median

import numpy as np

from ..types import BBox, TableGrid

HEADING = re.compile(r"^\s*(?:[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+[、.．]|\d{1,2}[、．.]\s*(?=\D)|[①-⑳])")
SENTENCE_END = tuple("。！？!?…")
FOLIO = re.compile(
    r"^(?:[-—–－~]+\d{1,3}[-—–－~]+|第\d{1,3}页(?:[,，]?共\d{1,3}页)?|共\d{1,3}页第\d{1,3}页|\d{1,3}/\d{1,3}|"
    r"page\d{1,3}(?:of\d{1,3})?)$",
    re.IGNORECASE,
)
BARE_NUMBER = re.compile(r"^\d{1,3}$")
HEADING_MAX_CHARS = 30  # without boxes, a longer line opening with `1.` is a numbered paragraph, not a heading
SHORT_LINE_EMS = 6.0  # a line ending this far (in line heights) before the margin ends its paragraph
INDENT_EMS = 1.2  # a line starting this far right of the margin starts a paragraph
GUTTER_MAX_CROSSING = 0.15  # share of a page's boxes that may cross a column gutter (titles, headers)


@dataclass(frozen=True)
class Line:
    page: int
    text: str
    bbox: BBox | None = None
    confidence: float = 1.0
    engine: str = "text"


@dataclass(frozen=True)
class Paragraph:
    """A paragraph's lines (raw, as read) and its text: the lines joined without a separator."""

    lines: tuple[Line, ...]

    @property
    def page(self) -> int:
        return self.lines[0].page

    @property
    def text(self) -> str:
        return "".join(line.text.strip() for line in self.lines)

    @property
    def confidence(self) -> float:
        return min(line.confidence for line in self.lines)


def page_lines(grids: list[TableGrid]) -> list[list[Line]]:
    """Each page's lines in reading order. A row of a multi-column grid is one line (cells joined)."""
    pages: dict[int, list[Line]] = {}
    for grid in grids:
        out = pages.setdefault(grid.page, [])
        if grid.n_cols == 1 and grid.cells and all(c.bbox is not None for c in grid.cells):
            out.extend(_reading_order([Line(c.page, c.text, c.bbox, c.confidence, c.engine)
                                       for c in grid.cells if c.text.strip()]))
            continue
        for cells in grid.dense():
            row = list(dict.fromkeys(c for c in cells if c is not None and c.text.strip()))
            if row:
                out.append(Line(grid.page, " ".join(c.text.strip() for c in row),
                                _union([c.bbox for c in row]), min(c.confidence for c in row), row[0].engine))
    return [pages[p] for p in sorted(pages)]


def _union(boxes: list[BBox | None]) -> BBox | None:
    if not boxes or any(b is None for b in boxes):
        return None
    return BBox(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes))


def _visual_lines(boxes: list[Line]) -> list[Line]:
    """Boxes whose vertical centres lie within half a line height of each other are one line."""
    rows: list[list[Line]] = []
    for box in sorted(boxes, key=lambda b: (b.bbox.y0 + b.bbox.y1) / 2):
        centre = (box.bbox.y0 + box.bbox.y1) / 2
        if rows:
            last = rows[-1][-1].bbox
            if abs(centre - (last.y0 + last.y1) / 2) <= max(last.height, box.bbox.height) / 2:
                rows[-1].append(box)
                continue
        rows.append([box])
    out = []
    for row in rows:
        row.sort(key=lambda b: b.bbox.x0)
        out.append(Line(row[0].page, " ".join(b.text.strip() for b in row), _union([b.bbox for b in row]),
                        min(b.confidence for b in row), row[0].engine))
    return out


def _gutter(boxes: list[Line]) -> int | None:
    """The x of an empty vertical strip in the middle of the text that splits it into two columns."""
    if len(boxes) < 8:
        return None
    x0 = min(b.bbox.x0 for b in boxes)
    x1 = max(b.bbox.x1 for b in boxes)
    cover = np.zeros(x1 - x0 + 1, dtype=int)
    for b in boxes:
        cover[b.bbox.x0 - x0 : b.bbox.x1 - x0] += 1
    lo, hi = int(0.3 * len(cover)), int(0.7 * len(cover))
    if hi <= lo:
        return None
    x = lo + int(np.argmin(cover[lo:hi]))
    gx = x0 + x
    left = sum(b.bbox.x1 <= gx for b in boxes)
    right = sum(b.bbox.x0 >= gx for b in boxes)
    if cover[x] > GUTTER_MAX_CROSSING * len(boxes) or min(left, right) < max(3, 0.25 * len(boxes)):
        return None
    return gx


def _reading_order(boxes: list[Line]) -> list[Line]:
    """Top to bottom; in a two-column stretch the left column, then the right one. A box across the
    gutter (a title, a running header) closes the stretch above it."""
    gx = _gutter(boxes)
    if gx is None:
        return _visual_lines(boxes)
    segments: list[tuple[bool, list[Line]]] = []
    for box in sorted(boxes, key=lambda b: (b.bbox.y0 + b.bbox.y1) / 2):
        spanning = box.bbox.x0 < gx < box.bbox.x1
        if segments and segments[-1][0] == spanning:
            segments[-1][1].append(box)
        else:
            segments.append((spanning, [box]))
    out: list[Line] = []
    for spanning, group in segments:
        out.extend(_visual_lines(group) if spanning else _columns(group, gx))
    return out


def _columns(boxes: list[Line], gx: int) -> list[Line]:
    left = [b for b in boxes if (b.bbox.x0 + b.bbox.x1) / 2 < gx]
    right = [b for b in boxes if (b.bbox.x0 + b.bbox.x1) / 2 >= gx]
    return _visual_lines(left) + _visual_lines(right)


def _without_spaces(text: str) -> str:
    """A line's text with its spaces gone: OCR spaces Chinese text anyhow."""
    return re.sub(r"\s+", "", text)


def is_folio(line: Line) -> bool:
    return bool(FOLIO.match(_without_spaces(line.text)))


def drop_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without page numbers and without a running header/footer (repeated on ≥ 2 pages)."""
    pages = [[ln for ln in lines if not is_folio(ln)] for lines in pages]
    pages = [_drop_bare_numbers(lines) for lines in pages]
    if len(pages) < 2:
        return pages
    repeated = {end: _repeated([lines[0 if end == "head" else -1] for lines in pages if lines])
                for end in ("head", "foot")}
    out = []
    for lines in pages:
        if lines and _matches(lines[0], repeated["head"]):
            lines = lines[1:]
        if lines and _matches(lines[-1], repeated["foot"]):
            lines = lines[:-1]
        out.append(lines)
    return out


def _drop_bare_numbers(lines: list[Line]) -> list[Line]:
    """A bare `3` as the first or last line of a page is its number."""
    while lines and BARE_NUMBER.match(_without_spaces(lines[-1].text)):
        lines = lines[:-1]
    while lines and BARE_NUMBER.match(_without_spaces(lines[0].text)):
        lines = lines[1:]
    return lines


def _shape(line: Line) -> str:
    """A line with its digits masked: `第 3 页` and `第 4 页` are one running footer."""
    return re.sub(r"\d+", "#", _without_spaces(line.text))


def _repeated(ends: list[Line]) -> list[str]:
    """Shapes that open (or close) at least two pages, allowing an OCR slip in one character of eight."""
    shapes = [_shape(ln) for ln in ends]
    found = []
    for i, shape in enumerate(shapes):
        twins = sum(1 for j, other in enumerate(shapes) if j != i and _similar(shape, other))
        if twins and shape not in found:
            found.append(shape)
    return found


def _similar(a: str, b: str) -> bool:
    return bool(a) and (a == b or SequenceMatcher(None, a, b).ratio() >= 0.875)


def _matches(line: Line, shapes: list[str]) -> bool:
    return any(_similar(_shape(line), s) for s in shapes)


@dataclass(frozen=True)
class _Geometry:
    """A page's text block: left margin, right margin and line height, in the page's pixels."""

    left: float
    right: float
    height: float

    @classmethod
    def of(cls, lines: list[Line]) -> _Geometry | None:
        boxes = [ln.bbox for ln in lines if ln.bbox is not None]
        if len(boxes) < 3 or len(boxes) != len(lines):
            return None
        return cls(float(np.percentile([b.x0 for b in boxes], 10)), float(np.percentile([b.x1 for b in boxes], 90)),
                   float(median(b.height for b in boxes)))

    def indented(self, line: Line) -> bool:
        return line.bbox.x0 >= self.left + INDENT_EMS * self.height

    def short(self, line: Line, ems: float) -> bool:
        return line.bbox.x1 < self.right - ems * self.height


def is_heading(line: Line, geometry: _Geometry | None) -> bool:
    """A heading opens with a section number and does not fill its line (else it is a numbered paragraph)."""
    if not HEADING.match(line.text):
        return False
    if geometry is not None:
        return geometry.short(line, 1.5)
    return len(_without_spaces(line.text)) <= HEADING_MAX_CHARS


def paragraphs(pages: list[list[Line]]) -> list[Paragraph]:
    """Lines (furniture already dropped) → paragraphs, joined across wraps and page breaks."""
    flat = [(line, geometry) for lines in pages for geometry in [_Geometry.of(lines)] for line in lines]
    out: list[list[Line]] = []
    heading = False
    for i, (line, geometry) in enumerate(flat):
        if out and i > 0 and _continues(flat[i - 1], (line, geometry), heading):
            out[-1].append(line)
            continue
        out.append([line])
        heading = is_heading(line, geometry)
    return [Paragraph(tuple(lines)) for lines in out]


def _continues(prev: tuple[Line, _Geometry | None], nxt: tuple[Line, _Geometry | None], heading: bool) -> bool:
    """Does `nxt` continue the paragraph whose last line is `prev` (`heading`: that paragraph is one)?"""
    (line, geo), (following, next_geo) = prev, nxt
    if is_heading(following, next_geo):
        return False
    ends_sentence = line.text.rstrip().endswith(SENTENCE_END)
    if geo is None or next_geo is None:
        return not heading and not ends_sentence
    if next_geo.indented(following):
        return False
    if heading or ends_sentence:
        return not geo.short(line, 1.5)  # a full line: the heading or sentence wraps on
    return not geo.short(line, SHORT_LINE_EMS)
