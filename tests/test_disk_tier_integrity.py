"""The disk tier under attack: damaged and swapped files, links, unusable folders, killed writers.

Whatever is done to its folder, the tier serves the chunk that was stored
under a key or nothing, never raises out of ``get``/``put``, and never
writes or deletes anything outside its folder.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pytest
import zarr

from napari_progressive.core.disk_cache import STALE_TMP_SECONDS, DiskCache
from napari_progressive.core.errors import DiskCacheWarning
from napari_progressive.core.fetch import DiskTier, read_chunk
from napari_progressive.core.geometry import Level
from napari_progressive.core.source import source_identity
from napari_progressive.core.tiles import tile_chunks
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.test_disk_tier import _assert_tiles_are_the_data, _session, _zarr_pyramid

if TYPE_CHECKING:
    from pathlib import Path

LEVEL = Level((64, 64), (32, 32), np.dtype("<u2"), (1.0, 1.0), (0.0, 0.0))
CHUNKS = [(r, c) for r in range(2) for c in range(2)]


def _chunk(seed: int) -> np.ndarray:
    i, j = np.indices((32, 32))
    noise = np.random.default_rng(seed).integers(0, 16, (32, 32))
    return ((i * 37 + j * 11 + seed * 1000) % 4096 + noise).astype("<u2")


def _path(cache: DiskCache, key: str) -> Path:
    return cache.directory / key[:2] / f"{key}.chunk"


def _key(identity: str, chunk: tuple[int, int]) -> str:
    return DiskCache.key(identity, 0, LEVEL, chunk)


@pytest.fixture
def stored(tmp_path):
    """A real chunk file: a zarr chunk read through the tier once."""
    store = zarr.create_array(
        str(tmp_path / "d.zarr"), shape=(64, 64), chunks=(32, 32), dtype="<u2"
    )
    store[...] = np.block([[_chunk(0), _chunk(1)], [_chunk(2), _chunk(3)]])
    source = ArrayPyramidSource([zarr.open_array(str(tmp_path / "d.zarr"), mode="r")], name="z")
    cache = DiskCache(tmp_path / "cache")
    tier = DiskTier(cache, "zarr:d.zarr")
    data = read_chunk(source, 0, (1, 0), tier)
    key = cache.key(tier.identity, 0, source.levels[0], (1, 0))
    return cache, key, data


# -- damaged and swapped files ------------------------------------------------------


def test_no_bit_flip_anywhere_in_a_chunk_file_serves_a_wrong_array_or_raises(stored):
    cache, key, data = stored
    path = _path(cache, key)
    good = path.read_bytes()
    served = 0
    for bit in range(8 * len(good)):
        blob = bytearray(good)
        blob[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(blob))
        got = cache.get(key)  # never raises
        if got is not None:
            served += 1
            assert got.dtype == data.dtype and np.array_equal(got, data), f"bit {bit}"
        else:
            assert not path.exists(), f"bit {bit}: a rejected file is deleted"
    assert served == 0
    assert cache.corrupt == 8 * len(good)
    path.write_bytes(good)
    np.testing.assert_array_equal(cache.get(key), data)


@pytest.mark.parametrize("edit", [(b"<u2", b">u2"), (b"<u2", b",u2"), (b"<u2", b"<u1")])
def test_an_edited_dtype_in_the_header_is_a_miss(stored, edit):
    cache, key, _ = stored
    path = _path(cache, key)
    blob = path.read_bytes()
    assert blob.count(edit[0]) == 1
    path.write_bytes(blob.replace(*edit))
    assert cache.get(key) is None
    assert cache.corrupt == 1 and not path.exists()


def test_files_swapped_between_chunks_and_between_sources_are_misses(tmp_path):
    cache = DiskCache(tmp_path)
    keys = {(ident, c): _key(ident, c) for ident in ("zarr:a", "zarr:b") for c in CHUNKS}
    for n, key in enumerate(keys.values()):
        cache.put(key, _chunk(n))
    blobs = {key: _path(cache, key).read_bytes() for key in keys.values()}
    swaps = 0
    for here in keys.values():
        for there in keys.values():
            if here != there:
                _path(cache, here).write_bytes(blobs[there])
                assert cache.get(here) is None  # same shape and dtype, another chunk's bytes
                swaps += 1
    assert swaps == cache.corrupt == 8 * 7


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_or_a_folder_in_place_of_a_chunk_file_is_a_miss(tmp_path):
    cache = DiskCache(tmp_path)
    pipe, folder = _key("zarr:a", (0, 0)), _key("zarr:a", (0, 1))
    _path(cache, pipe).parent.mkdir()
    os.mkfifo(_path(cache, pipe))  # reading it would block forever
    _path(cache, folder).mkdir(parents=True)
    assert cache.get(pipe) is None and cache.get(folder) is None


def test_keys_that_could_walk_out_of_the_folder_are_refused(tmp_path):
    cache = DiskCache(tmp_path / "cache")
    with pytest.raises(ValueError, match="keys"):
        cache.put("../../outside", np.zeros(4, np.uint8))
    assert not (tmp_path / "outside.chunk").exists()


# -- links ----------------------------------------------------------------------------


@pytest.fixture
def user_files(tmp_path):
    """A folder of the user's that links in the cache folder point to."""
    user = tmp_path / "user"
    (user / "sub").mkdir(parents=True)
    for n in range(3):
        (user / f"photo{n}.chunk").write_bytes(b"precious")
        (user / f"notes{n}.tmp").write_bytes(b"mine")
    (user / "sub" / "deep.chunk").write_bytes(b"deep")
    os.utime(user / "notes0.tmp", (0, 0))  # as old as an abandoned write
    return user


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _filled(tmp_path, n_chunks=64) -> tuple[DiskCache, list[str]]:
    cache = DiskCache(tmp_path / "cache", budget_bytes=2**30)
    keys = [_key("zarr:a", (r, c)) for r in range(8) for c in range(n_chunks // 8)]
    for n, key in enumerate(keys):
        cache.put(key, _chunk(n))
    return cache, keys


def _browse_clear_and_evict(cache: DiskCache, keys: list[str]) -> None:
    for n, key in enumerate(keys):
        cache.get(key)
        cache.put(key, _chunk(n))
    cache.budget_bytes = 1  # evict everything
    cache.put(keys[1], _chunk(1))
    cache.clear()


def _warned_of_links(caught: list[warnings.WarningMessage]) -> bool:
    """One warning, about links (and no other warning)."""
    return [(w.category, "link" in str(w.message)) for w in caught] == [(DiskCacheWarning, True)]


def test_a_linked_sub_folder_is_never_written_through_nor_emptied(tmp_path, user_files):
    cache, keys = _filled(tmp_path)
    before = _snapshot(user_files)
    sub = _path(cache, keys[0]).parent
    shutil.rmtree(sub)
    sub.symlink_to(user_files, target_is_directory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _browse_clear_and_evict(cache, keys)
    assert _snapshot(user_files) == before
    assert _warned_of_links(caught)
    assert not list((tmp_path / "cache").rglob("*.chunk"))  # the cache's own files went


def test_linked_chunk_files_are_misses_and_their_targets_are_kept(tmp_path, user_files):
    cache, keys = _filled(tmp_path)
    before = _snapshot(user_files)
    for n, key in enumerate(keys[:3]):
        _path(cache, key).unlink()
        _path(cache, key).symlink_to(user_files / f"photo{n}.chunk")
    with pytest.warns(DiskCacheWarning, match="link"):
        assert all(cache.get(key) is None for key in keys[:3])
    _browse_clear_and_evict(cache, keys)
    assert _snapshot(user_files) == before


def test_a_linked_version_folder_is_never_used(tmp_path, user_files):
    cache, keys = _filled(tmp_path)
    before = _snapshot(user_files)
    shutil.rmtree(cache.directory)
    cache.directory.symlink_to(user_files, target_is_directory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _browse_clear_and_evict(DiskCache(tmp_path / "cache"), keys)
    assert _snapshot(user_files) == before
    assert _warned_of_links(caught)


def test_files_of_an_older_format_are_misses_then_deleted_and_nothing_else(tmp_path):
    cache = DiskCache(tmp_path)
    key = _key("zarr:a", (0, 0))
    old = tmp_path / "v1" / key[:2]
    old.mkdir(parents=True)
    (old / f"{key}.chunk").write_bytes(b"NPGC\x01" + b"\0" * 40)
    (old / "user-notes.txt").write_text("mine")
    assert cache.get(key) is None
    cache.put(key, _chunk(0))  # the first write of a process tidies up
    assert not (old / f"{key}.chunk").exists()
    assert (old / "user-notes.txt").read_text() == "mine"


# -- unusable folders -------------------------------------------------------------------


def _failing(monkeypatch, code: int) -> None:
    """Creating files and folders fails with ``code``, as a full or read-only disk does."""
    real_open = os.open

    def open_(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), path)
        return real_open(path, flags, *args, **kwargs)

    def mkdir(path, mode=0o777, *, dir_fd=None):
        try:
            os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise OSError(code, os.strerror(code), path) from None
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir)


def _zarr_source(root: Path) -> ArrayPyramidSource:
    store = zarr.create_array(str(root / "d.zarr"), shape=(64, 64), chunks=(32, 32), dtype="<u2")
    store[...] = np.block([[_chunk(0), _chunk(1)], [_chunk(2), _chunk(3)]])
    return ArrayPyramidSource([zarr.open_array(str(root / "d.zarr"), mode="r")], name="z")


def _read_every_chunk(source: ArrayPyramidSource, tier: DiskTier, times: int = 1) -> None:
    for _ in range(times):
        for chunk in CHUNKS:
            expected = _chunk(2 * chunk[0] + chunk[1])
            np.testing.assert_array_equal(read_chunk(source, 0, chunk, tier), expected)


@pytest.mark.parametrize(
    ("code", "cause"),
    [(errno.ENOSPC, "no space"), (errno.EDQUOT, "no space"), (errno.EROFS, "cannot write")],
)
def test_a_full_or_read_only_folder_costs_the_tier_never_a_read(tmp_path, monkeypatch, code, cause):
    source = _zarr_source(tmp_path)
    tier = DiskTier(DiskCache(tmp_path / "cache"), "zarr:d.zarr")
    read_chunk(source, 0, (0, 0), tier)  # stored while there was room
    _failing(monkeypatch, code)
    with pytest.warns(DiskCacheWarning, match=cause) as caught:
        _read_every_chunk(source, tier, times=3)
    assert len(caught) == 1  # once per cause
    assert tier.cache.hits == 3  # what was stored is still served


def test_a_folder_that_cannot_be_created_turns_the_tier_off(tmp_path, monkeypatch, fresh_shared):
    shared = fresh_shared
    monkeypatch.setenv(shared.DISK_CACHE_ENV, str(tmp_path / "tier"))
    _failing(monkeypatch, errno.EROFS)
    with pytest.warns(DiskCacheWarning, match="cannot create") as caught:
        assert shared.shared_disk_cache() is None  # layers are created without a tier
    assert len(caught) == 1


def test_a_size_in_the_environment_that_is_no_number_keeps_the_default(
    tmp_path, monkeypatch, fresh_shared
):
    shared = fresh_shared
    monkeypatch.setenv(shared.DISK_CACHE_ENV, str(tmp_path / "tier"))
    monkeypatch.setenv(shared.DISK_CACHE_GB_ENV, "lots")
    with pytest.warns(DiskCacheWarning, match="GiB"):
        cache = shared.shared_disk_cache()
    assert cache is not None and cache.budget_bytes == shared.DEFAULT_DISK_BUDGET


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64-inode tmpfs (needs the right to mount, as root on Linux; skipped elsewhere)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    opts = "size=4m,nr_inodes=64"
    if (
        shutil.which("mount") is None
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_real_folder_out_of_inodes_serves_every_read(tmp_path, tiny_tmpfs):
    source = _zarr_source(tmp_path)
    tier = DiskTier(DiskCache(tiny_tmpfs), "zarr:d.zarr")
    n = 0
    while True:
        try:
            (tiny_tmpfs / f"filler{n}").touch()
        except OSError:
            break
        n += 1
    with pytest.warns(DiskCacheWarning, match="no space"):
        _read_every_chunk(source, tier)
    assert tier.cache.write_errors == len(CHUNKS)


# -- a killed writer --------------------------------------------------------------------------

_KILLED = """
import os, sys, time
import numpy as np
from napari_progressive.core import disk_cache
real_replace = os.replace
def hang(*args, **kwargs):
    print("written", flush=True)
    time.sleep(600)  # killed here: the file is whole but not in place
os.replace = hang
disk_cache.DiskCache(sys.argv[1]).put(sys.argv[2], np.ones((256, 256), np.uint16))
"""


def test_a_writer_killed_mid_write_leaves_a_temporary_file_that_a_later_scan_removes(tmp_path):
    key = _key("zarr:a", (0, 0))
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(tmp_path), key], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
    cache = DiskCache(tmp_path)
    assert cache.get(key) is None  # nothing half-written is ever in place
    (tmp,) = tmp_path.rglob("*.tmp")
    cache.put(_key("zarr:a", (0, 1)), _chunk(0))  # a young temporary file may be a live writer's
    assert tmp.exists()
    abandoned = time.time() - STALE_TMP_SECONDS - 1
    os.utime(tmp, (abandoned, abandoned))
    DiskCache(tmp_path).put(_key("zarr:a", (1, 0)), _chunk(1))  # the next process's first write
    assert not tmp.exists()
    assert not list(tmp_path.rglob("*.tmp"))


# -- through the engine ---------------------------------------------------------------------


def _plan_chunks(engine):
    """The chunks the tiles of an engine's plan are cut from."""
    return {c for k in engine.plan.keys for c in tile_chunks(engine.levels[k.level], k)}


def test_chunk_files_copied_from_another_source_are_read_again(tmp_path):
    ours = _zarr_pyramid(tmp_path / "ours.zarr")
    theirs = _zarr_pyramid(tmp_path / "theirs.zarr", offset=1)  # same geometry, other pixels
    sources = [ArrayPyramidSource(a, name="p") for a in (ours, theirs)]
    cache = DiskCache(tmp_path / "cache")
    engines = [_session(s, cache) for s in sources]
    plan = engines[0].plan
    assert plan is not None
    chunks = _plan_chunks(engines[0])
    names = [
        {c: cache.key(source_identity(s), c.level, s.levels[c.level], c.index) for c in chunks}
        for s in sources
    ]
    for c in chunks:  # every file of ours now holds their bytes
        shutil.copyfile(_path(cache, names[1][c]), _path(cache, names[0][c]))
    again = _session(sources[0], DiskCache(tmp_path / "cache"))
    _assert_tiles_are_the_data(again, ours)
    assert again.stats().disk["disk_corrupt"] == len(chunks)


def test_a_disk_out_of_inodes_fails_no_tile(tmp_path, monkeypatch):
    arrays = _zarr_pyramid(tmp_path / "data.zarr")
    source = ArrayPyramidSource(arrays, name="p")
    cache = DiskCache(tmp_path / "cache")
    _failing(monkeypatch, errno.ENOSPC)
    with pytest.warns(DiskCacheWarning, match="no space") as caught:
        engine = _session(source, cache)
    _assert_tiles_are_the_data(engine, arrays)
    assert len(caught) == 1
    assert engine.stats().disk["disk_write_errors"] == len(_plan_chunks(engine))
