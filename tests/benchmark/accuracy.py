"""Indicator accuracy that any system's table can be scored by, perfscan's and the peers' alike.

The question asked of every system: of the values a person reads off each indicator row
(三级指标, 年度指标值, 完成值, 分值, 得分), how many appear exactly in the row the system put that
indicator in? It needs no column mapping, so a peer that only gives text lines is scored the
same way as one that gives cells.

- The truth row is located by its 三级指标 text (by 二级指标 for the 投入管理 rows, which have no
  三级): the output row with a cell equal to it, else the first whose text contains it (one
  line cut into two boxes). Text is compared normalised: NFKC (full-width ASCII and brackets
  folded), whitespace removed, quote styles made one.
- Systems without table structure (boxes grouped into lines) wrap a long cell into several
  lines, with the row's other cells vertically centred between them; for them a "row" may be a
  window of up to three consecutive lines, the smallest that contains the key. Within a window
  the boxes are read column by column (boxes sharing most of their width, top to bottom).
- A value counts as found when it equals a token of that row or a column of it (numbers as
  decimals: `7.5` = `7.50`); for line-based systems also a run of neighbouring boxes on one line,
  since a word-level OCR splits `≥48(场)` into pieces. Empty truth values are not counted; the key itself counts as found
  when the row is found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipeline.forms.indicators import NOTE
from pipeline.records import Document, Indicator

from .tokens import Row, Token

VALUE_FIELDS = ("level3", "target", "actual", "max_score", "score")
LINE_WINDOW = 3
_PHRASE = 6  # up to this many neighbouring boxes on a line may spell one value (`>48(` `场` `)`)
_SAME_COLUMN = 0.5  # share of the narrower box's width two boxes must share to be one column
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "＂": '"'})


@dataclass
class Share:
    found: int = 0
    counted: int = 0

    def add(self, other: Share) -> None:
        self.found += other.found
        self.counted += other.counted

    @property
    def value(self) -> float | None:
        return self.found / self.counted if self.counted else None


def normalise(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).translate(_QUOTES)


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def same_value(expected: str, observed: str) -> bool:
    if expected == observed:
        return True
    a, b = _number(expected), _number(observed)
    return a is not None and a == b


def columns(tokens: list[Token]) -> list[str]:
    """The tokens read as columns: boxes that overlap in x (by half the narrower one: neighbours on
    a line may touch), top to bottom; columns left to right."""
    groups: list[tuple[float, float, list[Token]]] = []
    for token in sorted(tokens, key=lambda t: t.x0):
        for i, (x0, x1, members) in enumerate(groups):
            overlap = min(x1, token.x1) - max(x0, token.x0)
            if overlap > _SAME_COLUMN * min(x1 - x0, token.x1 - token.x0):
                members.append(token)
                groups[i] = (min(x0, token.x0), max(x1, token.x1), members)
                break
        else:
            groups.append((token.x0, token.x1, [token]))
    return ["".join(normalise(t.text) for t in sorted(members, key=lambda t: t.y0)) for _, _, members in groups]


class RowIndex:
    """One document's output rows, searchable for the window that holds a key."""

    def __init__(self, rows: list[Row], structured: bool):
        self.rows = [r for r in rows if r]
        self.spans = (1,) if structured else tuple(range(1, LINE_WINDOW + 1))
        self.phrases = not structured
        self._windows = {span: [self._window(i, span) for i in range(len(self.rows) - span + 1)]
                         for span in self.spans}

    def _window(self, start: int, span: int) -> tuple[str, set[str]]:
        rows = self.rows[start:start + span]
        tokens = [t for row in rows for t in row]
        cols = columns(tokens)
        values = {normalise(t.text) for t in tokens} | set(cols)
        if self.phrases:
            for row in rows:
                texts = [normalise(t.text) for t in sorted(row, key=lambda t: t.x0)]
                values |= {"".join(texts[i:j]) for i in range(len(texts))
                           for j in range(i + 2, min(len(texts), i + _PHRASE) + 1)}
        return "".join(cols), values

    def find(self, key: str) -> set[str] | None:
        """The values of the smallest, top-most window with `key` as a token or column; failing
        that, of the first whose text contains it (a line the detector cut into two boxes).
        Exact first, so that a narrative cell quoting an indicator's name does not win."""
        for exact in (True, False):
            for span in self.spans:
                for text, values in self._windows[span]:
                    if (key in values) if exact else (key in text):
                        return values
        return None


def indicator_row_share(ind: Indicator, index: RowIndex) -> Share:
    raw = {name: getattr(ind, name) for name in VALUE_FIELDS}
    expected = {k: normalise(str(v)) for k, v in raw.items() if v is not None and str(v).strip()}
    # The 投入管理 note is the 三级 of seven rows; each of them is found by its 二级, as before.
    own_name = expected.get("level3") if not NOTE.match(ind.level3) else ""
    key = own_name or normalise(ind.level2)
    values = index.find(key) if key else None
    if values is None:
        return Share(0, len(expected))
    found = sum(name == "level3" or any(same_value(v, o) for o in values) for name, v in expected.items())
    return Share(found, len(expected))


def indicator_share(truth: Document, rows: list[Row], structured: bool) -> Share:
    """Share of the document's truth indicator values found in the matching output row."""
    index = RowIndex(rows, structured)
    total = Share()
    for ind in truth.indicators:
        total.add(indicator_row_share(ind, index))
    return total
