"""perfscan with 1 and 2 worker processes on the same scanned fixtures: throughput and memory.

Batch seconds per page (wall time / pages) is what a user with a folder of scans waits; the
per-document seconds show whether two workers slow each other down on a small machine.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .corpus import pdf_path
from .perfscan_run import PerfscanRun, run_perfscan


@dataclass
class WorkersResult:
    workers: int
    run: PerfscanRun

    @property
    def pages(self) -> int:
        return sum(d.pages for d in self.run.docs)


def measure(fixtures: list[str], workers: int, timeout_s: float) -> WorkersResult:
    with tempfile.TemporaryDirectory(prefix=f"bench-workers{workers}-") as tmp:
        run = run_perfscan([pdf_path(name) for name in fixtures], Path(tmp) / "out", workers, timeout_s)
    return WorkersResult(workers, run)


def table(results: list[WorkersResult]) -> str:
    lines = ["| workers | documents | pages | batch wall s | batch s/page | document s/page median "
             "| CPU s/page | peak RSS MB per worker | peak RSS MB (tree) |",
             "|" + "|".join("---" for _ in range(9)) + "|"]
    for r in results:
        m, pages = r.run.measured, r.pages
        per_doc = [d.seconds / d.pages for d in r.run.docs if d.pages]
        lines.append(
            f"| {r.workers} | {len(r.run.docs)} | {pages} | {m.wall_s:.1f} "
            f"| {m.wall_s / pages:.2f} | {statistics.median(per_doc):.2f} | {m.cpu_s / pages:.2f} "
            f"| {r.run.peak_worker_mb or m.max_process_mb:.0f} | {m.peak_tree_mb:.0f} |"
            if pages else f"| {r.workers} | 0 | 0 | {m.wall_s:.1f} | — | — | — | — | {m.peak_tree_mb:.0f} |"
        )
    return "\n".join(lines)
