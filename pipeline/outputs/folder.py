"""An output folder → where each of the contract's files lives, and how each is written.

    records/DOC_ID.json       one per form: the unit of truth, written before anything that depends on it
    pages/DOC_ID-pN.jpg       the scanned pages, for review
    NAME.csv, perfscan.xlsx   every table, rebuilt whole from all records (`export.py`, `workbook.py`)
    review/                   the review pages (`review.py`)
    reviews.csv               a person's decisions (`reviews.py`)
    quarantine/               damaged files, set aside rather than deleted
    state.sqlite              what is done, and with which settings (`batch/state.py`)
    .perfscan.lock            held by the one run writing the folder

Every file is written atomically (temp file, fsync, rename), so a re-run replaces a document's
files instead of duplicating them, and a kill at any moment leaves each file old or new, never half
written; what a killed run left behind is removed by the next one. `OutputFolder` is the one place
these names are spelled.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..batch.inputs import display_path
from ..batch.state import STATE_FILE, StateDamaged, StateStore
from ..errors import UsageError
from ..records import Document

if TYPE_CHECKING:
    from ..forms.catalog import Catalogue
    from .rebuild import Rebuilt

log = logging.getLogger("perfscan")

RECORDS = "records"
PAGES = "pages"
WORKBOOK_NAME = "perfscan.xlsx"  # the CSV tables as one workbook (workbook.py), written beside them
REVIEW_INDEX = "review/index.html"
REVIEWS_FILE = "reviews.csv"
QUARANTINE = "quarantine"
LOCK_FILE = ".perfscan.lock"


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; outputs are shared like any written file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def page_image_name(doc_id: str, page: int) -> str:
    """A page image's path in the output folder, relative to it: the name the document's record
    gives it in `page_images`, so a page that arrives before its record is written where the
    record will point."""
    return f"{PAGES}/{doc_id}-p{page}.jpg"


def output_fault(exc: BaseException) -> str:
    """What an error writing the output folder means to an operator, when the folder itself is at
    fault (full, read-only); "" for anything else, which stays an error of its own."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "the output folder's disk is full"
        if exc.errno == errno.EROFS:
            return "the output folder is read-only"
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            return "the output folder's disk is full"
        if code == sqlite3.SQLITE_READONLY:
            return "the output folder is read-only"
    return ""


