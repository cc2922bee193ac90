"""A batch: find the inputs, process each document on its own, write outputs, never stop early.

A document that fails becomes a `failed` record with its reason; the others go on. A document
whose content (sha256) already has a record in the output folder is skipped unless forced, so a
re-run after an interruption finishes the rest and duplicates nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .document import ProcessedDocument, failed_document, file_sha256, import_text, process_file
from .errors import DocumentError
from .export import load_records, rebuild_tables, write_record
from .records import Document

log = logging.getLogger("perfscan")

INPUT_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}


@dataclass
class BatchSummary:
    processed: list[Document] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(d.status == "failed" for d in self.processed)


def discover(paths: Iterable[Path], suffixes: set[str] | None) -> list[Path]:
    """Files named on the command line, and under folders (recursively, symlink loops ignored)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and (suffixes is None or sub.suffix.lower() in suffixes):
                    real = sub.resolve()
                    if real not in seen:
                        seen.add(real)
                        found.append(sub)
        else:
            found.append(path)
    return found


def run_batch(
    inputs: list[Path],
    out_dir: Path,
    cfg: Config,
    process: Callable[[Path, Config], ProcessedDocument],
    force: bool = False,
) -> BatchSummary:
    start = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    out_real = out_dir.resolve()
    done = {d.sha256: d for d in load_records(out_dir) if d.status != "failed"}
    summary = BatchSummary()
    seen_now: dict[str, Path] = {}
    for n, path in enumerate(inputs, start=1):
        label = f"[{n}/{len(inputs)}] {path}"
        try:
            sha = file_sha256(path)
        except OSError as exc:
            doc = failed_document(path, f"{path}: cannot read it ({exc.strerror or exc})")
            _save(out_dir, ProcessedDocument(doc), summary, label)
            continue
        if out_real in path.resolve().parents:
            summary.skipped.append(path)
            continue
        if sha in seen_now:
            log.info("%s: same content as %s, skipped", label, seen_now[sha])
            summary.skipped.append(path)
            continue
        seen_now[sha] = path
        if not force and sha in done:
            log.info("%s: already done (%s), skipped", label, done[sha].status)
            summary.skipped.append(path)
            continue
        try:
            result = process(path, cfg)
        except DocumentError as exc:
            result = ProcessedDocument(failed_document(path, f"{path.name}: {exc}", sha))
        except Exception as exc:  # noqa: BLE001 — one document must never stop the batch
            log.exception("%s: unexpected error", label)
            result = ProcessedDocument(failed_document(path, f"{path.name}: internal error: {exc!r}", sha))
        _save(out_dir, result, summary, label)
    docs = load_records(out_dir)
    rebuild_tables(out_dir, docs)
    summary.seconds = time.monotonic() - start
    return summary


def _save(out_dir: Path, result: ProcessedDocument, summary: BatchSummary, label: str) -> None:
    doc = result.document
    write_record(out_dir, doc, result.page_jpegs)
    summary.processed.append(doc)
    log.info("%s: %s%s", label, doc.status, f" — {doc.message}" if doc.message else "")


def run(paths: list[Path], out_dir: Path, cfg: Config, force: bool) -> BatchSummary:
    return run_batch(discover(paths, INPUT_SUFFIXES), out_dir, cfg, process_file, force)


def import_texts(paths: list[Path], out_dir: Path, cfg: Config, force: bool) -> BatchSummary:
    return run_batch(discover(paths, {".txt", ".tsv"}), out_dir, cfg, import_text, force)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
