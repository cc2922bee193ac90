"""Run one system in its own process tree and measure it: wall time, CPU time, peak memory.

Each system gets a fresh subprocess so that what is measured is that system alone. Memory is
taken two ways: the largest single process (`wait4` rusage of the child, which covers the
descendants it reaped: a perfscan worker, for instance) and the peak of the whole tree's summed
RSS, sampled every 0.1 s with psutil (a pool of workers costs their sum).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

_SAMPLE_S = 0.1


@dataclass
class Measured:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_tree_mb: float
    max_process_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False


def offline_env() -> dict[str, str]:
    """The children's environment: nothing may reach for model weights on the network."""
    return {**os.environ, "PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK": "True", "HF_HUB_OFFLINE": "1"}


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in family:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(argv: list[str], timeout_s: float, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> Measured:
    """Run `argv` (no shell) to completion or `timeout_s`, then its whole process group is ended."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        watched = psutil.Process(child.pid)
        peak, timed_out = 0, False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(watched))
            if time.monotonic() - start > timeout_s and not timed_out:
                timed_out = True
                os.killpg(child.pid, signal.SIGKILL)  # our child leads its own session: only its tree
            time.sleep(_SAMPLE_S)
        wall = time.monotonic() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=child.returncode,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_tree_mb=peak / 2**20,
            max_process_mb=usage.ru_maxrss / 1024,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=timed_out,
        )
