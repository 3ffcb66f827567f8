"""How much work a layer keeps in flight by default, by kind of source."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from napari_progressive.core import executor
from napari_progressive.datasets import mandelbrot
from napari_progressive.integration.shared import default_in_flight
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.faults import FaultInjectingSource


def test_computed_sources_keep_one_job_per_core_stored_ones_the_whole_queue(monkeypatch):
    monkeypatch.delenv("NAPARI_PROGRESSIVE_THREADS", raising=False)
    monkeypatch.setattr(executor, "cpu_cores", lambda: 4)
    with ThreadPoolExecutor(16) as pool:
        stored = ArrayPyramidSource([np.zeros((64, 64), np.uint8)])
        assert default_in_flight(stored, pool) == 32  # two per thread (16 threads for 4 cores)
        computed = FaultInjectingSource(mandelbrot(levels=4, tile=64), latency=0.0)
        assert computed.compute_bound
        assert default_in_flight(computed, pool) == 4  # one per core
        # computed data behind emulated storage latency waits more than it computes
        slow = FaultInjectingSource(mandelbrot(levels=4, tile=64), latency=0.02)
        assert not slow.compute_bound
        assert default_in_flight(slow, pool) == 32
