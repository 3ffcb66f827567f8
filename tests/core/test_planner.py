import math

import numpy as np
import pytest

from napari_progressive.core.geometry import block_pyramid, level_mappings
from napari_progressive.core.planner import (
    FALLBACK,
    FALLBACK_LEVELS,
    PREFETCH,
    VISIBLE,
    WHOLE_COARSEST_MAX_TILES,
    Motion,
    choose_level,
    plan_view,
)
from napari_progressive.core.tiles import tile_chunks
from napari_progressive.core.view import SliceView

LEVELS = block_pyramid((2**20, 2**20), (512, 512), np.uint8, 12)


def view(centre, data_per_px, canvas=(600, 800), point=None, displayed=(0, 1)):
    h, w = canvas
    half = np.array([h, w]) * data_per_px / 2
    c = np.asarray(centre, dtype=float)
    return SliceView(
        displayed=displayed,
        lo=tuple(c - half),
        hi=tuple(c + half),
        data_per_screen_px=data_per_px,
        point=tuple(point) if point is not None else (0.0, 0.0),
        canvas=canvas,
    )


@pytest.mark.parametrize(
    ("data_per_px", "expected"),
    [
        (0.01, 0),
        (0.99, 0),
        (1.0, 0),
        (1.99, 0),
        (2.0, 1),
        (3.5, 1),
        (4.0, 2),
        (1000.0, 9),
        (2048.0, 11),
        (1e9, 11),
    ],
)
def test_level_is_the_coarsest_with_pixels_no_larger_than_a_screen_pixel(data_per_px, expected):
    assert choose_level(level_mappings(LEVELS), (0, 1), data_per_px) == expected


def test_level_choice_at_many_zooms_matches_screen_pixels():
    maps = level_mappings(LEVELS)
    for data_per_px in np.geomspace(0.05, 5000, 200):
        lv = choose_level(maps, (0, 1), data_per_px)
        screen_px_per_level_px = 2**lv / data_per_px
        if data_per_px < 1:  # zoomed in beyond level 0
            assert lv == 0
            continue
        assert screen_px_per_level_px <= 1 + 1e-9
        if lv < len(LEVELS) - 1:
            assert 2 ** (lv + 1) / data_per_px > 1  # the next level would be too coarse


def test_lod_bias_picks_coarser_levels():
    maps = level_mappings(LEVELS)
    assert choose_level(maps, (0, 1), 4.0, lod_bias=1) == 3
    assert choose_level(maps, (0, 1), 4.0, lod_bias=-1) == 1


def _covers(tiles, lo, hi):
    """Sample the view on a grid and check each point lies in some tile."""
    ys = np.linspace(lo[0], hi[0], 41)
    xs = np.linspace(lo[1], hi[1], 41)
    for y in ys:
        for x in xs:
            if not (0 - 0.5 <= y < 2**20 - 0.5 and -0.5 <= x < 2**20 - 0.5):
                continue
            assert any(
                t.lo[0] <= y < t.hi[0] + 1e-9 and t.lo[1] <= x < t.hi[1] + 1e-9 for t in tiles
            )


@pytest.mark.parametrize("seed", range(8))
def test_every_needed_level_covers_the_view(seed):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 2**20, 2)
    data_per_px = float(np.exp(rng.uniform(np.log(0.1), np.log(3000))))
    v = view(centre, data_per_px)
    plan = plan_view(LEVELS, v)
    last = len(LEVELS) - 1
    needed = {last, *range(plan.target_level, min(last, plan.target_level + FALLBACK_LEVELS) + 1)}
    assert {t.key.level for t in plan.tiles} == needed
    for lv in needed:
        _covers([t for t in plan.tiles if t.key.level == lv], v.lo, v.hi)


def test_plans_stay_the_same_size_however_many_levels_lie_above():
    deep = block_pyramid((512 * 2**29,) * 2, (512, 512), np.uint8, 30)
    shallow = block_pyramid((512 * 2**9,) * 2, (512, 512), np.uint8, 10)
    v = view((100_000.5, 200_000.5), 1.0)
    assert len(plan_view(deep, v).tiles) == len(plan_view(shallow, v).tiles)


def test_order_is_coarse_first_then_centre_outwards():
    v = view((300_000.5, 500_000.5), 1.0)
    plan = plan_view(LEVELS, v)
    levels = [t.key.level for t in plan.tiles]
    assert levels == sorted(levels, reverse=True)
    target = [t for t in plan.tiles if t.key.level == plan.target_level]
    dists = [t.priority[2] for t in target]
    assert dists == sorted(dists)
    first = target[0]
    assert first.lo[0] <= v.centre[0] < first.hi[0]
    assert first.lo[1] <= v.centre[1] < first.hi[1]


