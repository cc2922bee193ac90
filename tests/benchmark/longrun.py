"""Memory over a long run of many documents: as flat in its last hundred pages as in its first?

The scanned 自评表 fixtures are copied over and over into one folder until it holds the asked-for
number of pages, each copy made distinct by a comment after its `%%EOF` (same pages, another
sha256), so none is skipped as a duplicate. `perfscan run` then reads the folder with one worker,
as a nightly job would, workers replaced after `batch.max_docs_per_worker` documents as usual.

While it runs, the resident memory of the coordinator and of each worker process is sampled every
0.2 s against the pages finished so far (the `--json-log` document events), and the peak of each
tenth of the run is kept: per hundred pages for a 1000-page run. The issue's bar: the peak of the
last tenth within 20% of the first tenth's, for the coordinator and for the largest worker. The
tables and review pages rebuilt after the last document are a row of their own: that step reads
every record in the folder once, so it grows with the folder, not with the run's length.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .corpus import REPO, manifest, pdf_path, table_forms
from .measure import offline_env
from .perfscan_run import perfscan_command

FLAT_TOLERANCE = 0.20
PARTS = 10
SMOKE_PAGES = 30  # `--long-run` without a number: a few minutes, to see that it works
_SAMPLE_S = 0.2


@dataclass
class Part:
    """One tenth of the run: the pages it covers and the peaks seen while they were being read."""

    first_page: int
    last_page: int
    documents: int = 0
    coordinator_mb: float = 0.0
    worker_mb: float = 0.0


@dataclass
class LongRunResult:
    pages: int
    documents: int
    returncode: int
    wall_s: float
    parts: list[Part]
    statuses: dict[str, int] = field(default_factory=dict)
    rebuild_coordinator_mb: float = 0.0
    timed_out: bool = False


def build_corpus(pages: int, folder: Path) -> tuple[int, int]:
    """Distinct copies of the scanned forms in `folder` until they hold at least `pages` pages;
    returns how many documents and pages that made."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = table_forms("scan")
    made = total = 0
    while total < pages:
        name = sources[made % len(sources)]
        data = pdf_path(name).read_bytes() + f"\n% perfscan long-run copy {made}\n".encode()
        (folder / f"{made:05d}_{name}.pdf").write_bytes(data)
        total += manifest()[name]["pages"]
        made += 1
    return made, total


def measure(pages: int, timeout_per_page: float) -> LongRunResult:
    """Build the corpus, run perfscan on it with one worker, sample memory per tenth of the pages."""
    with tempfile.TemporaryDirectory(prefix="bench-longrun-") as tmp:
        inputs = Path(tmp) / "in"
        documents, total = build_corpus(pages, inputs)
        return _run(inputs, Path(tmp) / "out", total, documents, 300 + timeout_per_page * total)


def _run(inputs: Path, out: Path, total: int, documents: int, timeout_s: float) -> LongRunResult:
    argv = [*perfscan_command(), "run", str(inputs), "--out", str(out), "--workers", "1", "--json-log",
            "--memory-limit", "0"]
    size = -(-total // PARTS)
    parts = [Part(i * size + 1, min(total, (i + 1) * size)) for i in range(PARTS) if i * size < total]
    result = LongRunResult(total, documents, 0, 0.0, parts)
    done = 0
    with tempfile.TemporaryFile() as log:
        start = time.monotonic()
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.DEVNULL, env=offline_env(), cwd=REPO,
                                 start_new_session=True)
        coordinator = psutil.Process(child.pid)
        position = 0
        pending = b""
        while child.poll() is None:
            log.seek(position)
            chunk = log.read()
            position += len(chunk)
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                finished = _pages_of(line, result.statuses)
                if finished is not None:
                    parts[min(len(parts) - 1, done // size)].documents += 1
                    done += finished
            own, workers = _rss_mb(coordinator)
            if done >= total:
                result.rebuild_coordinator_mb = max(result.rebuild_coordinator_mb, own)
            else:
                part = parts[min(len(parts) - 1, done // size)]
                part.coordinator_mb = max(part.coordinator_mb, own)
                part.worker_mb = max(part.worker_mb, max(workers, default=0.0))
            if time.monotonic() - start > timeout_s:
                result.timed_out = True
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                break
            time.sleep(_SAMPLE_S)
        result.wall_s = time.monotonic() - start
        result.returncode = child.returncode
    return result


def _pages_of(line: bytes, statuses: dict[str, int]) -> int | None:
    """The pages of a document the log line says is finished (None for any other line)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("event") != "document" or event.get("action") != "processed":
        return None
    statuses[event["status"]] = statuses.get(event["status"], 0) + 1
    return int(event["pages"])


def _rss_mb(coordinator: psutil.Process) -> tuple[float, list[float]]:
    """The coordinator's resident memory and each of its worker processes' (with what they started)."""
    try:
        own = coordinator.memory_info().rss / 2**20
        children = coordinator.children()
    except psutil.Error:
        return 0.0, []
    workers = []
    for child in children:
        try:
            tree = [child, *child.children(recursive=True)]
            workers.append(sum(p.memory_info().rss for p in tree) / 2**20)
        except psutil.Error:
            continue
    return own, workers


def _change(first: float, last: float) -> str:
    return f"{(last / first - 1) * 100:+.0f}%" if first else "—"


def table(result: LongRunResult) -> str:
    """Peak memory per tenth of the run, and the verdict against the first tenth."""
    lines = [
        f"{result.documents} documents, {result.pages} pages, exit {result.returncode}"
        f"{' (timed out)' if result.timed_out else ''}, {result.wall_s:.0f} s "
        f"({result.wall_s / max(1, result.pages):.2f} s/page wall); statuses: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.statuses.items())) + ".",
        "",
        "| pages | documents finished | coordinator peak RSS MB | worker peak RSS MB |",
        "|---|---|---|---|",
    ]
    for part in result.parts:
        lines.append(f"| {part.first_page}–{part.last_page} | {part.documents} | {part.coordinator_mb:.0f} "
                     f"| {part.worker_mb:.0f} |")
    lines.append(f"| tables and review pages after the last document | — | {result.rebuild_coordinator_mb:.0f} | — |")
    first, last = result.parts[0], result.parts[-1]
    flat = all(
        a and b <= a * (1 + FLAT_TOLERANCE)
        for a, b in ((first.coordinator_mb, last.coordinator_mb), (first.worker_mb, last.worker_mb))
    )
    lines += ["", f"Last tenth against the first: coordinator {_change(first.coordinator_mb, last.coordinator_mb)}, "
                  f"worker {_change(first.worker_mb, last.worker_mb)}; within {FLAT_TOLERANCE:.0%}: "
                  f"{'yes' if flat else 'no'}."]
    return "\n".join(lines)
