"""How much work a layer keeps in flight by default, by kind of source."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from napari_progressive.core.executor import cpu_cores
from napari_progressive.datasets import mandelbrot
from napari_progressive.integration.shared import default_in_flight, shared_scheduler
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.faults import FaultInjectingSource


def test_computed_sources_keep_one_job_per_core_stored_ones_the_whole_queue():
    with ThreadPoolExecutor(32) as pool:
        bound = shared_scheduler(pool).max_in_flight
        stored = ArrayPyramidSource([np.zeros((64, 64), np.uint8)])
        assert default_in_flight(stored, pool) == bound
        computed = FaultInjectingSource(mandelbrot(levels=4, tile=64), latency=0.0)
        assert computed.compute_bound
        assert default_in_flight(computed, pool) == min(bound, cpu_cores()) < bound
