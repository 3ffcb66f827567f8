"""The coarsest level as one volume: the box a 3D view shows, read off the main thread."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from napari_progressive.core.cache import HostCache
from napari_progressive.core.coarse_volume import ReadVolume, volume_box
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.geometry import level_mappings
from napari_progressive.core.loader import Loader
from napari_progressive.core.view import VolumeView
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.loading import drain_until
from tests.pyramids import InstrumentedSource

EYE = tuple(tuple(float(i == j) for j in range(4)) for i in range(4))
RNG = np.random.default_rng(7)
#: (t, z, y, x): two levels, the coarsest 3 x 20 x 24 x 28 chunked 8^3.
FINE = RNG.integers(0, 60000, (3, 40, 48, 56), dtype=np.uint16)
COARSE = FINE[:, ::2, ::2, ::2].copy()


def _source(fail=()):
    pyramid = ArrayPyramidSource([FINE, COARSE], chunks=(1, 8, 8, 8))
    return InstrumentedSource(pyramid, fail=fail)


def _view(t=1.0, displayed=(1, 2, 3)):
    return VolumeView(displayed, (t, 0.0, 0.0, 0.0), EYE, EYE, (100, 100), (0.0, 0.0, 0.0), 1.0)


def _read(source, view, **limits):
    box = volume_box(tuple(source.levels), level_mappings(source.levels), view, **limits)
    return box, ReadVolume(box, ()).__call__(source)


def test_the_box_is_the_coarsest_level_at_the_views_point():
    source = _source()
    box, result = _read(source, _view(t=2.0))
    assert box.level == 1 and box.stride == 1
    np.testing.assert_array_equal(result.volume.values, COARSE[2])
    chunks = {(lv, idx) for lv, idx, _ in source.reads}
    assert len(chunks) == len(source.reads) == 3 * 3 * 4  # each chunk of plane t=2 once
    assert all(lv == 1 and idx[0] == 2 for lv, idx in chunks)
    assert len(result.read) == len(source.reads)  # all of them go to the host cache


def test_the_volume_follows_naparis_axis_order():
    _, result = _read(_source(), _view(displayed=(3, 1, 2)))
    np.testing.assert_array_equal(result.volume.values, COARSE[1].transpose(2, 0, 1))


def test_a_box_too_big_for_a_texture_is_strided_and_not_cached():
    box, result = _read(_source(), _view(), max_side=10)
    assert box.stride == 3
    np.testing.assert_array_equal(result.volume.values, COARSE[1, ::3, ::3, ::3])
    assert result.read == ()
    box, result = _read(_source(), _view(), max_bytes=2 * 10 * 12 * 14)
    assert box.stride == 2
    np.testing.assert_array_equal(result.volume.values, COARSE[1, ::2, ::2, ::2])


class Clock:
    """A clock that moves only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _loader(source, executor=None, **options):
    cache = HostCache(2**26)
    executor = executor or SynchronousExecutor()
    return Loader(source, host_cache=cache, executor=executor, max_in_flight=4, **options)


def test_the_loader_reads_the_volume_on_a_worker():
    source = _source()
    landed = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        loader = _loader(source, pool, notify=landed.set)
        loader.set_volume_view(_view(t=0.0))
        assert landed.wait(30)
    loader.drain()
    assert loader.volume_complete
    np.testing.assert_array_equal(loader.volume.values, COARSE[0])
    assert source.reads and not source.main_thread_reads()


def test_the_last_volume_stays_until_the_next_lands_and_its_chunks_are_kept():
    source = _source()
    loader = _loader(source)
    loader.set_volume_view(_view(t=0.0))
    drain_until(loader, lambda: loader.volume_complete)
    np.testing.assert_array_equal(loader.volume.values, COARSE[0])
    reads = len(source.reads)
    loader.set_volume_view(_view(t=1.0))  # read at once, but not drained yet
    assert loader.volume is not None and not loader.volume_complete
    drain_until(loader, lambda: loader.volume_complete)
    np.testing.assert_array_equal(loader.volume.values, COARSE[1])
    loader.set_volume_view(_view(t=0.0))
    drain_until(loader, lambda: loader.volume_complete)
    np.testing.assert_array_equal(loader.volume.values, COARSE[0])
    assert len(source.reads) == 2 * reads  # plane 0 came back from the host cache


def test_a_failed_volume_is_reported_and_retried_once_its_wait_is_over():
    source = _source(fail={(1, (1, 0, 0, 0))})
    clock = Clock()
    loader = _loader(source, clock=clock)
    loader.set_volume_view(_view(t=1.0))
    drain_until(loader, lambda: bool(loader.failure_causes()))
    assert loader.volume is None
    assert loader.next_retry_in() == 1.0
    source.fail.clear()
    clock.now = 0.5
    loader.replan()  # too early: not tried again
    loader.drain()
    assert loader.failure_causes() and loader.next_retry_in() == 0.5
    clock.now = 1.0
    loader.replan()
    drain_until(loader, lambda: loader.volume_complete)
    assert not loader.failure_causes()
