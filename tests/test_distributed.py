"""Chunks read and computed on a dask.distributed LocalCluster (worker processes)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import DistributedExecutor, as_executor
from napari_progressive.core.loader import Loader
from napari_progressive.core.tiles import tile_chunks, tile_pixels
from napari_progressive.core.view import SliceView
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.mandelbrot import MandelbrotSource

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


def _load(engine: Loader, view: SliceView, timeout: float = 60.0) -> None:
    engine.set_view(view)
    deadline = time.monotonic() + timeout
    while not engine.idle:
        assert time.monotonic() < deadline, "the cluster did not deliver"
        time.sleep(0.01)
        engine.drain()
    engine.drain()


def _view(shape, data_per_px=1.0):
    h, w = shape
    return SliceView((0, 1), (0.0, 0.0), (float(h), float(w)), data_per_px, (0.0, 0.0), (h, w))


def test_array_chunks_are_read_on_worker_processes(client):
    rng = np.random.default_rng(0)
    level0 = rng.integers(0, 255, (600, 500), dtype=np.uint8)
    source = ArrayPyramidSource([level0, level0[::2, ::2].copy()], chunks=(128, 128))
    engine = Loader(
        source, host_cache=HostCache(2**26), executor=as_executor(client), max_in_flight=8
    )
    _load(engine, _view((600, 500)))
    assert engine.plan is not None and engine.plan.target_level == 0
    arrays = [level0, level0[::2, ::2]]
    for t in engine.plan.tiles:
        (r0, r1), (c0, c1) = tile_pixels(source.levels[t.key.level], t.key)
        expected = arrays[t.key.level][r0:r1, c0:c1]
        np.testing.assert_array_equal(engine.tile_values(t.key), expected)
    assert engine.read_threads and not any("MainThread" in w for w in engine.read_threads)
    assert engine.failures() == {}


def test_mandelbrot_tiles_are_computed_on_the_cluster(client):
    source = MandelbrotSource(levels=8, tile=256)
    executor = DistributedExecutor(client)
    assert executor.slots() == 2
    engine = Loader(source, host_cache=HostCache(2**26), executor=executor, max_in_flight=4)
    side = source.levels[0].shape[0]
    _load(engine, _view((512, 512), data_per_px=side / 512))
    keys = engine.plan.keys
    assert keys and all(engine.tile_values(k) is not None for k in keys)
    key = next(iter(keys))
    (chunk,) = tile_chunks(source.levels[key.level], key)  # a 256^2 tile is one chunk
    np.testing.assert_array_equal(
        engine.tile_values(key), np.asarray(source.read_chunk(chunk.level, chunk.index))
    )


class Broken(ArrayPyramidSource):
    """Chunk (0, 0) cannot be read (defined at module level: workers unpickle it)."""

    def read_chunk(self, level, index):
        if tuple(index) == (0, 0):
            raise OSError("disk on fire")
        return super().read_chunk(level, index)


def test_a_failing_chunk_on_the_cluster_becomes_a_failed_tile(client):
    level0 = np.ones((256, 256), np.uint8)
    source = Broken([level0], chunks=(128, 128))
    engine = Loader(
        source, host_cache=HostCache(2**26), executor=as_executor(client), max_in_flight=4
    )
    _load(engine, _view((256, 256)))
    failures = engine.failures()
    assert len(failures) == 1 and "disk on fire" in next(iter(failures.values()))
