"""Neuroglancer precomputed volumes: every scale of an ``info``, sharded or not.

Scales in encodings tensorstore reads (raw, jpeg, png,
compressed_segmentation) open with its ``neuroglancer_precomputed`` driver.
Scales in ``sources.precomputed_codecs`` encodings become tensorstore
``virtual_chunked`` arrays whose read function fetches the chunk bytes (a
chunk file, or a shard entry through tensorstore's
``neuroglancer_uint64_sharded`` kvstore) and decodes them; both kinds then
share the context's chunk cache. Axes come out as ``(c,) z, y, x`` with the
channel axis dropped when there is one channel.
"""

from __future__ import annotations

import asyncio
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorstore as ts

from napari_progressive.core.errors import DecodeError, MetadataError
from napari_progressive.sources.limits import (
    MAX_INDEX,
    check_chunk,
    check_levels,
    check_shape,
    finite_numbers,
    integers,
)
from napari_progressive.sources.precomputed_codecs import CODEC_ENCODINGS, decode_isolated
from napari_progressive.sources.redact import redact_text
from napari_progressive.sources.tensorstore_source import DEFAULT_READ_TIMEOUT, open_store
from napari_progressive.sources.ts_context import shared_context, shared_loop

if TYPE_CHECKING:
    from napari_progressive.sources.location import Location

SCHEME = "precomputed://"
TENSORSTORE_ENCODINGS = ("raw", "jpeg", "png", "compressed_segmentation")
DATA_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32")


@dataclass(frozen=True)
class Scale:
    """One validated ``scales`` entry (x, y, z order, as the file has it)."""

    key: str
    size: tuple[int, ...]
    chunk: tuple[int, ...]
    resolution: tuple[float, ...]
    offset: tuple[int, ...]
    encoding: str
    sharding: dict[str, Any] | None


@dataclass(frozen=True)
class Info:
    """A validated ``info`` file."""

    type: str
    dtype: np.dtype
    channels: int
    scales: tuple[Scale, ...]


def strip_scheme(uri: str) -> str:
    """``precomputed://URL`` -> ``URL``."""
    return uri[len(SCHEME) :] if uri.startswith(SCHEME) else uri


def parse_info(doc: dict[str, Any], where: str) -> Info:
    """Validate an ``info`` document (MetadataError naming the field).

    Sizes are bounded (``sources.limits``) before anything is allocated,
    and a scale's ``key`` may not leave the dataset folder.
    """
    kind = doc.get("type")
    if kind not in ("image", "segmentation"):
        raise MetadataError(where, "type", f"expected 'image' or 'segmentation', got {kind!r}")
    data_type = doc.get("data_type")
    if not isinstance(data_type, str) or data_type.lower() not in DATA_TYPES:
        raise MetadataError(where, "data_type", f"unsupported data type {data_type!r}")
    channels = doc.get("num_channels", 1)
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
        raise MetadataError(where, "num_channels", f"expected a positive integer, got {channels!r}")
    raw_scales = doc.get("scales")
    if not isinstance(raw_scales, list) or not raw_scales:
        raise MetadataError(where, "scales", "expected a non-empty list")
    check_levels(where, "scales", len(raw_scales))
    dtype = np.dtype(data_type.lower())
    scales = tuple(
        _parse_scale(s, where, f"scales.{i}", dtype, channels) for i, s in enumerate(raw_scales)
    )
    return Info(type=kind, dtype=dtype, channels=channels, scales=scales)


def _parse_scale(s: Any, where: str, f: str, dtype: np.dtype, channels: int) -> Scale:
    if not isinstance(s, dict):
        raise MetadataError(where, f, "expected an object")
    chunk_sizes = s.get("chunk_sizes")
    if not (isinstance(chunk_sizes, list) and chunk_sizes):
        raise MetadataError(where, f + ".chunk_sizes", "expected a list of [x, y, z]")
    encoding = s.get("encoding")
    if encoding not in TENSORSTORE_ENCODINGS + CODEC_ENCODINGS:
        raise MetadataError(where, f + ".encoding", f"unsupported encoding {encoding!r}")
    sharding = s.get("sharding")
    if sharding is not None and not isinstance(sharding, dict):
        raise MetadataError(where, f + ".sharding", "expected an object")
    scale = Scale(
        key=_scale_key(s.get("key"), where, f + ".key"),
        size=integers(s.get("size"), where, f + ".size", 3),
        chunk=integers(chunk_sizes[0], where, f + ".chunk_sizes.0", 3),
        resolution=finite_numbers(s.get("resolution"), where, f + ".resolution", 3),
        offset=integers(s.get("voxel_offset", [0, 0, 0]), where, f + ".voxel_offset", 3),
        encoding=encoding,
        sharding=sharding,
    )
    check_shape(where, f + ".size", (*scale.size, channels))
    if min(scale.chunk) < 1:
        raise MetadataError(where, f + ".chunk_sizes.0", f"{list(scale.chunk)} must be positive")
    check_chunk(where, f + ".chunk_sizes.0", (*scale.chunk, channels), dtype)
    if min(scale.resolution) <= 0:
        raise MetadataError(where, f + ".resolution", f"{list(scale.resolution)} must be positive")
    for o, n, r in zip(scale.offset, scale.size, scale.resolution, strict=True):
        if abs(o + n) > MAX_INDEX or not math.isfinite((abs(o) + n) * r):
            raise MetadataError(
                where, f + ".voxel_offset", f"{list(scale.offset)} + size is out of range"
            )
    return scale


