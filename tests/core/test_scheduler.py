import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.scheduler import Job, Scheduler


class StepExecutor:
    """Holds every job submitted until the test runs it: in flight until then."""

    def __init__(self):
        self.waiting = deque()
        self.started = []  # the key of every job submitted, in order

    def submit(self, fn, /, *args):
        future = Future()
        self.waiting.append((future, fn, args))
        self.started.append(args[0])
        return future

    def run_all(self):
        """Run the jobs in flight, and those they let start, until none is left."""
        while self.waiting:
            future, fn, args = self.waiting.popleft()
            future.set_result(fn(*args))


def _echo(key):
    return key


def job(key, priority=0.0):
    """A job whose value is its key."""
    return Job((priority,), key, _echo, (key,))


def test_runs_by_priority_and_bounds_work_in_flight():
    ex = StepExecutor()
    sched = Scheduler(ex, max_in_flight=2).client()
    sched.update([job(k, p) for k, p in [("c", 3), ("a", 1), ("d", 4), ("b", 2)]])
    assert ex.started == ["a", "b"]
    assert sched.in_flight == 2 and sched.queued == 2
    ex.run_all()
    assert ex.started == ["a", "b", "c", "d"]
    results = sched.drain()
    assert {r.key for r in results} == {"a", "b", "c", "d"}
    assert all(r.error is None and r.value == r.key for r in results)
    assert sched.idle


def test_add_queues_work_beside_what_is_queued():
    ex = StepExecutor()
    sched = Scheduler(ex, max_in_flight=1).client()
    sched.update([job(k, i) for i, k in enumerate("abc")])
    sched.add([job("x", 0.5)])
    assert sched.cancelled == 0 and sched.queued == 3
    ex.run_all()
    assert ex.started == ["a", "x", "b", "c"]


def test_an_update_cancels_queued_work_it_does_not_need():
    ex = StepExecutor()
    sched = Scheduler(ex, max_in_flight=1).client()
    sched.update([job(k, i) for i, k in enumerate("abcd")])
    assert ex.started == ["a"]
    sched.update([job("x"), job("a")])  # "a" is running: not resubmitted
    assert sched.cancelled == 3
    ex.run_all()
    assert ex.started == ["a", "x"]
    assert sorted(r.key for r in sched.drain()) == ["a", "x"]


def test_failures_come_back_as_results_and_notify_fires():
    woke = []
    sched = Scheduler(SynchronousExecutor(), max_in_flight=2).client(lambda: woke.append(1))

    def boom():
        raise OSError("disk on fire")

    sched.update([Job((0.0,), "bad", boom)])
    assert woke
    (result,) = sched.drain()
    assert isinstance(result.error, OSError) and result.value is None
    assert sched.idle


def test_in_flight_must_be_positive():
    with pytest.raises(ValueError, match="max_in_flight"):
        Scheduler(SynchronousExecutor(), 0)
    with pytest.raises(ValueError, match="max_in_flight"):
        Scheduler(SynchronousExecutor(), 2).client(max_in_flight=-1)


def test_one_queue_orders_the_work_of_all_clients():
    ex = StepExecutor()
    shared = Scheduler(ex, max_in_flight=1)
    a, b = shared.client(), shared.client()
    a.update([job("blocker", 0.0)])
    a.update([job("a-fine", 3.0), job("a-coarse", 1.0)])
    b.update([job("b-mid", 2.0)])
    ex.run_all()
    assert ex.started == ["blocker", "a-coarse", "b-mid", "a-fine"]


def test_identical_keys_run_once_and_every_client_gets_the_result():
    ex = StepExecutor()
    shared = Scheduler(ex, max_in_flight=1)
    a, b, c = shared.client(), shared.client(), shared.client()
    a.update([job("blocker")])
    c.update([job("blocker")])  # running already: c subscribes to it
    assert c.in_flight == 1
    a.update([job("tile", 5.0)])
    b.update([job("tile", 1.0)])  # queued: joins a's job
    assert a.queued == b.queued == 1
    ex.run_all()
    assert [r.key for r in c.drain()] == ["blocker"]
    assert [r.key for r in b.drain()] == ["tile"]
    assert sorted(r.key for r in a.drain()) == ["blocker", "tile"]
    assert ex.started == ["blocker", "tile"]
    assert shared.deduplicated == 2 and shared.submitted == 2
    assert a.idle and b.idle and c.idle


