"""A persistent chunk cache on disk: the tier below the host cache.

Chunks are stored as read from their source, one file per chunk, named by a
digest of the source's stable identity, the level's geometry and the chunk
index (``core.chunk_file`` has the format: a checksum over the whole file,
bound to its key, and no pickle).

* Writes go to a temporary file in the same folder and are renamed into
  place, so readers (in this or another process) see a whole file or none. A
  writer that dies leaves only its temporary file, which a later scan deletes.
* A file that fails its checks (damaged, foreign, written for another key) is
  a miss: it is deleted and the chunk is read from its source again.
* A hit refreshes the file's modification time; when the folder outgrows its
  byte budget, the least recently used files are deleted down to 90 %.
  Two processes may share a folder: each counts what it finds on disk, and a
  file deleted under a reader is a miss.
* Links are never followed below the folder given: a link in place of a
  sub-folder or a chunk file is a miss, is never written through, and is
  skipped by scans, eviction and ``clear``, which delete only the tier's own
  files (``*.chunk``, abandoned ``*.tmp``).
* The tier never fails a read. A folder that cannot be created switches the
  tier off, a read-only one stops its writes, a full one skips the writes
  that do not fit; each cause gives one ``DiskCacheWarning``.

All methods but the constructor and ``clear`` run on worker threads.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from napari_progressive.core.cache_folder import (
    NOT_PLAIN,
    Folder,
    open_folder,
    read_file,
    touch,
    unlink,
    write_file,
)
from napari_progressive.core.chunk_file import FORMAT_VERSION, MAX_NDIM, decode, encode, storable
from napari_progressive.core.errors import DiskCacheWarning

if TYPE_CHECKING:
    import numpy as np

    from napari_progressive.core.geometry import Level

_SUFFIX = ".chunk"
_TMP_SUFFIX = ".tmp"
#: Names a key may have: what ``DiskCache.key`` makes, and nothing that walks folders.
_KEY = re.compile(r"[0-9A-Za-z_-]{2,128}")
_OLD_VERSION = re.compile(r"v([0-9]+)")
#: Seconds after which a temporary file is an abandoned write (its process died).
STALE_TMP_SECONDS = 3600.0
#: After an eviction the folder holds at most this fraction of its budget.
LOW_WATER = 0.9
#: Eviction passes one thread makes while other threads keep writing.
EVICTION_ROUNDS = 3
DEFAULT_DISK_BUDGET = 8 * 2**30

_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


@dataclass(frozen=True)
class _StoredFile:
    sub: str
    name: str
    size: int
    mtime: float


class DiskCache:
    """Compressed chunks under ``directory``, at most ``budget_bytes`` of files."""

    def __init__(self, directory: str | os.PathLike[str], budget_bytes: int = DEFAULT_DISK_BUDGET):
        if budget_bytes <= 0:
            raise ValueError(f"a disk cache needs a positive budget, got {budget_bytes}")
        self.directory = Path(directory).expanduser().absolute() / f"v{FORMAT_VERSION}"
        self.budget_bytes = int(budget_bytes)
        self._lock = threading.Lock()
        self._evicting = threading.Lock()
        self._warned: set[str] = set()
        self._bytes: int | None = None  # counted on first write
        self._written = 0  # bytes this process has stored (to count writes during a scan)
        self.hits = self.misses = self.writes = self.corrupt = self.evictions = 0
        self.write_errors = 0
        #: False when the folder could not be created: every read is a miss.
        self.readable = True
        #: False once the folder turned out read-only: nothing more is stored.
        self.writable = True
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.readable = self.writable = False
            self._warn(
                "folder",
                f"cannot create {self.directory} ({e.strerror or e}): the tier is off this session",
            )

    # -- keys -------------------------------------------------------------------

    @staticmethod
    def key(identity: str, level_index: int, level: Level, chunk: tuple[int, ...]) -> str:
        """The file name stem of a chunk: a digest of everything that defines its bytes."""
        text = "|".join(
            (
                identity,
                str(level_index),
                ",".join(map(str, level.shape)),
                ",".join(map(str, level.chunks)),
                level.dtype.str,
                ",".join(map(str, chunk)),
            )
        )
        return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

    @staticmethod
    def _file_name(key: str) -> str:
        if not _KEY.fullmatch(key):
            raise ValueError(f"disk cache keys are 2 to 128 letters, digits, '_' or '-': {key!r}")
        return key + _SUFFIX

    # -- reads and writes ---------------------------------------------------------

    def get(self, key: str) -> np.ndarray | None:
        """The chunk stored under ``key``, or None (absent, or rejected and deleted)."""
        name = self._file_name(key)
        chunk = None
        if self.readable:
            try:
                with open_folder(self.directory, (key[:2],)) as folder:
                    chunk = self._read(folder, key, name)
            except OSError as e:
                if e.errno in NOT_PLAIN:
                    self._warn_link(e)
        if chunk is None:
            self.misses += 1
            return None
        self.hits += 1
        return chunk

    def _read(self, folder: Folder, key: str, name: str) -> np.ndarray | None:
        chunk = decode(key, read_file(folder, name))
        if chunk is None:
            self.corrupt += 1
            unlink(folder, name)
            return None
        touch(folder, name)  # recently used: evicted last
        return chunk

    def put(self, key: str, chunk: np.ndarray) -> None:
        """Store ``chunk`` under ``key`` (atomically); evict old files when over budget."""
        name = self._file_name(key)
        if not self.writable or not storable(chunk.dtype) or chunk.ndim > MAX_NDIM:
            return  # only plain numeric data is stored
        blob = encode(key, chunk)
        try:
            with open_folder(self.directory, (key[:2],), create=True) as folder:
                write_file(folder, name, blob, _TMP_SUFFIX)
        except OSError as e:
            self._write_failed(e)
            return
        self.writes += 1
        with self._lock:
            self._written += len(blob)
            first = self._bytes is None
            self._bytes = (self._bytes or 0) + len(blob)
        if first:
            self._count()
        with self._lock:
            over = (self._bytes or 0) > self.budget_bytes
        if over:
            self._evict()

    @property
    def nbytes(self) -> int:
        """Bytes of chunk files counted by this process (0 before its first write)."""
        return self._bytes or 0

    def clear(self) -> None:
        """Delete every stored chunk (and abandoned temporary files)."""
        if self.readable:
            self._delete(self.directory, self._files())
        with self._lock:
            self._bytes = 0

    # -- internals ----------------------------------------------------------------

    def _warn(self, cause: str, message: str) -> None:
        """Warn once per cause: the tier steps aside, the view goes on."""
        with self._lock:
            if cause in self._warned:
                return
            self._warned.add(cause)
        warnings.warn(f"disk cache: {message}", DiskCacheWarning, stacklevel=3)

    def _warn_link(self, error: OSError) -> None:
        self._warn("link", f"{error.filename} is a link or not a plain folder: ignored")

    def _write_failed(self, error: OSError) -> None:
        self.write_errors += 1
        reason = f"{error.strerror or error} in {self.directory}"
        if error.errno in _READ_ONLY:
            self.writable = False
            self._warn("read-only", f"cannot write: {reason}; no chunks are stored from now on")
        elif error.errno in _FULL:
            self._warn("full", f"no space left: {reason}; chunks that do not fit are not stored")
        elif error.errno in NOT_PLAIN:
            self._warn_link(error)
        else:
            self._warn(f"write {error.errno}", f"a chunk could not be stored: {reason}")

    def _files(
        self, base: Path | None = None, tmp_before: float | None = None
    ) -> list[_StoredFile]:
        """The chunk files under ``base`` (this version's folder), oldest first.

        Temporary files older than ``tmp_before`` (abandoned writes) are
        listed too, so that callers delete them. Links and anything not named
        as this tier names its files are skipped; so are sub-folders that
        vanish or turn out to be links meanwhile (another process at work).
        """
        base = base or self.directory
        stale = time.time() - STALE_TMP_SECONDS if tmp_before is None else tmp_before
        out = []
        with contextlib.suppress(OSError):
            with open_folder(base) as top:
                subs = [e.name for e in top.entries() if e.is_dir(follow_symlinks=False)]
            for sub in subs:
                with contextlib.suppress(OSError), open_folder(base, (sub,)) as folder:
                    for entry in folder.entries():
                        with contextlib.suppress(OSError):
                            if not entry.is_file(follow_symlinks=False):
                                continue
                            st = entry.stat(follow_symlinks=False)
                            own = entry.name.endswith(_SUFFIX) or (
                                entry.name.endswith(_TMP_SUFFIX) and st.st_mtime < stale
                            )
                            if own:
                                out.append(_StoredFile(sub, entry.name, st.st_size, st.st_mtime))
        return sorted(out, key=lambda f: f.mtime)

    @staticmethod
    def _delete(base: Path, files: list[_StoredFile]) -> None:
        by_sub: defaultdict[str, list[str]] = defaultdict(list)
        for f in files:
            by_sub[f.sub].append(f.name)
        for sub, names in by_sub.items():
            with contextlib.suppress(OSError), open_folder(base, (sub,)) as folder:
                for name in names:
                    unlink(folder, name)

    def _count(self) -> None:
        """First write of this process: count the folder, drop abandoned and old-format files."""
        with self._lock:
            written_before = self._written
        files = self._files()
        self._delete(self.directory, [f for f in files if f.name.endswith(_TMP_SUFFIX)])
        total = sum(f.size for f in files if f.name.endswith(_SUFFIX))
        with self._lock:
            self._bytes = total + (self._written - written_before)
        self._remove_old_formats()

    def _remove_old_formats(self) -> None:
        """Delete the chunk files of older format versions (they are never read again)."""
        with contextlib.suppress(OSError), os.scandir(self.directory.parent) as it:
            old = [
                e.name
                for e in it
                if (m := _OLD_VERSION.fullmatch(e.name)) is not None
                and int(m.group(1)) < FORMAT_VERSION
                and e.is_dir(follow_symlinks=False)
            ]
        for name in old:
            base = self.directory.parent / name
            files = self._files(base, tmp_before=float("inf"))
            self._delete(base, files)
            with contextlib.suppress(OSError), open_folder(base) as folder:
                for sub in {f.sub for f in files}:
                    with contextlib.suppress(OSError):  # not empty: not only ours
                        os.rmdir(folder.name(sub), dir_fd=folder.fd)
            with contextlib.suppress(OSError):
                base.rmdir()

    def _evict(self) -> None:
        """Delete the least recently used files until the folder is under its low water mark.

        One thread evicts at a time; the others wait, then evict only if the
        writes that landed meanwhile (counted on top of its scan) took the
        folder over budget again.
        """
        with self._evicting:
            for _ in range(EVICTION_ROUNDS):
                with self._lock:
                    if (self._bytes or 0) <= self.budget_bytes:
                        return
                self._evict_files()

    def _evict_files(self) -> None:
        with self._lock:
            written_before = self._written
        files = self._files()
        victims = [f for f in files if f.name.endswith(_TMP_SUFFIX)]
        total = sum(f.size for f in files if f.name.endswith(_SUFFIX))
        target = int(self.budget_bytes * LOW_WATER)
        for f in files:
            if total <= target:
                break
            if f.name.endswith(_SUFFIX):
                victims.append(f)
                total -= f.size
        self._delete(self.directory, victims)
        with self._lock:
            # files written since the scan began may be missing from it: count them
            self._bytes = total + (self._written - written_before)
            self.evictions += sum(f.name.endswith(_SUFFIX) for f in victims)

    def stats(self) -> dict[str, int]:
        """Counters for ``napari_progressive.stats``."""
        return {
            "disk_bytes": self.nbytes,
            "disk_budget_bytes": self.budget_bytes,
            "disk_hits": self.hits,
            "disk_misses": self.misses,
            "disk_writes": self.writes,
            "disk_corrupt": self.corrupt,
            "disk_evictions": self.evictions,
            "disk_write_errors": self.write_errors,
        }
