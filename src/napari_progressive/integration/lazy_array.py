"""A shape-and-dtype stand-in for level 0 that napari's layer can hold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from napari_progressive.core.source import MultiscaleSource

#: Largest region ``np.asarray`` loads (elements).
MAX_LOAD_ELEMENTS = 2**28


class LazyLevelArray:
    """Lazy array view of a region of one level, like a tensorstore or dask array.

    Indexing returns another lazy view and reads nothing: napari inspects
    ``layer.data[0].dtype`` and the like on the main thread. ``np.asarray`` (or
    ``read()``) reads the chunks the region crosses. The progressive layer
    never reads it for display.
    """

    def __init__(
        self,
        source: MultiscaleSource,
        level: int = 0,
        region: tuple[slice, ...] | None = None,
        dropped: tuple[int, ...] = (),
    ) -> None:
        self.source = source
        self.level = level
        lv = source.levels[level]
        self._region = region if region is not None else tuple(slice(0, n) for n in lv.shape)
        self._dropped = dropped
        self.shape = tuple(s.stop - s.start for i, s in enumerate(self._region) if i not in dropped)
        self.dtype = lv.dtype
        self.ndim = len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=object))

    def __deepcopy__(self, memo: dict[int, Any]) -> LazyLevelArray:
        """The same view: the data is read-only and lives in its source."""
        return self

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> LazyLevelArray:
        kept = [i for i in range(len(self._region)) if i not in self._dropped]
        region = list(self._region)
        dropped = set(self._dropped)
        for axis, k in zip(kept, _normalise(key, self.ndim), strict=True):
            base, n = region[axis].start, region[axis].stop - region[axis].start
            if isinstance(k, (int, np.integer)):
                i = int(k) + n if k < 0 else int(k)
                if not 0 <= i < n:
                    raise IndexError(f"index {k} is out of bounds for an axis of size {n}")
                region[axis] = slice(base + i, base + i + 1)
                dropped.add(axis)
            elif isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step != 1:
                    raise IndexError("only contiguous slices are supported")
                region[axis] = slice(base + start, base + max(start, stop))
            else:
                raise IndexError(f"unsupported index {k!r}")
        return LazyLevelArray(self.source, self.level, tuple(region), tuple(sorted(dropped)))

    def read(self) -> np.ndarray:
        """Read the region's values (blocking I/O: not for the main thread)."""
        region = self._region
        lv = self.source.levels[self.level]
        lo = [s.start // c for s, c in zip(region, lv.chunks, strict=True)]
        hi = [max(s.start, s.stop - 1) // c for s, c in zip(region, lv.chunks, strict=True)]
        out = np.zeros([s.stop - s.start for s in region], dtype=self.dtype)
        if out.size:
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
        return out.squeeze(axis=self._dropped) if self._dropped else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self.size > MAX_LOAD_ELEMENTS:
            raise MemoryError(
                f"refusing to load a {self.shape} array into memory; index a region instead"
            )
        return np.asarray(self.read(), dtype=dtype)


def _normalise(key: Any, ndim: int) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1 :]
    if len(key) > ndim:
        raise IndexError(f"too many indices: {len(key)} for {ndim} axes")
    return key + (slice(None),) * (ndim - len(key))
