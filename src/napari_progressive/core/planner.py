"""Pure planning: from a view to the prioritised list of tiles it needs.

Tiles come in tiers, as in Neuroglancer: ``VISIBLE`` (inside the view, at the
target level, up to ``FALLBACK_LEVELS`` coarser ones and the coarsest),
``PREFETCH`` (where the camera is heading, the neighbouring planes of the
hidden axes, the next finer level when zooming in) and ``FALLBACK`` (the
rest of a small coarsest level, so a pan never shows a blank). Inside a
tier, coarse first, then nearest the view centre. The cost is proportional
to the number of tiles planned, never to the size of the dataset or the
number of its levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.geometry import Level, LevelMapping, level_mappings
from napari_progressive.core.motion import Motion
from napari_progressive.core.tiles import TileKey, tile_grid, tile_shape

if TYPE_CHECKING:
    from collections.abc import Sequence

    from napari_progressive.core.view import SliceView


#: Priority tiers, most important first.
VISIBLE, PREFETCH, FALLBACK = 0, 1, 2
#: How far ahead of a moving camera to prefetch (seconds of motion, at most one view).
PREFETCH_HORIZON_S = 0.5
#: Where the views a user is expected to jump to (the next ROI) sort: within the
#: prefetch tier, after what the camera's own motion and the sliders ask for.
EXPECTED = PREFETCH + 0.5


@dataclass(frozen=True)
class PlannedTile:
    """A planned tile with its priority and its level-0 extent (rows, cols).

    ``lo``/``hi`` bound the tile in level-0 data coordinates along the
    displayed axes; ``priority`` sorts ascending: (tier, coarse first,
    screen distance from the view centre).
    """

    key: TileKey
    priority: tuple[float, float, float]
    lo: tuple[float, float]
    hi: tuple[float, float]

    @property
    def tier(self) -> int:
        """``VISIBLE``, ``PREFETCH`` or ``FALLBACK``."""
        return int(self.priority[0])


@dataclass(frozen=True)
class Plan:
    """Everything one view shows (``tiles``) and fetches ahead (``prefetch``), by priority."""

    view: SliceView
    target_level: int
    tiles: tuple[PlannedTile, ...]
    prefetch: tuple[PlannedTile, ...] = ()

    @property
    def pieces(self) -> tuple[PlannedTile, ...]:
        """What the view draws from, by priority (its tiles)."""
        return self.tiles

    @cached_property
    def keys(self) -> frozenset[TileKey]:
        """The keys the view draws from (visible and fallback tiles)."""
        return frozenset(t.key for t in self.tiles)

    @cached_property
    def prefetch_keys(self) -> frozenset[TileKey]:
        """Keys fetched into the host cache only."""
        return frozenset(t.key for t in self.prefetch)

    @property
    def ahead_keys(self) -> frozenset[TileKey]:
        """Keys brought onto the GPU without being drawn: none in 2D."""
        return frozenset()

    @property
    def gpu_keys(self) -> frozenset[TileKey]:
        """Keys kept on the GPU: the drawn ones."""
        return self.keys


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
    axes = list(displayed)
    best = 0
    for i, m in enumerate(mappings):  # levels grow coarser: stop at the first too coarse
        if float(np.min(m.factor[axes])) > limit:
            break
        best = i
    return best


#: The whole coarsest level is kept in the plan when it has at most this many
#: tiles: panning then never shows a blank, and thumbnails see all of it.
WHOLE_COARSEST_MAX_TILES = 16
#: Coarser levels planned as fallbacks above the target (besides the coarsest,
#: always planned): keeps a plan's size, and its cost, independent of the
#: number of levels.
FALLBACK_LEVELS = 4


def plan_view(
    levels: Sequence[Level],
    view: SliceView,
    mappings: Sequence[LevelMapping] | None = None,
    lod_bias: float = 0.0,
    motion: Motion | None = None,
) -> Plan:
    """Tiles of the best-matching level covering ``view``, coarser fallbacks, and prefetch.

    ``motion`` (the camera's recent movement) aims the prefetch; without it
    only the neighbouring planes of the hidden axes are prefetched.
    """
    maps = tuple(mappings) if mappings is not None else level_mappings(levels)
    target = choose_level(maps, view.displayed, view.data_per_screen_px, lod_bias)
    tiles: list[PlannedTile] = []
    last = len(levels) - 1
    for lv in sorted({last, *range(target, min(last, target + FALLBACK_LEVELS) + 1)}, reverse=True):
        whole = lv == last and _tiles_in_view_plane(levels[lv], view) <= WHOLE_COARSEST_MAX_TILES
        tiles.extend(_level_tiles(lv, levels[lv], maps[lv], view, whole=whole))
    tiles.sort(key=lambda t: t.priority)
    shown = {t.key for t in tiles}
    prefetch = {
        t.key: t
        for t in _prefetch(levels, maps, view, target, motion or Motion())
        if t.key not in shown
    }
    ahead = sorted(prefetch.values(), key=lambda t: t.priority)
    return Plan(view=view, target_level=target, tiles=tuple(tiles), prefetch=tuple(ahead))


def with_expected(plan: Plan, expected: Sequence[Plan]) -> Plan:
    """``plan`` that also prefetches what the ``expected`` views show (where the user may jump).

    Their visible tiles join the prefetch tier after the plan's own prefetch,
    coarse first, then nearest their view's centre; what the plan already
    holds is not repeated.
    """
    held = plan.keys | plan.prefetch_keys
    extra: dict[TileKey, PlannedTile] = {}
    for other in expected:
        for t in other.tiles:
            if t.tier == VISIBLE and t.key not in held and t.key not in extra:
                extra[t.key] = replace(t, priority=(EXPECTED, t.priority[1], t.priority[2]))
    if not extra:
        return plan
    ahead = sorted(extra.values(), key=lambda t: t.priority)
    return replace(plan, prefetch=(*plan.prefetch, *ahead))


def _prefetch(
    levels: Sequence[Level],
    maps: Sequence[LevelMapping],
    view: SliceView,
    target: int,
    motion: Motion,
) -> list[PlannedTile]:
    """Tiles a moving camera or a moved slider is likely to need next."""
    out: list[PlannedTile] = []
    lo, hi = np.asarray(view.lo), np.asarray(view.hi)
    extent = hi - lo
    velocity = np.asarray(motion.velocity) if len(motion.velocity) == 2 else np.zeros(2)
    shift = np.clip(velocity * PREFETCH_HORIZON_S, -extent, extent)
    if np.any(shift != 0):
        lo_ahead, hi_ahead = np.minimum(lo, lo + shift), np.maximum(hi, hi + shift)
        out += _level_tiles(
            target, levels[target], maps[target], view, lo=lo_ahead, hi=hi_ahead, tier=PREFETCH
        )
    if motion.zoom_rate < 0 and target > 0:  # zooming in: the finer level near the centre
        centre = np.asarray(view.centre)
        out += _level_tiles(
            target - 1,
            levels[target - 1],
            maps[target - 1],
            view,
            lo=centre - extent / 4,
            hi=centre + extent / 4,
            tier=PREFETCH,
        )
    hidden = [a for a in range(levels[0].ndim) if a not in view.displayed]
    last = len(levels) - 1
    for lv, axis, offset in _slider_steps(maps, target, hidden, motion.slice_step):
        point = np.asarray(view.point, dtype=float).copy()
        point[axis] += offset
        out += _level_tiles(lv, levels[lv], maps[lv], view, point=point, tier=PREFETCH)
    for axis in hidden:
        out += _whole_slider_range(levels[last], last, maps[last], view, axis)
    return out


def _slider_steps(
    maps: Sequence[LevelMapping],
    target: int,
    hidden: Sequence[int],
    slice_step: Sequence[float],
) -> list[tuple[int, int, float]]:
    """Where the next slider steps go: (level, axis, offset of the slice point), likeliest first.

    The coarsest level, one of its pixels either way along every hidden axis.
    The target level along each hidden axis that the slider last moved: the
    same step again (at least one pixel of the level); along the first hidden
    axis when none has moved yet, one pixel either way.
    """
    last = len(maps) - 1
    out = [(last, a, sign * float(maps[last].factor[a])) for a in hidden for sign in (-1.0, 1.0)]
    moved = [a for a in hidden if a < len(slice_step) and slice_step[a]]
    if not moved:
        factor = float(maps[target].factor[hidden[0]]) if hidden else 0.0
        return out + [(target, a, sign * factor) for a in hidden[:1] for sign in (-1.0, 1.0)]
    for a in moved:
        step = slice_step[a]
        out.append((target, a, math.copysign(max(abs(step), float(maps[target].factor[a])), step)))
    return out


#: A hidden axis whose coarsest level has at most this many tiles over all its
#: planes is prefetched whole: any slider move then finds its coarse plane cached.
WHOLE_RANGE_MAX_TILES = 256


def _whole_slider_range(
    level: Level, lv: int, mapping: LevelMapping, view: SliceView, axis: int
) -> list[PlannedTile]:
    """Every plane of ``axis`` at coarsest level ``lv``, nearest planes first, when small."""
    n = level.shape[axis]
    if n * _tiles_in_view_plane(level, view) > WHOLE_RANGE_MAX_TILES:
        return []
    current = float(mapping.pixel_of(np.asarray(view.point, dtype=float))[axis])
    # Rank a plane by its distance from the current one, then by the tile's
    # distance from the view centre (a view's diagonal in screen pixels apart).
    spacing = float(np.hypot(*view.canvas)) + 1.0
    out = []
    for plane in sorted(range(n), key=lambda p: abs(p - current)):
        point = np.asarray(view.point, dtype=float).copy()
        point[axis] = mapping.offset[axis] + plane * mapping.factor[axis]
        for t in _level_tiles(lv, level, mapping, view, whole=True, point=point, tier=PREFETCH):
            tier, coarse, dist = t.priority
            ranked = (tier, coarse, abs(plane - current) * spacing + dist)
            out.append(PlannedTile(t.key, ranked, t.lo, t.hi))
    return out


def _tiles_in_view_plane(level: Level, view: SliceView) -> int:
    rows, cols = tile_grid(level, view.displayed)
    return rows * cols


def _level_tiles(
    lv: int,
    level: Level,
    mapping: LevelMapping,
    view: SliceView,
    *,
    whole: bool = False,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
    point: np.ndarray | None = None,
    tier: int = VISIBLE,
) -> list[PlannedTile]:
    """Tiles of level ``lv`` over a rectangle (default: the view) at a slice point.

    With ``whole``, every tile of the plane; those outside the view are ``FALLBACK``.
    """
    point = np.asarray(view.point if point is None else point, dtype=float)
    if len(point) != level.ndim:
        point = np.zeros(level.ndim)
    planes = _planes(level, mapping, view.displayed, point)
    if planes is None:
        return []
    r, c = view.displayed
    ax = [r, c]
    shape = np.asarray(level.shape)[ax]
    tile = np.asarray(tile_shape(level, view.displayed))
    rect_lo = np.asarray(view.lo if lo is None else lo, dtype=float)
    rect_hi = np.asarray(view.hi if hi is None else hi, dtype=float)
    if whole:
        first, last = np.zeros(2, dtype=np.int64), (shape - 1) // tile
    else:
        lo_px = mapping.pixel_of(_full(point, view.displayed, rect_lo))[ax]
        hi_px = mapping.pixel_of(_full(point, view.displayed, rect_hi))[ax]
        if np.any(hi_px < 0) or np.any(lo_px > shape - 1):
            return []
        first = np.clip(lo_px, 0, shape - 1) // tile
        last = np.clip(hi_px, 0, shape - 1) // tile
    centre = np.asarray(view.centre)
    view_lo, view_hi = np.asarray(view.lo), np.asarray(view.hi)
    out = []
    plane = tuple(planes)
    for i in range(int(first[0]), int(last[0]) + 1):
        for j in range(int(first[1]), int(last[1]) + 1):
            start = np.array([i, j]) * tile
            stop = np.minimum(start + tile, shape)
            t_lo, t_hi = _edges(mapping, ax, start, stop)
            dist = _rect_distance(centre, t_lo, t_hi) / view.data_per_screen_px
            in_view = bool(np.all(t_hi > view_lo) and np.all(t_lo < view_hi))
            out.append(
                PlannedTile(
                    key=TileKey(lv, (r, c), (i, j), plane),
                    priority=(float(tier if in_view or tier != VISIBLE else FALLBACK), -lv, dist),
                    lo=(float(t_lo[0]), float(t_lo[1])),
                    hi=(float(t_hi[0]), float(t_hi[1])),
                )
            )
    return out


def _full(point: np.ndarray, displayed: tuple[int, int], pair: np.ndarray) -> np.ndarray:
    """An nD level-0 point: ``pair`` on the displayed axes, ``point`` elsewhere."""
    p = point.copy()
    p[list(displayed)] = pair
    return p


def _planes(
    level: Level, mapping: LevelMapping, displayed: tuple[int, int], point: np.ndarray
) -> list[tuple[int, int]] | None:
    """Level pixel index of the slice on each hidden axis; None when outside."""
    hidden = [a for a in range(level.ndim) if a not in displayed]
    if not hidden:
        return []
    px = mapping.pixel_of(point)
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
