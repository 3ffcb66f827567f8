"""Bring a 3D view's coarse bricks at the neighbouring slices of every hidden axis onto the GPU.

A time-lapse (t, z, y, x) shown in 3D plans bricks at one time point; moving
the time slider by one must show the new time point at once, coarse, then
refine. The coarsest ``COARSE_LEVELS`` levels of the plan are repeated at
each hidden axis's neighbouring pixels as the plan's ``ahead`` bricks: read,
cut and uploaded after the view's own bricks, so the first frame after the
move draws them (a brick only in host memory would still wait for a worker
to cut it, behind a software-GL frame that shares the cores).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from napari_progressive.core.planner import PREFETCH

if TYPE_CHECKING:
    from collections.abc import Sequence

    from napari_progressive.core.geometry import Level
    from napari_progressive.core.volume_planner import PlannedBrick, VolumePlan

#: Levels of a plan, coarsest first, whose bricks are kept ahead at the neighbouring slices.
COARSE_LEVELS = 2
#: Bricks kept ahead at the neighbouring slices, at most.
MAX_SLICE_AHEAD = 256


def slots_ahead(levels: Sequence[Level], slots: int) -> int:
    """GPU slots of ``slots`` kept for the neighbouring slices (none without hidden axes)."""
    return min(MAX_SLICE_AHEAD, slots // 4) if len(levels[0].shape) > 3 else 0


def with_neighbouring_slices(plan: VolumePlan, levels: Sequence[Level], slots: int) -> VolumePlan:
    """``plan`` with its coarse bricks at the slices next to its own, ``slots`` at most, ahead."""
    used = sorted({b.key.level for b in plan.bricks}, reverse=True)[:COARSE_LEVELS]
    coarse = [b for b in plan.bricks if b.key.level in used]
    planned = plan.keys | plan.prefetch_keys
    extra: list[PlannedBrick] = []
    for brick in coarse:
        for plane in _neighbours(brick.key.plane, levels[brick.key.level]):
            key = replace(brick.key, plane=plane)
            if key not in planned and len(extra) < slots:
                planned = planned | {key}
                extra.append(replace(brick, key=key, priority=(PREFETCH, *brick.priority[1:])))
    if not extra:
        return plan
    return replace(plan, ahead=tuple(extra))


def _neighbours(
    plane: tuple[tuple[int, int], ...], level: Level
) -> list[tuple[tuple[int, int], ...]]:
    """The slices one pixel either side of ``plane`` along each of its axes, inside the level."""
    out = []
    for i, (axis, pixel) in enumerate(plane):
        for step in (1, -1):
            moved = pixel + step
            if 0 <= moved < level.shape[axis]:
                out.append((*plane[:i], (axis, moved), *plane[i + 1 :]))
    return out