class OutputFolder:
    """The contract's files of one output folder (see the module's docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # --- where each file lives --------------------------------------------------------------------

    def record_path(self, doc_id: str) -> Path:
        return self.root / RECORDS / f"{doc_id}.json"

    @property
    def has_records(self) -> bool:
        """Is this a perfscan output folder (one with `records/`)?"""
        return (self.root / RECORDS).is_dir()

    def csv_path(self, table: str) -> Path:
        return self.root / f"{table}.csv"

    @property
    def workbook_path(self) -> Path:
        return self.root / WORKBOOK_NAME

    @property
    def review_index(self) -> Path:
        return self.root / REVIEW_INDEX

    @property
    def reviews_path(self) -> Path:
        return self.root / REVIEWS_FILE

    def staged_path(self, name: str) -> Path:
        """Where a page image waits for its record (`name` relative to the folder): beside its
        final place, under a temp name that the next run removes if its record never came."""
        final = self.root / name
        return final.with_name(f".{final.name}.staged.tmp")

    # --- records and page images ------------------------------------------------------------------

    def write_record(self, doc: Document, page_jpegs: dict[int, bytes] | None = None) -> None:
        """A document's own files: its page images (for review) then its record, the commit point."""
        for page, data in (page_jpegs or {}).items():
            atomic_write(self.root / doc.page_images[page], data)
        atomic_write(self.record_path(doc.doc_id), doc.model_dump_json(indent=1).encode("utf-8"))

    def write_records(self, docs: list[Document], page_jpegs: dict[int, bytes] | None = None) -> None:
        """A file's records, one per form it binds: page images, the later forms' records, the first
        form's record, then the records of forms an earlier reading of the file found and this one
        did not. The batch's state row, written after this, is what commits them together: a kill in
        between leaves the file not done, and the next run rewrites them all."""
        names = {page: name for doc in docs for page, name in doc.page_images.items()}
        for page, data in (page_jpegs or {}).items():
            atomic_write(self.root / names[page], data)
        for doc in [*docs[1:], docs[0]]:
            self.write_record(doc)
        written = {self.record_path(doc.doc_id) for doc in docs}
        for path in self.form_records(docs[0].doc_id):
            if path not in written:
                path.unlink(missing_ok=True)

    def form_records(self, doc_id: str) -> list[Path]:
        """The records of the forms of the file whose first form is `doc_id` (`ID.json`, `ID-2.json`, …)."""
        first = self.record_path(doc_id)
        return sorted([*first.parent.glob(first.name), *first.parent.glob(f"{doc_id}-*.json")])

    def read_record(self, doc_id: str) -> Document | None:
        """One record, None if there is none by that id or it cannot be read."""
        path = self.record_path(doc_id)
        if "/" in doc_id or not path.is_file():
            return None
        try:
            return Document.model_validate_json(path.read_bytes())
        except ValueError:
            return None

    def load_records(self) -> tuple[list[Document], list[Path]]:
        """Every record in the folder, and the record files that are damaged (truncated, not JSON, not
        a record): those are the caller's to set aside, so that one bad file cannot stop every run."""
        if not self.has_records:
            return [], []
        docs: list[Document] = []
        damaged: list[Path] = []
        for path in sorted((self.root / RECORDS).glob("*.json")):
            try:
                docs.append(Document.model_validate_json(path.read_bytes()))
            except ValueError:  # pydantic's ValidationError, bad UTF-8
                damaged.append(path)
        return sorted(docs, key=lambda d: (d.source_path, d.doc_id)), damaged

    def page_image_names(self, doc_id: str) -> set[str]:
        """The page images of `doc_id` in the folder, as names relative to it."""
        return {f"{PAGES}/{p.name}" for p in (self.root / PAGES).glob(f"{doc_id}-p*.jpg")}

    def delete_document(self, doc_id: str) -> None:
        """The page images and records of the file whose first form is `doc_id`."""
        for name in sorted(self.page_image_names(doc_id)):
            (self.root / name).unlink(missing_ok=True)
        for record in self.form_records(doc_id):
            record.unlink(missing_ok=True)

    def quarantine(self, path: Path) -> str:
        """Move a damaged file of the folder into `quarantine/`, stamped with the time, rather than
        delete it: it may be all that is left of someone's work, and it shows what went wrong.
        Returns where it went, relative to the folder."""
        folder = self.root / QUARANTINE
        folder.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        dest = folder / f"{path.name}.{stamp}"
        n = 1
        while dest.exists():
            n += 1
            dest = folder / f"{path.name}.{stamp}-{n}"
        os.replace(path, dest)
        return str(dest.relative_to(self.root))

    # --- what spans documents ---------------------------------------------------------------------

    def rebuild(self, catalogue: Catalogue, review_confidence: float) -> Rebuilt:
        """Every record settled with reviews.csv, then the CSVs, the workbook and the review pages
        (`rebuild.py`, imported here so that a run with nothing to do never loads pandas)."""
        from .rebuild import rebuild

        return rebuild(self, catalogue, review_confidence)

    # --- the folder as a place --------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One run per output folder: a second (an overlapping cron job) is refused, not interleaved.

        flock is released by the kernel when the process dies, so a killed run never leaves it held.
        """
        try:
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            words = output_fault(exc) or f"the output folder cannot be written ({exc.strerror or exc})"
            raise UsageError(f"{words}: {display_path(self.root)}; choose another --out") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise UsageError(
                    f"another perfscan run is writing to {display_path(self.root)}; try again when it ends"
                ) from exc
            yield
        finally:
            os.close(fd)

    def remove_leftovers(self) -> None:
        """Temp files a killed run left behind: of atomic writes (`.NAME.XXXX.tmp`) and page images
        staged for documents it never committed (`.NAME.staged.tmp`); and page images whose doc_id no
        record has. Every folder perfscan writes into is searched (records, pages, review, ...): a kill
        can land in any of their atomic writes."""
        out_dir = self.root
        folders = [out_dir, *(d for d in out_dir.iterdir() if d.is_dir())] if out_dir.is_dir() else []
        for folder in folders:
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        pages = out_dir / PAGES
        if not pages.is_dir():
            return
        recorded = {p.stem for p in (out_dir / RECORDS).glob("*.json")}
        for image in pages.glob("*-p*.jpg"):
            if image.name.rpartition("-p")[0] not in recorded:
                image.unlink(missing_ok=True)

    def open_state(self) -> tuple[StateStore, list[str]]:
        """The folder's state database. A damaged one (not a database, malformed pages) is set aside
        into quarantine/ and a new one begun: every document is then redone once, and nothing stops
        the run. Returns the store and where the damaged files went."""
        path = self.root / STATE_FILE
        try:
            return StateStore(path), []
        except StateDamaged as exc:
            damage = str(exc)
        moved = []
        for part in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            if part.exists():
                moved.append(self.quarantine(part))
        log.warning("%s: damaged (%s), moved to %s; a new one is begun and every document is done again",
                    STATE_FILE, damage, moved[0], extra={"event": "quarantined", "data": {
                        "file": STATE_FILE, "moved_to": moved[0], "reason": damage}})
        return StateStore(path), [f"{STATE_FILE} → {moved[0]}"]
