"""A persistent chunk cache on disk: the tier below the host cache.

Chunks are stored as read from their source, one file per chunk, named by a
digest of the source's stable identity, the level's geometry and the chunk
index. A file holds a small header (magic, format version, dtype, shape,
CRC-32 of the payload) and the Blosc/zstd-compressed bytes: no pickle, so a
file from another process or version can only be read or rejected.

* Writes go to a temporary file in the same folder and are renamed into
  place, so readers (in this or another process) see a whole file or none.
* A file that fails its checks (truncated, corrupt, foreign) is a miss: it is
  deleted and the chunk is read from its source again.
* A hit refreshes the file's modification time; when the folder outgrows its
  byte budget, the least recently used files are deleted down to 90 %.
  Two processes may share a folder: each counts what it finds on disk, and a
  file deleted under a reader is a miss.

All methods run on worker threads; none is called on the main thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numcodecs import Blosc

if TYPE_CHECKING:
    from napari_progressive.core.geometry import Level

#: File format: magic, version, CRC-32 of the payload, dtype length, ndim.
_HEADER = struct.Struct("<4sBIBB")
_MAGIC = b"NPGC"
_VERSION = 1
_SUFFIX = ".chunk"
#: Seconds after which a temporary file is an abandoned write (its process died).
STALE_TMP_SECONDS = 3600.0
#: After an eviction the folder holds at most this fraction of its budget.
LOW_WATER = 0.9
#: Eviction passes one thread makes while other threads keep writing.
EVICTION_ROUNDS = 3
DEFAULT_DISK_BUDGET = 8 * 2**30


class DiskCache:
    """Compressed chunks under ``directory``, at most ``budget_bytes`` of files."""

    def __init__(self, directory: str | os.PathLike[str], budget_bytes: int = DEFAULT_DISK_BUDGET):
        if budget_bytes <= 0:
            raise ValueError(f"a disk cache needs a positive budget, got {budget_bytes}")
        self.directory = Path(directory).expanduser().absolute() / f"v{_VERSION}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.budget_bytes = int(budget_bytes)
        self._codec = Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE)
        self._lock = threading.Lock()
        self._evicting = threading.Lock()
        self._bytes: int | None = None  # counted on first write
        self._written = 0  # bytes this process has stored (to count writes during a scan)
        self.hits = self.misses = self.writes = self.corrupt = self.evictions = 0

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

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / (key + _SUFFIX)

    # -- reads and writes ---------------------------------------------------------

    def get(self, key: str) -> np.ndarray | None:
        """The chunk stored under ``key``, or None (absent, or rejected and deleted)."""
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        chunk = self._decode(blob)
        if chunk is None:
            self.corrupt += 1
            self.misses += 1
            path.unlink(missing_ok=True)
            return None
        self.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return chunk

    def put(self, key: str, chunk: np.ndarray) -> None:
        """Store ``chunk`` under ``key`` (atomically); evict old files when over budget."""
        if chunk.dtype.hasobject:
            return  # only plain numeric data is stored
        blob = self._encode(chunk)
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return  # a full or read-only disk costs the tier, not the view
        self.writes += 1
        with self._lock:
            self._written += len(blob)
            if self._bytes is None:
                self._bytes = sum(size for _, size, _ in self._files())
            else:
                self._bytes += len(blob)
            over = self._bytes > self.budget_bytes
        if over:
            self._evict()

    @property
    def nbytes(self) -> int:
        """Bytes of chunk files counted by this process (0 before its first write)."""
        return self._bytes or 0

    def clear(self) -> None:
        """Delete every stored chunk."""
        for path, _, _ in self._files():
            path.unlink(missing_ok=True)
        with self._lock:
            self._bytes = 0

    # -- internals ----------------------------------------------------------------

    def _encode(self, chunk: np.ndarray) -> bytes:
        data = np.ascontiguousarray(chunk)
        payload = self._codec.encode(data)
        dtype = data.dtype.str.encode()
        header = _HEADER.pack(_MAGIC, _VERSION, zlib.crc32(payload), len(dtype), data.ndim)
        shape = struct.pack(f"<{data.ndim}Q", *data.shape)
        return header + dtype + shape + bytes(payload)

    def _decode(self, blob: bytes) -> np.ndarray | None:
        try:
            magic, version, crc, n_dtype, ndim = _HEADER.unpack_from(blob)
            if magic != _MAGIC or version != _VERSION:
                return None
            at = _HEADER.size
            dtype = np.dtype(blob[at : at + n_dtype].decode())
            at += n_dtype
            shape = struct.unpack_from(f"<{ndim}Q", blob, at)
            payload = blob[at + 8 * ndim :]
            if dtype.hasobject or zlib.crc32(payload) != crc:
                return None
            raw = self._codec.decode(payload)
            return np.frombuffer(raw, dtype=dtype).reshape(shape)
        except (struct.error, ValueError, TypeError, RuntimeError, UnicodeDecodeError):
            return None

    def _files(self, tmp_older_than: float | None = None) -> list[tuple[Path, int, float]]:
        """Every chunk file with its size and modification time.

        With ``tmp_older_than`` (a time stamp), abandoned temporary files
        older than it are listed too, so that eviction deletes them.
        """
        out = []
        for sub in os.scandir(self.directory):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                chunk = entry.name.endswith(_SUFFIX)
                if not chunk and (tmp_older_than is None or not entry.name.endswith(".tmp")):
                    continue
                try:
                    st = entry.stat()
                except OSError:
                    continue  # deleted meanwhile (another process evicting)
                if chunk or st.st_mtime < (tmp_older_than or 0.0):
                    out.append((Path(entry.path), st.st_size, st.st_mtime))
        return out

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
        files = sorted(self._files(time.time() - STALE_TMP_SECONDS), key=lambda f: f[2])
        total = sum(size for _, size, _ in files)
        target = int(self.budget_bytes * LOW_WATER)
        evicted = 0
        for path, size, _ in files:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
            evicted += 1
        with self._lock:
            # files written since the scan began may be missing from it: count them
            self._bytes = total + (self._written - written_before)
            self.evictions += evicted

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
        }
