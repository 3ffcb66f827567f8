"""3D display bricks on top of a level's chunk grid.

A 3D view draws *bricks*: a box of ``BRICK`` voxels a side of one level
along the three displayed axes, at the slice point of any other axis. A
brick's texture (``BRICK + 2 * BORDER`` texels a side) carries a ``BORDER``
of one voxel from its neighbours on every side, so that linear sampling
shows no seam where two bricks meet; beyond the level's edge it repeats the
edge voxels, so every brick texture has the same shape. Bricks are cut from the
store's chunks (``ChunkKey``): one 128^3 chunk gives 64 bricks.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.tiles import ChunkKey, TileKey

if TYPE_CHECKING:
    from collections.abc import Mapping

    from napari_progressive.core.geometry import Level

#: Voxels of a brick along each displayed axis (without its border).
BRICK = 32
#: Voxels a brick's texture repeats from each neighbour.
BORDER = 1


@dataclass(frozen=True, order=True)
class BrickKey:
    """Brick ``brick`` (along ``displayed``) of ``level``; ``plane`` fixes every other axis.

    ``displayed`` names the data axes shown as the volume's (depth, rows,
    columns); ``plane`` holds ``(axis, level pixel)`` for the others.
    """

    level: int
    displayed: tuple[int, int, int]
    brick: tuple[int, int, int]
    plane: tuple[tuple[int, int], ...] = ()


#: What a view draws: a 2D tile or a 3D brick.
PieceKey = TileKey | BrickKey

#: Texels of a brick's texture along each axis.
BRICK_TEXELS = BRICK + 2 * BORDER


def brick_grid(level: Level, displayed: tuple[int, ...]) -> tuple[int, int, int]:
    """Bricks along the displayed axes."""
    d, r, c = (-(-level.shape[a] // BRICK) for a in displayed)
    return d, r, c


def brick_voxels(level: Level, key: BrickKey) -> tuple[np.ndarray, np.ndarray]:
    """Level voxel ranges ``[start, stop)`` of ``key`` along its displayed axes, in the level."""
    size = np.asarray([level.shape[a] for a in key.displayed])
    start = np.asarray(key.brick) * BRICK
    return start, np.minimum(start + BRICK, size)


def brick_chunks(level: Level, key: BrickKey) -> tuple[ChunkKey, ...]:
    """The chunks a brick and its border are cut from."""
    start, stop = _padded(level, key)
    ranges: list[range] = [range(0, 1)] * level.ndim
    for axis, lo, hi in zip(key.displayed, start, stop, strict=True):
        ranges[axis] = range(int(lo) // level.chunks[axis], (int(hi) - 1) // level.chunks[axis] + 1)
    for axis, pixel in key.plane:
        ranges[axis] = range(pixel // level.chunks[axis], pixel // level.chunks[axis] + 1)
    return tuple(ChunkKey(key.level, index) for index in product(*ranges))


def cut_brick(level: Level, key: BrickKey, chunks: Mapping[ChunkKey, np.ndarray]) -> np.ndarray:
    """The brick's texture values: ``BRICK_TEXELS`` a side, in displayed order.

    Beyond the level's edge the border (and a brick cut short by the edge)
    repeats the edge voxels.
    """
    start, stop = _padded(level, key)
    out = np.empty(tuple(int(n) for n in stop - start), dtype=level.dtype)
    in_data_order = sorted(key.displayed)
    to_displayed = tuple(in_data_order.index(a) for a in key.displayed)
    for chunk_key in brick_chunks(level, key):
        origin = [i * n for i, n in zip(chunk_key.index, level.chunks, strict=True)]
        index: list[int | slice] = [0] * level.ndim
        for axis, pixel in key.plane:
            index[axis] = pixel - origin[axis]
        dest = []
        for k, axis in enumerate(key.displayed):
            lo = max(int(start[k]), origin[axis])
            hi = min(int(stop[k]), origin[axis] + level.chunks[axis])
            index[axis] = slice(lo - origin[axis], hi - origin[axis])
            dest.append(slice(lo - int(start[k]), hi - int(start[k])))
        part = chunks[chunk_key][tuple(index)]
        out[tuple(dest)] = np.transpose(part, to_displayed)
    lo_pad, hi_pad = _edge_padding(level, key)
    if any(lo_pad) or any(hi_pad):
        out = np.pad(out, list(zip(lo_pad, hi_pad, strict=True)), mode="edge")
    return out


def _padded(level: Level, key: BrickKey) -> tuple[np.ndarray, np.ndarray]:
    """The brick's voxel range with its border, clipped to the level."""
    start, stop = brick_voxels(level, key)
    size = np.asarray([level.shape[a] for a in key.displayed])
    return np.maximum(start - BORDER, 0), np.minimum(stop + BORDER, size)


def _edge_padding(level: Level, key: BrickKey) -> tuple[list[int], list[int]]:
    """Texels on each side that lie beyond the level's edge (to be replicated)."""
    start = np.asarray(key.brick) * BRICK
    size = np.asarray([level.shape[a] for a in key.displayed])
    lo = [int(n) for n in np.maximum(BORDER - start, 0)]
    hi = [int(n) for n in np.maximum(start + BRICK + BORDER - size, 0)]
    return lo, hi
