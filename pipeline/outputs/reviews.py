"""A person's decisions (`reviews.csv`) → the records: a corrected value replaces the one read, an
approved one stands as read, and a row whose flagged values are all decided is no longer flagged.

    perfscan review ─► reviews.csv ─► (every run, perfscan rebuild) take back what a record had
    applied, apply reviews.csv afresh ─► rules again on the reviewed values ─► status

reviews.csv is the only place a decision lives; a record keeps the decisions applied to it
(`Document.reviews`, with the value and provenance each replaced) only so that the next rebuild
can take them back first. A decision changed or withdrawn in reviews.csv is then applied as it now
stands, and applying the same file twice gives the same record. A decision is bound to the
content it was made on: one whose document is no longer in the folder, or whose file changed (a
new sha256, so a new doc_id), is kept in reviews.csv but not applied, and listed as stale.

One row per decided value: deciding a value again replaces its row. The file is rewritten whole
(temp file, rename), so a run reading it while a reviewer works sees the old or the new file.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from ..checks.cells import Ref, value_of
from ..correct import parse_decimal, parse_measure
from ..records import AppliedReview, Document, Provenance
from .export import cell
from .folder import REVIEWS_FILE, atomic_write

COLUMNS = ["doc_id", "seq", "field", "value", "decision", "reviewer", "time", "sha256"]
DECISIONS = ("approved", "corrected")

NUMBER_FIELDS = {"level1_weight", "target_value", "actual_value", "max_score", "score", "initial_budget", "budget",
                 "executed", "execution_rate", "value"}
TEXT_FIELDS = {"level1", "level2", "level3", "target", "actual", "deviation_reason", "unit_name", "project_name",
               "supervising_dept"}
# The few places a provenance is kept under another name than the field it is for.
PROVENANCE_KEY = {"level1_weight": "weight"}

_write_lock = threading.Lock()


@dataclass(frozen=True)
class Decision:
    """One row of reviews.csv."""

    doc_id: str
    seq: int | None
    field: str
    value: str
    decision: str
    reviewer: str
    time: str
    sha256: str = ""

    @property
    def key(self) -> tuple[str, int | None, str]:
        return self.doc_id, self.seq, self.field

    @property
    def ref(self) -> Ref | None:
        return Ref.parse(self.seq, self.field)

    def row(self) -> list[str]:
        return [self.doc_id, cell(self.seq), self.field, self.value, self.decision, self.reviewer, self.time,
                self.sha256]


class BadDecision(ValueError):
    """A decision that cannot be applied to its document (no such value, not a number, …)."""


def read_decisions(out_dir: Path) -> tuple[list[Decision], list[str]]:
    """The decisions in `out_dir/reviews.csv` (none if it is absent), and the rows that cannot be
    read as one (a hand edit gone wrong), described for the summary."""
    path = Path(out_dir) / REVIEWS_FILE
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{REVIEWS_FILE}: cannot be read ({exc})"]
    decisions: dict[tuple, Decision] = {}
    problems: list[str] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
        try:
            seq = int(row["seq"]) if row.get("seq") else None
            decision = Decision(row["doc_id"], seq, row["field"], row.get("value") or "", row["decision"],
                                row.get("reviewer") or "", row.get("time") or "", row.get("sha256") or "")
        except (KeyError, TypeError, ValueError):
            problems.append(f"{REVIEWS_FILE} line {line}: not a decision")
            continue
        if decision.decision not in DECISIONS or decision.ref is None:
            problems.append(f"{REVIEWS_FILE} line {line}: not a decision ({decision.decision} {decision.field})")
            continue
        decisions[decision.key] = decision
    return list(decisions.values()), problems


def record_decision(out_dir: Path, doc: Document, seq: int | None, field: str, value: str, decision: str,
                    reviewer: str) -> Decision:
    """Check a decision against its document and write it into reviews.csv (replacing an earlier
    decision on the same value). Raises `BadDecision` with a message for the reviewer."""
    if decision not in DECISIONS:
        raise BadDecision(f"decision must be one of {', '.join(DECISIONS)}")
    ref = Ref.parse(seq, field)
    if ref is None or not _exists(doc, ref):
        raise BadDecision(f"{doc.doc_id} has no value {field!r}" + (f" on row {seq}" if seq is not None else ""))
    value = value.strip()
    parse_value(ref, value)
    if decision == "approved":
        value = current_text(doc, ref)
    made = Decision(doc.doc_id, seq, field, value, decision, reviewer.strip(),
                    datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), doc.sha256)
    with _write_lock:
        decisions, _ = read_decisions(out_dir)
        kept = [d for d in decisions if d.key != made.key] + [made]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(d.row() for d in kept)
        atomic_write(Path(out_dir) / REVIEWS_FILE, buf.getvalue().encode("utf-8-sig"))
    return made


def current_text(doc: Document, ref: Ref) -> str:
    """A value as the CSVs write it."""
    return cell(value_of(doc, ref))


def parse_value(ref: Ref, text: str) -> object:
    """The typed value a reviewer's text stands for; `BadDecision` when it is not one."""
    name = "value" if ref.part == "fact" else ref.field
    if name == "year":
        if not text:
            return None
        if not text.isdigit() or len(text) != 4:
            raise BadDecision(f"a year is four digits, not {text!r}")
        return int(text)
    if name in NUMBER_FIELDS:
        if not text:
            if ref.part == "fact":
                raise BadDecision("a report figure cannot be empty")
            return None
        number = parse_decimal(text)
        if number is None:
            raise BadDecision(f"not a plain decimal: {text!r} (write 7.50, 28855329.62)")
        return number
    if name in TEXT_FIELDS:
        return text
    raise BadDecision(f"{ref.name} is not a value a review can set")