def test_a_client_that_cancels_leaves_shared_work_to_the_others():
    ex = StepExecutor()
    shared = Scheduler(ex, max_in_flight=1)
    a, b = shared.client(), shared.client()
    a.update([job("blocker")])
    a.update([job("tile")])
    b.update([job("tile")])
    a.update([])  # a's view moved on; b still wants the tile
    assert a.cancelled == 1 and a.queued == 0 and b.queued == 1
    ex.run_all()
    assert [r.key for r in b.drain()] == ["tile"]
    assert ex.started == ["blocker", "tile"]


def test_each_client_has_its_own_bound_on_work_in_flight():
    ex = StepExecutor()
    shared = Scheduler(ex, max_in_flight=4)
    slow, fast = shared.client(max_in_flight=1), shared.client()
    slow.update([job(f"slow{i}", 0.0) for i in range(4)])
    fast.update([job(f"fast{i}", 1.0) for i in range(3)])
    assert ex.started == ["slow0", "fast0", "fast1", "fast2"]
    assert slow.in_flight == 1 and fast.in_flight == 3 and slow.queued == 3
    ex.run_all()
    assert len(ex.started) == 7


def test_priorities_that_get_worse_still_run():
    ex = StepExecutor()
    shared = Scheduler(ex, max_in_flight=1)
    a = shared.client()
    a.update([job("blocker")])
    for p in range(200):  # the camera moves: priorities change at every plan
        a.update([job("x", float(p)), job("y", float(300 - p))])
    assert len(shared._heap) <= 4 * 2 + 64  # stale entries are dropped, memory stays bounded
    ex.run_all()
    assert ex.started == ["blocker", "y", "x"]  # the latest priorities count


def test_a_result_not_yet_taken_serves_a_late_client_without_running_again():
    runs = []
    shared = Scheduler(SynchronousExecutor(), max_in_flight=2)
    a, b = shared.client(), shared.client()
    a.update([Job((0.0,), "tile", lambda: runs.append(1) or "value")])
    assert not a.idle  # its result waits
    b.update([Job((0.0,), "tile", lambda: runs.append(2) or "other")])  # a has not drained
    assert [r.value for r in b.drain()] == ["value"]
    assert [r.value for r in a.drain()] == ["value"]
    assert runs == [1]
    b.update([Job((0.0,), "tile", lambda: runs.append(3) or "again")])  # both took it: runs
    assert [r.value for r in b.drain()] == ["again"]
    assert runs == [1, 3]


def test_a_client_asking_again_before_draining_gets_its_result_once():
    """Planning again while a result waits undrained must not deliver it twice."""
    runs = []
    a = Scheduler(SynchronousExecutor(), max_in_flight=2).client()
    tile = Job((0.0,), "tile", lambda: runs.append(1) or "value")
    a.update([tile])
    a.update([tile])  # the view was planned again before the main thread drained
    a.update([tile])
    assert [r.value for r in a.drain()] == ["value"]
    assert runs == [1] and a.idle
    a.update([tile])  # taken and (say) evicted since: it runs again
    assert [r.value for r in a.drain()] == ["value"]
    assert runs == [1, 1]


def _collect(client, woke, n):
    """Drain ``client`` each time it notifies until it has ``n`` results."""
    got = {}
    while len(got) < n:
        assert woke.wait(10), "no result came"
        woke.clear()
        got.update((r.key, r.value) for r in client.drain())
    return got


def test_on_a_thread_pool_clients_sharing_keys_get_every_result_of_one_run_each():
    with ThreadPoolExecutor(4) as pool:
        shared = Scheduler(pool, max_in_flight=3)
        events = [threading.Event() for _ in range(3)]
        clients = [shared.client(e.set) for e in events]
        for c in clients:
            c.update([job(k, float(k)) for k in range(50)])
        for c, e in zip(clients, events, strict=True):
            assert _collect(c, e, 50) == {k: k for k in range(50)}
    assert shared.submitted == 50 and all(c.idle for c in clients)