def test_plan_cost_is_proportional_to_the_visible_tiles():
    """Same canvas, datasets 2**20 and 2**40 px wide: similar numbers of tiles."""
    huge = block_pyramid((2**40, 2**40), (512, 512), np.uint8, 32)
    small = plan_view(LEVELS, view((2**19, 2**19), 1.0))
    big = plan_view(huge, view((2**39, 2**39), 1.0))
    assert len(big.tiles) == pytest.approx(len(small.tiles), rel=0.5)
    target_tiles = [t for t in big.tiles if t.key.level == 0]
    assert len(target_tiles) <= math.ceil(600 / 512 + 1) * math.ceil(800 / 512 + 1)


def test_whole_coarsest_level_is_kept_when_small():
    plan = plan_view(LEVELS, view((1000.0, 1000.0), 1.0))
    coarsest = [t for t in plan.tiles if t.key.level == len(LEVELS) - 1]
    assert LEVELS[-1].grid == (1, 1) or len(coarsest) == LEVELS[-1].grid[0] * LEVELS[-1].grid[1]
    assert LEVELS[-1].grid[0] * LEVELS[-1].grid[1] <= WHOLE_COARSEST_MAX_TILES


def test_view_outside_the_data_needs_only_the_coarsest_level():
    plan = plan_view(LEVELS, view((-1e7, -1e7), 1.0))
    assert {t.key.level for t in plan.tiles} == {len(LEVELS) - 1}


