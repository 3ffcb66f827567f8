"""A time-lapse in 3D: the coarse bricks of the neighbouring time points are kept ahead.

They are read, cut and staged for the GPU after the view's own bricks, so the
first frame after a step of the time slider draws the new time point whole;
each chunk is read once.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from napari_progressive.core import loader as loader_module
from napari_progressive.core.bricks import BORDER, brick_voxels
from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.plane_planner import SlicingPlane
from napari_progressive.core.planner import PREFETCH
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.core.test_volume_planner import ortho
from tests.loading import drain_until
from tests.pyramids import InstrumentedSource
from tests.test_brick_loading import _StagingTarget

RNG = np.random.default_rng(0)
MOVIE = RNG.integers(0, 255, (4, 64, 64, 64), dtype=np.uint8)
LEVELS = [MOVIE, MOVIE[:, ::2, ::2, ::2].copy()]


def _view_at(t: int):
    return dataclasses.replace(
        ortho((32.0, 32.0, 32.0), 80.0), displayed=(1, 2, 3), point=(float(t), 0.0, 0.0, 0.0)
    )


def _loaded(source, t, target=None, slots=4096):
    loader = Loader(
        source, host_cache=HostCache(2**30), executor=SynchronousExecutor(), max_in_flight=4
    )
    if target is not None:
        loader.attach(target)
    loader.set_brick_view(_view_at(t), slots=slots)
    drain_until(loader, lambda: loader.scheduler.idle)
    return loader


def test_the_coarse_bricks_of_the_next_time_points_are_kept_ahead():
    source = InstrumentedSource(ArrayPyramidSource(LEVELS, chunks=(1, 32, 32, 32)))
    loader = _loaded(source, 1)
    plan = loader.volume_plan
    coarse = {b.key for b in plan.bricks if b.key.level == 1}
    ahead = {b.key for b in plan.ahead if b.tier == PREFETCH}
    assert not ahead & plan.keys and ahead <= plan.gpu_keys
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


def test_the_bricks_kept_ahead_are_staged_for_the_gpu_within_the_slots():
    source = ArrayPyramidSource(LEVELS, chunks=(1, 32, 32, 32))
    target = _StagingTarget()
    loader = _loaded(source, 1, target, slots=64)
    drain_until(loader, lambda: loader.scheduler.idle)
    plan = loader.volume_plan
    assert plan.ahead and len(plan.gpu_keys) <= 64
    assert plan.ahead_keys <= set(target.staged)  # cut and staged, not only read
    for key in plan.ahead_keys:
        texture, _ = target.staged[key]
        t = dict(key.plane)[0]
        assert t in (0, 2)
        start, stop = brick_voxels(source.levels[key.level], key)
        (d0, r0, c0), (d1, r1, c1) = start, stop
        inside = texture[
            BORDER : BORDER + d1 - d0, BORDER : BORDER + r1 - r0, BORDER : BORDER + c1 - c0
        ]
        np.testing.assert_array_equal(inside, LEVELS[key.level][t, d0:d1, r0:r1, c0:c1])


def test_a_time_step_moves_the_plan_as_planning_it_again_would(monkeypatch):
    source = ArrayPyramidSource(LEVELS, chunks=(1, 32, 32, 32))
    stepped = _loaded(source, 1)
    planned = []
    monkeypatch.setattr(loader_module, "plan_volume", lambda *a, **k: planned.append(a))
    stepped.set_brick_view(_view_at(2), slots=4096)
    assert not planned, "a time step re-keys the plan instead of planning again"
    monkeypatch.undo()
    fresh = _loaded(source, 2)
    a, b = stepped.volume_plan, fresh.volume_plan
    assert a.view == b.view
    assert a.bricks == b.bricks and a.prefetch == b.prefetch and a.ahead == b.ahead
    assert {dict(k.plane)[0] for k in a.keys} == {2}


def test_back_from_plane_depiction_a_time_step_plans_the_volume_again():
    source = ArrayPyramidSource(LEVELS, chunks=(1, 32, 32, 32))
    loader = _loaded(source, 1)
    plane = SlicingPlane((32.0, 32.0, 32.0), (1.0, 0.0, 0.0), 1.0)
    loader.set_brick_view(_view_at(1), slots=4096, plane=plane)
    loader.set_brick_view(_view_at(2), slots=4096)  # volume again, and another time point
    fresh = _loaded(source, 2)
    assert loader.volume_plan.bricks == fresh.volume_plan.bricks
