"""A document → the values a person should check, each with why: read below the review
confidence, named by the reason its row was flagged while reading (`二级 … not a 二级 label` names
the 二级 cell; a reason that names no cell flags the row's cells), repaired by arithmetic, or named by
a finding (seq + field, see `checks.cells.Ref`). The review pages (`review.py`) and the review app
(`reviewapp.py`) show the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks.cells import Ref, provenance_of, value_of
from ..records import AppliedReview, Correction, Document, Finding, Indicator, Provenance
from .export import cell as _csv_text  # values shown exactly as the CSVs write them

CROP_PAD = 6
FIELD_LABELS = {
    "level1": "一级指标", "level1_weight": "权重", "level2": "二级指标", "level3": "三级指标",
    "target": "年度指标值", "actual": "完成值", "max_score": "分值", "score": "得分",
    "deviation_reason": "偏差原因", "initial_budget": "年初预算数", "budget": "全年预算数",
    "executed": "全年执行数", "execution_rate": "执行率", "year": "年度", "unit_name": "单位名称",
    "project_name": "项目名称", "supervising_dept": "主管部门", "form_type": "表式", "value": "数值",
}
CORRECTION_ALIASES = {"total_max_score": "totals.max_score", "total_score": "totals.score"}
# A field the reading keeps its provenance under another name.
PROVENANCE_FIELD = {"weight": "level1_weight"}
# What a row's note names (verify.py's labels, the field names of repairs and of numbers not read).
NOTE_NAMES = [("年度指标值", "target"), ("完成值", "actual"), ("一级", "level1"), ("二级", "level2"),
              ("三级", "level3"), ("权重", "level1_weight"), ("分值", "max_score"), ("得分", "score"),
              ("偏差", "deviation_reason"), ("max_score", "max_score"), ("weight", "level1_weight"),
              ("score", "score"), ("target", "target"), ("actual", "actual")]


@dataclass
class FlaggedCell:
    ref: Ref
    where: str
    value: str
    prov: Provenance | None
    why: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    number: int = 0  # position on the document's page; names its anchor there and in page views
    decided: AppliedReview | None = None  # what a person decided on it (applied by the last rebuild)

    @property
    def anchor(self) -> str:
        return f"cell-{self.number}"


@dataclass
class Review:
    """What one document's page shows."""

    doc: Document
    cells: list[FlaggedCell]
    document_findings: list[Finding]


def _where(doc: Document, ref: Ref) -> str:
    label = FIELD_LABELS.get(ref.field, ref.field)
    if ref.part == "indicator":
        ind = next((i for i in doc.indicators if i.seq == ref.key), None)
        name = (ind.level3 or ind.level2) if ind else ""
        return f"row {ref.key} {name} · {label}"
    if ref.part == "funding":
        return f"{ref.key} · {label}"
    if ref.part == "totals":
        return f"总分 · {label}"
    if ref.part == "fact":
        return f"report figure {ref.key}"
    return f"header · {label}"


