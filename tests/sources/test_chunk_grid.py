"""Sources state their store's chunk grid (bounded reads); core cuts display tiles from it."""

from __future__ import annotations

import numpy as np
import pytest
import tensorstore as ts

from napari_progressive.core.tiles import tile_shape
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.chunk_grid import MAX_READ_BYTES, default_chunks, read_chunks
from napari_progressive.sources.lazy_pyramid import lazy_pyramid
from napari_progressive.sources.tensorstore_source import TensorStoreSource


@pytest.mark.parametrize(
    ("native", "shape", "dtype", "expected"),
    [
        ((64, 64, 64), (500, 500, 500), np.uint16, (64, 64, 64)),  # the store's own
        ((1, 1024, 1024), (9, 4000, 4000), np.float64, (1, 1024, 1024)),  # 8 MiB fits
        ((None, None), (3000, 2000), np.uint16, (512, 512)),  # not stated
        ((None, None, None), (5, 300, 2000), np.uint8, (1, 300, 512)),
        ((4096, 4096), (300, 9000), np.uint8, (300, 4096)),  # clipped to the level
        ((4096, 4096), (9000, 9000), np.uint8, (2048, 4096)),  # 16 MiB: halves
        ((4096, 4096), (9000, 9000), np.float32, (1024, 2048)),  # 64 MiB: eighths
        ((256, 256, 256), (999, 999, 999), np.uint8, (128, 256, 256)),  # the deep axis first
        ((4095, 4095), (9000, 9000), np.uint8, (4095, 4095)),  # no whole fraction
    ],
)
def test_a_level_reads_its_store_chunk_within_the_read_bound(native, shape, dtype, expected):
    chunks = read_chunks(native, shape, np.dtype(dtype))
    assert chunks == expected
    for c, n, s in zip(chunks, native, shape, strict=True):
        assert n is None or n % c == 0 or c == s, "a box lies in one store chunk"
    if any(c % 2 == 0 for c in chunks):
        assert np.prod(chunks) * np.dtype(dtype).itemsize <= MAX_READ_BYTES


def test_numpy_data_has_a_stated_grid_of_planes():
    stack = np.zeros((4, 1500, 1200), np.uint16)
    assert default_chunks(stack.shape) == (1, 512, 512)
    arrays = ArrayPyramidSource([stack, stack[:, ::2, ::2]])
    assert [lv.chunks for lv in arrays.levels] == [(1, 512, 512), (1, 512, 512)]
    lazy = lazy_pyramid(stack)
    assert [lv.chunks for lv in lazy.levels] == [(1, 512, 512)] * 2 + [(1, 375, 300)]
    assert tile_shape(lazy.levels[0], (1, 2)) == (512, 512)


def test_a_small_chunked_store_keeps_its_chunks_and_gets_larger_tiles():
    store = ts.open(
        {
            "driver": "zarr",
            "kvstore": {"driver": "memory"},
            "metadata": {"shape": [200, 1000, 900], "chunks": [64, 64, 64], "dtype": "|u1"},
        },
        create=True,
    ).result()
    level = TensorStoreSource([store], name="bricks").levels[0]
    assert level.chunks == (64, 64, 64)
    assert tile_shape(level, (1, 2)) == (128, 128)
    assert tile_shape(level, (0, 2)) == (128, 128)  # transposed views too
    lazy = lazy_pyramid(store)
    assert lazy.levels[0].chunks == (64, 64, 64)
    assert [lv.chunks for lv in lazy.levels[1:]] == [(1, 256, 256), (1, 250, 225)]  # planes
