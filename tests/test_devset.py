"""The scan route on the independent development set: 30 forms drawn by another generator.

`perfscan run` over `../shared/devset/corpus`, scored by the set's own scorer against its truth.
The bars below are what the scan route reaches today (BENCHMARK.md, `make devset`): a change that
reads fewer values right, or lets a wrong value out unflagged more often, fails here. They are
raised as the route improves (measured: cells 0.993, numbers 0.991, docs_exact 24); the issue's numbers target
(≥ 0.995) is not met yet.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DEVSET = REPO.parent / "shared" / "devset"

# Measured at the commit that set them; every run of the same code gives the same figures.
AT_LEAST = {"numbers": 0.98, "cells": 0.985, "rows": 0.995, "planted": 18, "docs_exact": 21}
AT_MOST = {"false_errors": 1, "silent": 2, "review_load": 0.17}


@pytest.mark.slow
def test_dev_set_scores_at_least_todays_bars(tmp_path):
    if not (DEVSET / "score.py").is_file():
        pytest.skip(f"the development set is not beside this checkout ({DEVSET})")
    out = tmp_path / "out"
    run = subprocess.run(
        [str(Path(sys.executable).parent / "perfscan"), "run", str(DEVSET / "corpus"), "--out", str(out),
         "--workers", "2", "--json-log"],
        capture_output=True, text=True, timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    bars = [f"--min={k}={v}" for k, v in AT_LEAST.items()] + [f"--max={k}={v}" for k, v in AT_MOST.items()]
    score = subprocess.run([sys.executable, str(DEVSET / "score.py"), str(out), *bars],
                           capture_output=True, text=True, timeout=300)
    summary = score.stdout.strip().splitlines()[-1] if score.stdout.strip() else score.stderr
    print(summary)
    assert score.returncode == 0, f"below today's bars: {summary}\n{score.stderr[-2000:]}"
