"""What the output folder already holds: `DIR/state.sqlite`, one row per document and per source path.

A batch asks two questions of the state before it starts any work. Is this content (sha256) done,
with the same engine and the same processing settings? Then it is skipped. Did this source path
hold other content last time? Then the old document is superseded: its record and rows go once the
new content is committed, unless another existing path still holds the old content.

SQLite because it is the one embedded database with atomic, crash-safe transactions in the standard
library: a `kill -9` between two documents loses nothing, and one in the middle of a commit leaves
the previous state. The coordinator is the only writer. The record file (`records/DOC_ID.json`) is
written before the state row that says "done", so a row never claims a record that is not there;
the reverse (a record without its row) only costs a redo.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .. import __version__
from ..config import Config
from ..errors import UsageError

STATE_FILE = "state.sqlite"
SCHEMA_VERSION = "2"  # 2: documents.timeouts

# Why a document failed. `input` is the file's own fault (unreadable, encrypted, not a form): the same
# content fails the same way, so it is final for that content and settings. The others depend on the
# machine or the code (limits, crashes, a file being written) and are tried again on the next run,
# except a document that ran out of time `FINAL_TIMEOUTS` runs in a row: one that is always too slow
# would otherwise spend its whole time limit every night.
FailureKind = Literal[
    "input", "unreadable", "changed", "too_large", "timeout", "memory", "crash", "internal", "cancelled"
]
FINAL_FAILURES: frozenset[str] = frozenset({"input"})
FINAL_TIMEOUTS = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    source_path TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'needs_review', 'failed', 'superseded')),
    failure TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    engine TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    seconds REAL,
    worker_peak_rss INTEGER,
    run_id INTEGER,
    timeouts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sources (
    path BLOB PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    device INTEGER NOT NULL,
    hashed_at_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_by_sha ON sources (sha256);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT,
    summary TEXT
);
"""


