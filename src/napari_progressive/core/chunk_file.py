"""The file format of one chunk in the disk tier: encode, and decode or reject.

A file is ``header | shape | payload | digest``:

* header: magic ``NPGC``, format version, dtype as a NUL-padded type string
  (such as ``<u2``), number of dimensions;
* shape: one little-endian 64-bit integer per dimension;
* payload: the Blosc/zstd-compressed bytes, C order;
* digest: BLAKE2b-128 of the chunk's key and every byte before it.

The digest binds a file to its key (hence to its source, level and chunk
index) and covers the header as well as the payload: a flipped bit anywhere,
or a file copied from another chunk or another source, fails it. Nothing is
parsed before the digest is checked, and then only fixed-size fields and a
type string that must match a plain numeric pattern: no pickle, no eval.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct

import numpy as np
from numcodecs import Blosc

FORMAT_VERSION = 2
_MAGIC = b"NPGC"
#: magic, version, dtype type string, ndim.
_HEADER = struct.Struct("<4sB8sB")
_DIGEST_SIZE = 16
#: The most dimensions a stored chunk may have.
MAX_NDIM = 8
#: Type strings that are stored: booleans, integers, floats, complex numbers.
_TYPESTR = re.compile(r"[<>|][biufc][1-9][0-9]?")
_CODEC = Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE)


def storable(dtype: np.dtype) -> bool:
    """Whether chunks of ``dtype`` can be stored (plain numeric data only)."""
    return _TYPESTR.fullmatch(dtype.str) is not None and dtype.fields is None


def _digest(key: str, body: bytes | memoryview) -> bytes:
    h = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    k = key.encode()
    h.update(struct.pack("<I", len(k)))
    h.update(k)
    h.update(body)
    return h.digest()


def encode(key: str, chunk: np.ndarray) -> bytes:
    """The file contents of ``chunk`` stored under ``key`` (a ``storable`` dtype)."""
    data = np.ascontiguousarray(chunk)
    if not storable(data.dtype) or data.ndim > MAX_NDIM:
        raise ValueError(f"chunks of dtype {data.dtype} and {data.ndim} dimensions are not stored")
    header = _HEADER.pack(_MAGIC, FORMAT_VERSION, data.dtype.str.encode(), data.ndim)
    body = header + struct.pack(f"<{data.ndim}Q", *data.shape) + bytes(_CODEC.encode(data))
    return body + _digest(key, body)


def decode(key: str, blob: bytes) -> np.ndarray | None:
    """The chunk in ``blob`` if it is a whole, intact file written for ``key``; else None."""
    if len(blob) < _HEADER.size + _DIGEST_SIZE:
        return None
    body = memoryview(blob)[:-_DIGEST_SIZE]
    if _digest(key, body) != blob[-_DIGEST_SIZE:]:
        return None  # damaged, foreign, or written for another key
    magic, version, typestr, ndim = _HEADER.unpack_from(body)
    text = typestr.rstrip(b"\0").decode("ascii", "replace")
    if magic != _MAGIC or version != FORMAT_VERSION or not _TYPESTR.fullmatch(text):
        return None
    if ndim > MAX_NDIM or len(body) < _HEADER.size + 8 * ndim:
        return None
    dtype = np.dtype(text)
    shape = struct.unpack_from(f"<{ndim}Q", body, _HEADER.size)
    try:
        raw = _CODEC.decode(body[_HEADER.size + 8 * ndim :])
    except (RuntimeError, ValueError, TypeError):
        return None
    if len(raw) != dtype.itemsize * math.prod(shape):
        return None
    return np.frombuffer(raw, dtype=dtype).reshape(shape)
