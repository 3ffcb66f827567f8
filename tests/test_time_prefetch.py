"""A time-lapse in 3D: the coarse bricks of the neighbouring time points are read ahead.

Stepping the time slider then finds the new time point's coarse bricks in the
host cache (its first frame shows it whole) and reads each chunk once.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.planner import PREFETCH
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.core.test_volume_planner import ortho
from tests.loading import drain_until
from tests.pyramids import InstrumentedSource

RNG = np.random.default_rng(0)
MOVIE = RNG.integers(0, 255, (4, 64, 64, 64), dtype=np.uint8)
LEVELS = [MOVIE, MOVIE[:, ::2, ::2, ::2].copy()]


def _view_at(t: int):
    return dataclasses.replace(
        ortho((32.0, 32.0, 32.0), 80.0), displayed=(1, 2, 3), point=(float(t), 0.0, 0.0, 0.0)
    )


def _loaded(source, t):
    loader = Loader(
        source, host_cache=HostCache(2**30), executor=SynchronousExecutor(), max_in_flight=4
    )
    loader.set_brick_view(_view_at(t), slots=4096)
    drain_until(loader, lambda: loader.scheduler.idle)
    return loader


def test_the_coarse_bricks_of_the_next_time_points_are_prefetched():
    source = InstrumentedSource(ArrayPyramidSource(LEVELS, chunks=(1, 32, 32, 32)))
    loader = _loaded(source, 1)
    plan = loader.volume_plan
    coarse = {b.key for b in plan.bricks if b.key.level == 1}
    ahead = {b.key for b in plan.prefetch if b.tier == PREFETCH}
    for t in (0, 2):  # both neighbours, the coarse level's every planned brick
        assert {dataclasses.replace(k, plane=((0, t),)) for k in coarse} <= ahead
    assert not any(k.plane == ((0, 3),) for k in ahead)  # one step, not the whole movie
    read_times = {(level, index[0]) for level, index, _ in source.reads if level == 1}
    assert read_times == {(1, 0), (1, 1), (1, 2)}


def test_stepping_time_reads_nothing_new_for_the_coarse_level_and_each_chunk_once():
    source = InstrumentedSource(ArrayPyramidSource(LEVELS, chunks=(1, 32, 32, 32)))
    loader = _loaded(source, 1)
    before = len(source.reads)
    loader.set_brick_view(_view_at(2), slots=4096)
    coarse_now = [b.key for b in loader.volume_plan.bricks if b.key.level == 1]
    assert coarse_now and all(loader.brick_values(k) is not None for k in coarse_now)
    drain_until(loader, lambda: loader.scheduler.idle)
    new = source.reads[before:]
    assert not any(level == 1 and index[0] == 2 for level, index, _ in new)
    counts = Counter((level, index) for level, index, _ in source.reads)
    assert max(counts.values()) == 1
