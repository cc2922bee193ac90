"""Measure one system on a set of fixtures and score it: the step `run.py` repeats per system."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .accuracy import indicator_share
from .corpus import REPO, pdf_path, truth
from .measure import offline_env, run_measured
from .perfscan_run import PerfscanRun, contract_share, indicator_rows, run_perfscan
from .report import SystemResult
from .tokens import Row, Token
from .worker import peer_class

PERFSCAN_LABEL = "perfscan run --workers 1 (grid + PP-OCRv6 small on cell lines; text route for born-digital)"


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _score(result: SystemResult, fixtures: list[str], tables: dict[str, list[Row]], structured: bool) -> None:
    for name in fixtures:
        share = indicator_share(truth(name), tables.get(name, []), structured)
        result.per_fixture[name] = share
        result.accuracy.add(share)


def measure_peer(peer: str, fixtures: list[str], threads: int, timeout_s: float) -> SystemResult:
    """Run one peer in its own worker process on every page of `fixtures` and score its rows."""
    cls = peer_class(peer)
    result = SystemResult(peer, cls.label)
    with tempfile.TemporaryDirectory(prefix=f"bench-{peer}-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [sys.executable, "-m", "tests.benchmark.worker", peer, *fixtures,
                "--threads", str(threads), "--result", str(out)]
        result.measured = run_measured(argv, timeout_s, env=offline_env(), cwd=REPO)
        if result.measured.timed_out or result.measured.returncode != 0 or not out.exists():
            result.error = "timed out" if result.measured.timed_out else _last_line(result.measured.stderr)
            return result
        data = json.loads(out.read_text("utf-8"))
    result.startup_s = data["startup_s"]
    tables: dict[str, list[Row]] = {}
    for page in data["pages"]:
        result.page_seconds.append(page["seconds"])
        tables.setdefault(page["fixture"], []).extend(
            [Token.from_list(item) for item in row] for row in page["rows"])
    _score(result, fixtures, tables, cls.structured)
    return result


def perfscan_result(fixtures: list[str], timeout_s: float) -> tuple[SystemResult, PerfscanRun]:
    """`perfscan run --workers 1` on the fixtures' PDFs; per-page seconds are each document's
    seconds / its pages; start-up is the wall time not spent on documents."""
    result = SystemResult("perfscan", PERFSCAN_LABEL)
    with tempfile.TemporaryDirectory(prefix="bench-perfscan-") as tmp:
        out = Path(tmp) / "out"
        run = run_perfscan([pdf_path(name) for name in fixtures], out, 1, timeout_s)
        result.measured = run.measured
        if run.measured.timed_out or run.measured.returncode not in (0, 2):
            result.error = "timed out" if run.measured.timed_out else _last_line(run.measured.stderr)
        by_doc = indicator_rows(out)
        _score(result, fixtures, {name: by_doc.get(truth(name).doc_id, []) for name in fixtures}, True)
        result.contract = contract_share(out, fixtures)
    for doc in run.docs:
        result.page_seconds += [doc.seconds / doc.pages] * doc.pages if doc.pages else []
    result.startup_s = run.measured.wall_s - sum(d.seconds for d in run.docs)
    return result, run
