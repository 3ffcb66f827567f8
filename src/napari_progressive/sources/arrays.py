"""Adapter for a list of numpy, dask or zarr arrays (one per level)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.errors import ChunkReadError, SourceError
from napari_progressive.core.geometry import Level, implied_transforms, validate_levels
from napari_progressive.sources.chunk_grid import default_chunks

if TYPE_CHECKING:
    from collections.abc import Sequence


def _chunks_of(array: Any) -> tuple[int, ...]:
    """The array's own chunking (zarr, dask), else ``default_chunks``."""
    chunks = getattr(array, "chunks", None)
    if chunks is not None and len(chunks) == array.ndim:
        if all(isinstance(c, int) for c in chunks):  # zarr
            return tuple(int(c) for c in chunks)
        return tuple(int(max(c)) for c in chunks)  # dask: largest block per axis
    return default_chunks(array.shape)


class ArrayPyramidSource:
    """A pyramid given as arrays, finest first.

    Without explicit ``scales``/``translates`` each level's factor is the
    ratio of level-0 size to its size per axis, aligned as a block average
    (see ``napari_progressive.core.geometry``).
    """

    def __init__(
        self,
        arrays: Sequence[Any],
        *,
        name: str = "arrays",
        scales: Sequence[Sequence[float]] | None = None,
        translates: Sequence[Sequence[float]] | None = None,
        chunks: Sequence[int] | None = None,
    ) -> None:
        if len(arrays) == 0:
            raise SourceError("a pyramid needs at least one array")
        self._arrays = list(arrays)
        self._name = name
        for i, arr in enumerate(self._arrays):
            if not hasattr(arr, "shape") or not hasattr(arr, "dtype"):
                raise SourceError(f"level {i} is not an array: {type(arr).__name__}")
        implied = implied_transforms([arr.shape for arr in self._arrays])
        levels = []
        for i, arr in enumerate(self._arrays):
            scale = tuple(scales[i]) if scales else implied[i][0]
            translate = tuple(translates[i]) if translates else implied[i][1]
            levels.append(
                Level(
                    shape=tuple(int(s) for s in arr.shape),
                    chunks=tuple(chunks) if chunks else _chunks_of(arr),
                    dtype=np.dtype(arr.dtype),
                    scale=tuple(float(s) for s in scale),
                    translate=tuple(float(t) for t in translate),
                )
            )
        try:
            validate_levels(levels)
        except ValueError as e:
            raise SourceError(f"{name}: {e}") from e
        self._levels = tuple(levels)

    @property
    def name(self) -> str:
        """Short human-readable identity."""
        return self._name

    @property
    def levels(self) -> tuple[Level, ...]:
        """Levels from finest to coarsest."""
        return self._levels

    @property
    def identity(self) -> str | None:
        """The arrays' store URLs when every level is a zarr array on persistent storage."""
        paths = [str(getattr(a, "store_path", "")) for a in self._arrays]
        if not all("://" in p and not p.startswith("memory://") for p in paths):
            return None
        return "zarr:" + "|".join(paths)

    @property
    def arrays(self) -> tuple[Any, ...]:
        """The level arrays, finest first, as given."""
        return tuple(self._arrays)

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Read one chunk; dask arrays compute synchronously in this thread."""
        sl = self._levels[level].chunk_slices(index)
        try:
            block = self._arrays[level][sl]
            if hasattr(block, "compute"):
                block = block.compute(scheduler="synchronous")
            return np.asarray(block)
        except Exception as e:
            raise ChunkReadError(self._name, level, index, f"{type(e).__name__}: {e}") from e
