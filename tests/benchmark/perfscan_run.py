"""perfscan itself as a benchmarked system: `perfscan run` in a subprocess, like any user runs it.

Its per-page time comes from its own JSON log (`--json-log`): each document event carries the
seconds its worker spent on it and its page count, so start-up is left out as it is for the
peers. Its table for the shared accuracy measure is indicators.csv; its contract-level accuracy
is `tests.benchmark.scoring` on the whole output folder.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmark.scoring import score_output

from .corpus import FIXTURES, REPO
from .measure import Measured, offline_env, run_measured
from .tokens import Row, rows_from_cells

# The indicator columns of the contract, in table order: the row a person reads.
ROW_COLUMNS = ("level1", "level2", "level3", "target", "actual", "max_score", "score", "deviation_reason")


@dataclass
class DocTiming:
    doc_id: str
    path: str
    pages: int
    seconds: float
    status: str


@dataclass
class PerfscanRun:
    measured: Measured
    docs: list[DocTiming] = field(default_factory=list)
    peak_worker_mb: float | None = None  # perfscan's own figure from its summary


def perfscan_command() -> list[str]:
    """The installed `perfscan` console script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("perfscan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline.cli"]


def run_perfscan(pdfs: list[Path], out_dir: Path, workers: int, timeout_s: float,
                 doc_timeout_s: float = 900.0) -> PerfscanRun:
    argv = [*perfscan_command(), "run", *map(str, pdfs), "--out", str(out_dir), "--workers", str(workers),
            "--force", "--json-log", "--doc-timeout", str(doc_timeout_s), "--memory-limit", "0"]
    run = PerfscanRun(run_measured(argv, timeout_s, env=offline_env(), cwd=REPO))
    for line in run.measured.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "document" and event.get("action") == "processed":
            run.docs.append(DocTiming(event["doc_id"], event["path"], int(event["pages"]),
                                      float(event["seconds"]), event["status"]))
        elif event.get("event") == "summary":
            run.peak_worker_mb = event.get("peak_worker_rss_mb")
    return run


def indicator_rows(out_dir: Path) -> dict[str, list[Row]]:
    """indicators.csv as one table per document, each row its contract columns in order."""
    path = out_dir / "indicators.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.DictReader(fh))
    cells: dict[str, list[list[str]]] = {}
    for record in records:
        cells.setdefault(record["doc_id"], []).append([record.get(c, "") for c in ROW_COLUMNS])
    return {doc_id: rows_from_cells(rows) for doc_id, rows in cells.items()}


def contract_share(out_dir: Path, names: list[str]) -> float | None:
    """Share of every contract field scored by tests.benchmark.scoring (header, funding, indicators,
    totals) that is exactly right."""
    report = score_output(out_dir, FIXTURES / "truth", names)
    compared = report.numeric.compared + report.text.compared + report.other.compared
    matched = report.numeric.matched + report.text.matched + report.other.matched
    return matched / compared if compared else None
