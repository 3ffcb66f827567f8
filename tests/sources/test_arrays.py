import dask.array as da
import numpy as np
import pytest
import zarr

from napari_progressive.core.errors import ChunkReadError, SourceError
from napari_progressive.core.geometry import level_mappings
from napari_progressive.core.source import MultiscaleSource
from napari_progressive.integration.lazy_array import LazyLevelArray
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.open import open_source as as_source

RNG = np.random.default_rng(0)
LEVEL0 = RNG.integers(0, 60000, (300, 200), dtype=np.uint16)
LEVELS = [LEVEL0, LEVEL0[::2, ::2].copy(), LEVEL0[::4, ::4].copy()]


def numpy_pyramid():
    return LEVELS


def dask_pyramid():
    return [da.from_array(a, chunks=(64, 64)) for a in LEVELS]


def zarr_pyramid(tmp_path):
    group = zarr.open_group(tmp_path / "p.zarr", mode="w")
    out = []
    for i, a in enumerate(LEVELS):
        arr = group.create_array(str(i), shape=a.shape, chunks=(64, 64), dtype=a.dtype)
        arr[...] = a
        out.append(arr)
    return out


@pytest.mark.parametrize("kind", ["numpy", "dask", "zarr"])
def test_array_pyramids_read_identical_chunks(kind, tmp_path):
    arrays = {"numpy": numpy_pyramid, "dask": dask_pyramid}.get(
        kind, lambda: zarr_pyramid(tmp_path)
    )()
    src = as_source(arrays)
    assert isinstance(src, MultiscaleSource)
    assert [lv.shape for lv in src.levels] == [(300, 200), (150, 100), (75, 50)]
    if kind != "numpy":
        assert src.levels[0].chunks == (64, 64)
    for lv, level in enumerate(src.levels):
        for index in level.iter_chunks():
            sl = level.chunk_slices(index)
            np.testing.assert_array_equal(src.read_chunk(lv, index), LEVELS[lv][sl])


def test_levels_are_aligned_as_block_averages_by_default():
    src = ArrayPyramidSource(LEVELS)
    maps = level_mappings(src.levels)
    np.testing.assert_allclose(maps[1].factor, [2, 2])
    np.testing.assert_allclose(maps[1].offset, [0.5, 0.5])
    np.testing.assert_allclose(maps[2].offset, [1.5, 1.5])


def test_explicit_scales_and_translates_are_kept():
    src = ArrayPyramidSource(LEVELS[:2], scales=[(1, 1), (2, 2)], translates=[(0, 0), (0, 0)])
    np.testing.assert_allclose(level_mappings(src.levels)[1].offset, [0, 0])


def test_a_read_error_is_typed_and_names_the_chunk():
    class Broken:
        shape, dtype, ndim, chunks = (10, 10), np.dtype(np.uint8), 2, (5, 5)

        def __getitem__(self, key):
            raise OSError("truncated chunk")

    src = ArrayPyramidSource([Broken()], name="broken")
    with pytest.raises(ChunkReadError, match=r"broken: level 0 chunk \(1, 0\): OSError: truncated"):
        src.read_chunk(0, (1, 0))


def test_bad_inputs_get_clear_errors():
    with pytest.raises(SourceError, match="at least one"):
        ArrayPyramidSource([])
    with pytest.raises(SourceError, match="fine to coarse"):
        ArrayPyramidSource([LEVELS[1], LEVELS[0]])
    with pytest.raises(SourceError, match="cannot open dict"):
        as_source({"not": "an array"})


def test_lazy_level_array_indexes_lazily_and_reads_only_the_region_asked_for():
    src = ArrayPyramidSource(dask_pyramid())
    lazy = LazyLevelArray(src, 0)
    assert lazy.shape == (300, 200) and lazy.dtype == np.uint16
    calls = []
    read = src.read_chunk
    src.read_chunk = lambda level, index: calls.append(index) or read(level, index)
    row = lazy[0]
    assert row.shape == (200,) and row.dtype == np.uint16 and not calls  # napari's dtype probe
    np.testing.assert_array_equal(lazy[70:130, 10:150], LEVEL0[70:130, 10:150])
    np.testing.assert_array_equal(lazy[5], LEVEL0[5])
    np.testing.assert_array_equal(lazy[10:50][3, -20:], LEVEL0[13, -20:])
    np.testing.assert_array_equal(np.asarray(lazy), LEVEL0)
    with pytest.raises(IndexError):
        lazy[300]


def test_an_in_memory_array_is_not_serialised_to_find_its_identity():
    import tracemalloc

    from napari_progressive.sources.open import open_source

    array = np.random.default_rng(0).integers(0, 4000, (2048, 2048), dtype=np.uint16)
    tracemalloc.start()
    try:
        source = open_source(array)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source.identity is None  # in-memory data never reaches the disk tier
    assert peak < 8 * 2**20, f"opening allocated {peak / 2**20:.0f} MiB of Python objects"
