"""Reading checks: a value goes out unflagged only if it could not be this wrong unnoticed.

OCR confidence alone lets wrong values through: a lost decimal point (`2.50` → `250`) or two
cells read as one (`=100.00(%)100.00(%)`) are read with full confidence. The forms give more
to check against than the engine knows, and every indicator row is checked here before the
scoring rules run:

- closed vocabularies: 一级 and 二级 labels are words of the forms (the catalogue's vocabulary; a label OCR
  slipped on was snapped when read, `forms.indicators`), and a 二级 belongs to its 一级;
- a seal over a number: 分值 / 得分 read with a seal's characters (`correct.seal_glyphs`);
- column grammar: 年度指标值 / 完成值 hold one value — `op number (unit)` or words — not two,
  and not the same text twice; a strict `>`/`<` read by OCR may be ≥/≤ without its bar, and a
  numeric 年度指标值 without a sign in a column that writes them is a sign lost at the cell's edge; 分值 / 得分 have at least the decimals the rest of their
  column has (`250` among `1.50`s is a lost point);
- the money block: 全年预算数 and 全年执行数 the same on every line while an 执行率 is not 100 is
  one column read twice;
- structure: a row of the unit form has its 一级's 权重 (at most the form's 100 points); a row with values has a 三级 name
  (except in the 投入管理 block, which has the form's note or nothing, and one row per 二级: a
  二级 label running on over later rows is a lost ruling).

A row that fails is flagged (`needs_review`) with the reason in its note. This module changes no
value: repairs that arithmetic can prove are `repair.py`'s, and what the unit did wrong is
the rules' (`checks/`), which only trust rows that pass here.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from ..forms.catalog import Catalogue, default_catalogue
from ..records import TEXT_ENGINES, Document, FundingLine, Indicator, Provenance

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def verify(doc: Document, catalogue: Catalogue | None = None) -> Document:
    """The document with every indicator row that fails a reading check flagged, reason in its note
    (labels checked against `catalogue`'s vocabulary; default: configs/forms.yaml)."""
    catalogue = catalogue or default_catalogue()
    form = doc.header.form_type
    decimals = {name: _usual_decimals([getattr(i, name) for i in doc.indicators]) for name in ("max_score", "score")}
    signed = _targets_signed([i.target for i in doc.indicators])
    spec = catalogue.forms.get(form)
    has_weights = spec is not None and spec.weight_column  # its 一级 column has a 权重 beside it
    rows = []
    seen_input: dict[str, int] = {}  # 投入管理 二级 → the first row it labels
    note_block = catalogue.vocabulary.note_level1
    under_seal = {(c.seq, c.field) for c in doc.corrections if c.kind == "seal_glyph"}
    for ind in doc.indicators:
        if ind.level1 == note_block:
            seen_input.setdefault(ind.level2, ind.seq)
        reasons = _row_problems(ind, form, decimals, has_weights, seen_input, catalogue)
        reasons += [f"{label} read with a seal's characters over it: are its figures whole?"
                    for name, label in (("max_score", "分值"), ("score", "得分")) if (ind.seq, name) in under_seal]
        if signed and _UNSIGNED.match(ind.target):
            reasons.append(f"年度指标值 “{ind.target}” has no sign where the rest of its column has one: lost at the cell's edge?")
        if reasons:
            note = "; ".join(r for r in [ind.note, *reasons] if r)
            ind = ind.model_copy(update={"needs_review": True, "note": note})
        rows.append(ind)
    return doc.model_copy(update={"indicators": rows, "funding": _checked_funding(doc)})


def _checked_funding(doc: Document) -> list[FundingLine]:
    """The money block, flagged when its 全年预算数 and 全年执行数 are the same figures on every
    line while some 执行率 is not 100: one column's cells read under both headers."""
    lines = doc.funding
    known = [f for f in lines if f.budget and f.executed is not None]  # an empty line (0.00) has no rate to check
    twins = len(known) >= 2 and all(f.budget == f.executed for f in known)
    if not twins or not any(f.execution_rate is not None and f.execution_rate != 100 for f in known):
        return lines
    return [f.model_copy(update={"needs_review": True}) if f in known else f for f in lines]


def _row_problems(
    ind: Indicator, form: str, decimals: dict[str, int | None], has_weights: bool, seen_input: dict[str, int],
    catalogue: Catalogue,
) -> list[str]:
    vocabulary = catalogue.vocabulary
    level1s, level2s, note_block = vocabulary.level1, vocabulary.level2_to_level1, vocabulary.note_level1
    out: list[str] = []
    if ind.level1 not in level1s:
        out.append(f"一级 “{ind.level1}” is not a 一级 label of the form" if ind.level1 else "一级 not read")
    if ind.level2 not in level2s:
        out.append(f"二级 “{ind.level2}” is not a 二级 label of the form" if ind.level2 else "二级 not read")
    elif ind.level1 in level1s and catalogue.level1_for(ind.level2, form) not in (ind.level1, ""):
        out.append(f"二级 {ind.level2} does not belong under 一级 {ind.level1}")
    if ind.level1 == note_block and ind.level2 in level2s and seen_input.get(ind.level2, ind.seq) != ind.seq:
        out.append(f"二级 {ind.level2} on a second row: each 投入管理 二级 is one row of the form")
    if has_weights and ind.level1_weight is None:
        out.append("权重 not read")
    elif ind.level1_weight is not None and ind.level1_weight > 100:
        out.append(f"权重 {ind.level1_weight} is more than the form's 100 points: two blocks' weights read as one?")
    if not ind.level3 and ind.level1 != note_block and (ind.target or ind.actual or ind.max_score is not None):
        out.append("三级 name not read")
    for name, label in (("target", "年度指标值"), ("actual", "完成值")):
        problem = _measure_problem(getattr(ind, name))
        if problem:
            out.append(f"{label} {problem}")
        elif _lost_bar(getattr(ind, name), ind.provenance.get(name)):
            out.append(f"{label} “{getattr(ind, name)}” read from pixels: is it ≥/≤ with its bar lost?")
    if bool(ind.target) != bool(ind.actual):
        out.append("年度指标值 or 完成值 missing")
    for name, label in (("max_score", "分值"), ("score", "得分")):
        value, usual = getattr(ind, name), decimals[name]
        if value is not None and usual is not None and _decimals(value) < usual:
            out.append(f"{label} {value} is not written like the rest of its column ({usual} decimals): a lost point?")
    return out


def _measure_problem(text: str) -> str:
    """Why a 年度指标值/完成值 cell cannot be one value, or ""."""
    if not text:
        return ""
    half = len(text) // 2
    if len(text) % 2 == 0 and half >= 2 and text[:half] == text[half:]:
        return f"“{text}” is one value twice: two cells read as one"
    # Two numbers with something other than a decimal point between them: `=100.00(%)100.00(%)`,
    # `2次3次` — not `2.5`, `100.00` or `全年不少于2次`.
    gaps = re.findall(r"\d([^\d.]+)(?=\d)", text)
    if len(_NUMBER.findall(text)) >= 2 and any(g.strip() for g in gaps):
        return f"“{text}” holds more than one value"
    # A value in its unit's brackets, and words after it: `100.00(%)及时` (the cell below ran into it).
    if re.search(r"\d\s*[(（][^)）]*[)）]\s*[\u3400-\u9fff]", text):
        return f"“{text}” holds a value and more words: two cells read as one?"
    if text.count("(") + text.count("（") != text.count(")") + text.count("）"):
        return f"“{text}” has a bracket without its pair: a glyph lost at the cell's edge?"
    if re.match(r"^[=≥≤><]{2,}", text):
        return f"“{text}” starts with two comparison signs"
    return ""


def _lost_bar(text: str, source: Provenance | None) -> bool:
    """A strict `>`/`<` recognised from pixels: the forms write targets with ≥ and ≤ far more
    often, and OCR drops the thin bar under the sign with full confidence (`≥90.00(%)` →
    `>90.00(%)`). A text layer has the sign itself."""
    return source is not None and source.engine not in TEXT_ENGINES and bool(re.match(r"^[><](?!=)", text))


_SIGNED = re.compile(r"^[=≥≤><]")
_UNSIGNED = re.compile(r"^\d+(?:\.\d+)?\s*(?:[(（%]|$)")  # `4.00(份)`, `95%`, `12` — not `0发生`


def _targets_signed(targets: list[str]) -> bool:
    """Whether this table writes its numeric targets with a sign (`=4.00(份)`, `≥90.00(%)`): four in
    five of them, and at least three, do."""
    numeric = [t for t in targets if _SIGNED.match(t) or _UNSIGNED.match(t)]
    signed = sum(1 for t in numeric if _SIGNED.match(t))
    return signed >= 3 and signed >= 0.8 * len(numeric)


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _usual_decimals(values: list[Decimal | None]) -> int | None:
    """The number of decimals a column writes, when at least four in five of its values agree."""
    counts = Counter(_decimals(v) for v in values if v is not None)
    if not counts:
        return None
    usual, n = counts.most_common(1)[0]
    return usual if n >= 0.8 * sum(counts.values()) and n >= 3 else None