def _scale_key(key: Any, where: str, field: str) -> str:
    """A scale's folder, relative and inside the dataset.

    The format allows ``..`` (a path from the info's folder); it is refused
    here so that a dataset cannot point its reads at another one's files.
    """
    if not isinstance(key, str) or not key.strip("/"):
        raise MetadataError(where, field, "expected a non-empty string")
    if key.startswith("/") or "\\" in key or ".." in key.split("/"):
        raise MetadataError(
            where, field, f"{key!r} leaves the dataset folder (chunks are read only from inside it)"
        )
    return key


def compressed_morton_code(position: tuple[int, ...], grid: tuple[int, ...]) -> int:
    """The chunk id of a sharded scale: grid position bits interleaved x, y, z."""
    bits = [max(0, math.ceil(math.log2(g))) for g in grid]
    code, out = 0, 0
    for b in range(max(bits, default=0)):
        for d, nbits in enumerate(bits):
            if b < nbits:
                code |= ((position[d] >> b) & 1) << out
                out += 1
    return code


class _CodecChunks:
    """The read function of one codec-encoded scale."""

    def __init__(self, loc: Location, info: Info, scale: Scale, timeout: float) -> None:
        self._info = info
        self._scale = scale
        self._timeout = timeout
        self._where = loc.where(scale.key)
        scale_loc = loc.child(scale.key)
        if scale.sharding is not None:
            spec = {
                "driver": "neuroglancer_uint64_sharded",
                "base": scale_loc.url,
                "metadata": scale.sharding,
            }
            try:
                self._kv = ts.KvStore.open(spec, context=shared_context()).result(timeout=timeout)
            except Exception as e:
                raise MetadataError(loc.where("info"), "sharding", redact_text(str(e))) from e
        else:
            self._kv = scale_loc.kvstore
        self._grid = tuple(-(-n // c) for n, c in zip(scale.size, scale.chunk, strict=True))

    def _key(self, position: tuple[int, int, int]) -> bytes | str:
        s = self._scale
        if s.sharding is not None:
            return compressed_morton_code(position, self._grid).to_bytes(8, "big")
        lo = [o + p * c for o, p, c in zip(s.offset, position, s.chunk, strict=True)]
        hi = [min(a + c, o + n) for a, c, o, n in zip(lo, s.chunk, s.offset, s.size, strict=True)]
        return "_".join(f"{a}-{b}" for a, b in zip(lo, hi, strict=True))

    async def __call__(self, domain: ts.IndexDomain, array: np.ndarray, _params: Any) -> Any:
        s = self._scale
        origin = [o - off for o, off in zip(domain.origin[:3], s.offset, strict=True)]
        position = tuple(int(o // c) for o, c in zip(origin, s.chunk, strict=True))
        key = self._key(position)  # type: ignore[arg-type]
        result = await asyncio.wait_for(self._kv.read(key), self._timeout)
        if result.state == "value":
            full = (*s.chunk, self._info.channels)
            decode = functools.partial(
                decode_isolated, s.encoding, result.value, full, array.shape, self._info.dtype
            )
            try:  # decode on a worker thread, not on the event loop
                chunk = await asyncio.get_running_loop().run_in_executor(None, decode)
            except DecodeError as e:
                raise DecodeError(f"{self._where} chunk {position}: {e}") from None
            array[...] = chunk
        else:
            array[...] = 0  # a missing chunk reads as the fill value
        return ts.KvStore.TimestampedStorageGeneration(b"immutable", float("inf"))


def _codec_store(loc: Location, info: Info, scale: Scale, timeout: float) -> ts.TensorStore:
    domain = ts.IndexDomain(
        inclusive_min=[*scale.offset, 0],
        shape=[*scale.size, info.channels],
        labels=["x", "y", "z", "channel"],
    )
    return ts.virtual_chunked(
        _CodecChunks(loc, info, scale, timeout),
        dtype=ts.dtype(info.dtype.name),
        domain=domain,
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[*scale.chunk, info.channels]),
        context=shared_context(),
        loop=shared_loop(),
    )


def open_scales(
    loc: Location, info: Info, timeout: float = DEFAULT_READ_TIMEOUT
) -> list[ts.TensorStore]:
    """One store per scale, axes ``(c,) z, y, x``."""
    stores = []
    for i, scale in enumerate(info.scales):
        if scale.encoding in CODEC_ENCODINGS:
            store = _codec_store(loc, info, scale, timeout)
        else:
            spec = {"driver": "neuroglancer_precomputed", "kvstore": loc.url, "scale_index": i}
            store = open_store(spec, loc.where(scale.key), loc.timeout)
        if info.channels == 1:
            store = store[..., 0]
        stores.append(store.T)
    return stores


def physical_transforms(info: Info) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    """Scale and translate (pixel centres, in the info's units) per level, axes reversed."""
    scales, translates = [], []
    extra = (1.0,) if info.channels > 1 else ()
    zero = (0.0,) if info.channels > 1 else ()
    for s in info.scales:
        scales.append(extra + tuple(reversed(s.resolution)))
        translates.append(
            zero
            + tuple(
                (o + 0.5) * r
                for o, r in zip(reversed(s.offset), reversed(s.resolution), strict=True)
            )
        )
    return scales, translates
