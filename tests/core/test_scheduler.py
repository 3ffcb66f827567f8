import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from napari_progressive.core.scheduler import Job, Scheduler


class Gate:
    """Jobs that block until released, recording the order they started in."""

    def __init__(self):
        self.started = []
        self.release = threading.Event()
        self.lock = threading.Lock()

    def job(self, key, priority=(0.0,)):
        def run():
            with self.lock:
                self.started.append(key)
            assert self.release.wait(10)
            return key

        return Job(priority, key, run)


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


@pytest.fixture
def pool():
    ex = ThreadPoolExecutor(4)
    yield ex
    ex.shutdown(wait=True)


def test_runs_by_priority_and_bounds_work_in_flight(pool):
    gate = Gate()
    sched = Scheduler(pool, max_in_flight=2).client()
    sched.update([gate.job(k, (float(p),)) for k, p in [("c", 3), ("a", 1), ("d", 4), ("b", 2)]])
    wait_for(lambda: len(gate.started) == 2)
    assert sorted(gate.started) == ["a", "b"]
    assert sched.in_flight == 2 and sched.queued == 2
    gate.release.set()
    wait_for(lambda: sched.idle or (sched.queued == 0 and sched.in_flight == 0))
    results = []
    wait_for(lambda: results.extend(sched.drain()) or len(results) == 4)
    assert gate.started[2:] == ["c", "d"]
    assert {r.key for r in results} == {"a", "b", "c", "d"}
    assert all(r.error is None and r.value == r.key for r in results)


def test_an_update_cancels_queued_work_it_does_not_need(pool):
    gate = Gate()
    sched = Scheduler(pool, max_in_flight=1).client()
    sched.update([gate.job(k, (float(i),)) for i, k in enumerate("abcd")])
    wait_for(lambda: gate.started == ["a"])
    sched.update([gate.job("x"), gate.job("a")])  # "a" is running: not resubmitted
    assert sched.cancelled == 3
    gate.release.set()
    results = []
    wait_for(lambda: results.extend(sched.drain()) or len(results) == 2)
    assert gate.started == ["a", "x"]
    assert sorted(r.key for r in results) == ["a", "x"]


def test_failures_come_back_as_results_and_notify_fires(pool):
    woke = threading.Event()
    sched = Scheduler(pool, max_in_flight=2).client(woke.set)

    def boom():
        raise OSError("disk on fire")

    sched.update([Job((0.0,), "bad", boom)])
    assert woke.wait(5)
    results = []
    wait_for(lambda: results.extend(sched.drain()) or results)
    assert isinstance(results[0].error, OSError)
    wait_for(lambda: sched.idle)


def test_in_flight_must_be_positive(pool):
    with pytest.raises(ValueError, match="max_in_flight"):
        Scheduler(pool, 0)
    with pytest.raises(ValueError, match="max_in_flight"):
        Scheduler(pool, 2).client(max_in_flight=-1)


def test_one_queue_orders_the_work_of_all_clients(pool):
    gate = Gate()
    shared = Scheduler(pool, max_in_flight=1)
    a, b = shared.client(), shared.client()
    a.update([gate.job("blocker", (0.0,))])
    wait_for(lambda: gate.started == ["blocker"])
    a.update([gate.job("a-fine", (3.0,)), gate.job("a-coarse", (1.0,))])
    b.update([gate.job("b-mid", (2.0,))])
    gate.release.set()
    wait_for(lambda: len(gate.started) == 4)
    assert gate.started == ["blocker", "a-coarse", "b-mid", "a-fine"]


def _results(client):
    got = []
    wait_for(lambda: got.extend(client.drain()) or got)
    return got


