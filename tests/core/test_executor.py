import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from napari_progressive.core import executor
from napari_progressive.core.executor import (
    SynchronousExecutor,
    compute_slots,
    cpu_cores,
    default_workers,
    executor_slots,
)
from napari_progressive.core.scheduler import Job, Scheduler


def test_shared_pool_size_favours_waiting_reads(monkeypatch):
    monkeypatch.delenv("NAPARI_PROGRESSIVE_THREADS", raising=False)
    monkeypatch.setattr(executor, "cpu_cores", lambda: 2)
    assert default_workers() == 16  # never fewer: enough reads in flight for remote storage
    monkeypatch.setattr(executor, "cpu_cores", lambda: 8)
    assert default_workers() == 32  # four per core: reads mostly wait
    monkeypatch.setenv("NAPARI_PROGRESSIVE_THREADS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("NAPARI_PROGRESSIVE_THREADS", "many")
    with pytest.raises(ValueError, match="whole number"):
        default_workers()


def test_computed_work_gets_a_slot_per_core_locally():
    with ThreadPoolExecutor(16) as pool:
        assert compute_slots(pool) == cpu_cores()


def test_synchronous_executor_runs_jobs_at_once_on_the_calling_thread():
    ex = SynchronousExecutor()
    fut = ex.submit(lambda a, b: (a + b, threading.current_thread()), 2, 3)
    assert fut.done() and fut.result() == (5, threading.current_thread())
    assert executor_slots(ex) == compute_slots(ex) == 1
    assert executor_slots(SynchronousExecutor(slots=3)) == 3
    with pytest.raises(ValueError, match="slots"):
        SynchronousExecutor(slots=0)


def test_synchronous_executor_captures_errors_in_the_future():
    def boom():
        raise OSError("disk on fire")

    fut = SynchronousExecutor().submit(boom)
    assert isinstance(fut.exception(), OSError)
    with pytest.raises(OSError, match="on fire"):
        fut.result()


def _stack_depth():
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_callbacks_that_submit_again_do_not_recurse_per_job():
    ex = SynchronousExecutor()
    depths, order = [], []

    def chain(n):
        order.append(n)
        depths.append(_stack_depth())
        if n < 3000:
            ex.submit(lambda: n + 1).add_done_callback(lambda f: chain(f.result()))

    ex.submit(lambda: 0).add_done_callback(lambda f: chain(f.result()))
    assert order == list(range(3001))
    assert max(depths) == min(depths)


def test_a_failing_callback_is_logged_and_the_others_still_run(caplog):
    ex = SynchronousExecutor()
    ran = []

    def outer(_):
        ex.submit(int).add_done_callback(lambda f: 1 / 0)
        ex.submit(int).add_done_callback(ran.append)

    ex.submit(int).add_done_callback(outer)
    assert len(ran) == 1 and ran[0].result() == 0
    assert "exception calling callback" in caplog.text


def test_a_scheduler_on_the_synchronous_executor_runs_every_job_before_update_returns():
    ex = SynchronousExecutor()
    scheduler = Scheduler(ex, max_in_flight=2 * executor_slots(ex))
    client = scheduler.client()
    client.update([Job((float(-i),), i, lambda i=i: i * i) for i in range(5000)])
    results = client.drain()
    assert [r.value for r in results] == [i * i for i in reversed(range(5000))]  # by priority
    assert client.idle and scheduler.in_flight == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread niceness is Linux's")
def test_shared_pool_threads_yield_the_cpu_to_the_ui_thread():
    import os

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    ui = niceness()
    worker = executor.shared_thread_pool().submit(niceness).result(timeout=10)
    assert worker == min(19, ui + executor.WORKER_NICENESS)
    assert niceness() == ui  # the calling thread keeps its own
