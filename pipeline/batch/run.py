"""The nightly batch: find the inputs, skip what is done, run the rest in isolated workers, commit.

    inputs ─► identify (sha256, read-only) ─► plan against DIR/state.sqlite ─► executor (local
    worker processes, or Dask) ─► coordinator commits each document ─► the folder settled and its
    tables rebuilt from the records and reviews.csv (`rebuild.py`) ─► summary (`summary.py`)

Only this coordinator writes to the output folder, one document at a time: the page images, then
the record (`records/DOC_ID.json`, the commit point for the files), then the state row that says
it is done. Page images arrive while their document still runs (a worker streams each as it is
made) and are staged at once under temp names, put in place just before the record; staged images
of a document that failed, timed out, lost its worker or was interrupted are dropped (after a kill,
by the next run, with images no record names), and pages a redone document no longer has go once
its new record is in. The CSVs are rebuilt from all records at the end (when any record, or
reviews.csv, changed) and each is swapped in atomically, so a document's rows are in them completely or not at all, and a `kill -9`
at any moment leaves old or new files; the next run finishes what is left and never duplicates a
row. A lock file keeps a second run (an overlapping cron job) out of the same output folder. A
damaged record or state database (a bad copy, a disk that filled up under another program) is moved
into `quarantine/` and named in the summary, and its documents are done again: one bad file in the
output folder must not stop every later run.

What is redone: content not done with the same engine and settings, content whose last attempt
failed for a reason outside the file (time limit, memory, crash, a file still being written), and
everything with `--force`. A changed file's old record goes once the new one is in; a renamed file
keeps its record under its new name; the same content under a second name is processed once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..config import BatchConfig, Config
from ..errors import OutputFolderError, UnreadableInput, UsageError
from ..outputs.export import CSV_COLUMNS
from ..outputs.folder import OutputFolder, atomic_write, output_fault, page_image_name
from ..records import Document
from .executors import DaskExecutor, Executor, LocalExecutor
from .inputs import (
    PDF_AND_IMAGES,
    TEXT_EXTRACTIONS,
    Discovery,
    InputChanged,
    InputTooBig,
    check_layout,
    discover,
    display_path,
    identify,
    path_key,
)
from .pool import Limits
from .progress import Mode, Progress
from .state import (
    FINAL_TIMEOUTS,
    DocumentRow,
    FailureKind,
    SourceRow,
    StateStore,
    config_hash,
)
from .summary import BatchSummary, report_rebuild, report_run
from .tasks import Outcome, Task

if TYPE_CHECKING:
    from ..outputs.rebuild import Rebuilt

log = logging.getLogger("perfscan")

_OUTPUTS_KEY = "outputs_built_with"  # state meta: settings (and csv/xlsx) the tables were last built with


@dataclass(frozen=True)
class Command:
    """What a batch does to each input: its process function (`module:function`, imported by the
    workers only), engine name and input suffixes, and what a worker runs once before its first
    document (`module:function` taking the config; models loaded there are start-up, not the
    first document's time)."""

    name: str
    process: str
    engine: str
    suffixes: frozenset[str]
    warm_up: str = ""


def digitize(cfg: Config) -> Command:
    """`perfscan run`: PDFs and images through the text or scan route."""
    return Command("run", "pipeline.document:process_file", cfg.ocr.engine, PDF_AND_IMAGES,
                   warm_up="pipeline.document:warm_up")


def text_import() -> Command:
    """`perfscan import-text`: tab-separated text extractions."""
    return Command("import-text", "pipeline.document:import_text", "text", TEXT_EXTRACTIONS)


@dataclass
class _Plan:
    tasks: list[Task] = field(default_factory=list)
    # doc_id → the task of a document skipped as done (and whether it stands failed), should its
    # record turn out to be damaged.
    done: dict[str, tuple[Task, bool]] = field(default_factory=dict)
    # (path, kind, reason) of inputs the coordinator could not even hash: failed without a worker.
    unreadable: list[tuple[Path, FailureKind, str]] = field(default_factory=list)
    # sha256 → the path as given (it names the document) and its source row, committed with it.
    pending: dict[str, tuple[Path, SourceRow]] = field(default_factory=dict)


def run_batch(
    paths: list[Path],
    out_dir: Path,
    cfg: Config,
    command: Command,
    *,
    force: bool = False,
    retry_failed: bool = False,
    allow_empty: bool = False,
    mode: Mode = "plain",
) -> BatchSummary:
    """Process `paths` into `out_dir`. Raises `UsageError` (bad layout, folder in use, a named
    folder without documents unless `allow_empty`) and `KeyboardInterrupt` (after committing what
    finished and rebuilding the CSVs)."""
    if cfg.batch.executor == "dask" and not cfg.batch.scheduler:
        raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    check_layout(paths, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {display_path(out_dir)} ({exc.strerror or exc})") from exc
    folder = OutputFolder(out_dir)
    with folder.exclusive():
        try:
            folder.remove_leftovers()
            state, set_aside = folder.open_state()
        except (OSError, sqlite3.Error) as exc:
            if not (fault := output_fault(exc)):
                raise
            raise OutputFolderError(f"{fault} ({display_path(out_dir)}); nothing was processed") from exc
        try:
            batch = _Batch(folder, cfg, command, state, force, retry_failed, mode)
            batch.summary.quarantined.extend(set_aside)
            found = discover(paths, command.suffixes, out_dir)
            if found.empty and not allow_empty:
                kinds = "/".join(sorted(command.suffixes))
                raise UsageError(f"no documents ({kinds}) in {', '.join(display_path(p) for p in found.empty)} — "
                                 "is the share mounted? (--allow-empty lets a run over an empty folder succeed)")
            return batch.run(found)
        finally:
            state.close()


def rebuild_folder(out_dir: Path, cfg: Config, mode: Mode = "plain") -> BatchSummary:
    """`perfscan rebuild OUT`: settle the folder's records with its reviews.csv and rewrite what
    spans documents, reading no input. Holds the folder like a run (an overlapping run is refused)."""
    folder = OutputFolder(out_dir)
    if not folder.has_records:
        raise UsageError(f"{display_path(out_dir)} is not a perfscan output folder (it has no records/)")
    with folder.exclusive():
        state, set_aside = folder.open_state()
        try:
            batch = _Batch(folder, cfg, Command("rebuild", "", "", frozenset()), state, False, False, mode)
            batch.summary.quarantined.extend(set_aside)
            batch.rebuild()
            return batch.summary
        finally:
            state.close()


class _Batch:
    def __init__(self, out: OutputFolder, cfg: Config, command: Command, state: StateStore, force: bool,
                 retry_failed: bool, mode: Mode):
        self.out = out
        self.cfg = cfg
        self.command = command
        self.state = state
        self.force = force
        self.retry_failed = retry_failed
        # doc_id → status of each form committed in this run, as read; the summary counts the
        # status each has once the output folder is settled (`_rebuild_outputs`).
        self._committed: dict[str, str] = {}
        # doc_id → status logged for a file skipped as done (its state row's): logged again if the
        # folder's settling gives its first form another (a report beside it changed).
        self._skipped: dict[str, str] = {}
        self.settings = config_hash(cfg, _read_bytes(cfg.rules.forms_path))
        self.summary = BatchSummary(review_page=display_path(out.review_index))
        self.progress = Progress(mode, cfg.batch.progress_every)
        self._notes: list[tuple[int, str, tuple[object, ...], dict[str, object]]] = []
        self._changed = False
        # doc_id → page images written in this run whose record is not committed yet. Filled by
        # the executor's threads (`_write_page`), emptied by the commit.
        self._streamed: dict[str, set[str]] = {}
        self._streamed_lock = threading.Lock()
        # A page image that could not be written because of the output folder itself (set on an
        # executor thread; the commit that follows stops the run with it).
        self._write_fault: OSError | None = None
        self._to_do = 0

    def run(self, found: Discovery) -> BatchSummary:
        """Raises `OutputFolderError` (after the summary) when the output folder stops taking writes."""
        start = time.monotonic()
        outcome = "error"
        try:
            self.state.begin_run(self.command.name)
            self._purge_superseded()
            plan = self._plan(found)
            self._report_plan(plan)
            for level, msg, args, extra in self._notes:
                log.log(level, msg, *args, extra=extra)
            self._to_do = len(plan.tasks) + len(plan.unreadable)
            self.progress.start(self._to_do)
            for path, kind, reason in plan.unreadable:
                self._commit_failure(path, kind, reason)
            if plan.tasks:
                self._execute(plan)
            redo = self._redo(plan, self._rebuild_outputs())
            if redo.tasks:
                self._to_do += len(redo.tasks)
                self._execute(redo)
                self._rebuild_outputs()
            outcome = "done"
        except KeyboardInterrupt:
            outcome = "interrupted"
            self.summary.interrupted = True
            log.warning("interrupted: committing what finished, then stopping", extra={"event": "interrupted"})
            raise
        except (OSError, sqlite3.Error) as exc:
            if not self._stop_for(exc):
                raise
            outcome = "stopped"
        finally:
            self.progress.close()
            # On a full disk the tables stay as the last run left them (each file whole); the state
            # says they are not current, so the next run rebuilds them.
            if outcome != "done":
                self._unless_folder_refuses(self._rebuild_outputs)
            self.summary.seconds = time.monotonic() - start
            self._unless_folder_refuses(lambda: self.state.end_run(outcome, self.summary.as_dict()))
            report_run(self.summary, outcome, self.out.root)
        if self.summary.stopped:
            raise OutputFolderError(f"{self.summary.stopped} ({display_path(self.out.root)}); "
                                    f"{self.summary.not_written} documents were not written — free the folder "
                                    "and run again to finish them")
        return self.summary

    def rebuild(self) -> None:
        """Only the closing step of a run: settle and rewrite, then a summary of the folder."""
        self._outputs_change()
        done = self._settle_folder()
        self.summary.statuses = Counter(doc.status for doc in done.docs)
        report_rebuild(self.summary, done, self.out.root)

    def _unless_folder_refuses(self, step: Callable[[], object]) -> bool:
        """Run a closing step; False if the output folder refused its writes (the run is stopped)."""
        try:
            step()
        except (OSError, sqlite3.Error) as exc:
            if not self._stop_for(exc):
                raise
            return False
        return True

    def _stop_for(self, exc: BaseException) -> bool:
        """Is `exc` the output folder refusing writes (disk full, read-only)? Then the run stops:
        the summary says why, and how many documents are left for the next run."""
        fault = output_fault(exc) or (output_fault(self._write_fault) if self._write_fault else "")
        if not fault:
            return False
        if not self.summary.stopped:
            self.summary.stopped = fault
            self.summary.not_written = max(0, self._to_do - self.summary.processed)
            log.error("%s (%s): stopping; what was written stays, the next run does the rest", fault, exc,
                      extra={"event": "stopped", "data": {"reason": fault, "error": str(exc)}})
        return True

    # --- planning --------------------------------------------------------------------------------

    def _plan(self, found: Discovery) -> _Plan:
        for item in found.not_taken:
            if item.link:
                self.summary.links_skipped += 1
                self._note(logging.WARNING, "link_skipped", {"path": display_path(item.path), "reason": item.reason},
                           "%s: %s", display_path(item.path), item.reason)
                continue
            self.summary.not_taken += 1
            self._note(logging.INFO, "not_a_document", {"path": display_path(item.path), "reason": item.reason},
                       "%s: not a document: %s", display_path(item.path), item.reason)
        plan = _Plan()
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

    def _forget_failures_of_deleted_files(self, plan: _Plan) -> None:
        """A failed document whose file is gone from every path it was seen at loses its record and
        row. A good record stays when its file goes (it is data, the contract keeps every document
        processed into the folder); a failure of a file nobody has any more is only noise, and it
        would stand in documents.csv for ever."""
        tonight = set(plan.pending) | {_pseudo_sha(path) for path, _, _ in plan.unreadable}
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

    def _redo(self, plan: _Plan, damaged: list[str]) -> _Plan:
        """The documents of this run's inputs that were skipped as done but whose records the
        rebuild found damaged (and set aside): done again now, not on some later night."""
        redo = _Plan(pending=plan.pending)
        for doc_id in damaged:
            if doc_id in plan.done:
                task, failed = plan.done[doc_id]
                redo.tasks.append(task)
                self.summary.done_before -= 1
                self.summary.failed_before -= failed
        self.progress.add(len(redo.tasks))
        return redo

    def _report_plan(self, plan: _Plan) -> None:
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

    # --- running and committing ------------------------------------------------------------------

    def _execute(self, plan: _Plan) -> None:
        executor = _executor(self.cfg.batch)
        try:
            for outcome in executor.outcomes(plan.tasks, self._write_page):
                self._commit(outcome, *plan.pending[outcome.task.sha256])
        finally:
            executor.close()
            for doc_id in list(self._streamed):  # interrupted: documents that will not be committed
                self._settle_pages(doc_id, keep=set())

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
        sha = _pseudo_sha(path)
        doc = _failed(path, reason, sha)
        self._outputs_change()
        self.out.write_record(doc)
        row = DocumentRow(sha, doc.doc_id, name, "failed", kind, doc.message, self.command.engine, self.settings)
        self.state.commit(row, [])
        self._count([doc], kind, 0.0)

    def _forget_unreadable(self, path: Path) -> None:
        """The file reads again: drop the failure recorded when it did not."""
        pseudo = _pseudo_sha(path)
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

    # --- output folder ---------------------------------------------------------------------------

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
            self.state.set_meta(_OUTPUTS_KEY, "")

    def _outputs_current(self) -> bool:
        """Nothing changed since the tables were last built, with these settings and this
        reviews.csv: rebuilding them would write the same bytes."""
        files = [*(self.out.csv_path(name) for name in CSV_COLUMNS), self.out.workbook_path, self.out.review_index]
        return (not self._changed and self.state.meta(_OUTPUTS_KEY) == self._built_with()
                and all(path.exists() for path in files))

    def _built_with(self) -> str:
        """What the tables are built from besides the records: the settings and reviews.csv."""
        reviews = _read_bytes(self.out.reviews_path)
        return f"{self.settings}:{hashlib.sha256(reviews).hexdigest()[:16] if reviews else 'no reviews'}"

    def _rebuild_outputs(self) -> list[str]:
        """Settle every document of the folder (reviews, report ↔ table checks, the one status) and
        write what spans documents (`rebuild.py`). The documents of this run are then counted by
        the status they settled on, and one whose status the settling changed is logged again.
        Returns the doc_ids of records found damaged (set aside, their documents no longer done)."""
        if self._outputs_current():
            return []
        done = self._settle_folder()
        return [record.stem for record in done.damaged]

    def _settle_folder(self) -> Rebuilt:
        from ..forms.catalog import load_catalogue

        built_with = self._built_with()
        done = self.out.rebuild(load_catalogue(self.cfg.rules.forms_path), self.cfg.read.review_confidence)
        for record in done.damaged:
            self._set_aside(record)
        self._settled(done)
        self.state.set_meta(_OUTPUTS_KEY, built_with)
        return done

    def _settled(self, done: Rebuilt) -> None:
        from ..outputs.rebuild import describe

        settled = {doc.doc_id: doc for doc in done.docs}
        statuses: Counter[str] = Counter()
        for doc_id, status in self._committed.items():
            doc = settled.get(doc_id)
            statuses[doc.status if doc else status] += 1
        for doc_id, status in {**self._skipped, **self._committed}.items():
            doc = settled.get(doc_id)
            if doc is not None and doc.status != status:
                log.info("%s: %s after the checks across documents and reviews — %s", doc.source_path, doc.status,
                         doc.message, extra={"event": "document", "data": {
                             "path": doc.source_path, "doc_id": doc_id, "action": "settled", "status": doc.status,
                             "was": status, "message": doc.message}})
        self.summary.statuses = statuses
        self.summary.stale_reviews = [describe(d) for d in done.stale]
        for problem in done.problems:
            log.warning("%s", problem, extra={"event": "reviews", "data": {"problem": problem}})

def _executor(batch: BatchConfig) -> Executor:
    limits = Limits(
        timeout=batch.doc_timeout,
        memory_bytes=batch.memory_limit_mb * 2**20,
        max_docs=batch.max_docs_per_worker,
        start_timeout=batch.worker_start_timeout,
        threads=1,
        page_timeout=batch.page_timeout,
    )
    if batch.executor == "dask":
        return DaskExecutor(limits, batch.scheduler)
    return LocalExecutor(limits, batch.workers)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


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


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _naming(path: Path, reason: str) -> str:
    """A failure message that names the file, once."""
    name = display_path(path.name)
    return reason if reason.startswith(f"{name}: ") else f"{name}: {reason}"


def _pseudo_sha(path: Path) -> str:
    """Identity of an input whose content cannot be read: a hash of its path, not of its content."""
    return hashlib.sha256(b"unreadable:" + path_key(path)).hexdigest()
