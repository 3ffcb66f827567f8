"""Executors that run chunk jobs off the main thread.

The scheduler needs only ``submit(fn, *args) -> concurrent.futures.Future``.
The default is one process-wide thread pool. ``SynchronousExecutor`` runs each
job at once on the calling thread (a deterministic mode for tests and
scripts). ``DistributedExecutor`` runs
the same jobs on a ``dask.distributed`` cluster (a ``Client`` or a scheduler
address): one task per chunk, no graph. A per-chunk dask *graph* is
deliberately not used on the hot path: building and scheduling one costs about
ten times the read and decode of a chunk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable


class Executor(Protocol):
    """What the scheduler needs from an executor."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` somewhere other than the calling thread."""
        ...


def share(executor: Executor, obj: Any) -> Any:
    """``obj`` as jobs on ``executor`` should receive it (sent to a cluster once)."""
    shared = getattr(executor, "share", None)
    return shared(obj) if shared is not None else obj


def executor_slots(executor: Executor) -> int:
    """How many jobs ``executor`` runs at once."""
    slots = getattr(executor, "slots", None)
    return int(slots()) if callable(slots) else default_workers()


def compute_slots(executor: Executor) -> int:
    """How many CPU-bound jobs ``executor`` runs at once: a cluster's threads, else our cores."""
    slots = getattr(executor, "slots", None)
    return int(slots()) if callable(slots) else cpu_cores()


class SynchronousExecutor:
    """Runs each job at once on the calling thread: a deterministic mode.

    ``submit`` returns a completed Future (an exception the job raises is
    captured in it, as a thread pool would). A callback added to such a Future
    runs at once unless the thread is already running one: then it runs after
    that one returns. So a callback that submits again (the scheduler's does)
    works through any number of jobs without recursing once per job.
    ``slots`` (default 1) is how many jobs the scheduler may keep in flight.
    """

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError(f"slots must be >= 1, got {slots}")
        self._slots = slots
        self._callbacks = _CallbackQueue()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` now; its result or exception is in the returned Future."""
        future: Future[Any] = _CompletedFuture(self._callbacks)
        try:
            future.set_result(fn(*args))
        except Exception as e:
            future.set_exception(e)
        return future

    def slots(self) -> int:
        """Jobs the scheduler may keep in flight."""
        return self._slots


class _CallbackQueue(threading.local):
    """Callbacks of completed futures, run in order by the outermost caller on each thread."""

    def __init__(self) -> None:
        self.pending: deque[tuple[Callable[[Future[Any]], object], Future[Any]]] = deque()
        self.running = False

    def call(self, fn: Callable[[Future[Any]], object], future: Future[Any]) -> None:
        """Run ``fn(future)`` now, or after the callback this thread is running returns."""
        self.pending.append((fn, future))
        if self.running:
            return
        self.running = True
        try:
            while self.pending:
                callback, done = self.pending.popleft()
                try:
                    callback(done)
                except Exception:  # as concurrent.futures does: log, go on
                    _futures_log.exception("exception calling callback for %r", done)
        finally:
            self.running = False


class _CompletedFuture(Future[Any]):
    """A Future that is done when ``submit`` returns; its callbacks go through a queue."""

    def __init__(self, callbacks: _CallbackQueue) -> None:
        super().__init__()
        self._queue = callbacks

    def add_done_callback(self, fn: Callable[[Future[Any]], object]) -> None:
        """Run ``fn(self)`` (through the queue: it never nests in another callback)."""
        self._queue.call(fn, self)


_futures_log = logging.getLogger("concurrent.futures")


class DistributedExecutor:
    """Runs jobs as plain tasks on a ``dask.distributed`` cluster.

    ``client`` is a ``distributed.Client`` or a scheduler address
    (``"tcp://host:8786"``). Job functions and their arguments travel by
    pickle; a source is scattered to every worker once (``share``).
    """

    def __init__(self, client: Any) -> None:
        if isinstance(client, str):
            from distributed import Client

            client = Client(client, set_as_default=False)
        self.client = client
        self._pending: set[Any] = set()  # a dropped distributed future cancels its task
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on a worker; the result arrives in a concurrent Future."""
        out: Future[Any] = Future()
        task = self.client.submit(fn, *args, pure=False)
        with self._lock:
            self._pending.add(task)

        def done(finished: Any) -> None:
            with self._lock:
                self._pending.discard(finished)
            try:
                out.set_result(finished.result())
            except BaseException as e:
                out.set_exception(e)

        task.add_done_callback(done)
        return out

    def share(self, obj: Any) -> Any:
        """Scatter ``obj`` to every worker; jobs receive it by reference."""
        return self.client.scatter(obj, broadcast=True, hash=False)

    def slots(self) -> int:
        """Threads across the cluster's workers."""
        return max(1, sum(self.client.nthreads().values()))


def as_executor(executor: Any) -> Executor:
    """An ``Executor`` from an executor, a ``distributed.Client`` or a scheduler address."""
    if isinstance(executor, str) or (hasattr(executor, "scatter") and hasattr(executor, "gather")):
        return DistributedExecutor(executor)
    if not callable(getattr(executor, "submit", None)):
        raise TypeError(f"not an executor, Client or scheduler address: {executor!r}")
    return executor


#: Shared-pool threads per core: chunk reads mostly wait on storage, not the CPU.
THREADS_PER_CORE = 4
#: The shared pool never has fewer threads (enough reads in flight for remote storage).
MIN_THREADS = 16


def default_workers() -> int:
    """Threads of the shared pool: ``NAPARI_PROGRESSIVE_THREADS`` if set, else 4 per core, >= 16."""
    value = os.environ.get("NAPARI_PROGRESSIVE_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(
                f"NAPARI_PROGRESSIVE_THREADS must be a whole number >= 1, not {value!r}"
            )
        return int(value)
    return max(MIN_THREADS, THREADS_PER_CORE * cpu_cores())


def cpu_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_shared: ThreadPoolExecutor | None = None
_shared_lock = threading.Lock()


def shared_thread_pool() -> ThreadPoolExecutor:
    """The process-wide thread pool that all layers share by default."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ThreadPoolExecutor(
                max_workers=default_workers(),
                thread_name_prefix="napari-progressive",
                initializer=yield_to_the_ui,
            )
        return _shared


#: How much lower than the UI's a worker thread's scheduling priority is (Linux ``nice``).
WORKER_NICENESS = 10


def yield_to_the_ui() -> None:
    """Lower the calling thread's CPU priority so that the UI and the rasteriser go first.

    On Linux a thread's niceness is its own: workers then use the cores that
    the UI thread and a software-GL rasteriser's threads leave idle, instead
    of taking half of them while a frame is drawn. Elsewhere: nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):  # not permitted: the thread keeps its priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)
