"""In-memory sources never get a dead layer's tiles; a released layer frees its cache."""

import gc
import time

import numpy as np

from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import shared_thread_pool
from napari_progressive.core.view import ViewState
from napari_progressive.integration.engine import LayerEngine
from napari_progressive.sources.arrays import ArrayPyramidSource

VIEW = ViewState((0, 1), (0.0, 0.0), (256.0, 256.0), 1.0, (0.0, 0.0), (256, 256))


def _engine(value: int, cache: HostCache) -> LayerEngine:
    source = ArrayPyramidSource([np.full((256, 256), value, np.uint16)], chunks=(128, 128))
    return LayerEngine(source, host_cache=cache, executor=shared_thread_pool(), max_in_flight=4)


def _load(engine: LayerEngine) -> None:
    engine.set_view(VIEW)
    deadline = time.monotonic() + 30
    while not engine.scheduler.idle:
        assert time.monotonic() < deadline
        time.sleep(0.005)
        engine.drain()


def test_new_sources_are_never_served_a_dead_sources_tiles():
    cache = HostCache(2**26)
    for value in range(1, 101):
        engine = _engine(value, cache)
        _load(engine)
        tiles = [engine.cached_tile(k) for k in engine.plan.keys]
        assert all(t is not None and (t == value).all() for t in tiles), value
        del engine, tiles
        gc.collect()  # the source dies: its id() may be reused at once


def test_a_released_layer_frees_its_share_and_the_live_one_fills_the_cache():
    cache = HostCache(4 * 256 * 256 * 2)  # room for four tiles of 128^2 uint16, twice
    dead = []
    for value in range(50):
        engine = _engine(value, cache)
        _load(engine)
        engine.release()
        dead.append(engine)
    assert cache.nbytes == 0
    live = _engine(99, cache)
    _load(live)
    assert cache.owner_bytes(live._owner) == 4 * 128 * 128 * 2  # its whole view
    live.release()
    live.set_view(VIEW)  # added again: it loads anew
    _load(live)
    assert all(live.cached_tile(k) is not None for k in live.plan.keys)


def test_layers_over_the_same_source_share_tiles_until_the_last_is_released():
    cache = HostCache(2**26)
    first = _engine(7, cache)
    second = LayerEngine(
        first.source, host_cache=cache, executor=shared_thread_pool(), max_in_flight=4
    )
    _load(first)
    second.set_view(VIEW)
    assert second.scheduler.submitted == 0  # served from the shared cache
    first.release()
    assert all(second.cached_tile(k) is not None for k in second.plan.keys)
    second.release()
    assert cache.nbytes == 0
