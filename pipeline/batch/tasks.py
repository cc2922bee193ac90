"""A document to do and what became of it, and the messages that carry them between the
coordinator and a worker process (`pool.py` ⇄ `worker.py`).

    pool ─► Setup ─► worker ─► Ready;  pool ─► Task ─► worker ─► Begun, PageCount, PageImage … ─► Reply
      ─► Outcome (in the coordinator)

Each message is a pickle behind an 8-byte length (`HEADER`). Both sides import these classes from
here, so what one side pickles the other unpickles as the same class.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from .state import FailureKind

if TYPE_CHECKING:
    from ..document import ProcessedDocument

HEADER = struct.Struct(">Q")


@dataclass(frozen=True)
class Task:
    """One document to process.

    `process` names the function (`module:function`, taking a path and the config, returning a
    `ProcessedDocument`) that the worker imports and calls; the coordinator never imports the
    stages, so a run with nothing to do starts fast. A function that makes page images takes them
    out through a `page_images` keyword (a `(page, jpeg)` callable); the worker passes one only to
    a function whose signature has it.
    """

    path: Path  # absolute: a Dask worker elsewhere reads it from the same shared folder
    sha256: str
    size: int
    mtime_ns: int
    cfg: Config
    process: str
    warm_up: str = ""  # `module:function(cfg)` run once per worker and config before its first document



# Coordinator side: (task, 1-based page, JPEG bytes) of a page image that arrived from a worker.
PageSink = Callable[[Task, int, bytes], None]


@dataclass(frozen=True)
class Outcome:
    """What became of a task: a processed document, or a failure kind and its reason in words."""

    task: Task
    result: ProcessedDocument | None
    failure: FailureKind | None = None
    reason: str = ""
    started_at: float = 0.0
    seconds: float = 0.0
    peak_rss: int = 0



@dataclass(frozen=True)
class Setup:
    """What a new worker is told first: the coordinator's import path and its threads."""

    sys_path: list[str]
    threads: int


@dataclass(frozen=True)
class Begun:
    """The worker has warmed up and starts the document: its time limit runs from here."""


@dataclass(frozen=True)
class PageCount:
    """The document has this many pages: its time limit may grow (see `Limits.time_for`)."""

    pages: int


@dataclass(frozen=True)
class Ready:
    """The worker has imported what it needs and waits for tasks."""


@dataclass(frozen=True)
class PageImage:
    """One page's review image, sent while the document is still being processed."""

    page: int
    jpeg: bytes


@dataclass(frozen=True)
class Reply:
    """A document done in the worker: its result, or how it failed."""

    result: ProcessedDocument | None
    failure: FailureKind | None
    reason: str
    seconds: float
    peak_rss: int

