"""A worker process: tasks on stdin ─► one document at a time ─► replies on a private copy of stdout.

Started as `python -m pipeline.batch.worker` by the coordinator's `WorkerPool` (`pool.py`), which
supervises it. Whatever a library prints goes to stderr. It never writes an output file: it
returns the document and the coordinator commits it. A scanned page's review image is sent as
its own message as soon as it is made, and freed heap is handed back as it goes, so a long
document does not grow the worker.
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
import os
import pickle
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from ..errors import DocumentError
from .state import FailureKind
from .tasks import HEADER, Begun, PageCount, PageImage, Ready, Reply, Setup, Task

if TYPE_CHECKING:
    from ..document import ProcessedDocument

# Within a long document, freed heap is handed back every few pages too (see `_heap_trimmer`): often
# enough that a page's peak does not creep, seldom enough that the freed memory is not paid for again
# in page faults (BENCHMARK.md, design).
_TRIM_EVERY_PAGES = 5


def _read(stream: BinaryIO) -> object | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def _write(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)))
    stream.write(data)  # not header + data: that would copy a large reply once more
    stream.flush()


def _exit_when_orphaned(parent: int) -> None:
    """A worker whose coordinator was killed (kill -9) must not run on: it checks once a second."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, name="perfscan-orphan-watch", daemon=True).start()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def resolve(reference: str) -> Callable[..., ProcessedDocument]:
    """`module:function` → the function (imported once per worker)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _takes(function: Callable[..., object], keyword: str) -> bool:
    """Does the process function take `keyword` (`page_images`, `page_count`, `sha256`)?"""
    try:
        return keyword in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _warm_up(task: Task, warmed: set[tuple[str, str]]) -> None:
    """The task's `warm_up`, once per worker and config, before its document's clock starts:
    loading models and first calls (~1–2 s) are the worker's start-up, not the document's time.
    A failure here is left for the document itself to meet and report."""
    key = (task.warm_up, task.cfg.model_dump_json())
    if not task.warm_up or key in warmed:
        return
    warmed.add(key)
    try:
        resolve(task.warm_up)(task.cfg)
    except Exception:  # noqa: BLE001 — see the docstring
        traceback.print_exc()


def _execute(task: Task, channel: BinaryIO, release_free_memory: Callable[[], None]) -> Reply:
    start = time.monotonic()
    result: ProcessedDocument | None = None
    failure: FailureKind | None = None
    reason = ""
    try:
        function = resolve(task.process)
        keywords: dict[str, object] = {}
        if _takes(function, "page_images"):
            sent = 0

            def send_page(page: int, jpeg: bytes) -> None:
                nonlocal sent
                _write(channel, PageImage(page, jpeg))
                sent += 1
                if sent % _TRIM_EVERY_PAGES == 0:
                    release_free_memory()

            keywords["page_images"] = send_page
        if _takes(function, "page_count"):
            keywords["page_count"] = lambda pages: _write(channel, PageCount(pages))
        if _takes(function, "sha256"):
            keywords["sha256"] = task.sha256  # hashed by the coordinator; size and mtime are checked below
        result = function(task.path, task.cfg, **keywords)
        if result.document.status == "failed":
            failure, reason = "input", result.document.message
    except DocumentError as exc:
        failure, reason = "input", str(exc)
    except MemoryError:
        failure, reason = "memory", "ran out of memory (MemoryError)"
    except Exception as exc:  # noqa: BLE001 — the worker reports every failure of its document
        traceback.print_exc()
        failure, reason = "internal", f"internal error: {exc!r}"
    changed = _changed_since_hashed(task, result)
    if changed:
        result, failure, reason = None, "changed", changed
    return Reply(result, failure, reason, time.monotonic() - start, _peak_rss())


def _changed_since_hashed(task: Task, result: ProcessedDocument | None) -> str:
    """The coordinator hashed one version of the file; say so if the worker may have read another
    (by size and mtime: the worker does not hash the file again)."""
    try:
        st = os.stat(task.path)
    except OSError as exc:
        return f"the file disappeared while it was being read ({exc.strerror or exc})"
    if (st.st_size, st.st_mtime_ns) != (task.size, task.mtime_ns) or (
        result is not None and result.document.sha256 != task.sha256
    ):
        return ("the file changed while it was being read (it is probably still being written); "
                "it will be tried again on the next run")
    return ""


def _heap_trimmer() -> Callable[[], None]:
    """A call that hands the heap memory the last document freed back to the system.

    A page image is tens of MB. Once glibc's mmap threshold has grown past that size it serves
    them from its heaps and keeps what they free, so a worker's memory at rest climbs document
    after document and the at-rest check of `WorkerPool` retires it early; `malloc_trim(0)` after
    each document keeps it flat at no measurable cost (BENCHMARK.md, design). Without glibc,
    nothing is done.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


def main() -> int:
    """Worker entry point: setup, ready, then one reply per task until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator decides when a worker stops
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by a library goes to stderr, never into the reply channel
    tasks = os.fdopen(0, "rb")
    setup = _read(tasks)
    if not isinstance(setup, Setup):
        return 1
    sys.path[:] = setup.sys_path
    _exit_when_orphaned(os.getppid())
    import cv2

    cv2.setNumThreads(setup.threads)
    release_free_memory = _heap_trimmer()
    _write(channel, Ready())
    warmed: set[tuple[str, str]] = set()
    while (task := _read(tasks)) is not None:
        assert isinstance(task, Task)
        _warm_up(task, warmed)
        _write(channel, Begun())
        reply = _execute(task, channel, release_free_memory)
        release_free_memory()  # before the reply: the pool's at-rest check follows it
        try:
            _write(channel, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _write(channel, Reply(None, "internal", f"internal error: the result cannot be sent ({exc!r})",
                                   reply.seconds, reply.peak_rss))
    return 0



if __name__ == "__main__":
    # What crosses the pipe is defined in `tasks.py`, imported by that name on both sides, so the
    # classes pickled both ways are the same however this module is started.
    sys.exit(main())
