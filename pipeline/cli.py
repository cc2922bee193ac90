"""Command line: arguments → config → batch → exit code. The only place errors become exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .batch import configure_logging, import_texts, run
from .config import load_config
from .errors import PipelineError, UsageError

log = logging.getLogger("perfscan")


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
        sp.add_argument("--xlsx", action="store_true", help="also write perfscan.xlsx with every table")

    r = sub.add_parser("run", help="digitize PDFs / images / folders (recursive)",
                       description="Digitize PDFs, images (png, jpg, tif) and folders of them.")
    r.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    common(r)
    r.add_argument("--engine", help="OCR engine: rapidocr (default), paddleocr, tesseract")
    r.add_argument("--workers", type=int, help="worker processes")

    t = sub.add_parser("import-text", help="parse tab-separated text extractions of the forms",
                       description="Parse tab-separated text extractions into the same outputs.")
    t.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    common(t)
    return p


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 1
    try:
        overrides: dict = {}
        if getattr(args, "engine", None):
            overrides.setdefault("ocr", {})["engine"] = args.engine
        if getattr(args, "workers", None) is not None:
            if args.workers < 1:
                raise UsageError("--workers must be at least 1")
            overrides.setdefault("batch", {})["workers"] = args.workers
        cfg = load_config(args.config, overrides)
        missing = [p for p in args.paths if not p.exists() and not p.is_symlink()]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(map(str, missing))}")
        if args.command == "run":
            from .ocr.registry import ENGINE_NAMES

            if cfg.ocr.engine not in ENGINE_NAMES:
                raise UsageError(f"unknown OCR engine {cfg.ocr.engine!r}; choose one of {', '.join(ENGINE_NAMES)}")
            summary = run(args.paths, args.out, cfg, args.force)
        else:
            summary = import_texts(args.paths, args.out, cfg, args.force)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except PipelineError as exc:
        log.error("perfscan: %s", exc)
        return exc.exit_code
    log.info("done: %d processed (%d failed), %d skipped, %.1f s → %s",
             len(summary.processed), summary.failed, len(summary.skipped), summary.seconds, args.out)
    return 2 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
