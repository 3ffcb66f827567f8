"""The plane planner: the bricks a plane's slab crosses, with a coarse ladder, within the slots."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import numpy as np
import pytest

from napari_progressive.core import plane_planner
from napari_progressive.core.bricks import BRICK, brick_grid
from napari_progressive.core.geometry import block_pyramid, level_mappings
from napari_progressive.core.plane_planner import SlicingPlane, plan_plane, plane_level
from napari_progressive.core.planner import PREFETCH, VISIBLE
from napari_progressive.core.volume_planner import MAX_PLANNED_BRICKS, SLOT_FILL
from tests.core.test_volume_planner import ortho, pyramid

#: A volume whose sides are no multiple of a brick: 7 x 8 x 8 bricks at level 0.
SHAPE = (200, 230, 250)
CENTRE = (100.0, 115.0, 125.0)


def small():
    return block_pyramid(SHAPE, (64,) * 3, np.uint8, 4)


def crossing(level, mapping, plane):
    """Every brick of ``level`` tested against the slab: the brick indices it crosses."""
    factor, offset = mapping.factor, mapping.offset
    index = np.array(list(itertools.product(*map(range, brick_grid(level, (0, 1, 2))))))
    start = index * BRICK
    stop = np.minimum(start + BRICK, level.shape)
    lo, hi = offset + (start - 0.5) * factor, offset + (stop - 0.5) * factor
    corners = np.array([np.where(c, hi, lo) for c in itertools.product((0, 1), repeat=3)])
    normal = np.asarray(plane.normal)
    signed = (corners - plane.position) @ normal  # (8, n)
    voxel = 1 / np.linalg.norm(normal / factor)  # the level's voxel along the normal
    half = max(plane.thickness / 2, voxel / 2)
    hit = (signed.min(axis=0) <= half) & (signed.max(axis=0) >= -half)
    return {tuple(int(i) for i in b) for b in index[hit]}


def holds(brick, point):
    return all(lo <= p <= hi for p, lo, hi in zip(point, brick.lo, brick.hi, strict=True))


def planned(plan, level):
    return {b.key.brick for b in plan.bricks if b.key.level == level}


NORMALS = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 2, 3), (-0.3, 0.9, 0.1)]


@pytest.mark.parametrize("normal", NORMALS)
@pytest.mark.parametrize("thickness", [0.0, 1.0, 7.5, 80.0])
@pytest.mark.parametrize("position", [CENTRE, (3.0, 40.0, 240.0)])
def test_each_level_plans_the_bricks_a_brute_force_finds(normal, thickness, position):
    levels = small()
    maps = level_mappings(levels)
    plane = SlicingPlane(position, normal, thickness)
    plan = plan_plane(levels, ortho(CENTRE, 400), slots=4096, plane=plane)  # sees it all
    for lv, (level, mapping) in enumerate(zip(levels, maps, strict=True)):
        expected = crossing(level, mapping, plane)
        assert expected, lv
        if lv == 0:  # the slab leaves some out: the test can tell
            assert len(expected) < np.prod(brick_grid(level, (0, 1, 2)))
        assert planned(plan, lv) == expected, lv
    assert len(plan.keys) == len(plan.bricks)  # no brick twice


def test_every_level_coarser_than_the_target_has_its_crossing_bricks():
    levels = pyramid()  # 1024^3 down to 32^3
    maps = level_mappings(levels)
    plane = SlicingPlane((500.0, 520.0, 530.0), (0.2, 1.0, 0.5), 1.0)
    view = ortho((512.0, 512.0, 512.0), 4000)  # 10 voxels a pixel: all seen, target level 3
    target = plane_level(maps, (0, 1, 2), plane.normal, view.data_per_screen_px)
    assert target == 3
    plan = plan_plane(levels, view, slots=4096, plane=plane)
    assert set(plan.levels_used()) == set(range(target, len(levels)))
    for lv in range(target, len(levels)):
        assert planned(plan, lv) == crossing(levels[lv], maps[lv], plane), lv


def test_tiers_go_coarse_first_then_from_the_centre_on_the_plane_outwards():
    levels = pyramid()
    plane = SlicingPlane((512.0, 512.0, 512.0), (1.0, 0.0, 0.0), 1.0)
    plan = plan_plane(levels, ortho((700.0, 300.0, 600.0), 400), slots=4096, plane=plane)
    assert {b.tier for b in plan.bricks} == {VISIBLE}
    assert [b.priority for b in plan.bricks] == sorted(b.priority for b in plan.bricks)
    assert [b.key.level for b in plan.bricks] == sorted(b.key.level for b in plan.bricks)[::-1]
    finest = [b for b in plan.bricks if b.key.level == 0]
    assert holds(finest[0], (512, 300, 600))  # the camera's centre projected on the plane


def test_the_level_follows_the_voxels_along_the_plane():
    levels = block_pyramid((1024, 64, 64), (64, 16, 16), np.uint8, 4, factor=(2, 1, 1))
    maps = level_mappings(levels)  # only depth is downsampled: voxels 2^l x 1 x 1
    # across depth the plane shows 1 x 1 voxels at every level: the coarsest will do
    assert plane_level(maps, (0, 1, 2), (1, 0, 0), 1.0) == 3
    assert plane_level(maps, (0, 1, 2), (1, 0, 0.1), 1.0) == 3  # tilted a little: still
    # along depth it shows 2^l x 1 voxels: 2^l pixels a voxel needs level l
    assert [plane_level(maps, (0, 1, 2), (0, 0, 1), dpp) for dpp in (1, 2, 4, 8)] == [0, 1, 2, 3]
    assert plane_level(maps, (0, 1, 2), (0, 0, 1), 2.0, lod_bias=1.0) == 2
    assert plane_level(maps, (0, 1, 2), (0, 0, 1), 0.1) == 0  # zoomed in past level 0


@pytest.mark.parametrize("slots", [10, 50, 300, 1000])
def test_a_plan_never_exceeds_the_slots_and_stops_at_the_finest_level_that_fits(slots):
    levels = pyramid()
    maps = level_mappings(levels)
    plane = SlicingPlane((512.0, 512.0, 512.0), (1.0, 0.7, 0.2), 4.0)
    plan = plan_plane(levels, ortho((512.0, 512.0, 512.0), 4000), slots=slots, plane=plane)
    assert 0 < len(plan.bricks) <= slots * SLOT_FILL
    used = sorted(plan.levels_used())
    assert used == list(range(used[0], len(levels)))  # a ladder from the coarsest
    for lv in used:
        assert planned(plan, lv) == crossing(levels[lv], maps[lv], plane)
    finer = used[0] - 1
    if finer >= 3:  # the target is level 3: a finer level than it is never planned
        assert len(plan.bricks) + len(crossing(levels[finer], maps[finer], plane)) > int(
            slots * SLOT_FILL
        )


def test_a_coarsest_level_larger_than_the_slots_plans_its_bricks_nearest_the_centre():
    levels = block_pyramid((512,) * 3, (64,) * 3, np.uint8, 1)  # 16^3 bricks, no coarser level
    maps = level_mappings(levels)
    plane = SlicingPlane((200.0, 250.0, 260.0), (1.0, 0.5, 0.5), 1.0)
    plan = plan_plane(levels, ortho((256.0, 256.0, 256.0), 2000), slots=40, plane=plane)
    expected = crossing(levels[0], maps[0], plane)
    assert len(expected) > 40
    assert 0 < len(plan.bricks) <= 36 and planned(plan, 0) <= expected
    focus = np.array([256.0, 256.0, 256.0])
    normal = np.asarray(plane.normal)
    focus -= ((focus - plane.position) @ normal) * normal  # the centre on the plane
    assert holds(plan.bricks[0], focus)


def test_a_thin_plane_crosses_the_bricks_within_half_a_voxel():
    levels = small()
    # 0.2 voxels past the face between the level-0 bricks 1 and 2 along depth (at 63.5)
    plane = SlicingPlane((63.7, 115.0, 125.0), (1.0, 0.0, 0.0), 0.0)
    plan = plan_plane(levels, ortho(CENTRE, 400), slots=4096, plane=plane)
    assert {b[0] for b in planned(plan, 0)} == {1, 2}
    assert all(planned(plan, lv) for lv in range(len(levels)))


@pytest.mark.parametrize(
    ("position", "normal"),
    [((5000.0, 0.0, 0.0), (1.0, 0.0, 0.0)), ((-100.0, -100.0, -100.0), (1.0, 1.0, 1.0))],
)
def test_a_plane_outside_the_volume_plans_nothing(position, normal):
    plan = plan_plane(small(), ortho(CENTRE, 400), 4096, SlicingPlane(position, normal, 1.0))
    assert plan.bricks == () and plan.prefetch == ()


def test_bricks_outside_the_view_are_not_planned():
    levels = pyramid()
    maps = level_mappings(levels)
    plane = SlicingPlane((512.0, 512.0, 512.0), (1.0, 0.3, 0.2), 1.0)
    width, centre = 200, (512.0, 300.0, 700.0)
    plan = plan_plane(levels, ortho(centre, width), slots=4096, plane=plane)
    half = width / 2
    assert planned(plan, 0) < crossing(levels[0], maps[0], plane)
    for b in plan.bricks:
        assert b.hi[1] >= 300 - half and b.lo[1] <= 300 + half  # rows
        assert b.hi[2] >= 700 - half and b.lo[2] <= 700 + half  # columns


def test_what_a_clipping_plane_removes_is_never_planned():
    levels = pyramid()
    plane = SlicingPlane((512.0, 512.0, 512.0), (1.0, 0.0, 0.0), 1.0)
    view = ortho((512.0, 512.0, 512.0), 1500)
    keep_right = ((0.0, 0.0, 600.0), (0.0, 0.0, 1.0))  # columns >= 600 are kept
    plan = plan_plane(levels, view, 4096, plane, clipping_planes=[keep_right])
    assert plan.bricks and all(b.hi[2] >= 600 for b in plan.bricks)
    assert any(b.hi[2] < 600 for b in plan_plane(levels, view, 4096, plane).bricks)


def test_the_prefetch_holds_the_bricks_one_brick_along_the_normal():
    levels = pyramid()
    plane = SlicingPlane((500.0, 512.0, 512.0), (1.0, 0.0, 0.0), 1.0)  # in depth brick 15
    plan = plan_plane(levels, ortho((512.0, 512.0, 512.0), 400), slots=4096, plane=plane)
    assert {b.key.brick[0] for b in plan.bricks if b.key.level == 0} == {15}
    assert plan.prefetch and {b.tier for b in plan.prefetch} == {PREFETCH}
    assert len(plan.prefetch) <= plane_planner.MAX_PREFETCH
    assert not plan.keys & plan.prefetch_keys
    assert {b.key.level for b in plan.prefetch} == {0}
    assert {b.key.brick[0] for b in plan.prefetch} == {14, 16}
    # nearest the centre on the plane first: (500, 512, 512) is 11.5 from brick 16, 20.5 from 14
    assert [b.key.brick for b in plan.prefetch[:2]] == [(16, 16, 16), (16, 15, 16)]


def test_moving_the_plane_replaces_the_fine_bricks_so_stale_work_is_dropped():
    levels = pyramid()
    view = ortho((512.0, 512.0, 512.0), 400)
    before = plan_plane(levels, view, 4096, SlicingPlane((300.0, 512.0, 512.0), (1, 0.2, 0)))
    after = plan_plane(levels, view, 4096, SlicingPlane((400.0, 512.0, 512.0), (1, 0.2, 0)))
    assert before.keys != after.keys
    fine = {k for k in before.keys if k.level == 0}
    assert fine and not fine & after.keys  # the loader cancels what the new plan lacks
    assert {k for k in before.keys if k.level == len(levels) - 1} <= after.keys  # coarse stays


def test_a_hidden_axis_fixes_the_bricks_plane_and_outside_its_range_nothing_is_planned():
    levels = block_pyramid((5, 256, 256, 256), (1, 64, 64, 64), np.uint8, 3, factor=(1, 2, 2, 2))
    view = replace(ortho((128.0, 128.0, 128.0), 400), displayed=(1, 2, 3), point=(3.0, 0, 0, 0))
    plane = SlicingPlane((128.0, 128.0, 128.0), (0.0, 1.0, 1.0), 1.0)
    plan = plan_plane(levels, view, 4096, plane)
    assert plan.bricks and {b.key.plane for b in plan.bricks} == {((0, 3),)}
    assert {b.key.displayed for b in plan.bricks} == {(1, 2, 3)}
    assert plan_plane(levels, replace(view, point=(7.0, 0, 0, 0)), 4096, plane).bricks == ()


def bulb_levels():
    """The Mandelbulb's pyramid: 2^20 voxels a side, 15 levels of 32^3 chunks."""
    return block_pyramid((32 * 2**15,) * 3, (32,) * 3, np.uint8, 15)


