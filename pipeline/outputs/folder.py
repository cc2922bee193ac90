"""The output folder as a place: one run at a time, what a killed run left behind, its state
database, and what an error writing it means (a full disk, a read-only folder).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..batch.inputs import display_path
from ..batch.state import STATE_FILE, StateDamaged, StateStore
from ..errors import UsageError
from .export import quarantine

log = logging.getLogger("perfscan")

LOCK_FILE = ".perfscan.lock"


def open_state(out_dir: Path) -> tuple[StateStore, list[str]]:
    """The output folder's state database. A damaged one (not a database, malformed pages) is set
    aside into quarantine/ and a new one begun: every document is then redone once, and nothing
    stops the run. Returns the store and where the damaged files went."""
    path = out_dir / STATE_FILE
    try:
        return StateStore(path), []
    except StateDamaged as exc:
        damage = str(exc)
    moved = []
    for part in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        if part.exists():
            moved.append(quarantine(out_dir, part))
    log.warning("%s: damaged (%s), moved to %s; a new one is begun and every document is done again",
                STATE_FILE, damage, moved[0], extra={"event": "quarantined", "data": {
                    "file": STATE_FILE, "moved_to": moved[0], "reason": damage}})
    return StateStore(path), [f"{STATE_FILE} → {moved[0]}"]


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


@contextmanager
def exclusive(out_dir: Path) -> Iterator[None]:
    """One run per output folder: a second (an overlapping cron job) is refused, not interleaved.

    flock is released by the kernel when the process dies, so a killed run never leaves it held.
    """
    try:
        fd = os.open(out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        words = output_fault(exc) or f"the output folder cannot be written ({exc.strerror or exc})"
        raise UsageError(f"{words}: {display_path(out_dir)}; choose another --out") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UsageError(
                f"another perfscan run is writing to {display_path(out_dir)}; try again when it ends"
            ) from exc
        yield
    finally:
        os.close(fd)


def remove_leftovers(out_dir: Path) -> None:
    """Temp files a killed run left behind: of atomic writes (`.NAME.XXXX.tmp`) and page images
    staged for documents it never committed (`.NAME.staged.tmp`); and page images whose doc_id no
    record has. Every folder perfscan writes into is searched (records, pages, review, ...): a kill
    can land in any of their atomic writes."""
    folders = [out_dir, *(d for d in out_dir.iterdir() if d.is_dir())] if out_dir.is_dir() else []
    for folder in folders:
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
    pages = out_dir / "pages"
    if not pages.is_dir():
        return
    recorded = {p.stem for p in (out_dir / "records").glob("*.json")}
    for image in pages.glob("*-p*.jpg"):
        if image.name.rpartition("-p")[0] not in recorded:
            image.unlink(missing_ok=True)
