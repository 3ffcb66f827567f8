"""In-memory sources never get a dead layer's tiles; a released layer frees its cache."""

import weakref

import numpy as np

from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.view import SliceView
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.loading import load_view

VIEW = SliceView((0, 1), (0.0, 0.0), (256.0, 256.0), 1.0, (0.0, 0.0), (256, 256))


def _loader(value: int, cache: HostCache) -> Loader:
    source = ArrayPyramidSource([np.full((256, 256), value, np.uint16)], chunks=(128, 128))
    return Loader(source, host_cache=cache, executor=SynchronousExecutor(), max_in_flight=4)


def test_new_sources_are_never_served_a_dead_sources_tiles():
    cache = HostCache(2**26)
    ids = set()
    for value in range(1, 101):
        loader = _loader(value, cache)
        ids.add(id(loader.source))
        load_view(loader, VIEW)
        tiles = [loader.tile_values(k) for k in loader.plan.keys]
        assert all(t is not None and (t == value).all() for t in tiles), value
        source = weakref.ref(loader.source)
        del loader, tiles
        assert source() is None  # the source died: its id() may be reused at once
    assert len(ids) < 100  # and was


def test_a_released_layer_frees_its_share_and_the_live_one_fills_the_cache():
    cache = HostCache(4 * 256 * 256 * 2)  # room for four tiles of 128^2 uint16, twice
    dead = []
    for value in range(50):
        loader = _loader(value, cache)
        load_view(loader, VIEW)
        loader.release()
        dead.append(loader)
    assert cache.nbytes == 0
    live = _loader(99, cache)
    load_view(live, VIEW)
    assert live.stats().host_bytes == cache.nbytes == 4 * 128 * 128 * 2  # its whole view
    live.release()
    live.set_view(VIEW)  # added again: it loads anew
    load_view(live, VIEW)
    assert all(live.tile_values(k) is not None for k in live.plan.keys)


def test_layers_over_the_same_source_share_tiles_until_the_last_is_released():
    cache = HostCache(2**26)
    first = _loader(7, cache)
    second = Loader(first.source, host_cache=cache, executor=SynchronousExecutor(), max_in_flight=4)
    load_view(first, VIEW)
    load_view(second, VIEW)
    assert second.stats().tiles_fetched == 0  # cut from the shared cache, nothing read
    first.release()
    assert all(second.tile_values(k) is not None for k in second.plan.keys)
    second.release()
    assert cache.nbytes == 0
