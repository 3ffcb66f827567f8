"""Pure planning: from a view to the prioritised list of tiles it needs.

The cost is proportional to the number of tiles that cover the view (summed
over the target level and its coarser fallbacks), never to the size of the
dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.geometry import Level, LevelMapping, level_mappings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from napari_progressive.core.view import ViewState


@dataclass(frozen=True)
class TileKey:
    """One 2D tile: a chunk of a level, cut at a plane on the hidden axes.

    ``planes`` holds ``(axis, offset_in_chunk)`` for every axis that is not
    displayed; it is empty for 2D data. ``transposed`` is set when the canvas
    rows show a later data axis than its columns.
    """

    level: int
    chunk: tuple[int, ...]
    planes: tuple[tuple[int, int], ...] = ()
    transposed: bool = False


@dataclass(frozen=True)
class PlannedTile:
    """A needed tile with its priority and its level-0 extent (rows, cols).

    ``lo``/``hi`` bound the tile in level-0 data coordinates along the
    displayed axes; ``priority`` sorts ascending (coarse first, then by
    screen distance from the view centre).
    """

    key: TileKey
    priority: tuple[float, float]
    lo: tuple[float, float]
    hi: tuple[float, float]


@dataclass(frozen=True)
class Plan:
    """Everything one view needs, sorted by priority."""

    view: ViewState
    target_level: int
    tiles: tuple[PlannedTile, ...]

    @property
    def keys(self) -> frozenset[TileKey]:
        """The set of needed keys."""
        return frozenset(t.key for t in self.tiles)


def choose_level(
    mappings: Sequence[LevelMapping],
    displayed: Sequence[int],
    data_per_screen_px: float,
    lod_bias: float = 0.0,
) -> int:
    """Coarsest level whose pixels are no larger than one screen pixel.

    ``lod_bias`` > 0 accepts coarser levels (each unit doubles the allowed
    pixel size); zoomed in beyond level 0, level 0 is used.
    """
    limit = data_per_screen_px * 2.0**lod_bias * (1 + 1e-9)
    best = 0
    for i, m in enumerate(mappings):
        if float(np.min(m.factor[list(displayed)])) <= limit:
            best = i
    return best


#: The whole coarsest level is kept in the plan when it has at most this many
#: tiles: panning then never shows a blank, and thumbnails see all of it.
WHOLE_COARSEST_MAX_TILES = 16


def plan_view(
    levels: Sequence[Level],
    view: ViewState,
    mappings: Sequence[LevelMapping] | None = None,
    lod_bias: float = 0.0,
) -> Plan:
    """Tiles of the best-matching level covering ``view`` plus coarser fallbacks.

    Ordered coarse level first; within a level, nearest the view centre first.
    """
    maps = tuple(mappings) if mappings is not None else level_mappings(levels)
    target = choose_level(maps, view.displayed, view.data_per_screen_px, lod_bias)
    tiles: list[PlannedTile] = []
    last = len(levels) - 1
    for lv in range(last, target - 1, -1):
        whole = lv == last and _tiles_in_view_plane(levels[lv], view) <= WHOLE_COARSEST_MAX_TILES
        tiles.extend(_level_tiles(lv, levels[lv], maps[lv], view, whole=whole))
    tiles.sort(key=lambda t: t.priority)
    return Plan(view=view, target_level=target, tiles=tuple(tiles))


def _tiles_in_view_plane(level: Level, view: ViewState) -> int:
    return level.grid[view.displayed[0]] * level.grid[view.displayed[1]]


def _level_tiles(
    lv: int, level: Level, mapping: LevelMapping, view: ViewState, whole: bool = False
) -> list[PlannedTile]:
    planes = _planes(level, mapping, view)
    if planes is None:
        return []
    r, c = view.displayed
    ax = [r, c]
    shape = np.asarray(level.shape)[ax]
    chunks = np.asarray(level.chunks)[ax]
    if whole:
        first, last = np.zeros(2, dtype=np.int64), (shape - 1) // chunks
    else:
        lo_px = mapping.pixel_of(np.asarray(_full(view, view.lo, level.ndim)))[ax]
        hi_px = mapping.pixel_of(np.asarray(_full(view, view.hi, level.ndim)))[ax]
        if np.any(hi_px < 0) or np.any(lo_px > shape - 1):
            return []
        first = np.clip(lo_px, 0, shape - 1) // chunks
        last = np.clip(hi_px, 0, shape - 1) // chunks
    centre = np.asarray(view.centre)
    out = []
    chunk = [0] * level.ndim
    for axis, offset in planes:
        chunk[axis] = offset // level.chunks[axis]
    plane_key = tuple((a, o % level.chunks[a]) for a, o in planes)
    for i in range(int(first[0]), int(last[0]) + 1):
        for j in range(int(first[1]), int(last[1]) + 1):
            chunk[r], chunk[c] = i, j
            start = np.array([i, j]) * chunks
            stop = np.minimum(start + chunks, shape)
            lo, hi = _edges(mapping, ax, start, stop)
            dist = _rect_distance(centre, lo, hi) / view.data_per_screen_px
            out.append(
                PlannedTile(
                    key=TileKey(lv, tuple(chunk), plane_key, r > c),
                    priority=(float(-lv), float(dist)),
                    lo=(float(lo[0]), float(lo[1])),
                    hi=(float(hi[0]), float(hi[1])),
                )
            )
    return out


def _full(view: ViewState, pair: tuple[float, float], ndim: int) -> list[float]:
    """An nD level-0 point: ``pair`` on the displayed axes, the slice elsewhere."""
    p = list(view.point) if len(view.point) == ndim else [0.0] * ndim
    p[view.displayed[0]], p[view.displayed[1]] = pair
    return p


def _planes(level: Level, mapping: LevelMapping, view: ViewState) -> list[tuple[int, int]] | None:
    """Level pixel index of the slice on each hidden axis; None when outside."""
    hidden = [a for a in range(level.ndim) if a not in view.displayed]
    if not hidden:
        return []
    px = mapping.pixel_of(np.asarray(view.point, dtype=float))
    out = []
    for a in hidden:
        if not 0 <= px[a] < level.shape[a]:
            return None
        out.append((a, int(px[a])))
    return out


def _edges(
    mapping: LevelMapping, ax: list[int], start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    sub = LevelMapping(factor=mapping.factor[ax], offset=mapping.offset[ax])
    return sub.edges(start, stop)


def _rect_distance(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    d = np.maximum(np.maximum(lo - p, p - hi), 0.0)
    return math.hypot(float(d[0]), float(d[1]))
