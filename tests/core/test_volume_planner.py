"""The 3D planner: a level per brick from the camera, within the slots, culled by the view."""

from __future__ import annotations

import numpy as np
import pytest

from napari_progressive.core.geometry import block_pyramid
from napari_progressive.core.planner import FALLBACK, PREFETCH, VISIBLE
from napari_progressive.core.view import VolumeView
from napari_progressive.core.volume_planner import plan_volume

CANVAS = (400, 400)


def pyramid(side=1024, n_levels=6):
    """A side^3 uint8 pyramid of 64^3 chunks, down to side / 2**(n_levels-1)."""
    return block_pyramid((side,) * 3, (64,) * 3, np.uint8, n_levels)


def ortho(centre, width, canvas=CANVAS, distance=1e6):
    """Looking down the depth axis at ``centre``, ``width`` level-0 voxels across the canvas."""
    cd, cr, cc = centre
    view = np.array(
        [[0, 0, 1, -cc], [0, -1, 0, cr], [-1, 0, 0, cd - distance], [0, 0, 0, 1]], dtype=float
    )
    h, w = canvas
    height = width * h / w
    near, far = 1.0, 2 * distance
    projection = np.array(
        [
            [2 / width, 0, 0, 0],
            [0, 2 / height, 0, 0],
            [0, 0, -2 / (far - near), -(far + near) / (far - near)],
            [0, 0, 0, 1],
        ]
    )
    return VolumeView(
        displayed=(0, 1, 2),
        point=(0.0, 0.0, 0.0),
        view=tuple(map(tuple, view)),
        projection=tuple(map(tuple, projection)),
        canvas=canvas,
        centre=(float(cd), float(cr), float(cc)),
        data_per_screen_px=width / w,
    )


def level_at(plan, point):
    """The finest planned level whose brick holds ``point``."""
    holding = [
        b.key.level
        for b in plan.bricks
        if all(lo <= p < hi for p, lo, hi in zip(point, b.lo, b.hi, strict=True))
    ]
    return min(holding)


def test_zooming_in_refines_the_centre_monotonically():
    levels = pyramid()
    centre = (512.0, 512.0, 512.0)
    found = [
        level_at(plan_volume(levels, ortho(centre, width), slots=4096), centre)
        for width in (4096, 2048, 1024, 512, 256, 128)
    ]
    assert found == sorted(found, reverse=True) and found[0] > found[-1]
    assert found[-1] == 0  # 128 voxels on 400 px: level 0 is the 1 px match


def test_the_level_at_the_centre_matches_screen_pixels():
    levels = pyramid()
    centre = (512.0, 512.0, 512.0)
    for width, expected in ((400, 0), (800, 1), (1600, 2), (3200, 3)):
        assert level_at(plan_volume(levels, ortho(centre, width), slots=4096), centre) == expected


def test_coarser_levels_reach_further_from_the_focus():
    levels = pyramid()
    centre = (512.0, 512.0, 512.0)
    plan = plan_volume(levels, ortho(centre, 400), slots=100_000)
    far = (512.0, 512.0, 1000.0)
    assert level_at(plan, far) > level_at(plan, centre)


@pytest.mark.parametrize("slots", [16, 64, 300, 1000])
def test_a_plan_never_exceeds_the_slots_and_keeps_every_ancestor(slots):
    levels = pyramid()
    plan = plan_volume(levels, ortho((500.0, 300.0, 700.0), 300), slots=slots)
    assert len(plan.bricks) <= max(slots * 0.9, 8)  # 8: the coarsest level, always planned
    keys = plan.keys
    coarsest = len(levels) - 1
    for b in plan.bricks:
        if b.key.level < coarsest:
            parent = tuple(i // 2 for i in b.key.brick)
            assert (b.key.level + 1, parent) in {(k.level, k.brick) for k in keys}


def test_bricks_outside_the_view_are_not_planned_below_the_coarsest():
    levels = pyramid()
    width = 200
    plan = plan_volume(levels, ortho((512.0, 300.0, 300.0), width), slots=4096)
    half = width / 2
    for b in plan.bricks:
        if b.key.level == len(levels) - 1:
            continue
        assert b.hi[1] > 300 - half and b.lo[1] < 300 + half  # rows
        assert b.hi[2] > 300 - half and b.lo[2] < 300 + half  # columns
    # the whole view is covered at the finest level the slots allowed, at every depth
    for row in np.linspace(300 - half + 1, 300 + half - 1, 7):
        for depth in (0.0, 511.0, 1023.0):
            assert level_at(plan, (depth, row, 300.0)) < len(levels) - 1


def test_a_small_coarsest_level_is_planned_whole_and_coarse_first():
    levels = pyramid(n_levels=5)  # the coarsest is 64^3: 8 bricks
    plan = plan_volume(levels, ortho((512.0, 100.0, 100.0), 100), slots=4096)
    coarsest = [b for b in plan.bricks if b.key.level == len(levels) - 1]
    assert len(coarsest) == 8
    assert {b.tier for b in coarsest} == {VISIBLE, FALLBACK}
    visible = [b for b in plan.bricks if b.tier == VISIBLE]
    assert [b.key.level for b in visible] == sorted((b.key.level for b in visible), reverse=True)


def test_what_a_clipping_plane_removes_is_never_planned():
    levels = pyramid()
    keep_right = ((0.0, 0.0, 600.0), (0.0, 0.0, 1.0))  # columns >= 600 are kept
    plan = plan_volume(
        levels, ortho((512.0, 512.0, 512.0), 1500), slots=4096, clipping_planes=[keep_right]
    )
    assert plan.bricks and all(b.hi[2] > 600 for b in plan.bricks)
    unclipped = plan_volume(levels, ortho((512.0, 512.0, 512.0), 1500), slots=4096)
    assert any(b.hi[2] <= 600 for b in unclipped.bricks)


def test_children_the_slots_cannot_hold_are_prefetched():
    levels = pyramid()
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 200), slots=40)
    assert plan.prefetch and all(b.tier == PREFETCH for b in plan.prefetch)
    assert not plan.keys & plan.prefetch_keys
    finest = min(b.key.level for b in plan.bricks)
    assert all(b.key.level < len(levels) - 1 for b in plan.prefetch)
    assert min(b.key.level for b in plan.prefetch) <= finest


def test_anisotropic_levels_split_where_the_voxels_are_large():
    levels = block_pyramid((64, 1024, 1024), (16, 64, 64), np.uint8, 4, factor=(1, 2, 2))
    plan = plan_volume(levels, ortho((32.0, 512.0, 512.0), 300), slots=4096)
    assert level_at(plan, (32.0, 512.0, 512.0)) == 0
    for b in plan.bricks:  # a brick never reaches beyond its level's depth
        assert b.hi[0] <= 64 - 0.5 + 1e-9