def test_identical_keys_run_once_and_every_client_gets_the_result(pool):
    gate = Gate()
    shared = Scheduler(pool, max_in_flight=1)
    a, b, c = shared.client(), shared.client(), shared.client()
    a.update([gate.job("blocker")])
    wait_for(lambda: gate.started == ["blocker"])
    c.update([gate.job("blocker")])  # running already: c subscribes to it
    assert c.in_flight == 1
    a.update([gate.job("tile", (5.0,))])
    b.update([gate.job("tile", (1.0,))])  # queued: joins a's job
    assert a.queued == b.queued == 1
    gate.release.set()
    assert [r.key for r in _results(c)] == ["blocker"]
    assert [r.key for r in _results(b)] == ["tile"]
    wait_for(lambda: a.idle or bool(a.drain()))
    assert gate.started == ["blocker", "tile"]
    assert shared.deduplicated == 2 and shared.submitted == 2


def test_a_client_that_cancels_leaves_shared_work_to_the_others(pool):
    gate = Gate()
    shared = Scheduler(pool, max_in_flight=1)
    a, b = shared.client(), shared.client()
    a.update([gate.job("blocker")])
    wait_for(lambda: gate.started == ["blocker"])
    a.update([gate.job("tile")])
    b.update([gate.job("tile")])
    a.update([])  # a's view moved on; b still wants the tile
    assert a.cancelled == 1 and a.queued == 0 and b.queued == 1
    gate.release.set()
    got = []
    wait_for(lambda: got.extend(b.drain()) or got)
    assert [r.key for r in got] == ["tile"]
    b.update([])
    assert gate.started == ["blocker", "tile"]


def test_each_client_has_its_own_bound_on_work_in_flight(pool):
    gate = Gate()
    shared = Scheduler(pool, max_in_flight=4)
    slow, fast = shared.client(max_in_flight=1), shared.client()
    slow.update([gate.job(f"slow{i}", (0.0,)) for i in range(4)])
    fast.update([gate.job(f"fast{i}", (1.0,)) for i in range(3)])
    wait_for(lambda: len(gate.started) == 4)
    assert sum(k.startswith("slow") for k in gate.started) == 1
    assert slow.in_flight == 1 and fast.in_flight == 3 and slow.queued == 3
    gate.release.set()
    wait_for(lambda: len(gate.started) == 7)


def test_priorities_that_get_worse_still_run(pool):
    gate = Gate()
    shared = Scheduler(pool, max_in_flight=1)
    a = shared.client()
    a.update([gate.job("blocker")])
    wait_for(lambda: gate.started == ["blocker"])
    for p in range(200):  # the camera moves: priorities change at every plan
        a.update([gate.job("x", (float(p),)), gate.job("y", (float(300 - p),))])
    assert len(shared._heap) <= 4 * 2 + 64
    gate.release.set()
    wait_for(lambda: len(gate.started) == 3)
    assert gate.started == ["blocker", "y", "x"]  # the latest priorities count


def test_a_result_not_yet_taken_serves_a_late_client_without_running_again(pool):
    runs = []
    shared = Scheduler(pool, max_in_flight=2)
    a, b = shared.client(), shared.client()
    a.update([Job((0.0,), "tile", lambda: runs.append(1) or "value")])
    wait_for(lambda: not a._results.empty())
    b.update([Job((0.0,), "tile", lambda: runs.append(2) or "other")])  # a has not drained
    assert [r.value for r in _results(b)] == ["value"]
    assert [r.value for r in _results(a)] == ["value"]
    assert runs == [1] and not shared._undrained
    b.update([Job((0.0,), "tile", lambda: runs.append(3) or "again")])  # both took it: runs
    assert [r.value for r in _results(b)] == ["again"]


def test_a_client_asking_again_before_draining_gets_its_result_once(pool):
    """Planning again while a result waits undrained must not deliver it twice."""
    runs = []
    shared = Scheduler(pool, max_in_flight=2)
    a = shared.client()
    job = Job((0.0,), "tile", lambda: runs.append(1) or "value")
    a.update([job])
    wait_for(lambda: not a._results.empty())
    a.update([job])  # the view was planned again before the main thread drained
    a.update([job])
    assert [r.value for r in _results(a)] == ["value"]
    assert runs == [1] and not shared._undrained
    a.update([job])  # taken and (say) evicted since: it runs again
    assert [r.value for r in _results(a)] == ["value"]
    assert runs == [1, 1]
