"""A pyramid for a single large array, built lazily.

Level ``k`` is the mean of 2 x 2 blocks of level ``k - 1`` over the last two
axes (``mode`` for integer label data, so no new label values appear); a
partial block at the edge averages the pixels it has. Nothing is computed
until a tile is read. A chunk of level 1 is read from level 0 through a
tensorstore ``downsample`` of its footprint (missing chunks cost nothing); a
chunk of a coarser level is computed from the (at most four) chunks of the
next finer level under it, depth first, never from its whole footprint at
level 0. Computed chunks are kept in one cache all lazy pyramids share (the
host budget's ``computed`` share), so level 0 is read about once however
many levels are shown, and a read holds a few chunks per level, whatever
the array's size. Level ``k`` has scale ``2**k`` and offset
``(2**k - 1) / 2`` (block averaging; see ``core.geometry``). Level 0 has the
array's chunk grid; computed levels' chunks are one plane deep and, in the
plane, level 0's display tile side grown to at least ``MIN_COMPUTED_CHUNK``.
Levels stop when a level fits one such chunk.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from typing import Any, Literal

import numpy as np
import tensorstore as ts

from napari_progressive.core.budget import default_host_budget, split_host_budget
from napari_progressive.core.cache import HostCache
from napari_progressive.core.errors import ChunkReadError, SourceError
from napari_progressive.core.geometry import Level
from napari_progressive.core.tiles import tile_side
from napari_progressive.sources.chunk_grid import default_chunks
from napari_progressive.sources.tensorstore_source import (
    DEFAULT_READ_TIMEOUT,
    TensorStoreSource,
)
from napari_progressive.sources.ts_context import shared_context

MAX_LEVELS = 32
#: The shortest in-plane chunk side of a computed level.
MIN_COMPUTED_CHUNK = 256
#: How a block becomes one pixel: its mean (images) or its most frequent value (labels).
Method = Literal["mode", "mean"]

_lock = threading.Lock()
_computed: HostCache | None = None
_tokens = itertools.count()


def computed_chunks() -> HostCache:
    """The cache of computed chunks every lazy pyramid shares (created on first use)."""
    global _computed
    with _lock:
        if _computed is None:
            _computed = HostCache(split_host_budget(default_host_budget()).computed)
        return _computed


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


class LazyPyramidSource:
    """Level 0 is an array; each coarser level is computed from the next finer one.

    ``levels`` and ``read_chunk`` follow ``MultiscaleSource``. A chunk being
    computed by one thread is waited for, not computed again, by another.
    """

    def __init__(
        self,
        base: TensorStoreSource,
        method: Method,
        sides: tuple[int, int],
        max_levels: int = MAX_LEVELS,
    ) -> None:
        self._base = base
        self._method = method
        level0 = base.levels[0]
        ndim = len(level0.shape)
        plane = (ndim - 2, ndim - 1)
        side = dict(zip(plane, sides, strict=True))
        levels = [level0]
        while len(levels) < max_levels and any(levels[-1].shape[a] > side[a] for a in plane):
            k = len(levels)
            shape = tuple(-(-n // 2) if a in plane else n for a, n in enumerate(levels[-1].shape))
            levels.append(
                Level(
                    shape=shape,
                    chunks=tuple(min(side[a], n) if a in plane else 1 for a, n in enumerate(shape)),
                    dtype=level0.dtype,
                    scale=(1.0,) * (ndim - 2) + (2.0**k,) * 2,
                    translate=(0.0,) * (ndim - 2) + ((2**k - 1) / 2,) * 2,
                )
            )
        self._levels = tuple(levels)
        identity = base.identity
        self.identity = None if identity is None else f"{identity}|halved-{method}-{sides}"
        self._token = next(_tokens)
        self._cache = computed_chunks()
        self._pinned_from = _pinned_from(self._levels, self._cache.pinned_budget_bytes // 2)
        self._computing: dict[tuple[int, tuple[int, ...]], threading.Event] = {}
        self._computing_lock = threading.Lock()
        weakref.finalize(self, self._cache.drop_owner, ("computed", self._token))

    @property
    def name(self) -> str:
        """Short human-readable identity."""
        return self._base.name

    @property
    def levels(self) -> tuple[Level, ...]:
        """Levels from finest to coarsest."""
        return self._levels

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Read chunk ``index`` of ``level``: stored at level 0, computed above."""
        if level == 0:
            return self._base.read_chunk(0, index)
        try:
            return self._chunk(level, tuple(index))
        except ChunkReadError as e:
            raise ChunkReadError(self.name, level, tuple(index), e.reason) from e

    def _chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        key = (("computed", self._token), level, index)
        while True:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            with self._computing_lock:
                busy = self._computing.get((level, index))
                if busy is None:
                    done = self._computing[(level, index)] = threading.Event()
            if busy is not None:  # another thread computes it: take its result
                busy.wait()
                continue
            try:
                began = time.perf_counter()
                chunk = self._compute(level, index)
                pinned = level >= self._pinned_from
                self._cache.put(key, chunk, time.perf_counter() - began, pinned=pinned)
                return chunk
            finally:
                with self._computing_lock:
                    del self._computing[(level, index)]
                done.set()

    def _compute(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        region = self._levels[level].chunk_slices(index)
        finer = self._levels[level - 1]
        below = tuple(
            slice(2 * r.start, min(2 * r.stop, n)) if a >= len(region) - 2 else r
            for a, (r, n) in enumerate(zip(region, finer.shape, strict=True))
        )
        if level == 1:
            return self._base.read_halved(0, below, self._method)
        # Each finer chunk starts at an even offset: it is halved on its own.
        out = np.empty(tuple(r.stop - r.start for r in region), finer.dtype)
        first = [r.start // c for r, c in zip(below, finer.chunks, strict=True)]
        last = [(r.stop - 1) // c for r, c in zip(below, finer.chunks, strict=True)]
        spans = (range(a, b + 1) for a, b in zip(first, last, strict=True))
        for child in itertools.product(*spans):
            halved = _halved(self._chunk(level - 1, child), self._method)
            corner = [
                (p.start - r.start) // (2 if a >= out.ndim - 2 else 1)
                for a, (p, r) in enumerate(zip(finer.chunk_slices(child), below, strict=True))
            ]
            out[tuple(slice(c, c + n) for c, n in zip(corner, halved.shape, strict=True))] = halved
        return out


def _pinned_from(levels: tuple[Level, ...], reserve: int) -> int:
    """The finest level from which all coarser computed levels fit in ``reserve`` bytes.

    Their chunks are kept in the cache's pinned reserve: every view of the
    pyramid falls back on them, and each one costs a large part of level 0.
    """
    first, held = len(levels), 0
    for k in range(len(levels) - 1, 0, -1):
        held += int(np.prod(levels[k].shape)) * levels[k].dtype.itemsize
        if held > reserve:
            break
        first = k
    return first


def _halved(block: np.ndarray, method: Method) -> np.ndarray:
    """``block`` downsampled 2 x 2 over its last two axes, as tensorstore does it."""
    factors = [1] * (block.ndim - 2) + [2, 2]
    return np.asarray(
        ts.downsample(ts.array(block, copy=False), factors, method=method).read().result()
    )


def lazy_pyramid(
    array: Any,
    *,
    name: str = "array",
    labels: bool | None = None,
    timeout: float = DEFAULT_READ_TIMEOUT,
) -> LazyPyramidSource:
    """A source whose level 0 is ``array`` and whose coarser levels are computed on read."""
    store = as_tensorstore(array)
    if store.rank < 2:
        raise SourceError(f"{name}: an image needs at least 2 axes, got {store.rank}")
    base = TensorStoreSource([store], name=name, timeout=timeout)
    dtype = base.levels[0].dtype
    if labels is None:
        labels = dtype.kind in "iub" and dtype.itemsize >= 4
    level0 = base.levels[0]
    sy, sx = (_computed_side(level0.chunks[a], level0.shape[a]) for a in (-2, -1))
    return LazyPyramidSource(base, "mode" if labels else "mean", (sy, sx))
