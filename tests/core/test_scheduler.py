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
    sched = Scheduler(pool, max_in_flight=2)
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


def test_new_generation_cancels_queued_work_it_does_not_need(pool):
    gate = Gate()
    sched = Scheduler(pool, max_in_flight=1)
    sched.update([gate.job(k, (float(i),)) for i, k in enumerate("abcd")])
    wait_for(lambda: gate.started == ["a"])
    sched.update([gate.job("x"), gate.job("a")])  # "a" is running: not resubmitted
    assert sched.cancelled == 3
    assert sched.generation == 2
    gate.release.set()
    results = []
    wait_for(lambda: results.extend(sched.drain()) or len(results) == 2)
    assert gate.started == ["a", "x"]
    by_key = {r.key: r for r in results}
    assert by_key["a"].generation == 1 and by_key["x"].generation == 2


def test_failures_come_back_as_results_and_notify_fires(pool):
    woke = threading.Event()
    sched = Scheduler(pool, max_in_flight=2, notify=woke.set)

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
