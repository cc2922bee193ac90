"""An outcome from a worker → the output folder and the state: a document committed, one at a time.

Only the coordinator writes, in this order: the page images (streamed in while the document ran,
staged under temp names, put in place just before the record), then the records (the commit point
for the files), then the state row that says the document is done. A kill in between leaves the
document not done: the next run does it again and cleans up. Staged images of a document that
failed, timed out, lost its worker or was interrupted are dropped; pages a redone document no
longer has go once its new record is in. Every change to the records first marks the tables not
current (`OUTPUTS_KEY`), so a run killed after it rebuilds them next time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from ..config import Config
from ..outputs.folder import OutputFolder, atomic_write, output_fault, page_image_name
from ..records import Document
from .command import Command
from .inputs import display_path, path_key
from .progress import Progress
from .state import FINAL_TIMEOUTS, DocumentRow, FailureKind, SourceRow, StateStore
from .summary import BatchSummary
from .tasks import Outcome, Task

log = logging.getLogger("perfscan")

OUTPUTS_KEY = "outputs_built_with"  # state meta: settings (and csv/xlsx) the tables were last built with


class Committer:
    """The part of `Batch` (`run.py`) that writes: documents committed, files deleted or set aside."""

    out: OutputFolder
    cfg: Config
    command: Command
    state: StateStore
    settings: str
    summary: BatchSummary
    progress: Progress
    _committed: dict[str, str]
    _changed: bool
    _streamed: dict[str, set[str]]
    _streamed_lock: threading.Lock
    _write_fault: OSError | None

    def _write_page(self, task: Task, page: int, jpeg: bytes) -> None:
        """A page image streamed from a worker (on an executor thread), staged at once under a temp
        name beside its final one. It is put in place only when its document commits: until then a
        previous record of the same document keeps pointing at its own images, and a killed run
        leaves only temp files (`.*.tmp`), which the next run removes."""
        doc_id = task.sha256[:16]
        name = page_image_name(doc_id, page)
        with self._streamed_lock:
            self._streamed.setdefault(doc_id, set()).add(name)
        try:
            atomic_write(self.out.staged_path(name), jpeg)
        except OSError as exc:
            if output_fault(exc):
                self._write_fault = exc
            raise

    def _settle_pages(self, doc_id: str, keep: set[str]) -> None:
        """The staged page images of `doc_id`: those in `keep` (the pages its record names) go in
        place, the others are dropped."""
        with self._streamed_lock:
            names = self._streamed.pop(doc_id, set())
        for name in names:
            staged = self.out.staged_path(name)
            if name in keep and staged.exists():
                os.replace(staged, self.out.root / name)
            else:
                staged.unlink(missing_ok=True)

    def _commit(self, outcome: Outcome, path: Path, source: SourceRow) -> None:
        if self._write_fault is not None:  # this document's failure is the folder's, not its own
            raise self._write_fault
        task = outcome.task
        name = display_path(path)
        if outcome.failure == "cancelled":
            self._settle_pages(task.sha256[:16], keep=set())
            return
        timeouts = self._timeouts(outcome)
        if outcome.result is not None and outcome.failure in (None, "input"):
            docs = [d.model_copy(update={"source_path": name}) for d in outcome.result.documents]
            jpegs = outcome.result.page_jpegs
            if docs[0].status == "failed":
                docs[0] = docs[0].model_copy(update={"message": _naming(path, docs[0].message)})
        else:
            reason = outcome.reason
            if timeouts >= FINAL_TIMEOUTS:
                reason += (f"; it ran out of time {timeouts} runs in a row, so it is not tried again while it is "
                           "unchanged (--retry-failed tries it)")
                self.summary.too_slow.append(name)
            docs = [_failed(path, reason, task.sha256)]
            jpegs = {}
        doc = docs[0]  # the file's first form: its doc_id names the file's records and page images
        self._outputs_change()
        keep = {image for d in docs for image in d.page_images.values()}
        self._settle_pages(doc.doc_id, keep)
        self.out.write_records(docs, jpegs)
        # Before the state row: a kill in between leaves the document not done, so redone and
        # cleaned next time. A redone document may have had pages this attempt does not name.
        for old_page in self.out.page_image_names(doc.doc_id) - keep:
            (self.out.root / old_page).unlink(missing_ok=True)
        row = DocumentRow(
            sha256=task.sha256, doc_id=doc.doc_id, source_path=name, status=_file_status(docs),
            failure=outcome.failure or "", message=doc.message, engine=self.command.engine,
            config_hash=self.settings, pages=doc.pages, started_at=outcome.started_at, seconds=outcome.seconds,
            worker_peak_rss=outcome.peak_rss or None, timeouts=timeouts,
        )
        for sha in self.state.commit(row, [source]):
            self._delete_document_files(sha)
        self.summary.peak_worker_rss = max(self.summary.peak_worker_rss, outcome.peak_rss)
        self._count(docs, outcome.failure, outcome.seconds)

    def _timeouts(self, outcome: Outcome) -> int:
        """Runs in a row this content, with these settings, has run out of time (this one included)."""
        if outcome.failure != "timeout":
            return 0
        before = self.state.document(outcome.task.sha256)
        if before is None or before.engine != self.command.engine or before.config_hash != self.settings:
            return 1
        return before.timeouts + 1 if before.failure == "timeout" else 1

    def _commit_failure(self, path: Path, kind: FailureKind, reason: str) -> None:
        """An input the coordinator could not read (or that was being written): failed, no worker.

        Its record is keyed by its path, not content, and the path's last good content is not
        superseded: a file server that hiccups for a night must not cost the records of what it
        served before. The next run that reads the file removes this record again.
        """
        name = display_path(path)
        sha = pseudo_sha(path)
        doc = _failed(path, reason, sha)
        self._outputs_change()
        self.out.write_record(doc)
        row = DocumentRow(sha, doc.doc_id, name, "failed", kind, doc.message, self.command.engine, self.settings)
        self.state.commit(row, [])
        self._count([doc], kind, 0.0)

    def _forget_unreadable(self, path: Path) -> None:
        """The file reads again: drop the failure recorded when it did not."""
        pseudo = pseudo_sha(path)
        if self.state.document(pseudo) is not None:
            self.state.supersede(pseudo)
            self._delete_document_files(pseudo)

    def _count(self, docs: list[Document], failure: str | None, seconds: float) -> None:
        """One input done: each of its forms counted and logged, the progress advanced once."""
        for doc in docs:
            self.summary.statuses[doc.status] += 1
            self._committed[doc.doc_id] = doc.status
            self.summary.pages += doc.pages
            if doc.status == "failed":
                self.summary.failures[failure or "input"] += 1
            level = logging.WARNING if doc.status == "failed" else logging.DEBUG
            log.log(level, "%s: %s%s", doc.source_path, doc.status,
                    f" — {doc.message}" if doc.message and doc.status in ("failed", "skipped") else "",
                    extra={"event": "document", "data": {
                        "path": doc.source_path, "doc_id": doc.doc_id, "action": "processed", "status": doc.status,
                        "failure": failure or "", "message": doc.message, "pages": doc.pages,
                        "seconds": round(seconds, 3)}})
        self.progress.advance(sum(doc.pages for doc in docs))

    def _purge_superseded(self) -> None:
        """Finish deletions a killed run left half done (state says superseded, files may remain)."""
        for row in self.state.superseded():
            self._delete_document_files(row.sha256, row.doc_id)

    def _delete_document_files(self, sha: str, doc_id: str | None = None) -> None:
        self._outputs_change()
        doc_id = doc_id or sha[:16]
        self.out.delete_document(doc_id)
        self.state.forget(sha)

    def _outputs_change(self) -> None:
        """Before the first change to the records in this run: the tables are no longer current.

        Written ahead of the change, so a run killed after it rebuilds the tables next time.
        """
        if not self._changed:
            self._changed = True
            self.state.set_meta(OUTPUTS_KEY, "")

    def _set_aside(self, record: Path) -> None:
        """A damaged record: into quarantine/, and its document is no longer done (redone when its
        file is among the inputs; until then it has no rows)."""
        self._outputs_change()
        moved = self.out.quarantine(record)
        self.state.undo(record.stem)
        self.summary.quarantined.append(f"{record.relative_to(self.out.root)} → {moved}")
        log.warning("%s: damaged record, moved to %s; its document is done again",
                    record.relative_to(self.out.root), moved, extra={"event": "quarantined", "data": {
                        "file": str(record.relative_to(self.out.root)), "moved_to": moved, "doc_id": record.stem}})


def _failed(path: Path, reason: str, sha: str) -> Document:
    """The `failed` record of an input, its message naming the file."""
    from ..document import failed_document

    doc = failed_document(path, _naming(path, reason), sha)
    return doc.model_copy(update={"source_path": display_path(path)})


def _file_status(docs: list[Document]) -> str:
    """The state row's status: the file's, not each form's (the records say those). A file whose
    forms are all skipped is done like an ok one."""
    statuses = {d.status for d in docs}
    return next((s for s in ("failed", "needs_review") if s in statuses), "ok")


def _naming(path: Path, reason: str) -> str:
    """A failure message that names the file, once."""
    name = display_path(path.name)
    return reason if reason.startswith(f"{name}: ") else f"{name}: {reason}"


def pseudo_sha(path: Path) -> str:
    """Identity of an input whose content cannot be read: a hash of its path, not of its content."""
    return hashlib.sha256(b"unreadable:" + path_key(path)).hexdigest()