def take_back(doc: Document) -> Document:
    """The record as read: every applied decision undone, last first."""
    for applied in reversed(doc.reviews):
        ref = Ref.parse(applied.seq, applied.field)
        if ref is None:
            continue
        doc = _set(doc, ref, parse_value(ref, applied.extracted), applied.provenance)
        if applied.row_flagged:
            doc = _flag_row(doc, ref, True, applied.row_note)
    return doc.model_copy(update={"reviews": []})


def apply_decisions(doc: Document, decisions: list[Decision], flagged: list[Ref]) -> Document:
    """`doc` (as read) with the decisions made on it: each value set (its provenance marked
    `source: review`, keeping what was read), then each row or money line whose `flagged` values
    are all decided no longer flagged. Decisions for other documents, or for a value the document
    does not have, are left out."""
    mine = [d for d in decisions if d.doc_id == doc.doc_id and d.sha256 in ("", doc.sha256)]
    applied: list[AppliedReview] = []
    for decision in mine:
        ref = decision.ref
        if ref is None or not _exists(doc, ref):
            continue
        try:
            value = parse_value(ref, decision.value)
        except BadDecision:
            continue
        before = _provenance(doc, ref)
        extracted = current_text(doc, ref)
        base = before or Provenance(page=_page_of(doc, ref), engine=doc.engine)
        marked = base.model_copy(update={"source": "review", "extracted": extracted})
        doc = _set(doc, ref, value, marked)
        applied.append(AppliedReview(seq=decision.seq, field=decision.field, value=decision.value,
                                     decision=decision.decision, reviewer=decision.reviewer, time=decision.time,
                                     extracted=extracted, provenance=before))
    decided = {ref for a in applied if (ref := Ref.parse(a.seq, a.field)) is not None}
    unflagged: dict[tuple[str, object], str] = {}
    for ref in decided:
        row = (ref.part, ref.key)
        if ref.part not in ("indicator", "funding") or row in unflagged:
            continue
        flagged_before, note = _row_flag(doc, ref)
        if flagged_before and all(r in decided for r in flagged if (r.part, r.key) == row):
            doc = _flag_row(doc, ref, False, note)
            unflagged[row] = note
    applied = [a.model_copy(update={"row_flagged": True, "row_note": unflagged[_row_of(a)]})
               if _row_of(a) in unflagged else a for a in applied]
    return doc.model_copy(update={"reviews": applied})


def stale(decisions: list[Decision], docs: list[Document]) -> list[Decision]:
    """Decisions not applied because their document is gone or changed since."""
    current = {doc.doc_id: doc.sha256 for doc in docs}
    return [d for d in decisions if current.get(d.doc_id) is None or d.sha256 not in ("", current[d.doc_id])]


# --------------------------------------------------------------------------------------------------


