"""`make bench`: perfscan and offline peers on the same fixture pages, one table, BENCHMARK.md.

    python -m tests.benchmark.run             # scanned forms side by side + born-digital section
    python -m tests.benchmark.run --quick     # two one-page scans, prints only: a smoke run
    python -m tests.benchmark.run --scaling   # also 1 vs 2 workers and 10/100/500-page documents
    python -m tests.benchmark.run --scaling --sizes 10 40 --no-side-by-side
    python -m tests.benchmark.run --no-side-by-side --long-run 1000   # memory over a long run

Each system runs in its own subprocess, one after the other, so that its time, CPU and memory
are its own. Peers: PaddleOCR full page, RapidOCR + RapidTable SLANet-plus, Tesseract chi_sim
(scans); camelot lattice (born-digital). See the modules `peer_*.py` for what each one is.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import devset, longdoc, longrun, scaling
from .corpus import QUICK, QUICK_DIGITAL, REPO, fixtures_of_kind, manifest, table_forms
from .perfscan_run import PerfscanRun
from .report import SystemResult, fixtures_table, labels, machine, systems_table, write_sections
from .systems import cores, measure_peer, perfscan_result

SCAN_PEERS = ("paddleocr", "rapidtable", "tesseract")
DIGITAL_PEERS = ("camelot",)
SECTIONS = ["scanned", "born-digital", "devset", "workers", "long-documents", "long-run", "design"]
"""`design` is written by hand (figures behind choices in the code); a run keeps it as it is."""
INTRO = """# Benchmark: perfscan against offline peers

Made by `make bench` (`python -m tests.benchmark.run`); the scaling sections by
`python -m tests.benchmark.run --scaling` (slow: hundreds of pages). Every system reads the same
pages — the scanned 自评表 forms of `fixtures/docs` (reports have no indicator table), rendered at
their scan resolution, and their born-digital twins — in its own subprocess, one after the
other, offline, on the same machine.

How to read the tables:
- **s/page** is the time spent on a page once the system is loaded: for the peers, render + read +
  rows for each page; for perfscan, each document's seconds (from its `--json-log`) / its pages.
  **CPU s/page** is user + system CPU time of the whole process tree over its pages, start-up
  included; it depends less on what else the machine was doing than wall time does.
  **start-up s** is loading (imports, model sessions, a warm-up read); for perfscan, the run's
  wall time not spent on documents.
- **peak RSS**: the whole process tree's summed RSS, sampled every 0.1 s, and the largest single
  process (`wait4` rusage).
- **indicator values found**: of the truth values of each indicator row (三级指标, 年度指标值,
  完成值, 分值, 得分), the share found exactly (after folding spaces and full-width forms) in the
  row of the system's output that holds that indicator. One rule for every system, whatever its
  output looks like; see `tests/benchmark/accuracy.py`.
- **contract fields exact** (perfscan only): every field of the output contract that
  `tests.benchmark.scoring` compares with the truth (header, funding, indicators, totals).
- **perfscan median ÷ this**: how many times slower (>1) or faster (<1) perfscan is per page;
  in perfscan's row, against the fastest peer whose accuracy is within 5 points of perfscan's
  or better.
- **Workers**: batch s/page is wall time / pages, what a user with a folder of scans waits;
  peak RSS per worker is perfscan's own figure. **Long documents**: one fixture's scan pages
  repeated into one PDF; the bar is a time at most 10% over linear growth from the smallest
  size and a peak memory (largest process) within 10% of the smallest size's. **Long run**
  (`--long-run PAGES`): distinct copies of the scanned forms read in one batch by one worker;
  the peak RSS of the coordinator and of the worker in each tenth of the pages (per hundred in a
  1000-page run), the bar being the last tenth within 20% of the first.

