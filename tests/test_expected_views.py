"""Views the user is expected to jump to (the next ROI) are prefetched into host memory.

``Loader.expect`` adds an expected view's visible tiles to the shown plan's
prefetch tier, after the view's own prefetch; they are read, kept in the host
cache and never uploaded, and a jump to that view then reads nothing.
"""

from __future__ import annotations

from napari_progressive.core.cache import HostCache
from napari_progressive.core.executor import SynchronousExecutor
from napari_progressive.core.loader import Loader
from napari_progressive.core.planner import EXPECTED, PREFETCH, plan_view, with_expected
from napari_progressive.core.view import SliceView
from tests.loading import load_view
from tests.pyramids import InstrumentedSource, encoded_pyramid


def _view(lo: tuple[float, float], side: float) -> SliceView:
    """A 128 px canvas showing ``side`` level-0 pixels from ``lo``."""
    hi = (lo[0] + side, lo[1] + side)
    return SliceView((0, 1), lo, hi, side / 128, (), (128, 128))


#: The view shown, and the one the user is expected to jump to (far from it).
HERE, THERE = _view((0, 0), 128), _view((512, 640), 128)


def _shown_here() -> tuple[InstrumentedSource, Loader]:
    """A loader that has loaded ``HERE``, over an instrumented 1024^2 pyramid."""
    source = InstrumentedSource(encoded_pyramid((1024, 1024), (128, 128), n_levels=4))
    loader = Loader(
        source, host_cache=HostCache(2**30), executor=SynchronousExecutor(), max_in_flight=8
    )
    load_view(loader, HERE)
    return source, loader


def test_an_expected_view_joins_the_prefetch_after_the_views_own():
    source = encoded_pyramid((1024, 1024), (128, 128), n_levels=4)
    plan = plan_view(source.levels, HERE)
    expected = plan_view(source.levels, THERE)

    joined = with_expected(plan, [expected])

    assert joined.tiles == plan.tiles and joined.prefetch[: len(plan.prefetch)] == plan.prefetch
    added = joined.prefetch[len(plan.prefetch) :]
    wanted = {t.key for t in expected.tiles} - plan.keys - plan.prefetch_keys
    assert wanted and {t.key for t in added} == wanted
    assert all(t.tier == PREFETCH and t.priority[0] == EXPECTED for t in added)
    assert {t.key.level for t in added} >= {0}  # the level the expected view needs
    assert with_expected(plan, [plan]) is plan  # nothing new: the same plan


def test_a_jump_to_an_expected_view_reads_nothing():
    source, loader = _shown_here()
    loader.expect([THERE])
    load_view(loader, HERE)  # the shown view keeps its tiles; the expected ones are read
    assert loader.plan is not None and loader.plan.view == HERE
    read_before = len(source.reads)

    load_view(loader, THERE)

    assert len(source.reads) == read_before, "the expected view was read ahead"
    assert loader.plan.target_level == 0


def test_expectations_are_forgotten_and_never_reach_the_gpu():
    source, loader = _shown_here()
    loader.expect([THERE])
    expected = loader.plan.prefetch_keys - plan_view(source.levels, HERE).prefetch_keys
    assert expected and not expected & loader.plan.gpu_keys
    loader.expect(())
    assert not loader.plan.prefetch_keys & expected


def test_without_an_expectation_the_jump_reads():
    source, loader = _shown_here()
    read_before = len(source.reads)

    load_view(loader, THERE)

    assert len(source.reads) > read_before
