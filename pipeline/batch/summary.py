"""What a run did → the summary line, the JSON log's last object and the exit code.

The counts per status are those each document settled on (`outputs/rebuild.py`), so the summary says what
the records, the CSVs and the review page say.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from .inputs import display_path

if TYPE_CHECKING:
    from ..outputs.rebuild import Rebuilt

log = logging.getLogger("perfscan")


@dataclass
class BatchSummary:
    """What a run did, for the summary line, the JSON log and the exit code."""

    inputs: int = 0
    done_before: int = 0
    failed_before: int = 0
    duplicates: int = 0
    not_taken: int = 0
    links_skipped: int = 0
    # Inputs that stand failed for running out of time too many runs in a row: not tried again.
    too_slow: list[str] = field(default_factory=list)
    # Inputs that failed on an earlier run and are unchanged: not tried again (--retry-failed does).
    failed_unchanged: list[str] = field(default_factory=list)
    # reviews.csv decisions kept but not applied (their document is gone or changed), as "doc_id field".
    stale_reviews: list[str] = field(default_factory=list)
    review_page: str = ""
    # Damaged files of the output folder set aside this run, as "what → where".
    quarantined: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    pages: int = 0
    seconds: float = 0.0
    peak_worker_rss: int = 0
    interrupted: bool = False
    # Why the run stopped early because the output folder took no more writes ("" if it did not),
    # and how many of its documents were left undone for the next run.
    stopped: str = ""
    not_written: int = 0

    @property
    def exit_code(self) -> int:
        """The contract's exit code for this run: 130 interrupted, 2 a document stands failed (or
        could not be written), 0 otherwise."""
        if self.interrupted:
            return 130
        return 2 if self.failed or self.stopped else 0

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        """Inputs of this run that stand failed: processed now, failed before and not retried, or
        left undone because the output folder took no more writes."""
        return self.statuses["failed"] + self.failed_before + self.not_written

    def as_dict(self) -> dict[str, object]:
        return {
            "exit_code": self.exit_code, "version": __version__,
            "inputs": self.inputs, "processed": self.processed, "ok": self.statuses["ok"],
            "needs_review": self.statuses["needs_review"], "skipped": self.statuses["skipped"],
            "failed": self.statuses["failed"],
            "already_done": self.done_before, "failed_before": self.failed_before, "duplicates": self.duplicates,
            "not_documents": self.not_taken, "links_skipped": self.links_skipped, "failures": dict(self.failures),
            "pages": self.pages,
            "seconds": round(self.seconds, 3), "peak_worker_rss_mb": round(self.peak_worker_rss / 2**20, 1),
            "too_slow": self.too_slow, "failed_unchanged": self.failed_unchanged, "quarantined": self.quarantined,
            "interrupted": self.interrupted, "stopped": self.stopped, "not_written": self.not_written,
            "stale_reviews": self.stale_reviews, "review_page": self.review_page,
        }


def report_run(s: BatchSummary, outcome: str, out_dir: Path) -> None:
    """The run's last log line: the plain summary, or the JSON log's summary object."""
    log.log(
        logging.ERROR if s.stopped else logging.INFO,
        "%s: %d inputs — %d processed (%d ok, %d needs_review, %d skipped, %d failed), %d already done%s, "
        "%d duplicates%s; %d pages in %.1f s%s%s%s%s%s%s → %s%s",
        outcome, s.inputs, s.processed, s.statuses["ok"],
        s.statuses["needs_review"], s.statuses["skipped"], s.statuses["failed"], s.done_before,
        f" ({s.failed_before} of them failed)" if s.failed_before else "", s.duplicates,
        f", {s.links_skipped} links not followed" if s.links_skipped else "", s.pages, s.seconds,
        f"; peak worker memory {s.peak_worker_rss / 2**20:.0f} MB" if s.peak_worker_rss else "",
        f"; too slow, not tried again: {few(s.too_slow)}" if s.too_slow else "",
        f"; failed before and unchanged, not tried again (--retry-failed tries them): {few(s.failed_unchanged)}"
        if s.failed_unchanged else "",
        f"; reviews kept but not applied, their document changed or gone: {few(s.stale_reviews)}"
        if s.stale_reviews else "",
        f"; damaged, set aside: {', '.join(s.quarantined)}" if s.quarantined else "",
        f"; stopped: {s.stopped}, {s.not_written} documents not written" if s.stopped else "",
        display_path(out_dir), f"; review: {s.review_page}" if s.review_page else "",
        extra={"event": "summary", "data": s.as_dict()},
    )


def report_rebuild(s: BatchSummary, done: Rebuilt, out_dir: Path) -> None:
    """`perfscan rebuild`'s summary: the folder's documents by status, the decisions applied."""
    counts = s.statuses
    log.info("rebuilt %s: %d documents (%d ok, %d needs_review, %d skipped, %d failed), %d reviews applied%s%s; "
             "review: %s", display_path(out_dir), len(done.docs), counts["ok"], counts["needs_review"],
             counts["skipped"], counts["failed"], done.applied,
             f"; reviews kept but not applied, their document changed or gone: {few(s.stale_reviews)}"
             if s.stale_reviews else "",
             f"; damaged, set aside: {', '.join(s.quarantined)}" if s.quarantined else "",
             s.review_page, extra={"event": "summary", "data": {
                 **{k: v for k, v in s.as_dict().items() if k in (
                     "exit_code", "version", "ok", "needs_review", "skipped", "failed", "stale_reviews",
                     "quarantined", "review_page")},
                 "documents": len(done.docs), "reviews_applied": done.applied}})


def few(names: list[str], shown: int = 5) -> str:
    """Names for a summary line: the first few, then how many more (a night may have hundreds)."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
