"""The output folder's records and reviews.csv → each document's one status, then every file that
spans documents: the records brought up to date, the CSVs, the workbook and the review pages.

    records/*.json ─► take back last time's reviews and cross-document findings ─► apply reviews.csv
      (rules again on reviewed values) ─► report ↔ table checks ─► status ─► records, CSVs,
      perfscan.xlsx, review/

A document's status depends on the other documents in the folder (a report and its table that
disagree) and on what a person decided, so it is settled here, once, for every document, before
anything is written or counted: the records, every CSV, the workbook, the review pages, the run's
summary, its JSON log and its exit code all take it from here. A record is rewritten only when its
settled form differs from what is on disk. `perfscan run` calls this at its end, `perfscan rebuild`
on its own (it reads no input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..checks.assess import check, with_status
from ..checks.cross import cross_check
from ..forms.catalog import Catalogue
from ..records import Document
from .export import CSV_COLUMNS, rebuild_tables
from .flagged import collect
from .folder import OutputFolder
from .review import write_review
from .reviews import Decision, apply_decisions, read_decisions, stale, take_back
from .workbook import write_xlsx


@dataclass
class Rebuilt:
    """What a rebuild settled and found."""

    docs: list[Document] = field(default_factory=list)
    damaged: list[Path] = field(default_factory=list)  # record files that cannot be read: the caller sets them aside
    stale: list[Decision] = field(default_factory=list)  # decisions on documents gone or changed: kept, not applied
    problems: list[str] = field(default_factory=list)  # rows of reviews.csv that are no decision
    applied: int = 0  # decisions applied


def settle(docs: list[Document], decisions: list[Decision], forms: Catalogue,
           review_confidence: float) -> list[Document]:
    """Each document with the decisions made on it, the findings against the other documents, and
    its status: the same records give the same result however often they are settled."""
    reviewed = [_reviewed(doc, decisions, forms, review_confidence) for doc in docs]
    cross = cross_check(reviewed, forms)
    out = []
    for doc in reviewed:
        extra = [f.model_copy(update={"cross": True}) for f in cross.get(doc.doc_id, [])]
        if extra and doc.status not in ("failed", "skipped"):
            doc = with_status(doc.model_copy(update={"findings": [*doc.findings, *extra]}), review_confidence)
        out.append(doc)
    return out


def _reviewed(doc: Document, decisions: list[Decision], forms: Catalogue, review_confidence: float) -> Document:
    """The document as read (last settlement's reviews and cross findings taken back), with the
    decisions made on it applied and its own rules run again on them."""
    had_reviews = bool(doc.reviews)
    had_cross = any(f.cross for f in doc.findings)
    doc = take_back(doc)
    doc = doc.model_copy(update={"findings": [f for f in doc.findings if not f.cross]})
    if doc.status in ("failed", "skipped"):
        return doc
    if any(d.doc_id == doc.doc_id for d in decisions):
        flagged = [cell.ref for cell in collect(doc, review_confidence).cells]
        doc = apply_decisions(doc, decisions, flagged)
    if doc.reviews or had_reviews:
        return check(doc, forms, review_confidence)
    # A status a cross-document finding made, without it now: the document's own status again.
    return with_status(doc, review_confidence) if had_cross else doc


def rebuild(folder: OutputFolder, forms: Catalogue, review_confidence: float) -> Rebuilt:
    """Settle every record of `folder` with its reviews.csv and write what spans documents. The
    caller holds the folder (one run at a time) and sets aside `damaged` records."""
    import pandas as pd

    docs, damaged = folder.load_records()
    decisions, problems = read_decisions(folder.root)
    settled = settle(docs, decisions, forms, review_confidence)
    for before, after in zip(docs, settled, strict=True):
        if after != before:
            folder.write_record(after)
    tables = rebuild_tables(folder, settled, forms)
    frames = {name: pd.DataFrame(rows, columns=CSV_COLUMNS[name]) for name, rows in tables.items()}
    write_xlsx(folder.root, frames, [(doc.doc_id, table) for doc in settled for table in doc.tables])
    not_applied = stale(decisions, settled)
    write_review(folder.root, settled, review_confidence, [describe(d) for d in not_applied])
    return Rebuilt(settled, damaged, not_applied, problems, sum(len(doc.reviews) for doc in settled))


def describe(decision: Decision) -> str:
    """A decision in one line: `doc_id field row N`, for the summary and the review page."""
    return f"{decision.doc_id} {decision.field}" + (f" row {decision.seq}" if decision.seq is not None else "")
