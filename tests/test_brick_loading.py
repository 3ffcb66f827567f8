"""Loading a brick plan: a landed chunk revisits the bricks waiting for it, not the plan.

Bricks carry a one-voxel border, so each needs up to 27 chunks and shares
most of them with its neighbours; a brick whose chunks another brick reads
waits, and is cut once they land. Looking the whole plan up again for every
landed result cost a second of UI thread per drain on a 1,800-brick plan.
"""

from __future__ import annotations

import numpy as np

from napari_progressive.core.bricks import brick_chunks, brick_voxels
from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.pieces import PieceState
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.core.test_volume_planner import ortho
from tests.loading import drain_until


class _CountingCache(HostCache):
    """A host cache that counts its lookups."""

    gets = 0

    def get(self, key):
        self.gets += 1
        return super().get(key)


def test_a_landed_chunk_looks_up_only_the_bricks_waiting_for_it():
    rng = np.random.default_rng(0)
    volume = rng.integers(0, 255, (128, 128, 128), dtype=np.uint8)
    source = ArrayPyramidSource([volume, volume[::2, ::2, ::2].copy()], chunks=(32, 32, 32))
    cache = _CountingCache(2**30)
    loader = Loader(source, host_cache=cache, executor=SynchronousExecutor(), max_in_flight=1)
    loader.set_brick_view(ortho((64, 64, 64), 160.0), slots=4096)
    plan = loader.volume_plan
    assert plan is not None
    planned_chunks = sum(len(brick_chunks(source.levels[b.key.level], b.key)) for b in plan.bricks)
    assert any(s is PieceState.WAITING for s in loader.pieces.values())

    cache.gets = 0
    drains = 0

    def done() -> bool:
        nonlocal drains
        drains += 1
        return loader.scheduler.idle

    drain_until(loader, done)

    assert drains > 3, "the bricks landed over several drains"
    assert PieceState.WAITING not in loader.pieces.values()
    # a chunk is looked up about once per brick that waited for it, whatever the drains
    assert cache.gets <= planned_chunks
    for b in plan.bricks:
        (d0, r0, c0), (d1, r1, c1) = (np.asarray(v) for v in _voxels(source, b.key))
        level = volume if b.key.level == 0 else volume[::2, ::2, ::2]
        np.testing.assert_array_equal(loader.brick_values(b.key), level[d0:d1, r0:r1, c0:c1])


def _voxels(source, key):
    return brick_voxels(source.levels[key.level], key)


class _StagingTarget:
    """A draw target that keeps what the loader stages (nothing goes on a GPU)."""

    def __init__(self) -> None:
        self.staged: dict = {}
        self.residency: frozenset = frozenset()
        self.pending_uploads = 0
        self.needs_redraw = False

    def set_plan(self, plan, failed) -> None:
        pass

    def clear_plan(self) -> None:
        pass

    def stage(self, key, texture, values) -> None:
        self.staged[key] = (texture, values)

    def forget_tiles(self, fmt) -> None:
        pass

    def drawn(self):
        return ()

    def gpu_stats(self):
        return {}


def test_a_brick_arrives_with_its_value_range_from_the_worker():
    rng = np.random.default_rng(1)
    volume = rng.integers(10, 200, (96, 96, 96), dtype=np.uint8)
    volume[:80] = 7  # a constant slab: bricks inside it have one value
    source = ArrayPyramidSource([volume, volume[::2, ::2, ::2].copy()], chunks=(32, 32, 32))
    loader = Loader(
        source, host_cache=HostCache(2**30), executor=SynchronousExecutor(), max_in_flight=4
    )
    target = _StagingTarget()
    loader.attach(target)
    loader.set_brick_view(ortho((48, 48, 48), 120.0), slots=4096)
    drain_until(loader, lambda: loader.scheduler.idle)
    assert target.staged
    for texture, values in target.staged.values():
        assert values == (float(texture.min()), float(texture.max()))
    assert any(low == high == 7.0 for _, (low, high) in target.staged.values())
