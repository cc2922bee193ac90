"""One document's verdict: repair what arithmetic can settle, check every rule, set the status.

`needs_review` when a rule reports an error or a reading doubt, a value was read below the review
confidence, or a row is flagged (cut by a page break, realigned, repaired, failed a reading check in
`verify.py`); `ok` otherwise. A `failed` document stays as it
is: there is nothing to check. The message says why in one line, so that documents.csv alone tells
a reviewer where to start.
"""

from __future__ import annotations

from ..forms.catalog import Catalogue
from ..records import Document, Finding
from .cells import Ref, provenance_of, value_of
from .registry import Hit, Rule, evaluate
from .repair import repair

MAX_IDS = 6


def assess(doc: Document, forms: Catalogue, review_confidence: float) -> Document:
    """Repair, then check, then status and message (the input is not changed)."""
    if doc.status == "failed":
        return doc
    return check(repair(doc, review_confidence, forms), forms, review_confidence)


def check(doc: Document, forms: Catalogue, review_confidence: float) -> Document:
    """Every rule on the document as it stands — as repaired, or with a person's review applied
    (`outputs/reviews.py`) — then status and message."""
    doubtful_rows = [i.seq for i in doc.indicators if i.needs_review]
    findings = [_weighed(doc, rule, hit, review_confidence, doubtful_rows) for rule, hit in evaluate(doc, forms)]
    return with_status(doc.model_copy(update={"findings": findings}), review_confidence)


READING_RULES = frozenset({"H1", "H2", "S2", "S3", "S5", "S6"})
"""Rules that say a part of the form is absent or out of place. On a scan or a text layer read
by camelot that is first a reading problem (a field not found, two columns run together), not
the unit's: reported as a reading doubt."""


TABLE_SUMS = frozenset({"I1", "I2", "I3"})
"""Sums over the indicator table (Σ分值, Σ得分, each 一级's Σ): a row read wrong, or put under the
wrong 一级 by a misread label, breaks them wherever it is."""


def _weighed(doc: Document, rule: Rule, hit: Hit, review_confidence: float, doubtful_rows: list[int]) -> Finding:
    """The rule's finding, as an error only when every value it rests on was read with trust.

    A sum that fails because one of its terms was misread (`250` for `2.50`) would blame the
    unit for an OCR slip: when a term sits on a row the reading checks flagged, was read below
    the review confidence or was not read at all, the finding is a warning on a reading doubt
    (`reading=True`), and the document still needs review because of it.
    """
    finding = rule.finding(hit)
    doubt = ""
    if rule.id in READING_RULES and doc.engine != "text":
        doubt = "the page may hold what was not read"
    elif rule.id in TABLE_SUMS and doubtful_rows:
        # Which rows a sum takes, and under which 一级, rests on every row's labels and figures.
        doubt = "not trusted: " + ", ".join(f"row {seq}" for seq in doubtful_rows[:4]) + (
            f" and {len(doubtful_rows) - 4} more rows" if len(doubtful_rows) > 4 else "") + " of the table in doubt"
    else:
        doubtful = [ref for ref in hit.cells if not _trusted(doc, ref, review_confidence)]
        if doubtful:
            doubt = "not trusted: " + ", ".join(dict.fromkeys(_where(ref) for ref in doubtful[:4]))
    if not doubt:
        return finding
    return finding.model_copy(update={
        "severity": "warning" if finding.severity == "error" else finding.severity,
        "message": f"{finding.message} ({doubt})",
        "reading": True,
    })


def _trusted(doc: Document, ref: Ref, review_confidence: float) -> bool:
    if value_of(doc, ref) is None:
        return False
    if ref.part == "indicator":
        row = next((i for i in doc.indicators if i.seq == ref.key), None)
        if row is None or row.needs_review:
            return False
    if ref.part == "funding":
        line = next((f for f in doc.funding if f.item == ref.key), None)
        if line is None or line.needs_review:
            return False
    prov = provenance_of(doc, ref)
    return prov is None or prov.confidence >= review_confidence or prov.source == "review"


def _where(ref: Ref) -> str:
    return f"row {ref.key}" if ref.part == "indicator" else ref.name


def add_findings(doc: Document, findings: list[Finding], review_confidence: float) -> Document:
    """A document with findings from outside it (report ↔ table, `cross.cross_check`) and its
    status and message brought up to date."""
    if doc.status == "failed" or not findings:
        return doc
    return with_status(doc.model_copy(update={"findings": [*doc.findings, *findings]}), review_confidence)


def low_confidence_cells(doc: Document, review_confidence: float) -> int:
    """Cells of the indicator table, money block and 总分 row read below the review confidence and
    not yet decided on by a person."""
    count = 0
    for record in [*doc.indicators, *doc.funding, doc.totals]:
        cells = record.provenance.values()
        if cells:
            count += sum(p.confidence < review_confidence and p.source != "review" for p in cells)
        elif getattr(record, "confidence", 1.0) < review_confidence:
            count += 1
    return count


def with_status(doc: Document, review_confidence: float) -> Document:
    """Status and message from the document's findings, confidences and flags (a failed or skipped
    document keeps its own)."""
    if doc.status in ("failed", "skipped"):
        return doc
    errors = [f for f in doc.findings if f.severity == "error"]
    doubts = [f for f in doc.findings if f.reading]
    low = low_confidence_cells(doc, review_confidence)
    flagged = sum(i.needs_review for i in doc.indicators) + sum(f.needs_review for f in doc.funding)
    repairs = sum(c.kind == "arithmetic" for c in doc.corrections)
    reasons = []
    for found, noun in ((errors, "error"), (doubts, "reading doubt")):
        if found:
            ids = list(dict.fromkeys(f.rule_id for f in found))
            shown = ", ".join(ids[:MAX_IDS]) + (", …" if len(ids) > MAX_IDS else "")
            reasons.append(f"{_count(len(found), noun)} ({shown})")
    if low:
        reasons.append(_count(low, "low-confidence cell"))
    if flagged:
        reasons.append(_count(flagged, "flagged row"))
    if repairs:
        reasons.append(_count(repairs, "arithmetic repair"))
    status = "needs_review" if errors or doubts or low or flagged else "ok"
    return doc.model_copy(update={"status": status, "message": "; ".join(reasons)})


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
