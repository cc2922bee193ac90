"""One document's verdict: repair what arithmetic can settle, check every rule, set the status.

`needs_review` when a rule reports an error, a value was read below the review confidence, or a row
is flagged (cut by a page break, realigned, repaired); `ok` otherwise. A `failed` document stays as it
is: there is nothing to check. The message says why in one line, so that documents.csv alone tells
a reviewer where to start.
"""

from __future__ import annotations

from .records import Document, Finding
from .repair import repair
from .rules import FormsConfig, check

MAX_IDS = 6


def assess(doc: Document, forms: FormsConfig, review_confidence: float) -> Document:
    """Repair, then check, then status and message (the input is not changed)."""
    if doc.status == "failed":
        return doc
    repaired = repair(doc, review_confidence, forms)
    return with_status(repaired.model_copy(update={"findings": check(repaired, forms)}), review_confidence)


def add_findings(doc: Document, findings: list[Finding], review_confidence: float) -> Document:
    """A document with findings from outside it (report ↔ table, `rules.cross_check`) and its
    status and message brought up to date."""
    if doc.status == "failed" or not findings:
        return doc
    return with_status(doc.model_copy(update={"findings": [*doc.findings, *findings]}), review_confidence)


def low_confidence_cells(doc: Document, review_confidence: float) -> int:
    """Cells of the indicator table, money block and 总分 row read below the review confidence."""
    count = 0
    for record in [*doc.indicators, *doc.funding, doc.totals]:
        cells = [p.confidence for p in record.provenance.values()]
        if cells:
            count += sum(c < review_confidence for c in cells)
        elif getattr(record, "confidence", 1.0) < review_confidence:
            count += 1
    return count


def with_status(doc: Document, review_confidence: float) -> Document:
    """Status and message from the document's findings, confidences and flags."""
    if doc.status == "failed":
        return doc
    errors = [f for f in doc.findings if f.severity == "error"]
    low = low_confidence_cells(doc, review_confidence)
    flagged = sum(i.needs_review for i in doc.indicators) + sum(f.needs_review for f in doc.funding)
    repairs = sum(c.kind == "arithmetic" for c in doc.corrections)
    reasons = []
    if errors:
        ids = list(dict.fromkeys(f.rule_id for f in errors))
        shown = ", ".join(ids[:MAX_IDS]) + (", …" if len(ids) > MAX_IDS else "")
        reasons.append(f"{_count(len(errors), 'error')} ({shown})")
    if low:
        reasons.append(_count(low, "low-confidence cell"))
    if flagged:
        reasons.append(_count(flagged, "flagged row"))
    if repairs:
        reasons.append(_count(repairs, "arithmetic repair"))
    status = "needs_review" if errors or low or flagged else "ok"
    return doc.model_copy(update={"status": status, "message": "; ".join(reasons)})


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
