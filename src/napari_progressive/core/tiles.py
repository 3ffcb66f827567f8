"""2D display tiles on top of a level's chunk grid.

The unit of fetching and caching is the store's chunk, ``ChunkKey(level,
index)``. A 2D view draws *tiles*: a rectangle of one plane of a level,
``TileKey``, cut from the chunks that the plane crosses. Tiles are sized
for the screen (``tile_shape``): the chunk's side along each displayed axis,
doubled or halved into ``MIN_TILE`` .. ``MAX_TILE``, so a tile is aligned
with the chunk grid and covers whole chunks or a whole fraction of one.
A chunk that fails marks its whole tile, so tiles grow past one chunk only
for chunks smaller than ``MIN_TILE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping

    from napari_progressive.core.geometry import Level

MIN_TILE = 128
MAX_TILE = 1024


@dataclass(frozen=True, order=True)
class ChunkKey:
    """One chunk of a level: the unit read from a source and kept in the caches."""

    level: int
    index: tuple[int, ...]


@dataclass(frozen=True)
class TileKey:
    """One 2D tile: ``tile`` (row, column) of the tile grid of ``level``'s plane.

    ``displayed`` names the data axes shown as rows and columns; ``plane``
    holds ``(axis, level pixel)`` for every other axis (empty for 2D data).
    """

    level: int
    displayed: tuple[int, int]
    tile: tuple[int, int]
    plane: tuple[tuple[int, int], ...] = ()

    @property
    def transposed(self) -> bool:
        """Whether the rows show a later data axis than the columns."""
        return self.displayed[0] > self.displayed[1]


def tile_side(chunk: int, size: int) -> int:
    """A tile side along an axis of ``size`` pixels chunked by ``chunk``.

    The chunk's side, doubled or halved into ``MIN_TILE`` .. ``MAX_TILE``,
    within the level.
    """
    side = chunk
    while side < MIN_TILE and side < size:
        side *= 2
    while side > MAX_TILE and side % 2 == 0:
        side //= 2
    return max(1, min(side, size))


def tile_shape(level: Level, displayed: tuple[int, int]) -> tuple[int, int]:
    """Rows and columns of one tile of ``level`` shown along ``displayed``."""
    r, c = displayed
    return tile_side(level.chunks[r], level.shape[r]), tile_side(level.chunks[c], level.shape[c])


def tile_grid(level: Level, displayed: tuple[int, int]) -> tuple[int, int]:
    """Tiles along the displayed axes."""
    th, tw = tile_shape(level, displayed)
    r, c = displayed
    return -(-level.shape[r] // th), -(-level.shape[c] // tw)


def tile_pixels(level: Level, key: TileKey) -> tuple[tuple[int, int], tuple[int, int]]:
    """Level pixel ranges ``[start, stop)`` of ``key`` along its rows and columns."""
    th, tw = tile_shape(level, key.displayed)
    r, c = key.displayed
    i, j = key.tile
    rows = (i * th, min((i + 1) * th, level.shape[r]))
    cols = (j * tw, min((j + 1) * tw, level.shape[c]))
    return rows, cols


def tile_chunks(level: Level, key: TileKey) -> tuple[ChunkKey, ...]:
    """The chunks a tile is cut from."""
    (r0, r1), (c0, c1) = tile_pixels(level, key)
    r, c = key.displayed
    ranges: list[range] = [range(0, 1)] * level.ndim
    ranges[r] = range(r0 // level.chunks[r], (r1 - 1) // level.chunks[r] + 1)
    ranges[c] = range(c0 // level.chunks[c], (c1 - 1) // level.chunks[c] + 1)
    for axis, pixel in key.plane:
        ranges[axis] = range(pixel // level.chunks[axis], pixel // level.chunks[axis] + 1)
    return tuple(ChunkKey(key.level, index) for index in product(*ranges))


def cut_tile(
    level: Level, key: TileKey, chunks: Mapping[ChunkKey, np.ndarray], step: int = 1
) -> np.ndarray:
    """The tile's (rows, columns) values, cut from its chunks (every ``step``-th pixel).

    A tile within one chunk comes back as a view of it when no copy is needed.
    """
    (r0, r1), (c0, c1) = tile_pixels(level, key)
    r, c = key.displayed
    parts = []
    for chunk_key in tile_chunks(level, key):
        start = [i * n for i, n in zip(chunk_key.index, level.chunks, strict=True)]
        index: list[int | slice] = [0] * level.ndim
        for axis, pixel in key.plane:
            index[axis] = pixel - start[axis]
        lo_r, hi_r = max(r0, start[r]), min(r1, start[r] + level.chunks[r])
        lo_c, hi_c = max(c0, start[c]), min(c1, start[c] + level.chunks[c])
        index[r] = slice(lo_r - start[r], hi_r - start[r])
        index[c] = slice(lo_c - start[c], hi_c - start[c])
        part = chunks[chunk_key][tuple(index)]
        parts.append(((lo_r - r0, lo_c - c0), part.T if r > c else part))
    if len(parts) == 1 and step == 1:
        return parts[0][1]
    out = np.empty((r1 - r0, c1 - c0), dtype=parts[0][1].dtype)
    for (dr, dc), part in parts:
        out[dr : dr + part.shape[0], dc : dc + part.shape[1]] = part
    return out[::step, ::step] if step > 1 else out
