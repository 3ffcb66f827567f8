"""Pure 3D planning: from a camera to the bricks it needs, a level per brick.

The plan starts from every brick of the coarsest level inside the region
(the volume's box, the camera's frustum and napari's clipping planes) and
splits, largest error first, the bricks whose voxels look larger on screen
than they deserve, while the plan (leaves and their ancestors, so that a
missing brick always has a coarser one to fall back on) fits in the GPU slots.

A brick's error is its voxel size on screen (in screen pixels; 1 is the goal,
``lod_bias`` doubles the goal per unit) divided by how far it lies from the
focus: napari's 3D camera is orthographic, so every depth shows voxels at
the same size, and without this weighting the finest level would be wanted
everywhere. Beyond ``focus_radius`` of the camera's centre the allowed voxel
size grows with the distance, so each coarser level reaches about twice as
far (a clipmap).

Bricks come in the tiers of the 2D planner: ``VISIBLE`` (inside the region:
coarse first, then the largest error, then front to back), ``FALLBACK`` (the
rest of a small coarsest level, so that orbiting never shows a hole) and
``PREFETCH`` (the children of the worst leaves the slots could not hold).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.bricks import BRICK, BrickKey, brick_grid
from napari_progressive.core.geometry import LevelMapping, level_mappings
from napari_progressive.core.planner import FALLBACK, PREFETCH, VISIBLE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from napari_progressive.core.geometry import Level
    from napari_progressive.core.view import VolumeView

#: Fraction of the slots a plan may fill (the rest absorbs uploads in flight).
SLOT_FILL = 0.9
#: Bricks one plan holds at most, whatever the slots: planning runs on the UI
#: thread (about 50 ms per 1,000 bricks on one software-GL core).
MAX_PLANNED_BRICKS = 2048
#: The whole coarsest level is planned when it has at most this many bricks.
WHOLE_COARSEST_MAX_BRICKS = 512
#: Children of unsplit leaves prefetched into the host cache, at most.
MAX_PREFETCH = 64

#: A clipping plane: a point on it and its normal, in level-0 data coordinates
#: along the displayed axes; what lies on the normal's side is kept.
ClipPlane = tuple[tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class PlannedBrick:
    """A planned brick, its priority and its level-0 box ``[lo, hi)`` along ``displayed``.

    ``error`` is its voxel size on screen over the size it deserves there
    (above 1: a finer level would show more).
    """

    key: BrickKey
    priority: tuple[float, float, float, float]
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    error: float

    @property
    def tier(self) -> int:
        """``VISIBLE``, ``FALLBACK`` or ``PREFETCH``."""
        return int(self.priority[0])


@dataclass(frozen=True)
class VolumePlan:
    """What a 3D view draws from (``bricks``, coarse first) and fetches ahead.

    ``ahead``: bricks of other slices (the neighbouring time points) brought
    onto the GPU after ``bricks`` but not drawn, so that the slice a slider
    moves to next shows at once; ``prefetch``: fetched into host memory only.
    """

    view: VolumeView
    bricks: tuple[PlannedBrick, ...]
    prefetch: tuple[PlannedBrick, ...] = ()
    ahead: tuple[PlannedBrick, ...] = ()

    @property
    def pieces(self) -> tuple[PlannedBrick, ...]:
        """What goes onto the GPU, by priority: the bricks, then the ``ahead`` ones."""
        return (*self.bricks, *self.ahead)

    @cached_property
    def keys(self) -> frozenset[BrickKey]:
        """The keys the view draws from."""
        return frozenset(b.key for b in self.bricks)

    @cached_property
    def ahead_keys(self) -> frozenset[BrickKey]:
        """Keys brought onto the GPU without being drawn."""
        return frozenset(b.key for b in self.ahead)

    @cached_property
    def gpu_keys(self) -> frozenset[BrickKey]:
        """Keys kept on the GPU: the drawn ones and the ``ahead`` ones."""
        return self.keys | self.ahead_keys

    @cached_property
    def prefetch_keys(self) -> frozenset[BrickKey]:
        """Keys fetched into the host cache only."""
        return frozenset(b.key for b in self.prefetch)

    def levels_used(self) -> dict[int, int]:
        """Planned bricks per level."""
        out: dict[int, int] = {}
        for b in self.bricks:
            out[b.key.level] = out.get(b.key.level, 0) + 1
        return out


def plan_volume(
    levels: Sequence[Level],
    view: VolumeView,
    slots: int,
    mappings: Sequence[LevelMapping] | None = None,
    clipping_planes: Sequence[ClipPlane] = (),
    lod_bias: float = 0.0,
    focus_radius: float | None = None,
) -> VolumePlan:
    """The bricks ``view`` needs within ``slots``, a level per brick (see module docstring).

    ``focus_radius`` (level-0 voxels) defaults to a quarter of the view's
    smaller extent at the camera's centre.
    """
    maps = tuple(mappings) if mappings is not None else level_mappings(levels)
    scene = _Scene(view, clipping_planes, lod_bias, focus_radius)
    last = len(levels) - 1
    cap = max(1, int(min(slots, MAX_PLANNED_BRICKS) * SLOT_FILL))
    kept = _grid_bricks(levels[last], last, maps[last], view)
    kept = [b for b, keep in zip(kept, scene.unclipped(kept), strict=True) if keep]
    inside = scene.inside(kept)
    whole = len(kept) <= WHOLE_COARSEST_MAX_BRICKS
    planned = {b.key: b for b, keep in zip(kept, inside, strict=True) if keep or whole}
    fallback = {b.key for b, keep in zip(kept, inside, strict=True) if not keep}
    coarsest = list(planned.values())
    errors = dict(zip([b.key for b in coarsest], scene.errors(coarsest), strict=True))
    order = itertools.count()
    heap = [(-errors[k], next(order), k) for k in planned if k not in fallback]
    heapq.heapify(heap)
    prefetch: list[_Box] = []
    while heap:
        neg_error, _, key = heapq.heappop(heap)
        if -neg_error <= 1.0 or key.level == 0:
            continue
        children = [c for c in _children(levels, maps, planned[key], view) if c.key not in planned]
        children = [c for c, keep in zip(children, scene.inside(children), strict=True) if keep]
        if len(planned) + len(children) > cap:
            if len(prefetch) < MAX_PREFETCH:
                prefetch.extend(children[: MAX_PREFETCH - len(prefetch)])
            elif len(planned) >= cap - 1:
                break  # nothing more fits, and the prefetch is full
            continue
        for child, error in zip(children, scene.errors(children), strict=True):
            planned[child.key] = child
            errors[child.key] = error
            heapq.heappush(heap, (-error, next(order), child.key))
    depth = scene.depths(list(planned.values()))
    bricks = [
        _planned(b, FALLBACK if b.key in fallback else VISIBLE, errors[b.key], d)
        for b, d in zip(planned.values(), depth, strict=True)
    ]
    ahead = [
        _planned(b, PREFETCH, e, d)
        for b, e, d in zip(prefetch, scene.errors(prefetch), scene.depths(prefetch), strict=True)
    ]
    return VolumePlan(
        view=view,
        bricks=tuple(sorted(bricks, key=lambda b: b.priority)),
        prefetch=tuple(sorted(ahead, key=lambda b: b.priority)),
    )


def at_slice(
    plan: VolumePlan,
    view: VolumeView,
    levels: Sequence[Level],
    mappings: Sequence[LevelMapping],
) -> VolumePlan | None:
    """``plan`` moved to the slice point of ``view``, which differs from ``plan.view`` only there.

    Moving the slider of a hidden axis (time) changes no brick's place, level
    or priority, so the plan is re-keyed instead of made again (``ahead``
    is left out: it depends on the slice). None where the point leaves a
    planned level.
    """
    planes: dict[int, tuple[tuple[int, int], ...]] = {}
    for b in (*plan.bricks, *plan.prefetch):
        lv = b.key.level
        if lv not in planes:
            plane = hidden_plane(levels[lv], mappings[lv], view)
            if plane is None:
                return None
            planes[lv] = plane

    def moved(b: PlannedBrick) -> PlannedBrick:
        return replace(b, key=replace(b.key, plane=planes[b.key.level]))

    return VolumePlan(
        view=view,
        bricks=tuple(moved(b) for b in plan.bricks),
        prefetch=tuple(moved(b) for b in plan.prefetch),
    )


@dataclass(frozen=True)
class _Box:
    """A brick and its level-0 box along the displayed axes, with its level's voxel size."""

    key: BrickKey
    lo: np.ndarray
    hi: np.ndarray
    voxel: float


