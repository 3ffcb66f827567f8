import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from napari_progressive.core.chunk_file import encode
from napari_progressive.core.disk_cache import LOW_WATER, DiskCache
from napari_progressive.core.geometry import Level


def _level(shape=(100, 100), dtype="u2") -> Level:
    return Level(shape, (10, 10), np.dtype(dtype), (1.0, 1.0), (0.0, 0.0))


LEVEL = _level()


def _path(cache: DiskCache, key: str) -> Path:
    return cache.directory / key[:2] / f"{key}.chunk"


def _files(cache: DiskCache) -> list[str]:
    return sorted(str(p) for p in cache.directory.rglob("*.chunk"))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, ">u2", np.float32, np.float64, bool])
def test_chunks_survive_a_restart_unchanged(tmp_path, dtype):
    data = (np.arange(6 * 7 * 3) % 5).reshape(6, 7, 3).astype(dtype)
    DiskCache(tmp_path).put("k" * 40, data)
    again = DiskCache(tmp_path).get("k" * 40)  # a new process would see the same
    assert again is not None
    assert again.dtype == data.dtype and again.shape == data.shape
    np.testing.assert_array_equal(again, data)


def test_keys_change_with_identity_level_geometry_and_chunk():
    key = DiskCache.key("zarr:file:///a", 0, LEVEL, (1, 2))
    assert key == DiskCache.key("zarr:file:///a", 0, LEVEL, (1, 2))
    others = {
        DiskCache.key("zarr:file:///b", 0, LEVEL, (1, 2)),
        DiskCache.key("zarr:file:///a", 1, LEVEL, (1, 2)),
        DiskCache.key("zarr:file:///a", 0, LEVEL, (2, 1)),
        DiskCache.key("zarr:file:///a", 0, _level((100, 101)), (1, 2)),
        DiskCache.key("zarr:file:///a", 0, _level(dtype="u1"), (1, 2)),
    }
    assert key not in others and len(others) == 5


def test_files_are_not_pickles_and_objects_are_not_stored(tmp_path):
    cache = DiskCache(tmp_path)
    cache.put("a" * 40, np.ones((4, 4), np.uint8))
    (path,) = _files(cache)
    assert Path(path).read_bytes()[:4] == b"NPGC"
    cache.put("b" * 40, np.array([object()], dtype=object))
    assert len(_files(cache)) == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign", "empty"])
def test_a_damaged_file_is_a_miss_and_is_deleted(tmp_path, damage):
    cache = DiskCache(tmp_path)
    cache.put("c" * 40, np.arange(1000, dtype=np.uint16))
    (path,) = _files(cache)
    blob = bytearray(Path(path).read_bytes())
    if damage == "flip":
        blob[-5] ^= 0xFF
    elif damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "foreign":
        blob = bytearray(b"\x80\x04" + bytes(blob[2:]))  # e.g. a pickle
    else:
        blob = bytearray()
    Path(path).write_bytes(bytes(blob))
    assert cache.get("c" * 40) is None
    assert cache.corrupt == 1 and cache.misses == 1
    assert not os.path.exists(path)


def test_the_folder_stays_within_its_budget_least_recently_used_first(tmp_path):
    chunk = np.random.default_rng(0).integers(0, 2**16, 4000, dtype=np.uint16)  # incompressible
    cache = DiskCache(tmp_path, budget_bytes=10 * 8000 + 500)
    cache.put("keep" + "0" * 36, chunk)
    for i in range(30):
        cache.put(f"{i:040d}", chunk)
        os.utime(_path(cache, f"{i:040d}"), (time.time() - 1000 + i,) * 2)
        assert cache.get("keep" + "0" * 36) is not None  # read often: most recently used
        assert cache.nbytes <= cache.budget_bytes
    on_disk = sum(os.path.getsize(p) for p in _files(cache))
    assert on_disk <= cache.budget_bytes
    assert cache.evictions > 0
    assert cache.get("keep" + "0" * 36) is not None
    assert cache.get(f"{29:040d}") is not None  # newest written survive
    assert cache.get(f"{0:040d}") is None  # oldest went first
    assert on_disk >= LOW_WATER * cache.budget_bytes - 2 * 8000


_WRITER = """
import sys
import numpy as np
from napari_progressive.core.disk_cache import DiskCache
cache = DiskCache(sys.argv[1], budget_bytes=2**30)
me = int(sys.argv[2])
for round in range(20):
    for i in range(20):
        shared = np.full((64, 64), i, np.uint16)  # both processes write these keys
        cache.put(f"shared{i:034d}", shared)
        got = cache.get(f"shared{i:034d}")
        assert got is None or (got == i).all(), "torn read"
        cache.put(f"own{me}-{i:032d}", np.full((32, 32), me, np.uint8))
print(cache.corrupt)
"""


def test_two_processes_share_one_folder(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), str(me)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in (1, 2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "0"  # no process ever saw a torn or corrupt file
    cache = DiskCache(tmp_path)
    for i in range(20):
        np.testing.assert_array_equal(cache.get(f"shared{i:034d}"), np.full((64, 64), i))
        for me in (1, 2):
            np.testing.assert_array_equal(cache.get(f"own{me}-{i:032d}"), np.full((32, 32), me))
    assert not list(tmp_path.rglob("*.tmp"))


def test_many_threads_writing_at_once_keep_the_folder_within_budget(tmp_path):
    """Writes that land while another thread evicts are counted, not forgotten."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, 255, (64, 64), dtype=np.uint8) for _ in range(8)]
    one = len(encode("0000", chunks[0]))
    cache = DiskCache(tmp_path / "tier", budget_bytes=20 * one)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: cache.put(f"{i:04x}", chunks[i % 8]), range(400)))
    on_disk = sum(p.stat().st_size for p in (tmp_path / "tier").rglob("*.chunk"))
    assert 0 < on_disk <= cache.budget_bytes
    assert cache.nbytes >= on_disk  # a write seen by the scan and counted too errs high, never low
