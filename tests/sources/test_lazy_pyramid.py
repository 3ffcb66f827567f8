"""A single array's pyramid: each level computed from the next finer one, chunk by chunk, cached."""

from __future__ import annotations

import gc
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tensorstore as ts

from napari_progressive.core.errors import ChunkReadError
from napari_progressive.core.source import source_identity
from napari_progressive.sources.lazy_pyramid import _pinned_from, computed_chunks, lazy_pyramid


def _counted(data: np.ndarray, chunk: int) -> tuple[ts.TensorStore, Counter]:
    """``data`` as a chunked store that counts the reads of each of its chunks."""
    reads: Counter = Counter()
    lock = threading.Lock()

    def read(domain: ts.IndexDomain, out: np.ndarray, _params: object) -> None:
        with lock:
            reads[tuple(domain.origin)] += 1
        out[...] = data[domain.index_exp]

    store = ts.virtual_chunked(
        read,
        dtype=ts.dtype(data.dtype.name),
        domain=ts.IndexDomain(shape=list(data.shape)),
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[chunk] * data.ndim),
    )
    return store, reads


def _level(source, k: int) -> np.ndarray:
    """Level ``k`` of ``source`` put together from its chunks."""
    level = source.levels[k]
    out = np.empty(level.shape, level.dtype)
    for index in level.iter_chunks():
        out[level.chunk_slices(index)] = source.read_chunk(k, index)
    return out


def _every_computed_chunk(source) -> None:
    for k, level in enumerate(source.levels[1:], start=1):
        grid = [-(-n // c) for n, c in zip(level.shape, level.chunks, strict=True)]
        for index in np.ndindex(*grid):
            source.read_chunk(k, index)


def test_computed_levels_read_level_zero_once_however_many_are_read():
    data = np.random.default_rng(1).random((2048, 2048), dtype=np.float32)
    store, reads = _counted(data, 256)
    source = lazy_pyramid(store)
    assert len(source.levels) == 4  # 2048, 1024, 512, 256
    source.read_chunk(len(source.levels) - 1, (0, 0))  # the coarsest first, as the loader does
    _every_computed_chunk(source)
    assert len(reads) == 64 and set(reads.values()) == {1}


def test_a_coarse_level_is_the_block_mean_of_level_zero():
    data = np.random.default_rng(2).random((1024, 1024), dtype=np.float32)
    source = lazy_pyramid(data)
    for k in range(1, len(source.levels)):
        f = 2**k
        expected = data.reshape(1024 // f, f, 1024 // f, f).mean(axis=(1, 3))
        got = _level(source, k)
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_a_partial_edge_block_averages_the_pixels_it_has():
    data = np.arange(601 * 600, dtype=np.float64).reshape(601, 600)
    source = lazy_pyramid(data)
    level1 = _level(source, 1)
    assert level1.shape == (301, 300)
    np.testing.assert_allclose(level1[-1, 0], data[600, 0:2].mean())
    np.testing.assert_allclose(level1[0, 0], data[0:2, 0:2].mean())


def test_label_levels_hold_only_labels_that_exist():
    rng = np.random.default_rng(3)
    cells = rng.integers(0, 5, (128, 128), dtype=np.uint32) * 1000 + 7
    labels = cells.repeat(16, 0).repeat(16, 1)
    source = lazy_pyramid(labels)
    assert len(source.levels) >= 3
    present = set(np.unique(labels))
    for k in range(1, len(source.levels)):
        assert set(np.unique(_level(source, k))) <= present


def test_a_stored_array_gives_its_computed_levels_an_identity_of_their_own(tmp_path):
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": str(tmp_path / "a.zarr")},
        "metadata": {"shape": [1024, 1024], "chunks": [256, 256], "dtype": "<u2"},
    }
    store = ts.open(spec, create=True).result()
    store[...] = np.arange(1024 * 1024, dtype=np.uint16).reshape(1024, 1024)
    image, labels = lazy_pyramid(store), lazy_pyramid(store, labels=True)
    assert source_identity(image) is not None
    assert source_identity(image) != source_identity(labels)  # mean and mode differ
    assert source_identity(image) == source_identity(lazy_pyramid(store))
    assert source_identity(lazy_pyramid(np.zeros((600, 600), np.uint8))) is None


@pytest.mark.parametrize("shape", [(3, 700, 900), (2, 3, 520, 520)])
def test_leading_axes_are_kept_and_each_plane_is_halved_on_its_own(shape):
    data = np.random.default_rng(4).random(shape).astype(np.float32)
    source = lazy_pyramid(data)
    level1 = _level(source, 1)
    assert level1.shape == (*shape[:-2], -(-shape[-2] // 2), -(-shape[-1] // 2))
    corner = data[..., 0:2, 0:2].mean(axis=(-2, -1))
    np.testing.assert_allclose(level1[..., 0, 0], corner, rtol=1e-5)


def test_threads_asking_for_one_coarse_chunk_compute_it_once():
    data = np.random.default_rng(5).random((2048, 2048), dtype=np.float32)
    store, reads = _counted(data, 256)
    source = lazy_pyramid(store)
    coarsest = len(source.levels) - 1
    with ThreadPoolExecutor(4) as pool:
        chunks = list(pool.map(lambda _: source.read_chunk(coarsest, (0, 0)), range(8)))
    assert all(np.array_equal(c, chunks[0]) for c in chunks)
    assert len(reads) == 64 and set(reads.values()) == {1}


def test_a_failed_read_below_fails_the_coarse_chunk_and_a_retry_succeeds():
    data = np.ones((1024, 1024), np.float32)
    broken = {"on": True}

    def read(domain: ts.IndexDomain, out: np.ndarray, _params: object) -> None:
        if broken["on"] and tuple(domain.origin) == (768, 768):
            raise OSError("disk went away")
        out[...] = data[domain.index_exp]

    store = ts.virtual_chunked(
        read,
        dtype=ts.float32,
        domain=ts.IndexDomain(shape=[1024, 1024]),
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[256, 256]),
    )
    source = lazy_pyramid(store, name="slide")
    coarsest = len(source.levels) - 1
    with pytest.raises(ChunkReadError, match="disk went away") as failure:
        source.read_chunk(coarsest, (0, 0))
    assert (failure.value.level, failure.value.index) == (coarsest, (0, 0))
    broken["on"] = False
    np.testing.assert_array_equal(source.read_chunk(coarsest, (0, 0)), 1.0)


def test_a_removed_pyramid_frees_its_computed_chunks():
    source = lazy_pyramid(np.ones((2048, 2048), np.float32))
    source.read_chunk(len(source.levels) - 1, (0, 0))
    cache = computed_chunks()
    held = cache.nbytes
    assert held > 0
    del source
    gc.collect()
    assert cache.nbytes < held


def test_the_coarse_levels_that_fit_the_reserve_are_pinned():
    source = lazy_pyramid(np.zeros((8192, 8192), np.uint16))  # levels 4096^2 ... 512^2
    sizes = [int(np.prod(lv.shape)) * 2 for lv in source.levels]
    assert sizes[1:] == [2**25, 2**23, 2**21, 2**19]
    assert _pinned_from(source.levels, 2**21 + 2**19) == 3  # 1024^2 and 512^2 fit
    assert _pinned_from(source.levels, 2**19 - 1) == len(source.levels)  # none fits
    assert _pinned_from(source.levels, 2**30) == 1  # level 0 is never computed
