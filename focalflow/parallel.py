"""One executor interface for every per-event stage: threads or processes on this machine, or a
Dask cluster.

The ``parallel`` config section chooses (:func:`make_executor`):

* ``scheduler: null`` (default): ``executor: threads`` (numba and TensorFlow release the GIL)
  or ``processes`` (work that holds the GIL, such as ObsPy I/O), ``workers`` of them
  (0: every core this process may use);
* ``scheduler: local``: a ``dask.distributed`` LocalCluster of ``workers`` single-threaded
  worker processes, started for the run and closed after it;
* ``scheduler: tcp://host:8786`` (any scheduler address): an existing Dask cluster, for
  example one started on a batch system with ``dask-jobqueue`` (README).

:meth:`Executor.map` runs a function over tasks and yields the results in the order of the
tasks, with a bounded number in flight, so that a catalog of any size streams through in flat
memory. A task is a chunk of events (``events_per_task``) whose results do not depend on the
other chunks, so results are the same whatever the executor and the number of workers.

:func:`free_cores` is the number of cores not already busy (the load average is subtracted):
HASH's single random stream spreads each grid search over threads that wait for each other,
so it must never be given more threads than there are free cores.
"""
from __future__ import annotations

import collections
import logging
import os
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Optional

from focalflow.errors import FocalflowError

log = logging.getLogger("focalflow.parallel")


def all_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_cores() -> int:
    """Cores not busy with other work: all cores minus the one-minute load average (at
    least 1). A loaded shared machine gets fewer threads, not oversubscribed ones."""
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(all_cores(), int(all_cores() - busy + 0.5)))


class Executor:
    """Runs tasks on ``workers`` workers; :meth:`map` yields results in task order.

    Use as a context manager (``with make_executor(config) as pool: ...``) so that processes
    and clusters are shut down."""

    kind = "inline"

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))

    def map(self, fn: Callable, tasks: Iterable, *shared: Any,
            ahead: Optional[int] = None) -> Iterator:
        """``fn(task, *shared)`` for each task, in order; at most ``ahead`` (default twice the
        workers) tasks are in flight, so memory stays bounded. ``shared`` arguments are sent
        to each worker once."""
        shared = self.share(shared)
        limit = ahead or 2 * self.workers
        pending: collections.deque = collections.deque()
        for task in tasks:
            pending.append(self.submit(fn, task, *shared))
            if len(pending) >= limit:
                yield self.result(pending.popleft())
        while pending:
            yield self.result(pending.popleft())

    def share(self, values: tuple) -> tuple:
        return values

    def submit(self, fn: Callable, *args) -> Any:
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def result(self, future) -> Any:
        return future.result()

    def close(self) -> None:
        pass

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __str__(self) -> str:
        return f"{self.kind} ({self.workers} worker{'s' if self.workers > 1 else ''})"


class ThreadExecutor(Executor):
    kind = "threads"

    def __init__(self, workers: int):
        super().__init__(workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="focalflow")

    def submit(self, fn: Callable, *args) -> Future:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessExecutor(Executor):
    """Worker processes started with ``forkserver`` (a fork of a process whose numba or
    TensorFlow threads are running can deadlock)."""

    kind = "processes"

    def __init__(self, workers: int):
        import multiprocessing

        super().__init__(workers)
        self._pool = ProcessPoolExecutor(self.workers,
                                         mp_context=multiprocessing.get_context("forkserver"))

    def submit(self, fn: Callable, *args) -> Future:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Tasks on a ``dask.distributed`` cluster: a LocalCluster started here (``local``) or the
    scheduler at an address. Shared arguments are scattered to every worker once."""

    kind = "dask"

    def __init__(self, scheduler: str, workers: int = 0):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise FocalflowError(f"parallel.scheduler: {scheduler} needs dask.distributed: "
                                 "pip install 'dask[distributed]'") from None

        self._cluster = None
        if scheduler == "local":
            self._cluster = LocalCluster(n_workers=max(1, workers or all_cores()),
                                         threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
        else:
            self._client = Client(scheduler, timeout="30s")
        self.address = self._client.scheduler.address
        count = len(self._client.scheduler_info(n_workers=-1).get("workers", {}))
        super().__init__(max(count, 1))

    def share(self, values: tuple) -> tuple:
        return tuple(self._client.scatter([value], broadcast=True, hash=False)[0]
                     for value in values)

    def submit(self, fn: Callable, *args) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def result(self, future) -> Any:
        return future.result()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __str__(self) -> str:
        where = "LocalCluster" if self._cluster is not None else self.address
        return f"dask {where} ({self.workers} worker{'s' if self.workers > 1 else ''})"


def make_executor(parallel_config, workers: int = 0) -> Executor:
    """The executor the ``parallel`` config section names (module docstring). ``workers``
    overrides ``parallel.workers`` when given (e.g. stage 6's ``hash.threads``)."""
    count = workers or parallel_config.workers or all_cores()
    if parallel_config.scheduler:
        return DaskExecutor(parallel_config.scheduler, workers or parallel_config.workers)
    if count == 1:
        return Executor(1)
    if parallel_config.executor == "processes":
        return ProcessExecutor(count)
    return ThreadExecutor(count)


def chunks(items: list, size: int) -> Iterator[list]:
    """``items`` in consecutive lists of ``size`` (the last may be shorter)."""
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + size]
