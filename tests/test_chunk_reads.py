"""Reads follow the store's chunk grid: each chunk a view needs is read once, whole.

Display tiles are cut from chunks in core; a source states its store's grid.
A 2D view of a 64^3-chunked volume reads the chunks crossing its plane and no
others; a store of 4096^2 chunks still shows tiles of at most 1024^2.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from napari_progressive import open_source
from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.tiles import tile_chunks, tile_pixels, tile_shape
from napari_progressive.core.view import SliceView
from tests.datasets import write_ts_pyramid
from tests.loading import load_view
from tests.pyramids import InstrumentedSource


def _positions(shape: tuple[int, ...]) -> np.ndarray:
    """uint8 values that differ between neighbours along every axis."""
    out = np.zeros(shape, np.uint8)
    for axis, step in zip(range(len(shape)), (3, 7, 13), strict=False):
        ramp = (np.arange(shape[axis]) * step % 256).astype(np.uint8)
        out += ramp.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return out


def _loaded(source, view: SliceView) -> Loader:
    """A loader that has read everything ``view`` plans (shown and prefetched)."""
    loader = Loader(
        source, host_cache=HostCache(2**30), executor=SynchronousExecutor(), max_in_flight=8
    )
    load_view(loader, view)
    assert loader.failures() == {}
    return loader


def _assert_tiles_are_the_data(loader: Loader, levels: list[np.ndarray]) -> None:
    """Every planned tile of the first ``len(levels)`` levels equals its level's values."""
    assert loader.plan is not None
    for key in (k for k in loader.plan.keys if k.level < len(levels)):
        (r0, r1), (c0, c1) = tile_pixels(loader.levels[key.level], key)
        index: list[int | slice] = [slice(None)] * levels[key.level].ndim
        for axis, pixel in key.plane:
            index[axis] = pixel
        index[key.displayed[0]], index[key.displayed[1]] = slice(r0, r1), slice(c0, c1)
        np.testing.assert_array_equal(loader.tile_values(key), levels[key.level][tuple(index)])


def test_a_plane_of_a_64_cubed_volume_reads_the_chunks_crossing_it_once(tmp_path):
    volume = _positions((128, 320, 256))
    levels = [volume, volume[::2, ::2, ::2].copy(), volume[::4, ::4, ::4].copy()]
    write_ts_pyramid(tmp_path / "v.zarr", levels, "zarr", [64, 64, 64])
    source = InstrumentedSource(open_source(str(tmp_path / "v.zarr")))
    assert [lv.chunks for lv in source.levels] == [(64, 64, 64), (64, 64, 64), (32, 64, 64)]
    assert tile_shape(source.levels[0], (1, 2)) == (128, 128)
    view = SliceView((1, 2), (-0.5, -0.5), (319.5, 255.5), 1.0, (70.0, 0.0, 0.0), (320, 256))

    loader = _loaded(source, view)

    reads = Counter((level, index) for level, index, _ in source.reads)
    assert max(reads.values()) == 1, "a chunk is read once"
    assert loader.plan is not None and loader.plan.target_level == 0
    planned = {
        (c.level, c.index)
        for t in loader.plan.tiles + loader.plan.prefetch
        for c in tile_chunks(loader.levels[t.key.level], t.key)
    }
    assert set(reads) == planned
    # plane 70 is in the second chunk layer of level 0 and the first of the others
    assert {(level, index[0]) for level, index in reads} == {(0, 1), (1, 0), (2, 0)}
    assert sum(level == 0 for level, _ in reads) == 5 * 4  # the whole 320 x 256 plane
    _assert_tiles_are_the_data(loader, levels)


def test_a_store_of_4096_squared_chunks_shows_screen_sized_tiles(tmp_path):
    image = _positions((4096, 5120))
    write_ts_pyramid(tmp_path / "i.zarr", [image], "zarr", [4096, 4096])
    source = InstrumentedSource(open_source(str(tmp_path / "i.zarr" / "0")))
    level = source.levels[0]
    assert level.chunks == (2048, 4096)  # a 16 MiB chunk is read in two halves
    assert tile_shape(level, (0, 1)) == (1024, 1024)
    view = SliceView((0, 1), (1500.0, 3500.0), (2500.0, 4500.0), 1.0, (0.0, 0.0), (1000, 1000))

    loader = _loaded(source, view)

    assert loader.plan is not None and loader.plan.target_level == 0
    sizes = {tile_shape(loader.levels[k.level], k.displayed) for k in loader.plan.keys}
    assert max(max(s) for s in sizes) <= 1024
    level0 = Counter(index for lv, index, _ in source.reads if lv == 0)
    assert level0 == {(0, 0): 1, (0, 1): 1, (1, 0): 1, (1, 1): 1}  # 4 tiles, 4 boxes, once
    _assert_tiles_are_the_data(loader, [image])  # the coarser levels are computed
