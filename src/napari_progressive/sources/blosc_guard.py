"""Refuse blosc chunks whose header states more bytes than a chunk can hold.

tensorstore decodes zarr chunks itself, and its blosc reader allocates the
decoded size that the chunk's header states before the driver compares it
with the chunk's size: an 8 KiB chunk whose 8.5 MB frame states 2 GiB costs
2 GiB of memory before it fails. ``BloscGuard`` reads the 16-byte header of
each chunk first (once per chunk) and refuses one that states more than the
array's chunk shape and dtype allow (with room for filters), so tensorstore
never sees it.

The check costs one small read per chunk, so it guards local stores only:
on remote storage it would double the requests (and the latency) of every
first read.
"""

from __future__ import annotations

import struct
import threading
from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.errors import DecodeError

if TYPE_CHECKING:
    import tensorstore as ts

#: Header bytes that state the decoded size (blosc 1 and 2: bytes 4-8, little endian).
HEADER = 16
#: Decoded bytes a chunk may state beyond its shape x dtype (filters that widen values).
SLACK = 2
#: Chunks remembered as checked before the memo starts again.
MEMO_LIMIT = 1 << 20


class BloscGuard:
    """Checks the blosc header of every chunk of one zarr array before it is read."""

    def __init__(
        self, kvstore: ts.KvStore, keys: ChunkKeys, chunk: tuple[int, ...], itemsize: int
    ) -> None:
        self._kvstore = kvstore
        self._keys = keys
        self._chunk = chunk
        self._limit = SLACK * int(np.prod(chunk)) * itemsize + HEADER
        self._checked: set[tuple[int, ...]] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, store: ts.TensorStore) -> BloscGuard | None:
        """A guard for a local, unsharded, blosc-compressed zarr array; None otherwise."""
        kvstore = store.kvstore
        codec = store.codec.to_json() if store.codec is not None else {}
        if kvstore is None or not kvstore.url.startswith("file://") or not _uses_blosc(codec):
            return None
        spec = store.spec().to_json()
        if spec.get("driver") not in ("zarr", "zarr3"):  # a view (downsample, ...) of one
            return None
        chunk = store.chunk_layout.read_chunk.shape
        keys = ChunkKeys.of(spec.get("metadata", {}), spec["driver"])
        if chunk is None or None in chunk or keys is None:
            return None
        sides = tuple(int(c) for c in chunk if c is not None)
        return cls(kvstore, keys, sides, store.dtype.numpy_dtype.itemsize)

    def check(self, region: tuple[slice, ...], timeout: float) -> None:
        """Raise ``DecodeError`` if a chunk that ``region`` crosses states too large a size."""
        indices = product(
            *(
                range(s.start // c, max(s.start, s.stop - 1) // c + 1)
                for s, c in zip(region, self._chunk, strict=True)
            )
        )
        with self._lock:
            todo = [i for i in indices if i not in self._checked]
        reads = [
            (i, self._kvstore.read(self._keys.key(i), byte_range=slice(0, HEADER))) for i in todo
        ]
        for index, future in reads:
            result = future.result(timeout=timeout)
            if result.state == "value" and len(result.value) >= 8:
                stated = struct.unpack_from("<I", result.value, 4)[0]
                if stated > self._limit:
                    raise DecodeError(
                        f"chunk {index}: its blosc header states {stated} decoded bytes, "
                        f"a chunk of {self._chunk} holds at most {self._limit}"
                    )
        with self._lock:
            if len(self._checked) > MEMO_LIMIT:
                self._checked.clear()
            self._checked.update(todo)


class ChunkKeys:
    """How a zarr array names its chunk files (v2 ``dimension_separator``, v3 key encoding)."""

    def __init__(self, prefix: str, separator: str) -> None:
        self._prefix = prefix
        self._separator = separator

    @classmethod
    def of(cls, metadata: dict[str, Any], driver: str) -> ChunkKeys | None:
        """The chunk naming of a zarr (v2) or zarr3 array's metadata."""
        if driver == "zarr":
            return cls("", str(metadata.get("dimension_separator", ".")))
        encoding = metadata.get("chunk_key_encoding", {"name": "default"})
        separator = str(encoding.get("configuration", {}).get("separator", ""))
        if encoding.get("name") == "default":
            return cls("c", separator or "/")
        if encoding.get("name") == "v2":
            return cls("", separator or ".")
        return None

    def key(self, index: tuple[int, ...]) -> str:
        """The file name of chunk ``index``."""
        parts = [str(i) for i in index]
        if self._prefix:
            return self._separator.join([self._prefix, *parts])
        return self._separator.join(parts) or "0"


def _uses_blosc(codec: dict[str, Any]) -> bool:
    compressor = codec.get("compressor") or {}
    names = [c.get("name") for c in codec.get("codecs") or []]
    return compressor.get("id") == "blosc" or ("blosc" in names and "sharding_indexed" not in names)