def _planned(box: _Box, tier: int, error: float, depth: float) -> PlannedBrick:
    return PlannedBrick(
        key=box.key,
        priority=(float(tier), -float(box.key.level), -float(error), float(depth)),
        lo=(float(box.lo[0]), float(box.lo[1]), float(box.lo[2])),
        hi=(float(box.hi[0]), float(box.hi[1]), float(box.hi[2])),
        error=float(error),
    )


def hidden_plane(level: Level, mapping: LevelMapping, view: VolumeView) -> tuple | None:
    """``(axis, level pixel)`` of every hidden axis at the view's point; None outside."""
    displayed = view.displayed
    if len(view.point) != level.ndim:
        return ()
    px = mapping.pixel_of(np.asarray(view.point, dtype=float))
    out = []
    for a in range(level.ndim):
        if a in displayed:
            continue
        if not 0 <= px[a] < level.shape[a]:
            return None
        out.append((a, int(px[a])))
    return tuple(out)


def _grid_bricks(level: Level, lv: int, mapping: LevelMapping, view: VolumeView) -> list[_Box]:
    """Every brick of level ``lv`` at the view's slice point."""
    displayed = _displayed3(view)
    plane = hidden_plane(level, mapping, view)
    if plane is None:
        return []
    grid = brick_grid(level, displayed)
    return [
        _box(level, lv, mapping, displayed, index, plane)
        for index in itertools.product(*(range(n) for n in grid))
    ]


