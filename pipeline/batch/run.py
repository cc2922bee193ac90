"""The nightly batch: inputs → a plan → workers → each document committed → the folder settled.

    inputs ─► identify and plan against DIR/state.sqlite (`plan.py`) ─► executor (local worker
    processes, or Dask: `executors.py`) ─► each outcome committed by this coordinator, one at a
    time (`commit.py`) ─► the folder settled and its tables rebuilt from the records and
    reviews.csv (`outputs/rebuild.py`) ─► summary (`summary.py`)

The CSVs are rebuilt from all records at the end (when any record, or reviews.csv, changed) and each
is swapped in atomically, so a document's rows are in them completely or not at all, and a `kill -9`
at any moment leaves old or new files; the next run finishes what is left and never duplicates a
row. A lock file keeps a second run (an overlapping cron job) out of the same output folder. A
damaged record or state database (a bad copy, a disk that filled up under another program) is moved
into `quarantine/` and named in the summary, and its documents are done again: one bad file in the
output folder must not stop every later run. When the folder stops taking writes (a full disk, a
read-only mount) the run stops after its summary, and the next run does what is left.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import OutputFolderError, UsageError
from ..outputs.export import CSV_COLUMNS
from ..outputs.folder import OutputFolder, output_fault
from .command import Command
from .commit import OUTPUTS_KEY
from .executors import executor_for
from .inputs import Discovery, check_layout, discover, display_path
from .plan import Plan, Planner
from .progress import Mode, Progress
from .state import StateStore, config_hash
from .summary import BatchSummary, report_rebuild, report_run

if TYPE_CHECKING:
    from ..outputs.rebuild import Rebuilt

log = logging.getLogger("perfscan")


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
            batch = Batch(folder, cfg, command, state, force, retry_failed, mode)
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
            batch = Batch(folder, cfg, Command("rebuild", "", "", frozenset()), state, False, False, mode)
            batch.summary.quarantined.extend(set_aside)
            batch.rebuild()
            return batch.summary
        finally:
            state.close()


class Batch(Planner):
    """One run over one output folder: plan (`plan.py`), execute, commit (`commit.py`), settle, summary."""

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

    def _execute(self, plan: Plan) -> None:
        executor = executor_for(self.cfg.batch)
        try:
            for outcome in executor.outcomes(plan.tasks, self._write_page):
                self._commit(outcome, *plan.pending[outcome.task.sha256])
        finally:
            executor.close()
            for doc_id in list(self._streamed):  # interrupted: documents that will not be committed
                self._settle_pages(doc_id, keep=set())

    def _outputs_current(self) -> bool:
        """Nothing changed since the tables were last built, with these settings and this
        reviews.csv: rebuilding them would write the same bytes."""
        files = [*(self.out.csv_path(name) for name in CSV_COLUMNS), self.out.workbook_path, self.out.review_index]
        return (not self._changed and self.state.meta(OUTPUTS_KEY) == self._built_with()
                and all(path.exists() for path in files))

    def _built_with(self) -> str:
        """What the tables are built from besides the records: the settings and reviews.csv."""
        reviews = _read_bytes(self.out.reviews_path)
        return f"{self.settings}:{hashlib.sha256(reviews).hexdigest()[:16] if reviews else 'no reviews'}"

    def _rebuild_outputs(self) -> list[str]:
        """Settle every document of the folder (reviews, report ↔ table checks, the one status) and
        write what spans documents (`outputs/rebuild.py`). The documents of this run are then counted by
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
        self.state.set_meta(OUTPUTS_KEY, built_with)
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


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
