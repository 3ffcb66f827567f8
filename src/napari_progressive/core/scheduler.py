"""Priority queue in front of an executor, with bounded work in flight.

Each ``update`` replaces the queue with the jobs the newest view needs (a new
generation): queued work that is no longer needed is cancelled before it
starts, work already running finishes and its result still lands in the
cache. Results travel back through one thread-safe queue that the main thread
drains; ``notify`` tells it when there is something to drain.
"""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable, Sequence
    from concurrent.futures import Future

    from napari_progressive.core.executor import Executor


@dataclass(frozen=True, order=True)
class Job:
    """A unit of work: ``run(*args)`` returns the value for ``key``.

    ``run`` and ``args`` must pickle when the executor is a cluster.
    """

    priority: tuple[float, ...]
    key: Hashable = field(compare=False)
    run: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Result:
    """The immutable outcome of a job, applied on the main thread."""

    key: Hashable
    value: Any
    error: BaseException | None
    generation: int
    seconds: float


class Scheduler:
    """Runs the most important jobs first, at most ``max_in_flight`` at once."""

    def __init__(
        self,
        executor: Executor,
        max_in_flight: int,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self._executor = executor
        self._max = max_in_flight
        self._notify = notify
        self._lock = threading.Lock()
        self._queue: list[Job] = []
        self._in_flight: dict[Hashable, int] = {}
        self._results: SimpleQueue[Result] = SimpleQueue()
        self.generation = 0
        self.submitted = 0
        self.cancelled = 0

    def update(self, jobs: Sequence[Job]) -> None:
        """Replace queued work with ``jobs`` (a new generation)."""
        with self._lock:
            self.generation += 1
            wanted = {j.key for j in jobs}
            self.cancelled += sum(1 for j in self._queue if j.key not in wanted)
            self._queue = [j for j in jobs if j.key not in self._in_flight]
            heapq.heapify(self._queue)
        self._pump()

    def drain(self) -> list[Result]:
        """Take every finished result (main thread)."""
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except Empty:
                return out

    @property
    def queued(self) -> int:
        """Jobs waiting to start."""
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        """Jobs running now."""
        return len(self._in_flight)

    def pending(self, keys: Collection[Hashable]) -> bool:
        """Whether any of ``keys`` is queued, running, or done but not drained."""
        with self._lock:
            if not self._results.empty():
                return True
            return any(k in self._in_flight for k in keys) or any(
                j.key in keys for j in self._queue
            )

    @property
    def idle(self) -> bool:
        """Nothing queued, running or waiting to be drained."""
        with self._lock:
            return not self._queue and not self._in_flight and self._results.empty()

    def _pump(self) -> None:
        while True:
            with self._lock:
                if not self._queue or len(self._in_flight) >= self._max:
                    return
                job = heapq.heappop(self._queue)
                gen = self.generation
                self._in_flight[job.key] = gen
                self.submitted += 1
            start = time.perf_counter()
            try:
                fut = self._executor.submit(job.run, *job.args)
            except RuntimeError:  # the executor shut down (interpreter exit)
                with self._lock:
                    self._in_flight.pop(job.key, None)
                    self._queue.clear()
                return
            fut.add_done_callback(partial(self._done, job.key, gen, start))

    def _done(self, key: Hashable, gen: int, start: float, fut: Future[Any]) -> None:
        seconds = time.perf_counter() - start
        error = fut.exception()
        value = None if error is not None else fut.result()
        self._results.put(Result(key, value, error, gen, seconds))
        with self._lock:
            self._in_flight.pop(key, None)
        self._notify()
        self._pump()