The machine is shared with other work: wall times move with its load (the load average is given
with each section); CPU s/page moves less. The RapidTable peer needs `rapid-table==1.0.3`,
installed with `pip install --no-deps` (its metadata asks for numpy<2 and would pull another
OpenCV; it runs on the project's numpy and OpenCV); without it that row says why it failed.
"""


def _note(step: str) -> float:
    print(f"bench: {step}", file=sys.stderr, flush=True)
    return time.monotonic()


def side_by_side(fixtures: list[str], peers: tuple[str, ...],
                 timeout_per_page: float) -> tuple[list[SystemResult], PerfscanRun]:
    """perfscan, then each peer, on every page of `fixtures`."""
    pages = sum(manifest()[name]["pages"] for name in fixtures)
    timeout = 300 + timeout_per_page * pages
    started = _note(f"perfscan on {len(fixtures)} documents, {pages} pages")
    ours, run = perfscan_result(fixtures, timeout)
    results = [ours]
    _note(f"perfscan done in {time.monotonic() - started:.0f} s")
    for peer in peers:
        started = _note(f"{peer} on {pages} pages")
        results.append(measure_peer(peer, fixtures, cores(), timeout))
        _note(f"{peer} done in {time.monotonic() - started:.0f} s")
    return results, run


def measured(title: str, command: str, *parts: str) -> str:
    """One BENCHMARK.md section: its heading, the machine and command it was measured with, then
    its tables and text."""
    return "\n\n".join([f"## {title}", f"{machine()} Command: `{command}`.", *parts]) + "\n"


def section(title: str, command: str, results: list[SystemResult], fixtures: list[str]) -> str:
    return measured(title, command, systems_table(results), "Indicator values found, per fixture:",
                    fixtures_table(results, fixtures, manifest()), "Systems:\n" + labels(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmark.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}; print, do not write")
    parser.add_argument("--only", nargs="+", metavar="FIXTURE",
                        help="these scanned fixtures instead of every scanned 自评表 form")
    parser.add_argument("--peers", nargs="+", choices=SCAN_PEERS, default=list(SCAN_PEERS))
    parser.add_argument("--no-side-by-side", action="store_true", help="skip the side-by-side sections")
    parser.add_argument("--scaling", action="store_true", help="also 1 vs 2 workers and long documents")
    parser.add_argument("--sizes", nargs="+", type=int, default=list(longdoc.DEFAULT_SIZES),
                        help="pages per long document (default: %(default)s)")
    parser.add_argument("--source", default="u000_scan", help="scanned fixture repeated into long documents")
    parser.add_argument("--long-run", type=int, nargs="?", const=longrun.SMOKE_PAGES, metavar="PAGES",
                        help="also memory over one batch of at least PAGES pages of distinct scanned documents "
                             f"(without a number: {longrun.SMOKE_PAGES}, a smoke run; the issue's measure is 1000)")
    parser.add_argument("--timeout-per-page", type=float, default=180.0, help="seconds per page before a "
                        "system is stopped (default %(default)s)")
    parser.add_argument("--markdown", type=Path, default=REPO / "BENCHMARK.md", help="where the tables go")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    command = " ".join(["python -m tests.benchmark.run", *(sys.argv[1:] if argv is None else argv)])
    unknown = set(args.only or []) - set(fixtures_of_kind("scan"))
    if unknown:
        parser.error(f"not scanned fixtures: {', '.join(sorted(unknown))} (see fixtures/manifest.json)")
    scans = list(QUICK) if args.quick else (args.only or table_forms("scan"))
    digital = list(QUICK_DIGITAL) if args.quick else [manifest()[n]["twin"] for n in scans
                                                      if manifest()[n]["twin"] in fixtures_of_kind("born_digital")]
    sections: dict[str, str] = {}
    scan_run = None
    if not args.no_side_by_side:
        results, scan_run = side_by_side(scans, tuple(args.peers), args.timeout_per_page)
        sections["scanned"] = section("Scanned fixtures", command, results, scans)
        print(sections["scanned"])
        results, _ = side_by_side(digital, DIGITAL_PEERS, args.timeout_per_page)
        sections["born-digital"] = section("Born-digital fixtures (text route)", command, results, digital)
        print(sections["born-digital"])
    if not (args.quick or args.no_side_by_side) and devset.available():
        started = _note("perfscan on the development set (30 forms), 2 workers")
        result = devset.measure(workers=2)
        _note(f"done in {time.monotonic() - started:.0f} s")
        sections["devset"] = measured("Development set (30 forms from an independent generator)", command,
                                      devset.table(result, workers=2))
        print(sections["devset"])
    if args.scaling:
        sections.update(scaling_sections(scans, args, command, scan_run))
    if args.long_run:
        sections["long-run"] = long_run_section(args.long_run, args.timeout_per_page, command)
    if not (args.quick or args.no_write):
        write_sections(args.markdown, INTRO, SECTIONS, sections)
        print(f"bench: wrote {args.markdown}", file=sys.stderr)
    return 0


def scaling_sections(scans: list[str], args: argparse.Namespace, command: str,
                     one_worker: PerfscanRun | None) -> dict[str, str]:
    """1 vs 2 workers on the scanned fixtures, and long documents of `args.sizes` pages."""
    pages = sum(manifest()[name]["pages"] for name in scans)
    timeout = 300 + args.timeout_per_page * pages
    runs = []
    for workers in (1, 2):
        if workers == 1 and one_worker is not None:
            runs.append(scaling.WorkersResult(1, one_worker))  # the side-by-side run is this run
            continue
        started = _note(f"perfscan --workers {workers} on {pages} pages")
        runs.append(scaling.measure(scans, workers, timeout))
        _note(f"done in {time.monotonic() - started:.0f} s")
    workers_md = measured("perfscan with 1 and 2 workers (scanned fixtures)", command, scaling.table(runs))
    print(workers_md)
    started = _note(f"long documents of {', '.join(map(str, args.sizes))} pages from {args.source}")
    long_results = longdoc.measure_sizes(args.source, args.sizes, args.timeout_per_page)
    _note(f"done in {time.monotonic() - started:.0f} s")
    long_md = measured(f"perfscan on long documents ({args.source} pages repeated, 1 worker)", command,
                       longdoc.table(long_results))
    print(long_md)
    return {"workers": workers_md, "long-documents": long_md}


def long_run_section(pages: int, timeout_per_page: float, command: str) -> str:
    """Peak memory per tenth of one long batch of distinct scanned documents."""
    started = _note(f"long run of {pages} pages of distinct scanned documents, 1 worker")
    result = longrun.measure(pages, timeout_per_page)
    _note(f"done in {time.monotonic() - started:.0f} s")
    text = measured(f"perfscan memory over a long run ({result.pages} pages, {result.documents} documents, 1 worker)",
                    command, longrun.table(result))
    print(text)
    return text


if __name__ == "__main__":
    raise SystemExit(main())
