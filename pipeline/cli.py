"""Command line: arguments → config → batch → exit code. The only place errors become exit codes.

Exit codes (the contract): 0 every document ok or needs_review; 1 bad arguments or config (an
output folder that cannot be written at all included), or a named folder holding no documents; 2 at
least one document failed, or could not be written because the output folder stopped taking writes
(the others are still written) — `BatchSummary.exit_code`; 130 interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from . import __version__
from .batch.command import digitize, text_import
from .batch.progress import choose_mode, configure_logging
from .batch.run import run_batch
from .config import load_config
from .errors import PipelineError, UsageError

log = logging.getLogger("perfscan")

EXIT_OK, EXIT_INTERRUPTED = 0, 130

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_SIZE_MB = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 * 1024}


def size_mb(text: str) -> int:
    """`--memory-limit`, `--max-file-size`: `2G`, `1536M`, `2GiB`, or a plain number of MB; `0` means
    no limit (and only `0` does: `100K` is 1 MB, not 0)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 2G, 1536M, 0 for none)")
    mb = float(match.group(1)) * _SIZE_MB[match.group(2).lower()]
    return max(1, round(mb)) if mb > 0 else 0


def _positive(kind: type) -> object:
    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="perfscan",
        description="Scanned budget-performance self-evaluation forms (预算绩效自评) to clean, checked data.",
    )
    p.add_argument("--version", action="version", version=f"perfscan {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
        sp.add_argument("--config", type=Path, help="YAML file overriding configs/default.yaml")
        sp.add_argument("--force", action="store_true", help="redo documents already done in --out")
        # perfscan.xlsx is written on every run now; the flag stays so that older command lines still run.
        sp.add_argument("--xlsx", action="store_true", help=argparse.SUPPRESS)
        sp.add_argument("--allow-empty", action="store_true",
                        help="succeed when a named folder holds no documents (by default that exits 1: an "
                             "unmounted share must not look like a quiet night)")
        sp.add_argument("--workers", type=_positive(int), help="worker processes on this machine (default 1)")
        sp.add_argument("--doc-timeout", type=_positive(float), metavar="SECONDS",
                        help="stop a document (and its worker) after this long; it is failed (default 900)")
        sp.add_argument("--page-timeout", type=_positive(float), metavar="SECONDS",
                        help="…or this long per page, if that is longer (default 10); a document that takes too "
                             "long twice is not tried again while it is unchanged")
        sp.add_argument("--retry-failed", action="store_true",
                        help="try again the documents that failed before, though they are unchanged")
        sp.add_argument("--memory-limit", type=size_mb, metavar="SIZE",
                        help="stop a worker whose memory passes SIZE (2G, 1536M; 0 = none; default 4G)")
        sp.add_argument("--max-file-size", type=size_mb, metavar="SIZE",
                        help="fail an input larger than SIZE without reading it (500M, 8G; 0 = none; default 4G)")
        sp.add_argument("--executor", choices=["local", "dask"],
                        help="local worker processes (default), or a Dask cluster (needs --scheduler)")
        sp.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address, e.g. tcp://host:8786")
        sp.add_argument("--json-log", action="store_true",
                        help="log one JSON object per line on stdout instead of the progress bar / log lines")

    r = sub.add_parser("run", help="digitize PDFs / images / folders (recursive)",
                       description="Digitize PDFs, images (png, jpg, tif) and folders of them.")
    r.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    common(r)
    r.add_argument("--engine", help="OCR engine: rapidocr (default), paddleocr, tesseract")

    t = sub.add_parser("import-text", help="parse tab-separated text extractions of the forms",
                       description="Parse tab-separated text extractions into the same outputs.")
    t.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    common(t)

    v = sub.add_parser("review", help="approve or correct flagged values in a local web app",
                       description="A local web app over an output folder: go through the values flagged for "
                                   "review, approve or correct each with the keyboard. Decisions go to "
                                   "OUT/reviews.csv; the next run (or perfscan rebuild OUT) applies them.")
    v.add_argument("out", type=Path, metavar="OUT", help="an output folder of perfscan run / import-text")
    v.add_argument("--port", type=int, default=8765, help="port on localhost (default 8765; 0 picks a free one)")
    v.add_argument("--reviewer", help="name written with each decision (default: your login name)")
    v.add_argument("--config", type=Path, help="YAML file overriding configs/default.yaml (review confidence)")

    b = sub.add_parser("rebuild", help="rewrite the CSVs, workbook and review pages from the records and reviews",
                       description="Rewrite the CSVs, perfscan.xlsx and review pages of OUT from its records and "
                                   "reviews.csv, without reading any input.")
    b.add_argument("out", type=Path, metavar="OUT", help="an output folder of perfscan run / import-text")
    b.add_argument("--config", type=Path, help="YAML file overriding configs/default.yaml")
    b.add_argument("--json-log", action="store_true", help="log one JSON object per line on stdout")
    return p


def _overrides(args: argparse.Namespace) -> dict:
    overrides: dict = {}
    if args.command in ("review", "rebuild"):
        return overrides
    if getattr(args, "engine", None):
        overrides.setdefault("ocr", {})["engine"] = args.engine
    batch = {
        "workers": args.workers, "doc_timeout": args.doc_timeout, "page_timeout": args.page_timeout,
        "memory_limit_mb": args.memory_limit, "max_file_size_mb": args.max_file_size,
        "executor": args.executor, "scheduler": args.scheduler,
    }
    if args.scheduler and not args.executor:
        batch["executor"] = "dask"
    overrides["batch"] = {k: v for k, v in batch.items() if v is not None}
    return overrides


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    configure_logging(choose_mode(False))
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else UsageError.exit_code
    mode = choose_mode(getattr(args, "json_log", False))
    configure_logging(mode)
    # SIGTERM (systemd, a cron timeout) stops the batch like Ctrl-C: finished documents are kept.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        cfg = load_config(args.config, _overrides(args))
        if args.command == "review":
            from .outputs.reviewapp import serve

            serve(args.out, cfg, port=args.port, reviewer=args.reviewer)
            return EXIT_OK
        if args.command == "rebuild":
            from .batch.run import rebuild_folder

            rebuild_folder(args.out, cfg, mode)
            return EXIT_OK
        if cfg.batch.executor == "local" and args.scheduler:
            raise UsageError("--scheduler is for --executor dask")
        missing = [p for p in args.paths if not p.exists() and not p.is_symlink()]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(map(str, missing))}")
        if args.command == "run":
            from .ocr.registry import ENGINE_NAMES

            if cfg.ocr.engine not in ENGINE_NAMES:
                raise UsageError(f"unknown OCR engine {cfg.ocr.engine!r}; choose one of {', '.join(ENGINE_NAMES)}")
            command = digitize(cfg)
        else:
            command = text_import()
        summary = run_batch(args.paths, args.out, cfg, command, force=args.force, retry_failed=args.retry_failed,
                            allow_empty=args.allow_empty, mode=mode)
    except KeyboardInterrupt:
        log.error("interrupted", extra={"event": "exit", "data": {"exit_code": EXIT_INTERRUPTED}})
        return EXIT_INTERRUPTED
    except PipelineError as exc:
        log.error("perfscan: %s", exc, extra={"event": "exit", "data": {"exit_code": exc.exit_code}})
        return exc.exit_code
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