def test_nd_view_cuts_only_the_chunks_crossing_the_slice():
    levels = block_pyramid((256, 1024, 1024), (64, 256, 256), np.uint16, 3)
    v = view((512.0, 512.0), 1.0, canvas=(256, 256), point=(130.0, 0.0, 0.0), displayed=(1, 2))
    plan = plan_view(levels, v)
    for t in plan.tiles:
        lv = t.key.level
        z = math.floor((130 + 0.5) / 2**lv)
        assert t.key.plane == ((0, z),)
        assert {c.index[0] for c in tile_chunks(levels[lv], t.key)} == {z // 64}
    # a slice outside the volume needs nothing
    outside = view((512.0, 512.0), 1.0, point=(400.0, 0.0, 0.0), displayed=(1, 2))
    assert plan_view(levels, outside).tiles == ()


def test_transposed_display_marks_tiles():
    v = view((100.0, 100.0), 1.0, displayed=(1, 0))
    plan = plan_view(LEVELS, v)
    assert all(t.key.transposed for t in plan.tiles)


def test_tiers_visible_before_prefetch_before_fallback():
    small = block_pyramid((4096, 4096), (256, 256), np.uint8, 4)  # coarsest: 2 x 2 tiles
    v = view((300.0, 300.0), 1.0, canvas=(200, 200))
    plan = plan_view(small, v, motion=Motion(velocity=(0.0, 2000.0)))
    tiers = [t.tier for t in plan.tiles]
    assert tiers == sorted(tiers) and set(tiers) == {VISIBLE, FALLBACK}
    for t in plan.tiles:  # fallback tiles are exactly those outside the view
        inside = all(t.hi[i] > v.lo[i] and t.lo[i] < v.hi[i] for i in (0, 1))
        assert (t.tier == VISIBLE) == inside
    assert plan.prefetch and all(t.tier == PREFETCH for t in plan.prefetch)
    assert not plan.prefetch_keys & plan.keys


def test_prefetch_follows_the_pan_direction():
    v = view((300_000.5, 500_000.5), 1.0)
    right = plan_view(LEVELS, v, motion=Motion(velocity=(0.0, 1500.0)))
    assert right.prefetch
    for t in right.prefetch:
        assert t.key.level == right.target_level
        assert t.hi[1] > v.hi[1]  # reaches beyond the right edge
        assert t.lo[1] >= v.lo[1]  # nothing behind the camera
    left = plan_view(LEVELS, v, motion=Motion(velocity=(0.0, -1500.0)))
    assert all(t.lo[1] < v.lo[1] for t in left.prefetch)
    assert plan_view(LEVELS, v).prefetch == ()  # 2D and still: nothing to guess


def test_prefetch_bounds_a_fast_pan_to_one_view():
    v = view((300_000.5, 500_000.5), 1.0)
    fast = plan_view(LEVELS, v, motion=Motion(velocity=(0.0, 1e9)))
    assert max(t.lo[1] for t in fast.prefetch) < v.hi[1] + (v.hi[1] - v.lo[1])


def test_zooming_in_prefetches_the_next_finer_level_near_the_centre():
    v = view((300_000.5, 500_000.5), 4.0)
    plan = plan_view(LEVELS, v, motion=Motion(zoom_rate=-2.0))
    finer = [t for t in plan.prefetch if t.key.level == plan.target_level - 1]
    assert finer
    for t in finer:
        assert t.hi[0] > v.centre[0] - (v.hi[0] - v.lo[0]) / 4
        assert t.lo[0] < v.centre[0] + (v.hi[0] - v.lo[0]) / 4
    assert not plan_view(LEVELS, v, motion=Motion(zoom_rate=2.0)).prefetch


def test_prefetch_takes_the_neighbouring_planes_of_a_stack():
    levels = block_pyramid((256, 1024, 1024), (64, 256, 256), np.uint16, 3)
    v = view((512.0, 512.0), 1.0, canvas=(256, 256), point=(130.0, 0.0, 0.0), displayed=(1, 2))
    plan = plan_view(levels, v)
    planes = {(t.key.level, dict(t.key.plane)[0]) for t in plan.prefetch}
    z0, z2 = 130, math.floor(130.5 / 4)
    assert {(0, z0 - 1), (0, z0 + 1), (2, z2 - 1), (2, z2 + 1)} <= planes
    assert all(lv in (0, 2) for lv, _ in planes)


def test_prefetch_follows_the_sliders_last_step():
    levels = block_pyramid((256, 1024, 1024), (64, 256, 256), np.uint16, 3)
    v = view((512.0, 512.0), 1.0, canvas=(256, 256), point=(130.0, 0.0, 0.0), displayed=(1, 2))

    def fine_planes(step):
        plan = plan_view(levels, v, motion=Motion(slice_step=(step, 0.0, 0.0)))
        return {dict(t.key.plane)[0] for t in plan.prefetch if t.key.level == 0}

    assert fine_planes(3.0) == {133}  # three planes a step: the next one, not 129 and 131
    assert fine_planes(-5.0) == {125}
    assert fine_planes(0.0) == {129, 131}  # no step seen: one plane either way
    coarse = plan_view(levels, v, motion=Motion(slice_step=(3.0, 0.0, 0.0))).prefetch
    z2 = math.floor(130.5 / 4)
    assert {(2, z2 - 1), (2, z2 + 1)} <= {(t.key.level, dict(t.key.plane)[0]) for t in coarse}


def test_a_slider_step_below_a_levels_pixel_prefetches_the_next_pixel_of_that_level():
    levels = block_pyramid((256, 1024, 1024), (64, 256, 256), np.uint16, 3)
    v = view((512.0, 512.0), 2.0, canvas=(256, 256), point=(130.0, 0.0, 0.0), displayed=(1, 2))
    plan = plan_view(levels, v, motion=Motion(slice_step=(1.0, 0.0, 0.0)))
    assert plan.target_level == 1
    z1 = math.floor(130.5 / 2)
    assert {dict(t.key.plane)[0] for t in plan.prefetch if t.key.level == 1} == {z1 + 1}


def test_a_short_slider_range_is_prefetched_whole_at_the_coarsest_level():
    levels = block_pyramid((40, 1024, 1024), (1, 256, 256), np.uint16, 3, factor=(1, 2, 2))
    v = view((512.0, 512.0), 4.0, canvas=(256, 256), point=(20.0, 0.0, 0.0), displayed=(1, 2))
    prefetch = plan_view(levels, v).prefetch
    coarse = [t for t in prefetch if t.key.level == 2]
    assert {dict(t.key.plane)[0] for t in coarse} == set(range(40)) - {20}
    first_seen = list(dict.fromkeys(dict(t.key.plane)[0] for t in coarse))
    distances = [abs(z - 20) for z in first_seen]
    assert distances == sorted(distances)  # nearest planes first


def test_a_long_slider_range_is_not_prefetched_whole():
    levels = block_pyramid((4000, 1024, 1024), (1, 256, 256), np.uint16, 3, factor=(1, 2, 2))
    v = view((512.0, 512.0), 4.0, canvas=(256, 256), point=(20.0, 0.0, 0.0), displayed=(1, 2))
    planes = {dict(t.key.plane)[0] for t in plan_view(levels, v).prefetch}
    assert planes == {19, 21}
