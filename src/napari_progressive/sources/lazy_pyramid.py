"""A pyramid for a single large array, built lazily.

Level ``k`` is the mean of 2 x 2 blocks of level ``k - 1`` over the last two
axes (``mode`` for integer label data, so no new label values appear); a
partial block at the edge averages the pixels it has. Levels are tensorstore
``downsample`` views: nothing is computed until a tile is read, and a
coarse tile reads its whole footprint at level 0, through the shared chunk
cache. Level ``k`` has scale ``2**k`` and offset ``(2**k - 1) / 2`` (block
averaging; see ``core.geometry``). Levels stop when a level fits one tile.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import tensorstore as ts

from napari_progressive.core.errors import SourceError
from napari_progressive.sources.tensorstore_source import (
    DEFAULT_READ_TIMEOUT,
    TensorStoreSource,
    native_chunks,
)
from napari_progressive.sources.tiling import tile_shape
from napari_progressive.sources.ts_context import shared_context

MAX_LEVELS = 32


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
        chunks = tile_shape([None] * array.ndim, array.shape)

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
    tile = tile_shape(native_chunks(base), base.shape)
    levels = [base]
    ndim = base.rank
    while len(levels) < MAX_LEVELS and any(
        levels[-1].shape[a] > tile[a] for a in (ndim - 2, ndim - 1)
    ):
        k = len(levels)
        factors = [1] * (ndim - 2) + [2**k, 2**k]
        levels.append(ts.downsample(base, factors, method=method))
    scales = [(1.0,) * (ndim - 2) + (2.0**k, 2.0**k) for k in range(len(levels))]
    translates = [(0.0,) * (ndim - 2) + ((2**k - 1) / 2,) * 2 for k in range(len(levels))]
    tiles = [tuple(min(t, s) for t, s in zip(tile, lv.shape, strict=True)) for lv in levels]
    return TensorStoreSource(
        levels, name=name, scales=scales, translates=translates, tiles=tiles, timeout=timeout
    )