@pytest.mark.parametrize("normal", [(1.0, 0.6, 0.3), (0.0, 0.3, 1.0)])  # oblique; nearly edge-on
def test_bisection_plans_a_huge_volume_without_enumerating_it(monkeypatch, normal):
    levels = bulb_levels()
    tested = []
    meets = plane_planner._Slab.meets

    def counting(self, lo0, hi0, half):
        tested.append(len(lo0))
        return meets(self, lo0, hi0, half)

    monkeypatch.setattr(plane_planner._Slab, "meets", counting)
    centre = (2.0**19 + 3.3, 2.0**19 - 7.1, 2.0**19 + 11.9)
    plane = SlicingPlane(centre, normal, 1.0)
    start = time.perf_counter()
    plan = plan_plane(levels, ortho(centre, 400), slots=100_000, plane=plane)
    assert time.perf_counter() - start < 5.0
    assert 0 < len(plan.bricks) <= MAX_PLANNED_BRICKS * SLOT_FILL
    assert sum(tested) < 100_000  # boxes tested, where level 0 alone has 2^45 bricks
    assert set(plan.levels_used()) == set(range(min(plan.levels_used()), 15))
    if normal[0]:  # facing the camera enough: the target level, 1 voxel a pixel, fits
        assert min(plan.levels_used()) == 0


def test_a_plane_needs_a_normal_and_a_thickness():
    assert SlicingPlane((0, 0, 0), (0, 3, 4)).normal == (0.0, 0.6, 0.8)
    with pytest.raises(ValueError, match="normal"):
        SlicingPlane((0, 0, 0), (0, 0, 0))
    with pytest.raises(ValueError, match="thickness"):
        SlicingPlane((0, 0, 0), (1, 0, 0), -1.0)
    with pytest.raises(ValueError, match="position"):
        SlicingPlane((0, float("nan"), 0), (1, 0, 0))
