import numpy as np

from napari_progressive.core.coverage import draw_list
from napari_progressive.core.geometry import block_pyramid
from napari_progressive.core.planner import plan_view
from napari_progressive.core.view import SliceView

LEVELS = block_pyramid((4096, 4096), (256, 256), np.uint8, 5)


def _view():
    return SliceView((0, 1), (1000.0, 1000.0), (1400.0, 1500.0), 1.0, (0.0, 0.0), (400, 500))


def test_coarse_tiles_hidden_under_fine_ones_are_not_drawn():
    plan = plan_view(LEVELS, _view())
    everything = plan.keys
    drawn = draw_list(plan, everything)
    assert {t.key.level for t in drawn} == {0}


def test_coarse_tiles_are_drawn_first_where_fine_ones_are_missing():
    plan = plan_view(LEVELS, _view())
    missing = next(t.key for t in plan.tiles if t.key.level == 0)
    drawn = draw_list(plan, plan.keys - {missing})
    levels = [t.key.level for t in drawn]
    assert levels == sorted(levels, reverse=True)
    assert 1 in levels and missing not in {t.key for t in drawn}


def test_only_resident_tiles_are_drawn():
    plan = plan_view(LEVELS, _view())
    coarsest = {t.key for t in plan.tiles if t.key.level == 4}
    drawn = draw_list(plan, coarsest)
    assert {t.key for t in drawn} <= coarsest and drawn


def test_an_underlay_shows_beneath_until_the_plan_covers_it():
    stack = block_pyramid((8, 4096, 4096), (1, 256, 256), np.uint8, 3, factor=(1, 2, 2))

    def at(z):
        return SliceView((1, 2), (1000.0, 1000.0), (1400.0, 1500.0), 1.0, (z, 0.0, 0.0), (400, 500))

    underlay = [t for t in plan_view(stack, at(0.0)).tiles if t.key.level == 0]
    plan = plan_view(stack, at(1.0))
    fine = {t.key for t in plan.tiles if t.key.level == 0}
    underlay_keys = {t.key for t in underlay}
    resident = underlay_keys | fine
    missing = next(iter(fine))
    partial = draw_list(plan, resident - {missing}, underlay)
    drawn_under = [t for t in partial if t.key in underlay_keys]
    assert drawn_under and partial[: len(drawn_under)] == drawn_under  # beneath everything
    assert len(drawn_under) < len(underlay)  # only where the new plane has a hole
    assert not [t for t in draw_list(plan, resident, underlay) if t.key in underlay_keys]