def _row_of(applied: AppliedReview) -> tuple[str, object]:
    ref = Ref.parse(applied.seq, applied.field)
    return (ref.part, ref.key) if ref else ("", None)


def _exists(doc: Document, ref: Ref) -> bool:
    if ref.part == "indicator":
        return any(i.seq == ref.key for i in doc.indicators) and ref.field in NUMBER_FIELDS | TEXT_FIELDS
    if ref.part == "funding":
        return any(f.item == ref.key for f in doc.funding) and ref.field in NUMBER_FIELDS
    if ref.part == "fact":
        return any(f.key == ref.key for f in doc.facts)
    if ref.part == "totals":
        return ref.field in ("max_score", "score")
    return ref.field in TEXT_FIELDS | {"year"}


def _provenance(doc: Document, ref: Ref) -> Provenance | None:
    key = PROVENANCE_KEY.get(ref.field, ref.field)
    if ref.part == "indicator":
        return next(i for i in doc.indicators if i.seq == ref.key).provenance.get(key)
    if ref.part == "funding":
        return next(f for f in doc.funding if f.item == ref.key).provenance.get(key)
    if ref.part == "totals":
        return doc.totals.provenance.get(key)
    if ref.part == "header":
        return doc.header.provenance.get(key)
    return next(f for f in doc.facts if f.key == ref.key).provenance


def _page_of(doc: Document, ref: Ref) -> int | None:
    if ref.part == "indicator":
        return next(i for i in doc.indicators if i.seq == ref.key).page
    return None


def _with_provenance(provenance: dict[str, Provenance], key: str, prov: Provenance | None) -> dict[str, Provenance]:
    out = dict(provenance)
    if prov is None:
        out.pop(key, None)
    else:
        out[key] = prov
    return out


def _set(doc: Document, ref: Ref, value: object, prov: Provenance | None) -> Document:
    """`doc` with one value and its provenance replaced (a 年度指标值/完成值 parsed again)."""
    key = PROVENANCE_KEY.get(ref.field, ref.field)
    if ref.part == "indicator":
        def change(i):
            update: dict[str, object] = {ref.field: value, "provenance": _with_provenance(i.provenance, key, prov)}
            if ref.field == "target":
                update["target_op"], update["target_value"], update["target_unit"] = parse_measure(str(value))
            elif ref.field == "actual":
                _, update["actual_value"], update["actual_unit"] = parse_measure(str(value))
            return i.model_copy(update=update)

        return doc.model_copy(update={"indicators": [change(i) if i.seq == ref.key else i for i in doc.indicators]})
    if ref.part == "funding":
        lines = [f.model_copy(update={ref.field: value, "provenance": _with_provenance(f.provenance, key, prov)})
                 if f.item == ref.key else f for f in doc.funding]
        return doc.model_copy(update={"funding": lines})
    if ref.part == "totals":
        totals = doc.totals.model_copy(update={ref.field: value,
                                               "provenance": _with_provenance(doc.totals.provenance, key, prov)})
        return doc.model_copy(update={"totals": totals})
    if ref.part == "header":
        header = doc.header.model_copy(update={ref.field: value,
                                               "provenance": _with_provenance(doc.header.provenance, key, prov)})
        return doc.model_copy(update={"header": header})
    facts = [f.model_copy(update={"value": value if isinstance(value, Decimal) else f.value, "provenance": prov})
             if f.key == ref.key else f for f in doc.facts]
    return doc.model_copy(update={"facts": facts})


def _row_flag(doc: Document, ref: Ref) -> tuple[bool, str]:
    if ref.part == "indicator":
        row = next(i for i in doc.indicators if i.seq == ref.key)
        return row.needs_review, row.note
    line = next(f for f in doc.funding if f.item == ref.key)
    return line.needs_review, ""


def _flag_row(doc: Document, ref: Ref, flagged: bool, note: str) -> Document:
    if ref.part == "indicator":
        rows = [i.model_copy(update={"needs_review": flagged,
                                     "note": note if flagged else f"reviewed ({note})" if note else "reviewed"})
                if i.seq == ref.key else i for i in doc.indicators]
        return doc.model_copy(update={"indicators": rows})
    if ref.part == "funding":
        lines = [f.model_copy(update={"needs_review": flagged}) if f.item == ref.key else f for f in doc.funding]
        return doc.model_copy(update={"funding": lines})
    return doc