def collect(doc: Document, review_confidence: float) -> Review:
    """The flagged cells of a document, in table order, with their findings and corrections."""
    cells: dict[Ref, FlaggedCell] = {}

    def flag(ref: Ref, why: str, prov: Provenance | None = None) -> FlaggedCell:
        cell = cells.get(ref)
        if cell is None:
            value = value_of(doc, ref)
            if ref.part == "fact":
                fact = next(f for f in doc.facts if f.key == ref.key)
                value = f"{_csv_text(fact.value)} {fact.unit} — {fact.text}"
            cell = cells[ref] = FlaggedCell(ref, _where(doc, ref), _csv_text(value), prov or provenance_of(doc, ref))
        if why and why not in cell.why:
            cell.why.append(why)
        return cell

    def unsure(prov: Provenance) -> bool:
        return prov.confidence < review_confidence

    for line in doc.funding:
        for name, prov in line.provenance.items():
            if unsure(prov):
                flag(Ref("funding", line.item, name), f"read with confidence {prov.confidence:.2f}", prov)
            elif line.needs_review:
                flag(Ref("funding", line.item, name), "row flagged", prov)
    for ind in doc.indicators:
        provs = {PROVENANCE_FIELD.get(name, name): prov for name, prov in ind.provenance.items()}
        for name, prov in provs.items():
            if unsure(prov):
                flag(Ref("indicator", ind.seq, name), f"read with confidence {prov.confidence:.2f}", prov)
        if ind.needs_review:
            why = f"row flagged: {ind.note}" if ind.note else "row flagged"
            for name in named_by_note(ind):
                flag(Ref("indicator", ind.seq, name), why, provs.get(name))
    for name, prov in doc.totals.provenance.items():
        if unsure(prov):
            flag(Ref("totals", "", name), f"read with confidence {prov.confidence:.2f}", prov)

    document_findings: list[Finding] = []
    for finding in doc.findings:
        ref = Ref.parse(finding.seq, finding.field)
        if ref is None or not _exists(doc, ref):
            document_findings.append(finding)
        else:
            flag(ref, "").findings.append(finding)
    placed = [(Ref.parse(c.seq, CORRECTION_ALIASES.get(c.field, c.field)), c) for c in doc.corrections]
    placed = [(ref, c) for ref, c in placed if ref is not None and _exists(doc, ref)]
    for ref, correction in placed:
        if correction.kind == "arithmetic":
            flag(ref, "repaired by arithmetic")
    for ref, correction in placed:
        if ref in cells:
            cells[ref].corrections.append(correction)
    decided = {Ref.parse(a.seq, a.field): a for a in doc.reviews}
    ordered = sorted(cells.values(), key=lambda c: _order(doc, c.ref))
    for number, cell in enumerate(ordered, 1):
        cell.number = number
        cell.decided = decided.get(cell.ref)
    return Review(doc, ordered, document_findings)


def named_by_note(ind: Indicator) -> list[str]:
    """The cells a flagged row's note names (`二级 … does not belong under 一级 …` → level1, level2);
    every cell read on the row, and its 分值/得分, when the note names none."""
    note = ind.note.removeprefix("reviewed (")
    named: list[str] = []
    rest = note
    for word, name in NOTE_NAMES:
        if word in rest:
            rest = rest.replace(word, " ")
            if name not in named:
                named.append(name)
    if named:
        return named
    return list(dict.fromkeys([*(PROVENANCE_FIELD.get(n, n) for n in ind.provenance), "max_score", "score"]))


def _exists(doc: Document, ref: Ref) -> bool:
    if ref.part == "indicator":
        return any(i.seq == ref.key for i in doc.indicators) and ref.field in FIELD_LABELS
    if ref.part == "funding":
        return any(f.item == ref.key for f in doc.funding)
    if ref.part == "fact":
        return any(f.key == ref.key for f in doc.facts)
    return True


PART_ORDER = {"header": 0, "funding": 1, "indicator": 2, "totals": 3, "fact": 4}


def _order(doc: Document, ref: Ref) -> tuple:
    fields = list(FIELD_LABELS)
    position = {
        "funding": [f.item for f in doc.funding],
        "fact": [f.key for f in doc.facts],
    }.get(ref.part)
    key = position.index(ref.key) if position and ref.key in position else ref.key if ref.part == "indicator" else 0
    return PART_ORDER[ref.part], key, fields.index(ref.field) if ref.field in fields else len(fields)


def crop_box(prov: Provenance | None, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    if prov is None or not prov.bbox or len(prov.bbox) != 4:
        return None
    x0, y0, x1, y1 = prov.bbox
    box = (max(0, x0 - CROP_PAD), max(0, y0 - CROP_PAD), min(size[0], x1 + CROP_PAD), min(size[1], y1 + CROP_PAD))
    return box if box[2] > box[0] and box[3] > box[1] else None
