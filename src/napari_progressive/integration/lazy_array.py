"""A shape-and-dtype stand-in for level 0 that napari's layer can hold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from napari_progressive.sources.protocol import MultiscaleSource


class LazyLevelArray:
    """Array-like view of one level; indexing reads the chunks it crosses.

    The progressive layer never indexes it for display; it exists so that
    napari knows the layer's shape, dtype and extent, and so that user code
    asking ``layer.data[...]`` for a small region gets real values.
    """

    def __init__(self, source: MultiscaleSource, level: int = 0) -> None:
        self.source = source
        self.level = level
        lv = source.levels[level]
        self.shape = lv.shape
        self.dtype = lv.dtype
        self.ndim = len(lv.shape)
        self.chunks = lv.chunks

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=object))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        region = _as_slices(key, self.shape)
        lv = self.source.levels[self.level]
        lo = [s.start // c for s, c in zip(region, lv.chunks, strict=True)]
        hi = [max(s.start, s.stop - 1) // c for s, c in zip(region, lv.chunks, strict=True)]
        out = np.zeros([s.stop - s.start for s in region], dtype=self.dtype)
        for idx in np.ndindex(*[b - a + 1 for a, b in zip(lo, hi, strict=True)]):
            chunk = tuple(a + i for a, i in zip(lo, idx, strict=True))
            csl = lv.chunk_slices(chunk)
            src = tuple(
                slice(max(r.start, c.start) - c.start, min(r.stop, c.stop) - c.start)
                for r, c in zip(region, csl, strict=True)
            )
            dst = tuple(
                slice(max(r.start, c.start) - r.start, min(r.stop, c.stop) - r.start)
                for r, c in zip(region, csl, strict=True)
            )
            out[dst] = self.source.read_chunk(self.level, chunk)[src]
        squeeze = tuple(i for i, k in enumerate(_normalise(key, self.ndim)) if isinstance(k, int))
        return out.squeeze(axis=squeeze) if squeeze else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self.size > 2**28:
            raise MemoryError(
                f"refusing to load a {self.shape} array into memory; index a region instead"
            )
        return np.asarray(self[...], dtype=dtype)


def _normalise(key: Any, ndim: int) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1 :]
    return key + (slice(None),) * (ndim - len(key))


def _as_slices(key: Any, shape: tuple[int, ...]) -> tuple[slice, ...]:
    out = []
    for k, n in zip(_normalise(key, len(shape)), shape, strict=True):
        if isinstance(k, (int, np.integer)):
            k = int(k) + n if k < 0 else int(k)
            out.append(slice(k, k + 1))
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step != 1:
                raise IndexError("only contiguous slices are supported")
            out.append(slice(start, max(start, stop)))
        else:
            raise IndexError(f"unsupported index {k!r}")
    return tuple(out)
