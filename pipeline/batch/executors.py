"""Where documents run: worker processes on this machine, or tasks on a Dask cluster.

Both hand back `Outcome`s in completion order and never write anything: the coordinator commits
each outcome itself, so the state and output guarantees are the same whichever executor ran it.
On a Dask worker the document still runs in a supervised worker process of that machine
(`pool.run_in_local_pool`), with the same time limit, memory ceiling and crash isolation.

Neither keeps an outcome once it is handed back: over a night of thousands of documents the
coordinator holds the documents in flight, not every document done so far.
"""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from ..config import BatchConfig
from ..errors import UsageError
from .pool import Limits, WorkerPool, run_in_local_pool
from .tasks import Outcome, PageSink, Task


class Executor(Protocol):
    def outcomes(self, tasks: list[Task], pages: PageSink) -> Iterator[Outcome]:
        """Run `tasks`; page images that come in while a document runs go to `pages`."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """`workers` supervised worker processes; one coordinator thread waits on each busy one.

    Page images reach `pages` on those threads, as soon as a worker sends them.
    """

    def __init__(self, limits: Limits, workers: int):
        self._pool = WorkerPool(limits)
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfscan-supervisor")

    def outcomes(self, tasks: list[Task], pages: PageSink) -> Iterator[Outcome]:
        # Outcomes come through a queue, not as the futures' results: a future keeps its result
        # for as long as the future is referenced, i.e. until the whole batch is done.
        done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()

        def run(task: Task) -> None:
            try:
                outcome = self._pool.run(task, pages)
            except Exception as exc:  # noqa: BLE001 — a supervisor fault fails its document, never hangs the batch
                outcome = Outcome(task, None, "internal", f"internal error while supervising the document: {exc!r}")
            done.put(outcome)

        for task in tasks:
            self._threads.submit(run, task)
        for _ in tasks:
            yield done.get()

    def close(self) -> None:
        self._pool.close()
        self._threads.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on the Dask cluster at `address`; perfscan must be installed on its workers.

    Page images do not stream to the coordinator here: each travels back inside its document's
    result (`ProcessedDocument.page_jpegs`, see `run_in_local_pool`), so `pages` is not called.
    """

    def __init__(self, limits: Limits, address: str, connect_timeout: float = 30.0):
        from distributed import Client

        self._limits = limits
        try:
            self._client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address} ({exc})") from exc
        self._pending: dict = {}  # future → task, until its outcome is handed back

    def outcomes(self, tasks: list[Task], pages: PageSink) -> Iterator[Outcome]:
        from distributed import as_completed as dask_completed

        # Keys are unique per run: two batches on one cluster with different settings must never
        # share a result because their documents have the same content.
        run = uuid.uuid4().hex[:12]
        self._pending = {
            self._client.submit(run_in_local_pool, task, self._limits, key=f"perfscan-{run}-{task.sha256[:16]}"): task
            for task in tasks
        }
        for future in dask_completed(list(self._pending), loop=self._client.loop):
            task = self._pending.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 — a lost Dask worker fails this document, not the batch
                outcome = Outcome(task, None, "crash", f"the Dask task failed: {exc!r}")
            # Released, the cluster drops the result (the document and its page images) at once.
            future.release()
            yield outcome

    def close(self) -> None:
        if self._pending:
            self._client.cancel(list(self._pending))
        self._client.close()


def executor_for(batch: BatchConfig) -> Executor:
    limits = Limits(
        timeout=batch.doc_timeout,
        memory_bytes=batch.memory_limit_mb * 2**20,
        max_docs=batch.max_docs_per_worker,
        start_timeout=batch.worker_start_timeout,
        threads=1,
        page_timeout=batch.page_timeout,
    )
    if batch.executor == "dask":
        return DaskExecutor(limits, batch.scheduler)
    return LocalExecutor(limits, batch.workers)
