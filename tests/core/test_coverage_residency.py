import numpy as np

from napari_progressive.core.coverage import draw_list
from napari_progressive.core.geometry import block_pyramid
from napari_progressive.core.planner import plan_view
from napari_progressive.core.view import ViewState

LEVELS = block_pyramid((4096, 4096), (256, 256), np.uint8, 5)


def _view():
    return ViewState((0, 1), (1000.0, 1000.0), (1400.0, 1500.0), 1.0, (0.0, 0.0), (400, 500))


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
