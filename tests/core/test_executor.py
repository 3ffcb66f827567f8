from concurrent.futures import ThreadPoolExecutor

import pytest

from napari_progressive.core import executor
from napari_progressive.core.executor import compute_slots, cpu_cores, default_workers


def test_shared_pool_size_favours_waiting_reads(monkeypatch):
    monkeypatch.delenv("NAPARI_PROGRESSIVE_THREADS", raising=False)
    assert default_workers() == max(executor.MIN_THREADS, executor.THREADS_PER_CORE * cpu_cores())
    monkeypatch.setenv("NAPARI_PROGRESSIVE_THREADS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("NAPARI_PROGRESSIVE_THREADS", "many")
    with pytest.raises(ValueError, match="whole number"):
        default_workers()


def test_computed_work_gets_a_slot_per_core_locally():
    with ThreadPoolExecutor(16) as pool:
        assert compute_slots(pool) == cpu_cores()
