"""Pure planning of napari's plane depiction: the bricks a slicing plane's slab crosses.

napari's plane depiction shows the slab of a volume around its slicing plane:
the points ``p`` with ``|dot(p - position, normal)| <= thickness / 2``, in
level-0 voxels along the displayed axes. ``plan_plane`` plans the bricks the
slab crosses as a ``VolumePlan``, which the loader and the page-table bake
take as they take ``plan_volume``'s. At each level the slab is at least one
of that level's voxels thick (its voxel size along the normal), so a plane of
thickness 0 still crosses the bricks it lies in.

Level: napari's 3D camera is orthographic, so the plane's voxels look the same
size everywhere on it. The target level is the coarsest whose voxels along the
plane are at most one screen pixel (``lod_bias`` doubles that per unit), and
every coarser level's crossing bricks are planned too (the coarse ladder, as
in 2D), so that a moved or tilted plane shows coarse data at once.

Bricks are found by recursive bisection of a level's brick index box: a box is
kept while its corners' signed distances from the plane meet the slab and the
box meets the frustum's sides and every clipping plane's kept side; a kept box
of one brick is planned. The coarsest level's whole index box is bisected; a
finer level starts from the bricks under the coarser level's crossing ones (a
brick in the slab lies in a coarser brick in the slab), so planning costs in
proportion to the bricks crossed, never to the size of the volume.

Tiers: ``VISIBLE`` (coarse first, then by distance from the camera's centre
projected on the plane, then front to back) and ``PREFETCH`` (at the finest
planned level, up to ``MAX_PREFETCH`` bricks near that centre that the slab
crosses once moved by up to one brick along the normal).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.bricks import BRICK, BrickKey
from napari_progressive.core.geometry import level_mappings
from napari_progressive.core.planner import PREFETCH, VISIBLE
from napari_progressive.core.volume_planner import (
    MAX_PLANNED_BRICKS,
    MAX_PREFETCH,
    SLOT_FILL,
    PlannedBrick,
    VolumePlan,
    box_corners,
    box_depths,
    hidden_plane,
    in_frustum,
    on_kept_sides,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from napari_progressive.core.geometry import Level, LevelMapping
    from napari_progressive.core.view import VolumeView
    from napari_progressive.core.volume_planner import ClipPlane

#: The 8 corners of a box: which half of it along each axis.
_CORNERS = np.array(list(itertools.product((False, True), repeat=3)))
#: The 27 brick offsets of a brick's neighbourhood (itself included).
_NEIGHBOURS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=np.int64)


@dataclass(frozen=True)
class SlicingPlane:
    """napari's slicing plane (``layer.plane``) in level-0 data coordinates, displayed axes.

    Attributes
    ----------
    position
        A point on the plane (``layer.plane.position``).
    normal
        Its normal (``layer.plane.normal``), made unit length here.
    thickness
        The slab's thickness in level-0 voxels (``layer.plane.thickness``).
    """

    position: tuple[float, float, float]
    normal: tuple[float, float, float]
    thickness: float = 1.0

    def __post_init__(self) -> None:
        """Raise ``ValueError`` unless the fields describe a plane; normalise the normal."""
        position = np.asarray(self.position, dtype=float)
        normal = np.asarray(self.normal, dtype=float)
        length = float(np.linalg.norm(normal)) if normal.shape == (3,) else 0.0
        if position.shape != (3,) or not np.all(np.isfinite(position)):
            raise ValueError(f"a plane's position needs 3 finite values, got {self.position}")
        if not (math.isfinite(length) and length > 0):
            raise ValueError(
                f"a plane's normal needs 3 finite values, not all 0, got {self.normal}"
            )
        if not (math.isfinite(self.thickness) and self.thickness >= 0):
            raise ValueError(f"a plane's thickness must be finite and >= 0, got {self.thickness}")
        object.__setattr__(self, "position", tuple(float(v) for v in position))
        object.__setattr__(self, "normal", tuple(float(v) for v in normal / length))
        object.__setattr__(self, "thickness", float(self.thickness))


def plan_plane(
    levels: Sequence[Level],
    view: VolumeView,
    slots: int,
    plane: SlicingPlane,
    mappings: Sequence[LevelMapping] | None = None,
    clipping_planes: Sequence[ClipPlane] = (),
    lod_bias: float = 0.0,
) -> VolumePlan:
    """The bricks ``plane``'s slab crosses in ``view``, within ``slots`` (see module docstring).

    The target level and every coarser level are planned while they fit in
    ``SLOT_FILL`` of ``slots`` (and ``MAX_PLANNED_BRICKS``); when the target
    would not fit, the finest level whose ladder fits is the finest planned,
    and when not even the coarsest level fits, its crossing bricks nearest the
    camera's centre (projected on the plane) fill the plan.
    """
    maps = tuple(mappings) if mappings is not None else level_mappings(levels)
    d, r, c = view.displayed
    grids = [_Grid(level, m, (d, r, c)) for level, m in zip(levels, maps, strict=True)]
    slab = _Slab(view, plane, clipping_planes)
    target = plane_level(maps, (d, r, c), plane.normal, view.data_per_screen_px, lod_bias)
    cap = max(1, int(min(slots, MAX_PLANNED_BRICKS) * SLOT_FILL))
    hidden = [hidden_plane(level, m, view) for level, m in zip(levels, maps, strict=True)]
    ladder = _ladder(grids, slab, hidden, target, cap)
    goal = view.data_per_screen_px * 2.0**lod_bias
    bricks = [b for lv, index in ladder for b in _planned(lv, index, grids, hidden, slab, goal)]
    prefetch: list[PlannedBrick] = []
    if ladder and len(ladder[-1][1]):
        lv, index = ladder[-1]
        ahead = _prefetch(grids[lv], slab, index)
        prefetch = _planned(lv, ahead, grids, hidden, slab, goal, tier=PREFETCH)
    return VolumePlan(view=view, bricks=tuple(bricks), prefetch=tuple(prefetch))


def plane_level(
    mappings: Sequence[LevelMapping],
    displayed: tuple[int, int, int],
    normal: Sequence[float],
    data_per_screen_px: float,
    lod_bias: float = 0.0,
) -> int:
    """Coarsest level whose voxels along the plane are at most one screen pixel (else 0).

    ``lod_bias`` > 0 accepts coarser levels (each unit doubles the allowed size).
    """
    limit = data_per_screen_px * 2.0**lod_bias * (1 + 1e-9)
    n = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    best = 0
    for i, m in enumerate(mappings):  # levels grow coarser: stop at the first too coarse
        if _in_plane_voxel(m.factor[list(displayed)], n) > limit:
            break
        best = i
    return best


def _in_plane_voxel(factor: np.ndarray, normal: np.ndarray) -> float:
    """A level's voxel size along the plane: the largest of its axes' weighted factors.

    The weight of an axis is its direction's length once projected on the
    plane, relative to the largest: 1 for an axis within the plane, 0 for the normal.
    """
    weight = np.sqrt(np.clip(1.0 - normal**2, 0.0, 1.0))
    return float(np.max(factor * weight) / np.max(weight))


class _Grid:
    """A level's bricks along the displayed axes: index boxes ``[lo, hi)`` to level-0 boxes."""

    def __init__(self, level: Level, mapping: LevelMapping, displayed: tuple[int, int, int]):
        axes = list(displayed)
        self.displayed = displayed
        self.factor = np.asarray(mapping.factor, dtype=float)[axes]
        self.offset = np.asarray(mapping.offset, dtype=float)[axes]
        self.size = np.array([level.shape[a] for a in displayed], dtype=np.int64)
        self.bricks = -(-self.size // BRICK)

    def extent(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Level-0 boxes of the index boxes ``[lo, hi)`` (``n x 3`` each)."""
        start, stop = lo * BRICK, np.minimum(hi * BRICK, self.size)
        return self.offset + (start - 0.5) * self.factor, self.offset + (stop - 0.5) * self.factor

    def under(self, lo0: np.ndarray, hi0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index boxes of this level's bricks that meet each level-0 box (``n x 3`` each)."""
        eps = 1e-7  # float error at a shared edge must not add a layer of bricks
        first = np.floor((lo0 - self.offset) / self.factor + 0.5 + eps).astype(np.int64)
        last = np.ceil((hi0 - self.offset) / self.factor + 0.5 - eps).astype(np.int64) - 1
        first, last = np.clip(first, 0, self.size - 1), np.clip(last, 0, self.size - 1)
        return first // BRICK, last // BRICK + 1

    def codes(self, index: np.ndarray) -> np.ndarray:
        """One comparable value per brick index (``n x 3``)."""
        if math.prod(int(n) for n in self.bricks) < 2**62:
            return np.ravel_multi_index(tuple(index.T), tuple(int(n) for n in self.bricks))
        rows = np.ascontiguousarray(index, dtype=np.int64)
        return rows.view(np.dtype((np.void, 24))).ravel()  # a grid past int64's count

    def unique(self, index: np.ndarray) -> np.ndarray:
        """The distinct brick indices of ``index``."""
        _, first = np.unique(self.codes(index), return_index=True)
        return index[first]

    def normal_voxel(self, normal: np.ndarray) -> float:
        """The level's voxel size along ``normal``: the spacing of its voxel planes there."""
        return float(1.0 / np.linalg.norm(normal / self.factor))


class _Slab:
    """The plane's slab, the frustum's sides and the clipping planes, vectorised over boxes."""

    def __init__(
        self, view: VolumeView, plane: SlicingPlane, clipping_planes: Sequence[ClipPlane]
    ) -> None:
        self.position = np.asarray(plane.position, dtype=float)
        self.normal = np.asarray(plane.normal, dtype=float)
        self.thickness = plane.thickness
        self.to_clip = view.to_clip
        self.planes = [
            (np.asarray(pos, dtype=float), np.asarray(normal, dtype=float))
            for pos, normal in clipping_planes
        ]
        centre = np.asarray(view.centre, dtype=float)
        self.focus = centre - float((centre - self.position) @ self.normal) * self.normal
        self.px_per_data = 1.0 / max(view.data_per_screen_px, 1e-300)

    def half(self, grid: _Grid) -> float:
        """Half the slab's thickness at ``grid``'s level: at least half of its voxel."""
        return max(self.thickness / 2, grid.normal_voxel(self.normal) / 2)

    def meets(self, lo0: np.ndarray, hi0: np.ndarray, half: float) -> np.ndarray:
        """Whether each level-0 box meets the slab ``half`` thick each side, the view and clips."""
        centre, radius = (lo0 + hi0) / 2, (hi0 - lo0) / 2
        signed = (centre - self.position) @ self.normal
        keep = np.abs(signed) <= half + radius @ np.abs(self.normal)  # the corners' extremes
        inside = np.flatnonzero(keep)
        if len(inside):
            corners = box_corners(lo0[inside], hi0[inside])
            keep[inside] = in_frustum(corners, self.to_clip) & on_kept_sides(corners, self.planes)
        return keep

    def distance(self, lo0: np.ndarray, hi0: np.ndarray) -> np.ndarray:
        """Each level-0 box's distance from the camera's centre projected on the plane."""
        return np.linalg.norm(np.clip(self.focus, lo0, hi0) - self.focus, axis=1)


def _ladder(
    grids: Sequence[_Grid], slab: _Slab, hidden: Sequence[tuple | None], target: int, cap: int
) -> list[tuple[int, np.ndarray]]:
    """``(level, brick indices)`` crossed, coarsest first, down to the finest that fits ``cap``."""
    last = len(grids) - 1
    grid = grids[last]
    if hidden[last] is None:
        return []
    whole = np.zeros((1, 3), np.int64), grid.bricks[None]
    crossed = _bisect(*whole, _keep(slab, grid), _rank(slab, grid), beam=cap)
    ladder, total = [(last, crossed)], len(crossed)
    for lv in range(last - 1, target - 1, -1):
        coarser, above = ladder[-1]
        if not len(above) or hidden[lv] is None:
            break
        lo, hi = grids[lv].under(*grids[coarser].extent(above, above + 1))
        crossed = grids[lv].unique(_bisect(lo, hi, _keep(slab, grids[lv])))
        if total + len(crossed) > cap:
            break  # the finest level whose ladder fits is the finest planned
        ladder.append((lv, crossed))
        total += len(crossed)
    return ladder


def _keep(slab: _Slab, grid: _Grid) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    half = slab.half(grid)
    return lambda lo, hi: slab.meets(*grid.extent(lo, hi), half)


def _rank(slab: _Slab, grid: _Grid) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda lo, hi: slab.distance(*grid.extent(lo, hi))


def _bisect(
    lo: np.ndarray,
    hi: np.ndarray,
    keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
    rank: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    beam: int | None = None,
) -> np.ndarray:
    """Bricks (``n x 3`` indices) in index boxes ``[lo, hi)`` that ``keep`` keeps, by bisection.

    The boxes larger than one brick are taken as kept (their halves are
    tested); each round takes the single bricks, halves every other box across
    each axis longer than one brick and drops the halves ``keep`` rejects. With
    ``beam``, at most that many boxes (and bricks found) stay, those ``rank``
    puts first: each kept box holds at least one brick in the slab.
    """
    found: list[np.ndarray] = [np.zeros((0, 3), np.int64)]
    count = 0
    single = np.all(hi - lo == 1, axis=1)
    tested = ~single
    tested[single] = keep(lo[single], hi[single])
    lo, hi = lo[tested], hi[tested]
    while len(lo):
        single = np.all(hi - lo == 1, axis=1)
        found.append(lo[single])
        count += int(np.count_nonzero(single))
        lo, hi = _halves(lo[~single], hi[~single])
        kept = keep(lo, hi)
        lo, hi = lo[kept], hi[kept]
        if beam is not None and rank is not None and count + len(lo) > beam:
            first = np.argsort(rank(lo, hi), kind="stable")[: beam - count]
            lo, hi = lo[first], hi[first]
    return np.concatenate(found)


def _halves(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The up to 8 boxes each index box splits into, halved across every axis longer than 1."""
    mid = (lo + hi + 1) // 2  # an axis one brick long keeps it in its lower half
    upper = _CORNERS[None]  # (1, 8, 3): which half along each axis
    child_lo = np.where(upper, mid[:, None], lo[:, None]).reshape(-1, 3)
    child_hi = np.where(upper, hi[:, None], mid[:, None]).reshape(-1, 3)
    filled = np.all(child_hi > child_lo, axis=1)
    return child_lo[filled], child_hi[filled]


def _prefetch(grid: _Grid, slab: _Slab, crossed: np.ndarray) -> np.ndarray:
    """Bricks near the focus that the slab crosses once moved by up to one brick along its normal.

    Moving a point by one brick along the normal moves it by at most one brick
    along each axis, so they lie around the nearest crossed bricks.
    """
    lo0, hi0 = grid.extent(crossed, crossed + 1)
    nearest = crossed[np.argsort(slab.distance(lo0, hi0), kind="stable")[:MAX_PREFETCH]]
    around = (nearest[:, None, :] + _NEIGHBOURS[None]).reshape(-1, 3)
    around = grid.unique(around[np.all((around >= 0) & (around < grid.bricks), axis=1)])
    around = around[~np.isin(grid.codes(around), grid.codes(crossed))]
    shift = BRICK * grid.normal_voxel(slab.normal)
    lo0, hi0 = grid.extent(around, around + 1)
    ahead = slab.meets(lo0, hi0, slab.half(grid) + shift)
    around, lo0, hi0 = around[ahead], lo0[ahead], hi0[ahead]
    return around[np.argsort(slab.distance(lo0, hi0), kind="stable")[:MAX_PREFETCH]]


def _planned(
    lv: int,
    index: np.ndarray,
    grids: Sequence[_Grid],
    hidden: Sequence[tuple | None],
    slab: _Slab,
    goal: float,
    tier: int = VISIBLE,
) -> list[PlannedBrick]:
    """Planned bricks of level ``lv``, nearest the focus first, then front to back."""
    grid = grids[lv]
    lo0, hi0 = grid.extent(index, index + 1)
    distance = slab.distance(lo0, hi0) * slab.px_per_data
    depth = box_depths(lo0, hi0, slab.to_clip)
    order = np.lexsort((depth, distance))
    error = _in_plane_voxel(grid.factor, slab.normal) / max(goal, 1e-300)
    plane = hidden[lv] or ()
    displayed, priority = grid.displayed, (float(tier), -float(lv))
    rows = zip(
        index[order].tolist(),
        distance[order].tolist(),
        depth[order].tolist(),
        lo0[order].tolist(),
        hi0[order].tolist(),
        strict=True,
    )
    return [
        PlannedBrick(
            key=BrickKey(lv, displayed, (b[0], b[1], b[2]), plane),
            priority=(*priority, dist, dep),
            lo=(lo[0], lo[1], lo[2]),
            hi=(hi[0], hi[1], hi[2]),
            error=error,
        )
        for b, dist, dep, lo, hi in rows
    ]
