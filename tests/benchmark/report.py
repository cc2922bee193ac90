"""Results of one benchmark run as Markdown: the machine, the tables, and BENCHMARK.md's sections.

BENCHMARK.md is made of sections between `<!-- bench:NAME -->` markers. A run replaces the
sections it measured and keeps the others, so the default run (side by side) and the slow
`--scaling` run can be made at different times; each section names its own machine and date.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from pipeline import __version__

from .accuracy import Share
from .corpus import REPO
from .measure import Measured

COMPARABLE_POINTS = 5.0  # a peer within this many points of perfscan's accuracy is "comparable"
_VERSIONED = ("paddleocr", "paddlex", "rapidocr", "rapid-table", "onnxruntime", "opencv-contrib-python",
              "camelot-py", "pypdfium2", "numpy")
_TIMEOUT_S = 20
TITLE = "# Benchmark: perfscan against offline peers"


@dataclass
class SystemResult:
    """One system's measurements on one set of pages."""

    name: str
    label: str
    page_seconds: list[float] = field(default_factory=list)
    startup_s: float | None = None
    measured: Measured | None = None
    accuracy: Share = field(default_factory=Share)
    per_fixture: dict[str, Share] = field(default_factory=dict)
    contract: float | None = None
    error: str = ""

    @property
    def pages(self) -> int:
        return len(self.page_seconds)

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.page_seconds) if self.page_seconds else None

    @property
    def max_s(self) -> float | None:
        return max(self.page_seconds) if self.page_seconds else None

    @property
    def cpu_per_page(self) -> float | None:
        return self.measured.cpu_s / self.pages if self.measured and self.pages else None


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=_TIMEOUT_S, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _tesseract_version() -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        return "not installed"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (out.stdout or out.stderr).splitlines()[0].replace("tesseract ", "") if (out.stdout or out.stderr) else "?"


def machine() -> str:
    """One paragraph: what ran where, with which versions, and how busy the machine was."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for dist in _VERSIONED:
        try:
            versions.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = " + uncommitted changes" if _git("status", "--porcelain", "--untracked-files=no") else ""
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {cores} cores ({_cpu_model()}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; perfscan {__version__} at {commit or '?'}{dirty}; "
        f"{', '.join(versions)}; tesseract {_tesseract_version()}. Load average at the end (1/5/15 min): {load}."
    )


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _share(share: Share) -> str:
    return f"{_pct(share.value)} ({share.found}/{share.counted})" if share.counted else "—"


def comparable_peer(results: list[SystemResult], reference: str = "perfscan") -> tuple[SystemResult | None, str]:
    """The fastest peer whose indicator accuracy is within COMPARABLE_POINTS of perfscan's or
    above; when perfscan leads every peer by more, the most accurate peer, and why."""
    ours = next((r for r in results if r.name == reference), None)
    peers = [r for r in results if r.name != reference and r.median_s is not None and r.accuracy.value is not None]
    if ours is None or ours.accuracy.value is None or not peers:
        return None, ""
    close = [r for r in peers if r.accuracy.value * 100 >= ours.accuracy.value * 100 - COMPARABLE_POINTS]
    if close:
        return min(close, key=lambda r: r.median_s), f"fastest peer within {COMPARABLE_POINTS:.0f} points or better"
    why = f"no peer within {COMPARABLE_POINTS:.0f} points: the most accurate one"
    return max(peers, key=lambda r: r.accuracy.value), why


def systems_table(results: list[SystemResult], reference: str = "perfscan") -> str:
    """The side-by-side table: speed, memory, accuracy, and perfscan's speed against each peer."""
    ours = next((r for r in results if r.name == reference), None)
    best, why = comparable_peer(results, reference)
    head = ("| system | pages | s/page median | s/page max | CPU s/page | start-up s | peak RSS MB (tree) "
            "| largest process MB | indicator values found | contract fields exact | perfscan median ÷ this |")
    lines = [head, "|" + "|".join("---" for _ in range(11)) + "|"]
    for r in results:
        if r.name == reference:
            ratio = (f"**{ours.median_s / best.median_s:.2f}× vs {best.name}** ({why})"
                     if best and ours and ours.median_s else "—")
        else:
            ratio = f"{ours.median_s / r.median_s:.2f}×" if ours and ours.median_s and r.median_s else "—"
        m = r.measured
        name = f"{r.name}" + (f" — failed: {r.error}" if r.error else "")
        lines.append(
            f"| {name} | {r.pages} | {_num(r.median_s, 2)} | {_num(r.max_s, 2)} | {_num(r.cpu_per_page, 2)} "
            f"| {_num(r.startup_s)} | {_num(m.peak_tree_mb if m else None, 0)} "
            f"| {_num(m.max_process_mb if m else None, 0)} | {_share(r.accuracy)} | {_pct(r.contract)} | {ratio} |"
        )
    return "\n".join(lines)


def fixtures_table(results: list[SystemResult], fixtures: list[str], about: dict[str, dict]) -> str:
    """Indicator values found, per fixture and system: where each one loses."""
    head = "| fixture | pages | dpi | degradations | " + " | ".join(r.name for r in results) + " |"
    lines = [head, "|" + "|".join("---" for _ in range(4 + len(results))) + "|"]
    for name in fixtures:
        entry = about[name]
        cells = [_share(r.per_fixture.get(name, Share())) for r in results]
        lines.append(f"| {name} | {entry['pages']} | {entry.get('dpi') or '—'} | "
                     f"{', '.join(entry['degradations']) or '—'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def labels(results: list[SystemResult]) -> str:
    return "\n".join(f"- **{r.name}**: {r.label}" for r in results)


_SECTION = re.compile(r"<!-- bench:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /bench:(?P=name) -->\n", re.S)


def write_sections(path: Path, intro: str, order: list[str], sections: dict[str, str]) -> None:
    """Replace the named sections of the Markdown file at `path`, keeping the others as they were."""
    kept = {m["name"]: m["body"] for m in _SECTION.finditer(path.read_text("utf-8"))} if path.exists() else {}
    kept.update({name: body.rstrip() + "\n" for name, body in sections.items()})
    parts = [intro.rstrip() + "\n"]
    for name in order:
        body = kept.get(name, "Not measured yet (see above for the command).\n")
        parts.append(f"<!-- bench:{name} -->\n{body}<!-- /bench:{name} -->\n")
    path.write_text("\n".join(parts), "utf-8")
