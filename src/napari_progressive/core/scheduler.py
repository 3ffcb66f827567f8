"""One priority queue for every layer, in front of an executor.

Each layer talks to the queue through its own ``SchedulerClient``. A client's
``update`` replaces what it wants: queued work that no
client wants any more is cancelled before it starts; work already running
finishes and its result still lands in the caches. Jobs with the same key
run once: every client that wants the key gets the result, also a client
that asks after it finished but before every client has taken it (two
layers or two viewers over the same data read each chunk once).

Work in flight is bounded twice: over all clients (``max_in_flight``, a few
per executor thread) and per client (``SchedulerClient.max_in_flight``), so
one slow remote source cannot hold every worker. Results travel back through
each client's thread-safe queue, drained on the main thread; ``notify`` says
when there is something to drain.
"""

from __future__ import annotations

import heapq
import itertools
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

    Jobs with equal keys must compute the same value. ``run`` and ``args``
    must pickle when the executor is a cluster.
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
    seconds: float


@dataclass
class _Entry:
    """A queued key: the job to run and the clients that want it, with their priorities."""

    job: Job
    wanted: dict[SchedulerClient, tuple[float, ...]]

    @property
    def priority(self) -> tuple[float, ...]:
        return min(self.wanted.values())


class Scheduler:
    """Runs the most important job of any client first, at most ``max_in_flight`` at once."""

    def __init__(self, executor: Executor, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self._executor = executor
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._queued: dict[Hashable, _Entry] = {}
        self._heap: list[tuple[tuple[float, ...], int, Hashable]] = []
        self._running: dict[Hashable, set[SchedulerClient]] = {}
        # Finished results some client has not drained yet (so not cached yet),
        # with how many clients hold them: a client asking meanwhile gets them too.
        self._undrained: dict[Hashable, tuple[Result, int]] = {}
        self._order = itertools.count()
        self._closed = False
        self.submitted = 0
        self.deduplicated = 0

    def client(
        self, notify: Callable[[], None] = lambda: None, max_in_flight: int | None = None
    ) -> SchedulerClient:
        """A handle for one layer (``max_in_flight``: its own bound, default the queue's)."""
        return SchedulerClient(self, notify, max_in_flight or self.max_in_flight)

    @property
    def in_flight(self) -> int:
        """Jobs running now, over all clients."""
        return len(self._running)

    # -- called by clients (any thread) ---------------------------------------------

    def _update(self, client: SchedulerClient, jobs: Sequence[Job], replace: bool = True) -> int:
        """Make ``jobs`` all that ``client`` wants (or, unless ``replace``, add them).

        Returns how many queued jobs ``client`` no longer wants.
        """
        served: list[Result] = []
        with self._lock:
            dropped = 0
            wanted = {j.key for j in jobs}
            for key in client._queued - wanted if replace else ():
                entry = self._queued.get(key)
                if entry is None:
                    continue
                dropped += 1
                before = entry.priority
                del entry.wanted[client]
                if not entry.wanted:
                    del self._queued[key]
                elif entry.priority != before:
                    self._push(key, entry)
            if replace:
                client._queued = set()
            for job in jobs:
                if job.key in client._delivered:
                    continue  # its result already waits in this client's queue
                done = self._undrained.get(job.key)
                if done is not None:
                    self._undrained[job.key] = (done[0], done[1] + 1)
                    self.deduplicated += 1
                    client._delivered.add(job.key)
                    served.append(done[0])
                    continue
                running = self._running.get(job.key)
                if running is not None:
                    if client not in running:
                        self.deduplicated += 1
                        running.add(client)
                        client._running.add(job.key)
                    continue
                entry = self._queued.get(job.key)
                if entry is None:
                    entry = self._queued[job.key] = _Entry(job, {})
                elif client not in entry.wanted:
                    self.deduplicated += 1
                previous = entry.priority if entry.wanted else None
                entry.wanted[client] = job.priority
                client._queued.add(job.key)
                if entry.priority != previous:
                    self._push(job.key, entry)
        for result in served:
            client._deliver(result)
        self._pump()
        return dropped

    def _drained(self, client: SchedulerClient, key: Hashable) -> None:
        """``client`` took the result for ``key`` (and will cache it)."""
        with self._lock:
            client._delivered.discard(key)
            done = self._undrained.get(key)
            if done is not None:
                if done[1] <= 1:
                    del self._undrained[key]
                else:
                    self._undrained[key] = (done[0], done[1] - 1)

    def _push(self, key: Hashable, entry: _Entry) -> None:
        """(Re)queue ``key`` at its entry's priority; older heap items go stale."""
        heapq.heappush(self._heap, (entry.priority, next(self._order), key))
        if len(self._heap) > 4 * len(self._queued) + 64:  # mostly stale: rebuild
            self._heap = [(e.priority, next(self._order), k) for k, e in self._queued.items()]
            heapq.heapify(self._heap)

    def _pending(self, client: SchedulerClient, keys: Collection[Hashable]) -> bool:
        with self._lock:
            return any(k in client._queued for k in keys) or any(
                client in self._running[k] for k in keys if k in self._running
            )

    # -- internals ----------------------------------------------------------------

    def _take_next(self) -> tuple[Job, set[SchedulerClient]] | None:
        """Pop the most important job whose clients have room (under the lock)."""
        skipped = []
        chosen = None
        while self._heap and len(self._running) < self.max_in_flight:
            priority, order, key = heapq.heappop(self._heap)
            entry = self._queued.get(key)
            if entry is None or priority != entry.priority:
                continue  # stale heap item: cancelled, or pushed again with a better priority
            if not any(c.in_flight < c.max_in_flight for c in entry.wanted):
                skipped.append((priority, order, key))
                continue
            del self._queued[key]
            clients = set(entry.wanted)
            for c in clients:
                c._queued.discard(key)
                c._running.add(key)
            self._running[key] = clients
            self.submitted += 1
            chosen = (entry.job, clients)
            break
        for item in skipped:
            heapq.heappush(self._heap, item)
        return chosen

    def _pump(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                taken = self._take_next()
                if taken is None:
                    return
                job, clients = taken
                for c in clients:
                    c.submitted += 1
            start = time.perf_counter()
            try:
                fut = self._executor.submit(job.run, *job.args)
            except RuntimeError:  # the executor shut down (interpreter exit)
                with self._lock:
                    self._closed = True
                    self._running.pop(job.key, None)
                    self._queued.clear()
                return
            fut.add_done_callback(partial(self._done, job.key, start))

    def _done(self, key: Hashable, start: float, fut: Future[Any]) -> None:
        seconds = time.perf_counter() - start
        error = fut.exception()
        value = None if error is not None else fut.result()
        with self._lock:
            clients = self._running.pop(key, set())
            result = Result(key, value, error, seconds)
            if clients:
                self._undrained[key] = (result, len(clients))
            for c in clients:
                c._running.discard(key)
                c._delivered.add(key)
        for c in clients:
            c._deliver(result)
        self._pump()


class SchedulerClient:
    """One layer's view of the shared ``Scheduler``."""

    def __init__(self, scheduler: Scheduler, notify: Callable[[], None], max_in_flight: int):
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.scheduler = scheduler
        self.max_in_flight = max_in_flight
        self._notify = notify
        self._queued: set[Hashable] = set()
        self._results: SimpleQueue[Result] = SimpleQueue()
        self._delivered: set[Hashable] = set()  # keys of undrained results (scheduler's lock)
        self._running: set[Hashable] = set()  # keys running for this client (scheduler's lock)
        self.submitted = 0
        self.cancelled = 0

    def update(self, jobs: Sequence[Job]) -> None:
        """Replace this client's queued work with ``jobs``."""
        self.cancelled += self.scheduler._update(self, jobs)

    def add(self, jobs: Sequence[Job]) -> None:
        """Queue ``jobs`` besides the work already queued."""
        self.scheduler._update(self, jobs, replace=False)

    def drain(self) -> list[Result]:
        """Take every finished result (main thread)."""
        out: list[Result] = []
        while True:
            try:
                result = self._results.get_nowait()
            except Empty:
                return out
            self.scheduler._drained(self, result.key)
            out.append(result)

    @property
    def queued(self) -> int:
        """Jobs this client waits for that have not started."""
        return len(self._queued)

    @property
    def in_flight(self) -> int:
        """Jobs running now that this client waits for."""
        return len(self._running)

    def running_keys(self) -> frozenset[Hashable]:
        """Keys of the jobs running now for this client."""
        return frozenset(self._running)

    def pending(self, keys: Collection[Hashable]) -> bool:
        """Whether any of ``keys`` is queued or running for this client, or a result waits."""
        return not self._results.empty() or self.scheduler._pending(self, keys)

    @property
    def idle(self) -> bool:
        """Nothing queued, running or waiting to be drained for this client."""
        return not self._queued and not self._running and self._results.empty()

    def _deliver(self, result: Result) -> None:
        self._results.put(result)
        self._notify()
