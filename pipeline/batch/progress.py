"""What the operator sees while a batch runs: a bar on a terminal, sparse lines for cron, or JSON.

- `bar` (stderr is a terminal): a tqdm bar over documents (rate, ETA) with pages done and pages/s;
  failures are printed above it.
- `plain` (cron, a pipe): no per-document chatter; failures, a progress line every
  `batch.progress_every` seconds, and the summary. Cron mails stay short.
- `json` (`--json-log`): one JSON object per line on stdout for every event, including each
  document; nothing else is written to stdout, so it can be piped into a log shipper or `jq`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import Literal, TextIO

from tqdm import tqdm

Mode = Literal["bar", "plain", "json"]

log = logging.getLogger("perfscan")


def choose_mode(json_log: bool, stream: TextIO | None = None) -> Mode:
    if json_log:
        return "json"
    stream = stream or sys.stderr
    return "bar" if stream.isatty() else "plain"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, event, message, and the record's `data` fields."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
        }
        obj.update(getattr(record, "data", {}))
        if record.exc_info:
            obj["traceback"] = self.formatException(record.exc_info)
        return json.dumps(obj, ensure_ascii=False, default=str)


class _TqdmHandler(logging.Handler):
    """Log lines printed above the bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 — logging must never break the batch
            self.handleError(record)


def configure_logging(mode: Mode) -> None:
    """The `perfscan` logger's one handler for this mode (idempotent: main() may run many times)."""
    handler: logging.Handler
    if mode == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        level = logging.DEBUG
    else:
        handler = _TqdmHandler() if mode == "bar" else logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        level = logging.INFO
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


class Progress:
    """Documents and pages done, their rate and the time left, shown the way `mode` calls for."""

    def __init__(self, mode: Mode, every: float = 60.0):
        self.mode = mode
        self.every = every
        self.total = 0
        self.docs = 0
        self.pages = 0
        self._start = time.monotonic()
        self._last_line = self._start
        self._bar: tqdm | None = None

    def start(self, total: int) -> None:
        self.total = total
        self._start = self._last_line = time.monotonic()
        if self.mode == "bar" and total:
            self._bar = tqdm(total=total, unit="doc", desc="perfscan", file=sys.stderr, dynamic_ncols=True,
                             smoothing=0.1)

    def add(self, more: int) -> None:
        """More documents to do than `start` was told (done again after all)."""
        self.total += more
        if self._bar is not None and more:
            self._bar.total = self.total
            self._bar.refresh()

    def advance(self, pages: int) -> None:
        self.docs += 1
        self.pages += pages
        now = time.monotonic()
        rate = self.pages / max(now - self._start, 1e-9)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.pages} pages, {rate:.2f} pages/s", refresh=False)
            self._bar.update(1)
        elif self.mode == "plain" and now - self._last_line >= self.every and self.docs < self.total:
            self._last_line = now
            left = (now - self._start) / self.docs * (self.total - self.docs)
            log.info("progress: %d/%d documents, %d pages, %.2f pages/s, about %s left",
                     self.docs, self.total, self.pages, rate, _duration(left))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
