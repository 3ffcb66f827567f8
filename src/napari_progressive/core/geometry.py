"""Pyramid geometry: levels, chunk grids and the pixel-centre convention.

Convention (the same as napari's for single-scale images):

* Level-0 pixel ``i`` has its centre at data coordinate ``i`` and covers
  ``[i - 0.5, i + 0.5)``.
* A level ``l`` with per-axis factor ``f`` (its pixel size in level-0 pixels)
  and offset ``o`` (the level-0 coordinate of its pixel 0's centre) has pixel
  ``j`` centred at ``o + j * f`` covering ``[o + (j - 0.5) f, o + (j + 0.5) f)``.
* Pyramids made by block averaging (``f = 2**l``) use ``o = (f - 1) / 2``: the
  level-``l`` pixel ``j`` then covers exactly the level-0 pixels
  ``j*f .. j*f + f - 1``. Forgetting this offset is the classic half-pixel bug.

Factors and offsets derive from each level's physical ``scale`` and
``translate`` (OME-Zarr ``coordinateTransformations``), so any source that
states them correctly lines up to the sub-pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: The longest axis a level may have (tensorstore's largest finite index).
MAX_AXIS = 2**62 - 2
#: The most bytes one chunk or tile may take: every read allocates one.
MAX_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Level:
    """One resolution level of a pyramid.

    Attributes
    ----------
    shape, chunks
        Array shape and chunk shape, one entry per axis.
    dtype
        Element type of the level.
    scale, translate
        Physical size of one pixel and physical position of pixel 0's centre.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    scale: tuple[float, ...]
    translate: tuple[float, ...]

    def __post_init__(self) -> None:
        """Raise ``SourceError`` unless every field is in range (see ``level_problem``)."""
        problem = level_problem(self.shape, self.chunks, self.dtype, self.scale, self.translate)
        if problem:
            raise SourceError(problem)

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    @property
    def grid(self) -> tuple[int, ...]:
        """Number of chunks along each axis."""
        return tuple(-(-s // c) for s, c in zip(self.shape, self.chunks, strict=True))

    def chunk_slices(self, index: Sequence[int]) -> tuple[slice, ...]:
        """Pixel slices of chunk ``index`` (edge chunks are clipped)."""
        return tuple(
            slice(i * c, min((i + 1) * c, s))
            for i, c, s in zip(index, self.chunks, self.shape, strict=True)
        )

    def iter_chunks(self) -> Iterator[tuple[int, ...]]:
        """Every chunk index of the level, in C order."""
        return product(*(range(g) for g in self.grid))


def level_problem(
    shape: Sequence[int],
    chunks: Sequence[int],
    dtype: np.dtype,
    scale: Sequence[float],
    translate: Sequence[float],
) -> str | None:
    """What is wrong with these level fields, or None.

    Shape and chunks are positive, no axis longer than ``MAX_AXIS``, a chunk
    at most ``MAX_CHUNK_BYTES``; scale is finite and positive, translate finite.
    """
    n = len(shape)
    if not (len(chunks) == len(scale) == len(translate) == n):
        return (
            f"level fields disagree on the number of axes: shape {tuple(shape)}, "
            f"chunks {tuple(chunks)}, scale {tuple(scale)}, translate {tuple(translate)}"
        )
    if any(c <= 0 for c in chunks) or any(s <= 0 for s in shape):
        return f"shape {tuple(shape)} and chunks {tuple(chunks)} must be > 0"
    if any(s > MAX_AXIS for s in shape):
        return f"shape {tuple(shape)} has an axis longer than 2**62 - 2"
    if math.prod(chunks) * np.dtype(dtype).itemsize > MAX_CHUNK_BYTES:
        return f"a chunk of {tuple(chunks)} {np.dtype(dtype)} is over {MAX_CHUNK_BYTES >> 20} MiB"
    if not all(math.isfinite(s) and s > 0 for s in scale):
        return f"scale {tuple(scale)} must be finite and positive"
    if not all(math.isfinite(t) for t in translate):
        return f"translate {tuple(translate)} must be finite"
    return None


def block_pyramid(
    shape: Sequence[int],
    chunks: Sequence[int],
    dtype: np.dtype | type | str,
    n_levels: int,
    factor: Sequence[int] | int = 2,
    scale: Sequence[float] | None = None,
    translate: Sequence[float] | None = None,
) -> tuple[Level, ...]:
    """Levels of a block-averaged pyramid (each level ``factor`` times coarser).

    Level shapes round up (``ceil``) so the last partial block keeps a pixel.
    """
    ndim = len(shape)
    f = (factor,) * ndim if isinstance(factor, int) else tuple(factor)
    s0 = tuple(float(v) for v in (scale or (1.0,) * ndim))
    t0 = tuple(float(v) for v in (translate or (0.0,) * ndim))
    levels = []
    for lv in range(n_levels):
        fl = tuple(fa**lv for fa in f)
        levels.append(
            Level(
                shape=tuple(max(1, math.ceil(n / k)) for n, k in zip(shape, fl, strict=True)),
                chunks=tuple(int(c) for c in chunks),
                dtype=np.dtype(dtype),
                scale=tuple(s * k for s, k in zip(s0, fl, strict=True)),
                translate=tuple(t + (k - 1) / 2 * s for t, k, s in zip(t0, fl, s0, strict=True)),
            )
        )
    return tuple(levels)


def implied_transforms(
    shapes: Sequence[Sequence[int]],
) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """``(scale, translate)`` per level when only the shapes are known.

    Each level's factor is the ratio of level-0 size to its size per axis,
    aligned as a block average (offset ``(f - 1) / 2``).
    """
    shape0 = np.asarray(shapes[0], dtype=float)
    out = []
    for shape in shapes:
        factor = shape0 / np.asarray(shape, dtype=float)
        out.append((tuple(float(f) for f in factor), tuple(float(t) for t in (factor - 1) / 2)))
    return out


@dataclass(frozen=True)
class LevelMapping:
    """Where a level sits in level-0 data coordinates (see module docstring)."""

    factor: np.ndarray
    offset: np.ndarray

    def pixel_of(self, coord0: np.ndarray) -> np.ndarray:
        """Index of the level pixel containing level-0 coordinate ``coord0``."""
        return np.floor((np.asarray(coord0) - self.offset) / self.factor + 0.5).astype(np.int64)

    def edges(self, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Level-0 extent ``[lo, hi)`` covered by level pixels ``start..stop-1``."""
        lo = self.offset + (np.asarray(start) - 0.5) * self.factor
        hi = self.offset + (np.asarray(stop) - 0.5) * self.factor
        return lo, hi


def level_mappings(levels: Sequence[Level]) -> tuple[LevelMapping, ...]:
    """Factor and offset of every level relative to level 0."""
    s0 = np.asarray(levels[0].scale, dtype=float)
    t0 = np.asarray(levels[0].translate, dtype=float)
    return tuple(
        LevelMapping(
            factor=np.asarray(lv.scale, dtype=float) / s0,
            offset=(np.asarray(lv.translate, dtype=float) - t0) / s0,
        )
        for lv in levels
    )


def validate_levels(levels: Sequence[Level]) -> None:
    """Raise ``ValueError`` unless levels go from fine to coarse consistently."""
    if not levels:
        raise ValueError("a pyramid needs at least one level")
    ndim = levels[0].ndim
    for i, lv in enumerate(levels):
        if lv.ndim != ndim:
            raise ValueError(f"level {i} has {lv.ndim} axes, level 0 has {ndim}")
    for i in range(1, len(levels)):
        prev, cur = np.asarray(levels[i - 1].scale), np.asarray(levels[i].scale)
        if np.any(cur < prev):
            raise ValueError(
                f"level {i} scale {levels[i].scale} is finer than level {i - 1} "
                f"scale {levels[i - 1].scale}: levels must go from fine to coarse"
            )
