"""The development set beside the fixtures: `perfscan run` over `../shared/devset/corpus`, scored by
the set's own scorer. The fixtures are drawn by this project's generator; these 30 forms by
another, so this is the measure of forms perfscan was never tuned on."""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .corpus import REPO

DEVSET = REPO.parent / "shared" / "devset"


@dataclass(frozen=True)
class DevsetResult:
    summary: str  # the scorer's last line
    seconds: float
    pages: int


def available() -> bool:
    return (DEVSET / "score.py").is_file() and (DEVSET / "corpus").is_dir()


def measure(workers: int = 2, timeout: float = 3600) -> DevsetResult:
    with tempfile.TemporaryDirectory(prefix="perfscan-devset-") as tmp:
        out = Path(tmp) / "out"
        started = time.monotonic()
        subprocess.run([str(Path(sys.executable).parent / "perfscan"), "run", str(DEVSET / "corpus"), "--out",
                        str(out), "--workers", str(workers), "--json-log"],
                       capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.monotonic() - started
        score = subprocess.run([sys.executable, str(DEVSET / "score.py"), str(out)], capture_output=True,
                               text=True, timeout=600, check=False)
        lines = score.stdout.strip().splitlines()
        with (out / "documents.csv").open(encoding="utf-8-sig") as fh:
            pages = {r["sha256"]: int(r["pages"] or 0) for r in csv.DictReader(fh)}  # a file's pages once
    return DevsetResult(summary=lines[-1] if lines else score.stderr.strip(), seconds=seconds,
                        pages=sum(pages.values()))


def table(result: DevsetResult, workers: int) -> str:
    per_page = result.seconds / result.pages if result.pages else 0.0
    return "\n".join([
        "| forms | pages | workers | wall s | s/page over the batch |",
        "|---|---|---|---|---|",
        f"| 30 | {result.pages} | {workers} | {result.seconds:.0f} | {per_page:.2f} |",
        "",
        f"Scorer's summary (`python3 ../shared/devset/score.py OUT`): `{result.summary}`",
    ])