def config_hash(cfg: Config, forms: bytes = b"") -> str:
    """The settings that can change what a document yields, hashed with the perfscan version and
    the bytes of the forms file the rules read (`forms`).

    The batch section (workers, limits, executor) and the OCR thread count only change how fast a
    document is done, not what comes out, so changing them redoes nothing.
    """
    settings = cfg.model_dump(mode="json", exclude={"batch": True, "ocr": {"threads"}})
    payload = json.dumps({"perfscan": __version__, "settings": settings}, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(payload.encode("utf-8"))
    digest.update(hashlib.sha256(forms).digest())
    return digest.hexdigest()[:16]


class StateDamaged(Exception):
    """`state.sqlite` is not a database, or a damaged one: what SQLite says is the message."""


@dataclass(frozen=True)
class Signature:
    """A file's stat fields that change whenever its bytes can have changed (git's index uses the same)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int


@dataclass(frozen=True)
class SourceRow:
    path: bytes
    sha256: str
    signature: Signature
    hashed_at_ns: int


@dataclass(frozen=True)
class DocumentRow:
    sha256: str
    doc_id: str
    source_path: str
    status: str
    failure: str
    message: str
    engine: str
    config_hash: str
    pages: int = 0
    started_at: float | None = None
    seconds: float | None = None
    worker_peak_rss: int | None = None
    timeouts: int = 0  # runs in a row, with this content and these settings, that it ran out of time

    def is_done(self, engine: str, settings: str) -> bool:
        """Done for these settings: finished (or failed for a reason the file itself carries, or
        out of time too often)."""
        if self.engine != engine or self.config_hash != settings:
            return False
        return self.status in ("ok", "needs_review") or (self.status == "failed" and (
            self.failure in FINAL_FAILURES or self.too_slow))

    @property
    def too_slow(self) -> bool:
        return self.failure == "timeout" and self.timeouts >= FINAL_TIMEOUTS


class StateStore:
    """The coordinator's connection to `state.sqlite`. Not thread-safe: one coordinator, one thread."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process (what we guard against); only a power cut may
            # drop the last commits, which then costs a redo, never a wrong "done".
            self._db.execute("PRAGMA synchronous=NORMAL")
            # A damaged file is found here, not in the middle of a run.
            problems = [text for (text,) in self._db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StateDamaged("; ".join(problems[:3]))
            self._create()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
                raise StateDamaged(str(exc)) from exc
            raise  # a full disk, a read-only folder: not the file's fault
        except BaseException:
            self._db.close()
            raise
        self.run_id = 0

    def _create(self) -> None:
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and row[0] == "1":  # before documents.timeouts
                self._db.execute("ALTER TABLE documents ADD COLUMN timeouts INTEGER NOT NULL DEFAULT 0")
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
            elif row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                # Not damage: another perfscan's state, which must not be set aside as if it were.
                raise UsageError(f"{self.path} was written by another version of perfscan (state schema {row[0]}, "
                                 f"this one reads {SCHEMA_VERSION}); use another --out")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        self._db.close()

    # --- meta ------------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- runs ------------------------------------------------------------------------------------

    def begin_run(self, command: str) -> int:
        with self._transaction():
            cur = self._db.execute("INSERT INTO runs (command, started_at) VALUES (?, ?)", (command, time.time()))
        self.run_id = int(cur.lastrowid or 0)
        return self.run_id

    def end_run(self, outcome: str, summary: dict[str, object]) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, summary = ? WHERE run_id = ?",
                (time.time(), outcome, json.dumps(summary, ensure_ascii=False), self.run_id),
            )

    # --- reads -----------------------------------------------------------------------------------

    def document(self, sha256: str) -> DocumentRow | None:
        row = self._db.execute(
            "SELECT sha256, doc_id, source_path, status, failure, message, engine, config_hash, pages,"
            " started_at, seconds, worker_peak_rss, timeouts FROM documents WHERE sha256 = ?",
            (sha256,),
        ).fetchone()
        return DocumentRow(*row) if row else None

    def source(self, path: bytes) -> SourceRow | None:
        row = self._db.execute(
            "SELECT path, sha256, size, mtime_ns, ctime_ns, inode, device, hashed_at_ns FROM sources WHERE path = ?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        return SourceRow(row[0], row[1], Signature(*row[2:7]), row[7])

    def failed(self) -> list[DocumentRow]:
        rows = self._db.execute("SELECT sha256 FROM documents WHERE status = 'failed'").fetchall()
        return [doc for (sha,) in rows if (doc := self.document(sha)) is not None]

    def paths_of(self, sha256: str) -> list[bytes]:
        """The source paths last seen holding this content."""
        return [path for (path,) in self._db.execute("SELECT path FROM sources WHERE sha256 = ?", (sha256,))]

    def superseded(self) -> list[DocumentRow]:
        rows = self._db.execute("SELECT sha256 FROM documents WHERE status = 'superseded'").fetchall()
        return [doc for (sha,) in rows if (doc := self.document(sha)) is not None]

    # --- writes ----------------------------------------------------------------------------------

    def commit(self, doc: DocumentRow | None, sources: Iterable[SourceRow]) -> list[str]:
        """One atomic step: a document's row (if any) and the source paths that now point at it.

        A path that pointed at other content supersedes that content, unless another path that still
        exists on disk points at it (the same content under a second name). Returns the superseded
        sha256s; the caller deletes their files, then calls `forget`.
        """
        superseded: list[str] = []
        with self._transaction():
            if doc is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO documents (sha256, doc_id, source_path, status, failure, message, engine,"
                    " config_hash, pages, started_at, seconds, worker_peak_rss, run_id, timeouts)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.sha256, doc.doc_id, doc.source_path, doc.status, doc.failure, doc.message, doc.engine,
                     doc.config_hash, doc.pages, doc.started_at, doc.seconds, doc.worker_peak_rss, self.run_id,
                     doc.timeouts),
                )
            for src in sources:
                old = self._db.execute("SELECT sha256 FROM sources WHERE path = ?", (src.path,)).fetchone()
                sig = src.signature
                self._db.execute(
                    "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (src.path, src.sha256, sig.size, sig.mtime_ns, sig.ctime_ns, sig.inode, sig.device,
                     src.hashed_at_ns),
                )
                if old is None or old[0] == src.sha256:
                    continue
                holders = [p for (p,) in self._db.execute("SELECT path FROM sources WHERE sha256 = ?", (old[0],))]
                if not any(os.path.exists(p) for p in holders):
                    self._db.execute("UPDATE documents SET status = 'superseded' WHERE sha256 = ?", (old[0],))
                    self._db.execute("DELETE FROM sources WHERE sha256 = ?", (old[0],))
                    superseded.append(old[0])
        return superseded

    def rename(self, sha256: str, source_path: str) -> None:
        """The document's recorded path moved (a renamed file): only its name changes."""
        with self._transaction():
            self._db.execute("UPDATE documents SET source_path = ? WHERE sha256 = ?", (source_path, sha256))

    def supersede(self, sha256: str) -> None:
        """Mark a document for removal (its files go next, then `forget`): a kill in between is
        finished by the next run's purge."""
        with self._transaction():
            self._db.execute("UPDATE documents SET status = 'superseded' WHERE sha256 = ?", (sha256,))

    def undo(self, doc_id: str) -> None:
        """The document's record is gone (found damaged and set aside): it is no longer done."""
        with self._transaction():
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def forget(self, sha256: str) -> None:
        """Drop a superseded document's row once its files are gone."""
        with self._transaction():
            self._db.execute("DELETE FROM documents WHERE sha256 = ? AND status = 'superseded'", (sha256,))


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` on any exception (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
