"""The inputs found → a plan: what to do, what is done already, what cannot even be read.

Each input is named by its content (`inputs.identify`) and asked of the state: content done with
the same engine and settings is skipped; content whose last attempt failed for a reason outside
the file (time limit, memory, crash, a file still being written) is done again, as is everything
with `--force`. A renamed file keeps its record under its new name; the same content under a second
name is processed once; a failure of a file that is gone from every path it was seen at is forgotten.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..config import Config
from ..errors import UnreadableInput
from ..records import Document
from .commit import Committer, pseudo_sha
from .inputs import Discovery, InputChanged, InputTooBig, display_path, identify, path_key
from .state import DocumentRow, FailureKind, SourceRow
from .tasks import Task

log = logging.getLogger("perfscan")


@dataclass
class Plan:
    """What a run is to do."""

    tasks: list[Task] = field(default_factory=list)
    # doc_id → the task of a document skipped as done (and whether it stands failed), should its
    # record turn out to be damaged.
    done: dict[str, tuple[Task, bool]] = field(default_factory=dict)
    # (path, kind, reason) of inputs the coordinator could not even hash: failed without a worker.
    unreadable: list[tuple[Path, FailureKind, str]] = field(default_factory=list)
    # sha256 → the path as given (it names the document) and its source row, committed with it.
    pending: dict[str, tuple[Path, SourceRow]] = field(default_factory=dict)


class Planner(Committer):
    """The part of `Batch` (`run.py`) that plans: inputs → `Plan`, with the log lines it found."""

    force: bool
    retry_failed: bool
    _skipped: dict[str, str]
    _notes: list[tuple[int, str, tuple[object, ...], dict[str, object]]]

    def _plan(self, found: Discovery) -> Plan:
        for item in found.not_taken:
            if item.link:
                self.summary.links_skipped += 1
                self._note(logging.WARNING, "link_skipped", {"path": display_path(item.path), "reason": item.reason},
                           "%s: %s", display_path(item.path), item.reason)
                continue
            self.summary.not_taken += 1
            self._note(logging.INFO, "not_a_document", {"path": display_path(item.path), "reason": item.reason},
                       "%s: not a document: %s", display_path(item.path), item.reason)
        plan = Plan()
        first_of: dict[str, Path] = {}
        settled: list[SourceRow] = []
        cfg = self._worker_config()
        self.summary.inputs = len(found.files)
        for path in found.files:
            try:
                ident = identify(path, self.state.source(path_key(path)), force=self.force,
                                 max_size=self.cfg.batch.max_file_size_mb * 2**20)
            except (UnreadableInput, InputChanged, InputTooBig) as exc:
                kind: FailureKind = (
                    "unreadable" if isinstance(exc, UnreadableInput) else
                    "changed" if isinstance(exc, InputChanged) else "too_large"
                )
                plan.unreadable.append((path, kind, str(exc)))
                continue
            self._forget_unreadable(path)
            source = ident.source_row(path)
            sha = ident.sha256
            if sha in first_of:
                self._duplicate(path, first_of[sha])
                settled.append(source)
                continue
            first_of[sha] = path
            task = Task(Path(os.path.abspath(path)), sha, ident.signature.size, ident.signature.mtime_ns, cfg,
                        self.command.process, self.command.warm_up)
            plan.pending[sha] = (path, source)
            row = self.state.document(sha)
            if (not self.force and row is not None and row.is_done(self.command.engine, self.settings)
                    and not (self.retry_failed and row.status == "failed")
                    and self.out.record_path(row.doc_id).exists()):
                settle = self._already_done(path, row)
                if settle != "damaged":
                    if settle == "done":
                        plan.done[row.doc_id] = (task, row.status == "failed")
                    settled.append(source)
                    continue
            plan.tasks.append(task)
        for sha in self.state.commit(None, settled):
            self._delete_document_files(sha)
        self._forget_failures_of_deleted_files(plan)
        return plan

    def _forget_failures_of_deleted_files(self, plan: Plan) -> None:
        """A failed document whose file is gone from every path it was seen at loses its record and
        row. A good record stays when its file goes (it is data, the contract keeps every document
        processed into the folder); a failure of a file nobody has any more is only noise, and it
        would stand in documents.csv for ever."""
        tonight = set(plan.pending) | {pseudo_sha(path) for path, _, _ in plan.unreadable}
        for row in self.state.failed():
            if row.sha256 in tonight:
                continue
            # A failure keyed by its path (unreadable, too large) has no source row: its name is its path.
            paths = self.state.paths_of(row.sha256) or [os.fsencode(row.source_path)]
            if not any(os.path.lexists(p) for p in paths):
                self.state.supersede(row.sha256)
                self._delete_document_files(row.sha256, row.doc_id)
                self._note(logging.INFO, "forgotten", {"path": row.source_path, "doc_id": row.doc_id},
                           "%s: failed before and no longer there; its row is removed", row.source_path)

    def _note(self, level: int, event: str, data: dict[str, object], msg: str, *args: object) -> None:
        """A log line found while planning, held back so that the `start` line comes first."""
        self._notes.append((level, msg, args, {"event": event, "data": data}))

    def _worker_config(self) -> Config:
        """The config the workers get: OCR threads set so that workers × threads = cores."""
        if self.cfg.ocr.threads > 0:
            return self.cfg
        batch = self.cfg.batch
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        # On Dask a worker runs nthreads documents at once, normally one per core: one thread each.
        threads = 1 if batch.executor == "dask" else max(1, cores // batch.workers)
        return self.cfg.model_copy(update={"ocr": self.cfg.ocr.model_copy(update={"threads": threads})})

    def _duplicate(self, path: Path, original: Path) -> None:
        self.summary.duplicates += 1
        self._note(logging.INFO, "document", {"path": display_path(path), "action": "duplicate",
                                              "duplicate_of": display_path(original)},
                   "%s: same content as %s, not processed again", display_path(path), display_path(original))

    def _already_done(self, path: Path, row: DocumentRow) -> Literal["done", "duplicate", "damaged"]:
        """A document done before: skipped, a duplicate of another name, or to do again (its record,
        read to follow a rename, was damaged and has been set aside)."""
        name = display_path(path)
        if row.source_path != name:
            if not os.path.lexists(row.source_path):
                if not self._renamed(row, name):
                    return "damaged"
            elif not _same_file(row.source_path, path):
                self._duplicate(path, Path(row.source_path))
                return "duplicate"
        self.summary.done_before += 1
        if row.status == "failed":
            self.summary.failed_before += 1
        if row.too_slow:
            self.summary.too_slow.append(name)
        elif row.status == "failed":
            self.summary.failed_unchanged.append(name)
        self._note(logging.DEBUG, "document", {"path": name, "doc_id": row.doc_id, "action": "skipped",
                                               "status": row.status}, "%s: already done (%s)", name, row.status)
        self._skipped[row.doc_id] = row.status
        return "done"

    def _renamed(self, row: DocumentRow, name: str) -> bool:
        """A done document whose file was renamed: not redone, only its recorded path follows (in
        the record of each form of the file). False if a record is damaged (then set aside, and the
        document is to do again)."""
        docs = []
        for record in self.out.form_records(row.doc_id):
            try:
                docs.append(Document.model_validate_json(record.read_bytes()))
            except ValueError:
                self._set_aside(record)
                return False
        self._outputs_change()
        for doc in docs:
            self.out.write_record(doc.model_copy(update={"source_path": name}))
        self.state.rename(row.sha256, name)
        self._note(logging.INFO, "renamed", {"path": name, "was": row.source_path, "doc_id": row.doc_id},
                   "%s: renamed from %s, not processed again", name, row.source_path)
        return True

    def _redo(self, plan: Plan, damaged: list[str]) -> Plan:
        """The documents of this run's inputs that were skipped as done but whose records the
        rebuild found damaged (and set aside): done again now, not on some later night."""
        redo = Plan(pending=plan.pending)
        for doc_id in damaged:
            if doc_id in plan.done:
                task, failed = plan.done[doc_id]
                redo.tasks.append(task)
                self.summary.done_before -= 1
                self.summary.failed_before -= failed
        self.progress.add(len(redo.tasks))
        return redo

    def _report_plan(self, plan: Plan) -> None:
        b = self.cfg.batch
        where = f"Dask at {b.scheduler}" if b.executor == "dask" else f"{b.workers} worker(s)"
        limit = f"{b.memory_limit_mb} MB" if b.memory_limit_mb else "none"
        log.info("perfscan %s: %d inputs, %d to do, %d already done, %d duplicates; %s, timeout %g s, "
                 "memory limit %s", self.command.name, self.summary.inputs, len(plan.tasks) + len(plan.unreadable),
                 self.summary.done_before, self.summary.duplicates, where, b.doc_timeout, limit,
                 extra={"event": "start", "data": {"command": self.command.name, "inputs": self.summary.inputs,
                                                   "to_do": len(plan.tasks) + len(plan.unreadable),
                                                   "already_done": self.summary.done_before,
                                                   "duplicates": self.summary.duplicates, "executor": b.executor,
                                                   "workers": b.workers, "out": display_path(self.out.root)}})


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
