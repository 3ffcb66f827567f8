"""A pyramid for a single large array, built lazily.

Level ``k`` is the mean of 2 x 2 blocks of level ``k - 1`` over the last two
axes (``mode`` for integer label data, so no new label values appear); a
partial block at the edge averages the pixels it has. Levels are tensorstore
``downsample`` views: nothing is computed until a tile is read, and a
coarse tile reads its whole footprint at level 0, through the shared chunk
cache. Level ``k`` has scale ``2**k`` and offset ``(2**k - 1) / 2`` (block
averaging; see ``core.geometry``). Level 0 has the array's chunk grid. A
read of a computed level costs its footprint at level 0, so their chunks are
one plane deep and, in the plane, level 0's display tile side grown to at
least ``MIN_COMPUTED_CHUNK``. Levels stop when a level fits one such chunk.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import tensorstore as ts

from napari_progressive.core.errors import SourceError
from napari_progressive.core.tiles import tile_side
from napari_progressive.sources.chunk_grid import default_chunks, read_chunks
from napari_progressive.sources.tensorstore_source import (
    DEFAULT_READ_TIMEOUT,
    TensorStoreSource,
    native_chunks,
)
from napari_progressive.sources.ts_context import shared_context

MAX_LEVELS = 32
#: The shortest in-plane chunk side of a computed level.
MIN_COMPUTED_CHUNK = 256


def as_tensorstore(array: Any) -> ts.TensorStore:
    """A read-only tensorstore view of a numpy, dask, zarr or tensorstore array."""
    if isinstance(array, ts.TensorStore):
        return array
    if isinstance(array, np.ndarray):
        return ts.array(array)
    if not (hasattr(array, "shape") and hasattr(array, "dtype")):
        raise SourceError(f"cannot read {type(array).__name__} as an array")
    chunks = getattr(array, "chunks", None)
    if chunks is not None and all(isinstance(c, tuple) for c in chunks):  # dask
        chunks = tuple(max(c) for c in chunks)
    if chunks is None:
        chunks = default_chunks(array.shape)

    def read(domain: ts.IndexDomain, out: np.ndarray, _params: Any) -> None:
        region = tuple(slice(lo, lo + n) for lo, n in zip(domain.origin, domain.shape, strict=True))
        block = array[region]
        if hasattr(block, "compute"):
            block = block.compute(scheduler="synchronous")
        out[...] = np.asarray(block)

    return ts.virtual_chunked(
        read,
        dtype=ts.dtype(np.dtype(array.dtype).name),
        domain=ts.IndexDomain(shape=list(array.shape)),
        chunk_layout=ts.ChunkLayout(read_chunk_shape=list(chunks)),
        context=shared_context(),
    )


def _computed_side(chunk: int, size: int) -> int:
    """The in-plane chunk side of the computed levels over an axis of ``size`` at level 0."""
    side = tile_side(chunk, size)
    while side < MIN_COMPUTED_CHUNK:
        side *= 2
    return min(side, size)


def lazy_pyramid(
    array: Any,
    *,
    name: str = "array",
    labels: bool | None = None,
    timeout: float = DEFAULT_READ_TIMEOUT,
) -> TensorStoreSource:
    """A source whose level 0 is ``array`` and whose coarser levels are computed on read."""
    base = as_tensorstore(array)
    if base.rank < 2:
        raise SourceError(f"{name}: an image needs at least 2 axes, got {base.rank}")
    dtype = np.dtype(base.dtype.numpy_dtype)
    if labels is None:
        labels = dtype.kind in "iub" and dtype.itemsize >= 4
    method: Literal["mode", "mean"] = "mode" if labels else "mean"
    ndim = base.rank
    base_chunks = read_chunks(native_chunks(base), base.shape, dtype)
    tile = [1] * ndim
    for a in (ndim - 2, ndim - 1):
        tile[a] = _computed_side(base_chunks[a], base.shape[a])
    levels = [base]
    while len(levels) < MAX_LEVELS and any(
        levels[-1].shape[a] > tile[a] for a in (ndim - 2, ndim - 1)
    ):
        k = len(levels)
        factors = [1] * (ndim - 2) + [2**k, 2**k]
        levels.append(ts.downsample(base, factors, method=method))
    scales = [(1.0,) * (ndim - 2) + (2.0**k, 2.0**k) for k in range(len(levels))]
    translates = [(0.0,) * (ndim - 2) + ((2**k - 1) / 2,) * 2 for k in range(len(levels))]
    chunks = [base_chunks] + [
        tuple(min(t, s) for t, s in zip(tile, lv.shape, strict=True)) for lv in levels[1:]
    ]
    return TensorStoreSource(
        levels, name=name, scales=scales, translates=translates, chunks=chunks, timeout=timeout
    )
