"""The persistent disk tier below the host cache: restarts, damage, identities."""

from __future__ import annotations

import numpy as np
import tensorstore as ts
import zarr

from napari_progressive.core.cache import HostCache
from napari_progressive.core.disk_cache import DiskCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.source import source_identity
from napari_progressive.core.tiles import tile_pixels
from napari_progressive.core.view import SliceView
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.faults import FaultInjectingSource
from napari_progressive.sources.lazy_pyramid import lazy_pyramid
from napari_progressive.sources.mandelbrot import MandelbrotSource
from napari_progressive.sources.tensorstore_source import TensorStoreSource
from tests.loading import load_view
from tests.pyramids import encoded_level


def _zarr_pyramid(root, offset: int = 0) -> list[zarr.Array]:
    shape = (600, 500)
    arrays = []
    for level in range(3):
        a = zarr.create_array(str(root / str(level)), shape=shape, chunks=(128, 128), dtype="u1")
        a[...] = encoded_level(level, shape) + offset
        arrays.append(zarr.open_array(str(root / str(level)), mode="r"))
        shape = (shape[0] // 2, shape[1] // 2)
    return arrays


def _session(source, disk: DiskCache) -> Loader:
    """One 'napari run': a fresh host cache, a view of the whole image at level 0."""
    engine = Loader(
        source,
        host_cache=HostCache(2**26),
        executor=SynchronousExecutor(),
        max_in_flight=4,
        disk_cache=disk,
    )
    load_view(engine, SliceView((0, 1), (0.0, 0.0), (600.0, 500.0), 1.0, (0.0, 0.0), (600, 500)))
    return engine


def _assert_tiles_are_the_data(engine: Loader, arrays) -> None:
    assert engine.plan is not None and engine.failures() == {}
    for key in engine.plan.keys:
        (r0, r1), (c0, c1) = tile_pixels(engine.levels[key.level], key)
        np.testing.assert_array_equal(engine.tile_values(key), arrays[key.level][r0:r1, c0:c1])


def test_a_second_session_reads_nothing_from_the_source(tmp_path):
    arrays = _zarr_pyramid(tmp_path / "data.zarr")
    source = FaultInjectingSource(ArrayPyramidSource(arrays, name="p"))
    first = _session(source, DiskCache(tmp_path / "cache"))
    _assert_tiles_are_the_data(first, arrays)
    reads = source.reads
    assert reads >= len(first.plan.keys) > 4
    assert first.stats().disk["disk_writes"] == reads

    second = _session(source, DiskCache(tmp_path / "cache"))  # a restart
    _assert_tiles_are_the_data(second, arrays)
    assert source.reads == reads
    assert second.stats().disk["disk_hits"] >= len(second.plan.keys)


def test_damaged_chunk_files_are_read_again_from_the_source(tmp_path):
    arrays = _zarr_pyramid(tmp_path / "data.zarr")
    source = FaultInjectingSource(ArrayPyramidSource(arrays, name="p"))
    _session(source, DiskCache(tmp_path / "cache"))
    reads = source.reads
    files = sorted((tmp_path / "cache").rglob("*.chunk"))
    for i, path in enumerate(files[::2]):
        blob = bytearray(path.read_bytes())
        if i % 2:
            blob[len(blob) // 2] ^= 0x5A
        else:
            blob = blob[:20]
        path.write_bytes(bytes(blob))
    engine = _session(source, DiskCache(tmp_path / "cache"))
    _assert_tiles_are_the_data(engine, arrays)
    damaged = len(files[::2])
    assert source.reads == reads + damaged
    assert engine.stats().disk["disk_corrupt"] == damaged


def test_failed_and_truncated_reads_are_not_stored(tmp_path):
    arrays = _zarr_pyramid(tmp_path / "data.zarr")
    source = FaultInjectingSource(ArrayPyramidSource(arrays, name="p"), corrupt_rate=0.5, seed=3)
    engine = _session(source, DiskCache(tmp_path / "cache"))
    failed = len(engine.failures())
    assert failed > 0
    stored = len(list((tmp_path / "cache").rglob("*.chunk")))
    assert stored == engine.stats().disk["disk_writes"] == source.reads - failed


def test_in_memory_data_never_uses_the_disk_tier(tmp_path):
    level0 = encoded_level(0, (600, 500))
    source = ArrayPyramidSource([level0, level0[::2, ::2]], name="mem")
    assert source_identity(source) is None
    _session(source, DiskCache(tmp_path / "cache"))
    assert not list((tmp_path / "cache").rglob("*.chunk"))


def test_identities_name_persistent_data_only(tmp_path):
    arrays = _zarr_pyramid(tmp_path / "data.zarr")
    assert source_identity(ArrayPyramidSource(arrays)) == "zarr:" + "|".join(
        str(a.store_path) for a in arrays
    )
    stored = ts.open({"driver": "zarr3", "kvstore": f"file://{tmp_path}/data.zarr/0"}).result()
    ident = source_identity(TensorStoreSource([stored], name="ts"))
    assert ident is not None and "data.zarr/0" in ident
    assert source_identity(TensorStoreSource([ts.array(np.zeros((4, 4)))], name="mem")) is None
    assert source_identity(lazy_pyramid(np.zeros((600, 600), np.uint8))) is None
    assert source_identity(MandelbrotSource(levels=3, tile=64)) != source_identity(
        MandelbrotSource(levels=3, tile=64, max_iter=100)
    )


def test_the_tier_keeps_to_its_budget_while_browsing(tmp_path):
    arrays = _zarr_pyramid(tmp_path / "data.zarr")
    source = ArrayPyramidSource(arrays, name="p")
    unlimited = _session(source, DiskCache(tmp_path / "all"))
    everything = unlimited.stats().disk["disk_bytes"]
    budget = everything // 3
    engine = _session(source, DiskCache(tmp_path / "cache", budget_bytes=budget))
    _assert_tiles_are_the_data(engine, arrays)
    on_disk = sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*.chunk"))
    assert 0 < on_disk <= budget
    assert engine.stats().disk["disk_evictions"] > 0


def test_the_environment_switches_the_tier_on(tmp_path, monkeypatch, fresh_shared):
    shared = fresh_shared
    monkeypatch.setenv(shared.DISK_CACHE_ENV, str(tmp_path / "tier"))
    monkeypatch.setenv(shared.DISK_CACHE_GB_ENV, "0.5")
    cache = shared.shared_disk_cache()
    assert cache is not None and cache.budget_bytes == 2**29
    assert cache.directory.is_relative_to(tmp_path / "tier")
    assert shared.shared_disk_cache() is cache
    assert shared.set_disk_cache(None) is None and shared.shared_disk_cache() is None
