"""Tasks ─► worker processes, seen from the coordinator: one document at a time each, under a time
limit and a memory ceiling ─► `Outcome`s.

A worker is `python -m pipeline.batch.worker` (`worker.py`), started and supervised by `WorkerPool`.
The pool sends it tasks (length-prefixed pickles, `tasks.py`) on stdin and reads its replies;
whatever a library prints goes to its stderr, which the pool drains and keeps the tail of for
failure messages.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot stop the one worker whose document
hangs (a timed-out future keeps running), and one worker that dies breaks the whole pool and fails
every queued document. Why not `multiprocessing.Process`: Dask runs tasks in daemonic processes,
which may not start multiprocessing children; a plain subprocess works under both executors.

The pool kills a worker (its whole process group, so a helper program it started goes too) when
its document outlives its time or its resident memory passes the ceiling. A document's time is
`timeout`, or `page_timeout` per page when that is longer: a process function that takes a
`page_count` callable says how many pages its document has as soon as it knows, so a 650-page
scan is not held to the time of a 2-page form. The ceiling is a
watchdog on RSS rather than RLIMIT_AS: onnxruntime, OpenCV and glibc's per-thread arenas reserve
far more address space than they touch, so an address-space limit fails healthy documents. A
worker is replaced after `max_docs` documents, or sooner when its memory at rest passes half the
ceiling, so memory stays flat over a long night. A worker whose coordinator dies exits by itself.

A scanned page's review image is sent to the coordinator as its own message as soon as it is made
(when the process function takes a `page_images` sink), not kept for the document's reply: a
500-page document would otherwise hold 500 JPEGs in the worker, again as the pickled reply, and
again in the coordinator. Those messages arrive under the same deadline and memory watch as the
reply; the coordinator hands each to the `PageSink` it was given.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

from .state import FailureKind
from .tasks import HEADER, Begun, Outcome, PageCount, PageImage, PageSink, Reply, Setup, Task

_POLL = 0.1  # seconds between checks of a busy worker's clock and memory
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Limits:
    """How workers run. Hashable: the Dask side keeps one pool per distinct `Limits`."""

    timeout: float
    memory_bytes: int
    max_docs: int
    start_timeout: float
    threads: int
    page_timeout: float = 0.0

    def time_for(self, pages: int) -> tuple[float, str]:
        """Seconds a document of `pages` pages may take, and the limit in words."""
        scaled = pages * self.page_timeout
        if scaled > self.timeout:
            return scaled, f"{scaled:g} s ({pages} pages × {self.page_timeout:g} s, --page-timeout)"
        return self.timeout, f"{self.timeout:g} s (--doc-timeout)"



class _Stopped(Exception):
    """The worker is gone (killed by us or dead by itself); `kind` and the reason say why."""

    def __init__(self, kind: FailureKind, reason: str):
        super().__init__(reason)
        self.kind = kind


# --- coordinator side ----------------------------------------------------------------------------


class _Worker:
    """One worker process seen from the pool: its pipes, clock, memory and stderr tail."""

    def __init__(self, limits: Limits, cancelled: Callable[[], bool]):
        self.limits = limits
        threads = str(limits.threads)
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.batch.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, bufsize=0, start_new_session=True,
        )
        self.tail: deque[str] = deque(maxlen=12)
        self.done = 0
        self.peak_rss = 0
        self._buffer = bytearray()
        self._ps = psutil.Process(self.proc.pid)
        self._stderr = threading.Thread(target=self._drain_stderr, name=f"perfscan-stderr-{self.pid}", daemon=True)
        self._stderr.start()
        self.send(Setup(sys_path=list(sys.path), threads=limits.threads))
        self.receive(time.monotonic() + limits.start_timeout, cancelled, what="start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _drain_stderr(self) -> None:
        log = logging.getLogger("perfscan.worker")
        assert self.proc.stderr is not None
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.tail.append(line)
                log.debug("worker %d: %s", self.proc.pid, line, extra={"event": "worker_output"})

    def send(self, message: object) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(HEADER.pack(len(data)) + data)
        except (BrokenPipeError, ValueError) as exc:
            raise self._died() from exc

    def rss(self) -> int:
        """Resident memory of the worker and anything it started (an external OCR program)."""
        try:
            procs = [self._ps, *self._ps.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, total)
        return total

    def receive(
        self, deadline: float, cancelled: Callable[[], bool], what: str = "document", limit: str = ""
    ) -> object:
        """The next message, watching the clock, the memory ceiling and cancellation meanwhile.

        A page image is only handed over after the limits are checked, so a worker that streams
        pages without pause is still stopped at its deadline; a reply that is already in is
        taken even at the deadline, as the document is done.
        """
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            message = self._take_message()
            if message is not None and not isinstance(message, PageImage):
                return message
            self._enforce(deadline, cancelled, what, limit)
            if message is not None:
                return message
            ready, _, _ = select.select([fd], [], [], min(_POLL, max(0.0, deadline - time.monotonic())))
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise self._died()
                self._buffer += chunk

    def _enforce(self, deadline: float, cancelled: Callable[[], bool], what: str, limit: str) -> None:
        """Kill the worker and raise `_Stopped` if it is past its deadline or ceiling, or cancelled.
        `limit` is the document's time limit in words."""
        if time.monotonic() >= deadline:
            start = self.limits.start_timeout
            self.kill()
            if what == "start":
                raise _Stopped("crash", f"the worker process did not start within {start:g} s")
            if what == "warm-up":
                raise _Stopped("timeout", f"its worker did not get ready (loading models) within {start:g} s; "
                                          "it was stopped")
            raise _Stopped("timeout", f"took longer than {limit}; its worker was stopped")
        if cancelled():
            self.kill()
            raise _Stopped("cancelled", "the batch was interrupted before this document finished")
        ceiling = self.limits.memory_bytes
        if ceiling and what != "start":
            used = self.rss()
            if used > ceiling:
                self.kill()
                raise _Stopped("memory", f"used {used / 2**20:.0f} MB, over the memory limit of "
                                         f"{ceiling / 2**20:.0f} MB (--memory-limit); its worker was stopped")

    def _take_message(self) -> object | None:
        if len(self._buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buffer)
        if len(self._buffer) < HEADER.size + size:
            return None
        data = bytes(self._buffer[HEADER.size : HEADER.size + size])
        del self._buffer[: HEADER.size + size]
        return pickle.loads(data)

    def _died(self) -> _Stopped:
        """The worker closed its reply channel on its own: say how it ended, with its last output."""
        if not self._exited(timeout=5.0):
            self.kill()
            return _Stopped("crash", "the worker process closed its reply channel and stopped answering")
        self.kill()  # the exited worker is not reaped yet: its group (anything it started) goes too
        code = self.proc.returncode
        self._stderr.join(timeout=2)
        if code < 0:
            how = f"the worker process was killed by {signal.Signals(-code).name}"
            if -code == signal.SIGKILL:
                how += " (the system may have run out of memory)"
        else:
            how = f"the worker process exited with status {code}"
        last = " | ".join(list(self.tail)[-3:])
        return _Stopped("crash", f"{how}{'; last output: ' + last if last else ''}")

    def _exited(self, timeout: float) -> bool:
        """Wait for the worker to exit without reaping it (WNOWAIT), so its process group stays ours."""
        end = time.monotonic() + timeout
        while True:
            if os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.02)

    def kill(self) -> None:
        """Kill the worker and everything it started (its process group), and reap it. Idempotent.

        Until the worker is reaped its pid, and so the process group it leads, cannot be reused, so
        the group kill never reaches a stranger; once reaped, there is nothing left to kill.
        """
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._close_pipes()

    def retire(self) -> None:
        """Let an idle worker exit by itself (end of input), killing it if it does not within 10 s."""
        self._close_pipes()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass


class WorkerPool:
    """Worker processes shared by the threads that call `run`, each call on its own worker.

    Thread-safe. A worker is started when no idle one is left, so the pool never holds more workers
    than there are concurrent callers, and none at all for a batch with nothing to do.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def run(self, task: Task, pages: PageSink) -> Outcome:
        """Process one document in a worker; never raises: every failure is an `Outcome`.

        Its page images go to `pages` as they arrive, on the calling thread; an exception there
        (a full disk) fails this document and replaces its worker.
        """
        started_at = time.time()
        start = time.monotonic()
        worker: _Worker | None = None
        try:
            worker = self._checkout()
            worker.send(task)
            # A worker may first warm up (load models) under the start-up limit; the document's own
            # clock starts when it says `Begun`.
            deadline, what, limit = time.monotonic() + self.limits.start_timeout, "warm-up", ""
            begun = 0.0
            while not isinstance(reply := worker.receive(deadline, self._closing.is_set, what, limit), Reply):
                if isinstance(reply, Begun):
                    begun, what = time.monotonic(), "document"
                    seconds, limit = self.limits.time_for(0)
                    deadline = begun + seconds
                elif isinstance(reply, PageCount):
                    seconds, limit = self.limits.time_for(reply.pages)
                    deadline = begun + seconds
                elif isinstance(reply, PageImage):
                    pages(task, reply.page, reply.jpeg)
                else:
                    raise TypeError(f"unexpected message from the worker: {type(reply).__name__}")
        except _Stopped as stop:
            peak = 0
            if worker is not None:
                worker.kill()
                peak = worker.peak_rss
            return Outcome(task, None, stop.kind, str(stop), started_at, time.monotonic() - start, peak)
        except Exception as exc:  # noqa: BLE001 — a broken pipe, an unpicklable reply: this document only
            if worker is not None:
                worker.kill()
            return Outcome(task, None, "internal", f"internal error in the worker pool: {exc!r}", started_at,
                           time.monotonic() - start)
        self._checkin(worker)
        return Outcome(task, reply.result, reply.failure, reply.reason, started_at, reply.seconds, reply.peak_rss)

    def _checkout(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Worker(self.limits, self._closing.is_set)

    def _checkin(self, worker: _Worker) -> None:
        worker.done += 1
        ceiling = self.limits.memory_bytes
        if worker.done >= self.limits.max_docs or (ceiling and worker.rss() > ceiling // 2) or self._closing.is_set():
            worker.retire()
            return
        with self._lock:
            self._idle.append(worker)

    def close(self) -> None:
        """Stop everything: busy workers are killed by their callers, idle ones retire."""
        self._closing.set()
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.retire()


# --- on a Dask worker ----------------------------------------------------------------------------

_pools: dict[Limits, WorkerPool] = {}
_pools_lock = threading.Lock()


def run_in_local_pool(task: Task, limits: Limits) -> Outcome:
    """The Dask task: run the document in this machine's own worker processes.

    So a document on a Dask cluster has the same time limit, memory ceiling and crash isolation as
    a local one, and a hang or a segfault costs one worker process, never the Dask worker itself.
    Only the coordinator writes outputs, and it is on another machine: the page images that stream
    in here are gathered into the result's `page_jpegs` and travel back with it, so on Dask one
    document's images are in memory at once (on this Dask worker, then in the coordinator until
    it commits them). A failed document's images are dropped here.
    """
    with _pools_lock:
        pool = _pools.get(limits)
        if pool is None:
            pool = _pools[limits] = WorkerPool(limits)
    gathered: dict[int, bytes] = {}
    outcome = pool.run(task, lambda _task, page, jpeg: gathered.__setitem__(page, jpeg))
    if not gathered or outcome.result is None:
        return outcome
    result = replace(outcome.result, page_jpegs={**outcome.result.page_jpegs, **gathered})
    return replace(outcome, result=result)


@atexit.register
def close_local_pools() -> None:
    """Stop this process's Dask-side pools and their workers (at exit, or when a cluster is done)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()