def _children(
    levels: Sequence[Level], maps: Sequence[LevelMapping], parent: _Box, view: VolumeView
) -> list[_Box]:
    """Bricks of the next finer level that overlap ``parent``'s box."""
    lv = parent.key.level - 1
    level, mapping = levels[lv], maps[lv]
    displayed = parent.key.displayed
    plane = hidden_plane(level, mapping, view)
    if plane is None:
        return []
    axes = list(displayed)
    shape = np.full(3, BRICK)
    size = np.asarray([level.shape[a] for a in displayed])
    factor, offset = mapping.factor[axes], mapping.offset[axes]
    # Level voxels whose extent meets the parent's box, then the bricks holding them.
    first = np.floor((parent.lo - offset) / factor + 0.5).astype(np.int64)
    last = np.ceil((parent.hi - offset) / factor + 0.5).astype(np.int64) - 1
    first, last = np.clip(first, 0, size - 1), np.clip(last, 0, size - 1)
    ranges = [
        range(int(a // s), int(b // s) + 1) for a, b, s in zip(first, last, shape, strict=True)
    ]
    return [
        _box(level, lv, mapping, displayed, index, plane) for index in itertools.product(*ranges)
    ]


def _box(
    level: Level,
    lv: int,
    mapping: LevelMapping,
    displayed: tuple[int, int, int],
    index: tuple[int, ...],
    plane: tuple,
) -> _Box:
    axes = list(displayed)
    size = np.array([level.shape[a] for a in displayed])
    factor, offset = mapping.factor[axes], mapping.offset[axes]
    start = np.asarray(index) * BRICK
    stop = np.minimum(start + BRICK, size)
    lo = offset + (start - 0.5) * factor
    hi = offset + (stop - 0.5) * factor
    key = BrickKey(lv, displayed, (int(index[0]), int(index[1]), int(index[2])), plane)
    return _Box(key, lo, hi, float(factor.max()))


def _displayed3(view: VolumeView) -> tuple[int, int, int]:
    d, r, c = view.displayed
    return d, r, c


class _Scene:
    """The camera's region and screen scale, vectorised over brick boxes."""

    def __init__(
        self,
        view: VolumeView,
        clipping_planes: Sequence[ClipPlane],
        lod_bias: float,
        focus_radius: float | None,
    ) -> None:
        self.to_clip = view.to_clip
        self.centre = np.asarray(view.centre, dtype=float)
        self.px_per_data = 1.0 / max(view.data_per_screen_px, 1e-300)  # at the centre
        self.centre_w = float(np.append(view.centre, 1.0) @ self.to_clip[3])
        self.goal = 2.0**lod_bias
        extent = min(view.canvas) * view.data_per_screen_px
        self.radius = max(focus_radius if focus_radius is not None else extent / 4, 1e-9)
        self.planes = [
            (np.asarray(pos, dtype=float), np.asarray(normal, dtype=float))
            for pos, normal in clipping_planes
        ]

    def _corners(self, boxes: Sequence[_Box]) -> np.ndarray:
        return box_corners(np.array([b.lo for b in boxes]), np.array([b.hi for b in boxes]))

    def unclipped(self, boxes: Sequence[_Box]) -> np.ndarray:
        """Whether each box meets every clipping plane's kept side."""
        if not boxes:
            return np.ones(0, dtype=bool)
        return on_kept_sides(self._corners(boxes), self.planes)

    def inside(self, boxes: Sequence[_Box]) -> np.ndarray:
        """Whether each box meets the frustum and every clipping plane's kept side."""
        if not boxes:
            return np.zeros(0, dtype=bool)
        corners = self._corners(boxes)
        return in_frustum(corners, self.to_clip) & on_kept_sides(corners, self.planes)

    def errors(self, boxes: Sequence[_Box]) -> np.ndarray:
        """Each box's voxel size on screen over the size it deserves there."""
        if not boxes:
            return np.zeros(0)
        lo = np.array([b.lo for b in boxes])
        hi = np.array([b.hi for b in boxes])
        nearest = np.clip(self.centre, lo, hi)  # the box's point nearest the focus
        homo = np.concatenate([nearest, np.ones((len(boxes), 1))], axis=1)
        w = np.maximum(homo @ self.to_clip[3], 1e-12)
        voxel = np.array([b.voxel for b in boxes])
        on_screen = voxel * self.px_per_data * self.centre_w / w  # perspective: nearer is larger
        distance = np.linalg.norm(nearest - self.centre, axis=1)
        deserved = self.goal * np.maximum(1.0, distance / self.radius)
        return on_screen / deserved

    def depths(self, boxes: Sequence[_Box]) -> np.ndarray:
        """Each box centre's distance in front of the camera (eye depth, smaller is nearer)."""
        if not boxes:
            return np.zeros(0)
        lo, hi = np.array([b.lo for b in boxes]), np.array([b.hi for b in boxes])
        return box_depths(lo, hi, self.to_clip)


def box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 8 corners of each box ``[lo, hi]`` (``n x 3`` each): ``n x 8 x 3``."""
    pick = np.array(list(itertools.product((0, 1), repeat=3)), dtype=bool)  # (8, 3)
    return np.where(pick[None], hi[:, None], lo[:, None])


def in_frustum(corners: np.ndarray, to_clip: np.ndarray) -> np.ndarray:
    """Whether each box (its ``corners``) may meet the frustum's sides (depth is not culled)."""
    homo = np.concatenate([corners, np.ones((*corners.shape[:2], 1))], axis=-1)
    clip = homo @ to_clip.T  # (n, 8, 4)
    w = clip[..., 3]
    keep = np.any(w > 0, axis=1)
    for axis in (0, 1):  # left/right, bottom/top
        keep &= ~np.all(clip[..., axis] > w, axis=1)
        keep &= ~np.all(clip[..., axis] < -w, axis=1)
    return keep


def box_depths(lo: np.ndarray, hi: np.ndarray, to_clip: np.ndarray) -> np.ndarray:
    """Each box centre's normalised depth in front of the camera (smaller is nearer)."""
    centre = (lo + hi) / 2
    clip = np.concatenate([centre, np.ones((len(centre), 1))], axis=1) @ to_clip.T
    return clip[:, 2] / np.maximum(np.abs(clip[:, 3]), 1e-12)


def on_kept_sides(
    corners: np.ndarray, planes: Sequence[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Whether each box (its ``corners``) meets the kept side of every ``(position, normal)``."""
    keep = np.ones(len(corners), dtype=bool)
    for pos, normal in planes:
        keep &= np.any((corners - pos) @ normal >= 0, axis=1)
    return keep
