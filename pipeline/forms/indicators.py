"""The 分解目标自评 table: indicator rows, their levels, and the 总分 row.

Shared by both table forms; the columns are found by header text. What this module decides:
- a merged cell's text applies to every row it spans (grid routes give spans, `dense()` repeats it);
- in text input (no spans), 一级 comes from 二级 (the catalogue's vocabulary), 二级 from the nearest label of its
  block, and a label that appears before its block's first row is read as the block's label;
- a row whose (分值, 得分) pair sits left of its columns was shifted by the extraction: realign it;
- the 投入管理 note (`根据沪财绩…13号…`) is the 三级 of every row it spans, which have no values
  (in text input, where it sits on one row, it is given to every row of its block);
- a row that lacks 分值 or 得分 (cut by a page break, lost cells) is kept and flagged, never dropped;
- a cell that covers two columns the forms keep apart (a lost ruling) flags its row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from ..correct import parse_decimal, parse_measure
from ..records import Correction, Indicator, Provenance, Totals
from ..types import Cell
from .catalog import Catalogue
from .fields import FieldReader
from .layout import Column, Row, aligned_pages, column_at, column_lines, label_of, map_columns, split_joined
from .levels import level1_of_level2, snapped, weight_in_label
from .totals import read_totals

NOTE = re.compile(r"^根据.*(规定|要求|13号)")
TOTAL = re.compile(r"^总分$|^合计$|^总计$")
# `标总分`: the 一级 cell above ran into the 总分 label (a lost ruling). Taken as the 总分 row only
# when the row holds no 年度指标值/完成值.
TOTAL_RUN_INTO = re.compile(r"总分$")
_LEVEL_STROKES_LOST = re.compile(r"^\W?级指标$")  # 二级指标 / 三级指标 without the strokes of 二 and 三


@dataclass(frozen=True)
class IndicatorTable:
    indicators: list[Indicator]
    totals: Totals


def is_header(row: Row, catalogue: Catalogue) -> bool:
    """The indicator table's header: 三级指标 and the scores, or 三级 and two more of its columns
    (a blurred photo's header reads `雅` and `粉分` for 分值 and 得分) — or, with 三级 read `级指标`
    (the strokes of 二 and 三 lost on a 1-bit scan), four of 一级, 年度指标值, 完成值, 分值 and 得分
    (the money block's header has two of them at most); the unnamed cells between them are placed
    by the form's column order (`complete_columns`). A header naming a column in words the
    catalogue does not know (`指标名称`) is not read by position: its synonym goes in the catalogue."""
    cols = map_columns(row, catalogue.columns.indicators)
    if "level3" not in cols:
        garbled = any(_LEVEL_STROKES_LOST.match(row.label(i)) for i in range(len(row.cells)))
        return garbled and len({"level1", "target", "actual", "max_score", "score"} & set(cols)) >= 4
    return "max_score" in cols or "score" in cols or len({"level1", "level2", "target", "actual"} & set(cols)) >= 2


def complete_columns(
    header: Row, cols: dict[str, Column], order: tuple[str, ...], lines: Sequence[float] = ()
) -> dict[str, Column]:
    """The header's columns with those its text did not name filled in from the form's column order
    (`order`: the catalogue's indicator columns, left to right, 权重 only on some forms).

    - One header cell named for two neighbouring columns (`年度指标值全年完成值`, `分值得分`, the
      ruling between them lost) is split, when the route gives boxes: at the column ruling of the
      rows below (`lines`, x positions) nearest its middle, else at its middle (二级 and 三级 are
      not equally wide).
    - Header cells named for nothing, between two named ones (or right of the last), take the
      missing columns of that stretch in `order`, when there are exactly as many of each.
    """
    cols = split_joined(cols, order, lines)
    header_cells = [i for i, cell in enumerate(header.cells)
                    if cell is not None and cell.text.strip() and (i == 0 or header.cells[i - 1] is not cell)]
    named = {c.index: max(order.index(n) for n, c2 in cols.items() if c2.index == c.index) for c in cols.values()}
    stretch: list[int] = []
    previous = -1
    for i in [*header_cells, None]:
        if i is not None and i not in named:
            stretch.append(i)
            continue
        following = named[i] if i is not None else len(order)
        missing = [n for n in order[previous + 1 : following] if n not in cols]
        if stretch and len(missing) == len(stretch):
            for index, name in zip(stretch, missing, strict=True):
                cols[name] = column_at(header, index)
        stretch = []
        previous = named[i] if i is not None else previous
    return cols


def _shared_lines(rows: list[Row], header_index: int) -> list[float]:
    """Column rulings of the header's table (x, header page) that every later page's table has too.

    A photo's pages lie under different perspectives: a ruling of page 1 is elsewhere on page 2,
    and a header cell split there would misplace page 2's cells.
    """
    header = rows[header_index]
    if header.left is None:
        return []
    table = [r for r in rows[header_index + 1 :] if r.left is not None]
    lines = column_lines([r for r in table if r.page == header.page and r.left == header.left])
    if not len(lines):
        return []
    tolerance = 0.01 * (lines[-1] - lines[0])
    for page in {r.page for r in table} - {header.page}:
        part = [r for r in table if r.page == page]
        other = column_lines(part) - (part[0].left - header.left)
        lines = np.asarray([x for x in lines if len(other) and np.abs(other - x).min() <= tolerance])
    return [float(x) for x in lines]


def _numeric(row: Row, col: int) -> bool:
    return parse_decimal(row.label(col)) is not None


def _realign(row: Row, cols: dict[str, Column]) -> tuple[Row, bool]:
    """Shift a text row right when its (分值, 得分) pair sits left of the header's columns.

    Only for input without boxes: with boxes, cells are placed by position already.
    """
    if row.left is not None or "max_score" not in cols or "score" not in cols:
        return row, False
    m, s = cols["max_score"].index, cols["score"].index
    if s != m + 1 or (_numeric(row, m) and _numeric(row, s)):
        return row, False
    for k in range(m - 1, 0, -1):
        if _numeric(row, k) and _numeric(row, k + 1):
            shift = m - k
            cells = (None,) * shift + row.cells[: len(row.cells) - shift]
            return Row(page=row.page, cells=cells, first_on_page=row.first_on_page, left=row.left), True
    return row, False


def read_indicator_table(
    rows: list[Row], header_index: int, form_type: str, reader: FieldReader, catalogue: Catalogue
) -> IndicatorTable:
    rows = aligned_pages(rows, header_index)
    roles = catalogue.columns.indicators
    header = rows[header_index]
    named = map_columns(header, roles)
    spec = catalogue.forms[form_type]
    # 权重 is a column of some forms only: on the others it takes no unnamed header cell.
    weighted = "weight" in named or spec.weight_column
    order = tuple(r for r in roles if r != "weight" or weighted)
    cols = complete_columns(header, named, order, _shared_lines(rows, header_index))
    if "weight" not in cols and spec.weight_column:
        cols = _find_weight_column(rows, header_index, cols)
    known = [v for k, v in cols.items() if k != "reason"]
    last = max(known, key=lambda c: c.index)
    # The reason column, and every cell right of the last known column (OCR spreads a long
    # reason over several cells; a split header such as `偏` | `差原因分析` does not move it).
    reason_col = Column(last.index + 1, max((c.x1 for c in known if c.x1 is not None), default=None),
                        float("inf"), last.left)
    if reason_col.x0 is None:
        reason_col = Column(min(cols["reason"].index, last.index + 1) if "reason" in cols else last.index + 1)
    with_spans = any(c is not None and c.engine != "text" for r in rows for c in r.cells)
    vocabulary = catalogue.vocabulary

    indicators: list[Indicator] = []
    totals = Totals()
    weights: dict[str, tuple[Decimal, Provenance | None]] = {}
    level2_labels: list[tuple[int, str]] = []  # (index into indicators, label) where a 二级 label was seen
    explicit_level1: dict[int, str] = {}

    def cells(row: Row, name: str) -> list[Cell]:
        return row.under(cols[name]) if name in cols else []

    for row in rows[header_index + 1 :]:
        if row.is_blank() or is_header(row, catalogue):
            continue
        row, shifted = _realign(row, cols)
        first_labels = [label_of(c.text) for c in row.unique_cells()[:4]]
        run_into = any(TOTAL_RUN_INTO.search(t) for t in first_labels if t)
        if any(TOTAL.match(t) for t in first_labels if t) or (
            run_into and not cells(row, "target") and not cells(row, "actual")
        ):
            totals = read_totals(row, cols.get("max_score"), cols.get("score"), reader)
            break

        seq = len(indicators) + 1
        prov: dict[str, Provenance] = {}
        values: dict[str, object] = {}
        notes: list[str] = []
        for name, kind in (("level1", "name"), ("level2", "name"), ("level3", "name"),
                           ("target", "measure"), ("actual", "measure")):
            text, p = reader.text(cells(row, name), kind, name, seq)
            values[name] = text
            if p is not None:
                prov[name] = p
        score_cells = cells(row, "score")
        if not score_cells and "score" in cols:
            # A 得分 joined to the 偏差原因 column beside it (the ruling between them lost) is still the 得分.
            score_cells = [c for c in row.beginning_in(cols["score"]) if parse_decimal(c.text.strip()) is not None]
        reason_cells = [c for c in row.under(reason_col, to_right=True) if c not in score_cells]
        reason, p = reader.text(reason_cells, "text", "deviation_reason", seq)
        if reason and not re.search(r"[\u3400-\u9fff]", reason):
            reader.corrections.append(_dropped(p, seq, reason))
            reason, p = "", None
        values["deviation_reason"] = reason
        if p is not None:
            prov["deviation_reason"] = p
        numbers: dict[str, Decimal | None] = {}
        for name in ("max_score", "score", "weight"):
            value, text, p = reader.number(score_cells if name == "score" else cells(row, name), name, seq)
            numbers[name] = value
            if p is not None:
                prov[name] = p
            if text and value is None:
                notes.append(f"{name} not a number: {text}")

        if _stamp_words(str(values["deviation_reason"]), numbers):
            reader.corrections.append(_dropped(prov.pop("deviation_reason", None), seq, str(values["deviation_reason"]),
                                               "stamp"))
            values["deviation_reason"] = ""
        noted = next((k for k in ("level3", "target", "actual") if NOTE.match(str(values[k]))), None)
        if noted is not None:
            # The note cell spans the block's 三级/年度指标值/完成值 columns: by the merged-cell
            # rule it is the 三级 of every row it spans, and those rows have no values.
            values["level3"] = values[noted]
            values["target"] = values["actual"] = ""
            if noted != "level3" and noted in prov:
                prov["level3"] = prov[noted]
            for k in ("target", "actual"):
                prov.pop(k, None)
        joined = _joined_columns(row, cols) if noted is None else []
        if joined:
            notes.append(f"{' and '.join(LABELS[n] for n in joined)} read as one cell (a ruling lost): "
                         "their texts may be mixed")
        spanned = [name for name in ROW_OWN if any(c.rowspan > 1 for c in cells(row, name))] if noted is None else []
        if spanned:
            notes.append(f"{' and '.join(LABELS[n] for n in spanned)} read as one cell over several rows "
                         "(a ruling lost): the rows' texts may be mixed")
        if not any(values[k] for k in ("level2", "level3")) and numbers["max_score"] is None and numbers["score"] is None:
            continue  # a stray line (stamp, ruling fragment) with nothing of an indicator

        if spec.weight_column and numbers["weight"] is None:
            values["level1"], numbers["weight"] = weight_in_label(reader, row.page, seq, str(values["level1"]), prov)
        level1 = vocabulary.canonical_level1(str(values["level1"])) if values["level1"] else ""
        level1 = snapped(reader, row.page, seq, "level1", level1, vocabulary.level1, prov)
        values["level2"] = snapped(reader, row.page, seq, "level2", str(values["level2"]), vocabulary.level2, prov)
        level1 = level1_of_level2(reader, row.page, seq, level1, str(values["level2"]), form_type, catalogue, prov)
        if level1:
            explicit_level1[seq] = level1
            if numbers["weight"] is not None:
                weights[level1] = (numbers["weight"], prov.get("weight"))
        level2 = str(values["level2"])
        if level2:
            level2_labels.append((seq, level2))

        if shifted:
            reader.corrections.append(Correction(
                page=row.page, seq=seq, field="row", raw=" | ".join(c.text for c in row.cells if c),
                corrected="realigned by the 分值/得分 pair", kind="column_shift"))
        if values["level3"] and (numbers["max_score"] is None or numbers["score"] is None):
            notes.append("分值 or 得分 missing (row cut by a page break or cells lost)")
        target, actual = str(values["target"]), str(values["actual"])
        t_op, t_val, t_unit = parse_measure(target)
        _, a_val, a_unit = parse_measure(actual)
        confidence = min([p.confidence for p in prov.values()] or [1.0])
        indicators.append(
            Indicator(
                seq=seq, page=row.page, level1=level1, level2=level2, level3=str(values["level3"]),
                target=target, target_op=t_op, target_value=t_val, target_unit=t_unit,
                actual=actual, actual_value=a_val, actual_unit=a_unit,
                max_score=numbers["max_score"], score=numbers["score"],
                deviation_reason=str(values["deviation_reason"]), confidence=confidence,
                needs_review=bool(notes), note="; ".join(notes), provenance=prov,
            )
        )

    indicators = _assign_levels(indicators, level2_labels, explicit_level1, weights, form_type, with_spans, catalogue)
    indicators = _spread_notes(indicators)
    return IndicatorTable(indicators=indicators, totals=totals)


LABELS = {"level1": "一级", "weight": "权重", "level2": "二级", "level3": "三级", "target": "年度指标值",
          "actual": "完成值", "max_score": "分值", "score": "得分"}
"""The columns no row of the forms merges (the 投入管理 note, which spans 三级 to 完成值, aside)."""


JOINED_SHARE = 0.75
"""…of a column's width a cell covers to hold that column: a photo's cells, placed under a header read
at another perspective, reach past the middle of a narrow neighbour (权重) without holding it."""


ROW_OWN = ("level3", "target", "actual", "max_score", "score")
"""Columns every indicator row fills on its own: one of their cells over several rows is a row
ruling lost (two 三级 names read as one and repeated on both rows), unless it is the
投入管理 note, which spans its block by design."""


def _joined_columns(row: Row, cols: dict[str, Column]) -> list[str]:
    """The columns one cell of this row covers (`JOINED_SHARE` of their width), when two or more.

    A ruling lost between two cells makes one cell of them: `可持续影响` (二级) and
    `文化阵地长效管理机制健全性` (三级) read as one, their lines interleaved, and the block's
    label carried on from the block above. Only the route with boxes can tell.
    """
    if row.left is None:
        return []
    for cell in row.unique_cells():
        if cell.bbox is None or not cell.text.strip():
            continue
        covered = []
        for name in LABELS:
            column = cols.get(name)
            if column is None or column.x0 is None or column.x1 is None:
                continue
            shift = row.left - column.left
            overlap = min(cell.bbox.x1, column.x1 + shift) - max(cell.bbox.x0, column.x0 + shift)
            if overlap >= JOINED_SHARE * (column.x1 - column.x0):
                covered.append(name)
        if len(covered) >= 2:
            return covered
    return []


def _find_weight_column(rows: list[Row], header_index: int, cols: dict[str, Column]) -> dict[str, Column]:
    """The unit form's 权重 column when its header cell ran into a neighbour (`权二级指标`,
    `一级指权标重`): the first grid column right of 一级's start whose cells below the header on
    that page are weights (whole numbers up to 100). 一级 ends and 二级 starts beside it."""
    header = rows[header_index]
    level1 = cols.get("level1")
    cell = header.cell(level1.index) if level1 is not None else None
    if cell is None or header.left is None:
        return cols
    for index in range(level1.index + 1, level1.index + cell.colspan + 1):
        below = [r.cell(index) for r in rows[header_index + 1 :] if r.page == header.page and r.left == header.left]
        found = list(dict.fromkeys(c for c in below if c is not None and c.text.strip() and c.bbox is not None))
        weights = [c for c in found if re.fullmatch(r"\d{1,3}", label_of(c.text)) and int(label_of(c.text)) <= 100]
        if weights and len(weights) >= 0.6 * len(found):
            break
    else:
        return cols
    x0, x1 = min(c.bbox.x0 for c in weights), max(c.bbox.x1 for c in weights)
    out = {**cols, "weight": Column(index, x0, x1, header.left)}
    if "level1" in out and out["level1"].x1 is not None and out["level1"].x1 > x0:
        out["level1"] = replace(out["level1"], x1=x0)
    if "level2" in out and out["level2"].x0 is not None and out["level2"].x0 < x1:
        out["level2"] = replace(out["level2"], x0=x1)
    return out


def _dropped(p: Provenance | None, seq: int, text: str, kind: str = "garbage") -> Correction:
    """A reason cell without any Chinese is ruling/stamp residue (`-8711`), not a reason."""
    return Correction(page=p.page if p else None, seq=seq, field="deviation_reason", raw=text,
                      corrected="", kind=kind, confidence=p.confidence if p else 1.0)


STAMP_WORDS_MAX = 4
"""A 偏差原因 is a sentence; the seal stamped over the table's last rows is read in that column as
a few characters of its ring (`城市`, `丁理`, `市运行限`)."""


def _stamp_words(reason: str, numbers: dict[str, Decimal | None]) -> bool:
    """Whether a reason is a seal's text: a few characters on a row with full marks, where the
    rules ask for no reason. Dropped, it is in corrections.csv (kind `stamp`); what it cost is at
    most a reason nobody had to give, so the row is not flagged for it."""
    full = numbers["max_score"] is not None and numbers["score"] == numbers["max_score"]
    return full and 0 < len(reason) <= STAMP_WORDS_MAX


def _spread_notes(rows: list[Indicator]) -> list[Indicator]:
    """A 一级 block's note (read on one row of a text extraction) is the 三级 of each of its rows
    that has no 三级 and no values, as the merged note cell is on a scan."""
    notes = {r.level1: r for r in rows if NOTE.match(r.level3)}
    out = []
    for r in rows:
        source = notes.get(r.level1)
        if source is not None and not (r.level3 or r.target or r.actual):
            prov = {**r.provenance, **({"level3": source.provenance["level3"]} if "level3" in source.provenance else {})}
            r = r.model_copy(update={"level3": source.level3, "provenance": prov})
        out.append(r)
    return out


def _labels_after_the_break(rows: list[Indicator], labels: dict[int, str]) -> dict[int, str]:
    """二级 labels for the last rows of a page whose 二级 cell is empty, from the first row of the next page.

    A block cut by a page break may carry its label on one part only. With merged cells, an empty
    二级 cell is a cell of its own — not the block above, whose label would be repeated on every row
    it spans — so when the next page opens with a label, the block is that one, continued.
    """
    out: dict[int, str] = {}
    for k in range(len(rows) - 1):
        here, following = rows[k], rows[k + 1]
        if here.seq in labels or following.page == here.page or following.seq not in labels:
            continue
        j = k
        while j >= 0 and rows[j].seq not in labels and rows[j].page == here.page:
            out[rows[j].seq] = labels[following.seq]
            j -= 1
    return out


def _assign_levels(
    rows: list[Indicator],
    level2_labels: list[tuple[int, str]],
    explicit_level1: dict[int, str],
    weights: dict[str, tuple[Decimal, Provenance | None]],
    form_type: str,
    with_spans: bool,
    catalogue: Catalogue,
) -> list[Indicator]:
    """Fill 二级 over each block and 一级 from 二级; attach each 一级's 权重."""
    out: list[Indicator] = []
    labels = dict(level2_labels)
    first_label = level2_labels[0][1] if level2_labels else ""
    current = first_label
    current_l1 = ""
    ahead = _labels_after_the_break(rows, labels) if with_spans else {}
    for ind in rows:
        level2 = labels.get(ind.seq) or ahead.get(ind.seq) or (ind.level2 if with_spans and ind.level2 else "") or current
        current = level2
        derived = catalogue.level1_for(level2, form_type) if level2 in catalogue.vocabulary.level2_to_level1 else ""
        explicit = explicit_level1.get(ind.seq, "")
        if with_spans and explicit:
            level1 = explicit
        else:
            level1 = derived or explicit or current_l1
        current_l1 = level1
        update: dict[str, object] = {"level2": level2, "level1": level1}
        if level1 in weights:
            update["level1_weight"] = weights[level1][0]
            if weights[level1][1] is not None and "weight" not in ind.provenance:
                update["provenance"] = {**ind.provenance, "level1_weight": weights[level1][1]}
        out.append(ind.model_copy(update=update))
    return out
