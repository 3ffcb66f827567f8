"""Eight layers (images and labels, 2D and time series) browse together within the budgets."""

from __future__ import annotations

import numpy as np
import pytest

import napari_progressive as npg
from napari_progressive.core.cache import HostCache
from napari_progressive.integration.widget import budget_table
from napari_progressive.sources.mandelbrot import MandelbrotSource
from tests import datasets as ds
from tests.pyramids import InstrumentedSource, encoded_pyramid

GPU_BUDGET = 40 * 2**20
HOST_BUDGET = 48 * 2**20


@pytest.fixture
def gpu_budget(fresh_shared):
    npg.set_gpu_budget(GPU_BUDGET)
    return fresh_shared.shared_gpu_budget()


def _eight_layers(viewer, host):
    pyramid = InstrumentedSource(encoded_pyramid((2048, 2048), (128, 128), 5))
    rng = np.random.default_rng(0)
    series = rng.integers(0, 255, (4, 1024, 1024), dtype=np.uint8)
    seg = ds.segmentation((1024, 768), seed=3, dtype=np.uint32)
    seg_series = np.stack([ds.segmentation((512, 512), seed=s, dtype=np.uint16) for s in range(4)])
    common = {"host_cache": host}
    return (
        pyramid,
        [
            npg.add_progressive_image(viewer, pyramid, name="pyramid", **common),
            npg.add_progressive_image(  # the same data again: its fetches are shared
                viewer,
                pyramid,
                name="pyramid again",
                colormap="magenta",
                blending="additive",
                **common,
            ),
            npg.add_progressive_image(
                viewer,
                MandelbrotSource(levels=5, tile=128),
                name="mandelbrot",
                opacity=0.5,
                **common,
            ),
            npg.add_progressive_image(viewer, series, name="time series", opacity=0.5, **common),
            npg.add_progressive_image(
                viewer, encoded_pyramid((1500, 900), (256, 256), 3), name="small", **common
            ),
            npg.add_progressive_labels(viewer, seg, name="labels", **common),
            npg.add_progressive_labels(viewer, seg_series, name="labels series", **common),
            npg.add_progressive_labels(
                viewer, seg[:512, :512].copy(), name="labels crop", **common
            ),
        ],
    )


def _check_budgets(layers, budget, host):
    stats = {lyr.name: npg.stats(lyr) for lyr in layers}
    assert sum(s.gpu_bytes for s in stats.values()) <= budget.budget_bytes
    assert all(s.gpu_budget_bytes == GPU_BUDGET for s in stats.values())
    assert host.nbytes <= host.budget_bytes
    # the two layers over one source share their cached tiles
    assert stats["pyramid"].host_bytes == stats["pyramid again"].host_bytes
    assert sum(s.host_bytes for n, s in stats.items() if n != "pyramid again") == host.nbytes
    for name, s in stats.items():
        assert s.available == s.needed, f"{name} does not show all it needs: {s}"
    return stats


def test_eight_layers_browse_within_one_gpu_and_one_host_budget(viewer, shot, gpu_budget):
    host = HostCache(HOST_BUDGET)
    pyramid, layers = _eight_layers(viewer, host)
    assert viewer.dims.ndim == 3
    moves = [((1024, 1024), 0.4), ((300, 300), 2.0), ((900, 500), 1.0), ((1700, 1700), 3.0)]
    for step, (centre, zoom) in enumerate(moves):
        viewer.dims.current_step = (step % 4, *viewer.dims.current_step[1:])
        viewer.scene.camera.center = centre
        viewer.scene.camera.zoom = zoom
        shot(viewer)
        stats = _check_budgets(layers, gpu_budget, host)
        assert all(s.host_share_bytes >= host.budget_bytes // 7 for s in stats.values())
    # the two layers over one source read each chunk once between them
    keys = [(lv, idx) for lv, idx, _ in pyramid.reads]
    assert len(keys) == len(set(keys))
    assert stats["pyramid"].deduplicated > 0
    table = budget_table(layers)  # what the dock widget shows
    assert all(lyr.name in table for lyr in layers)
    assert f"of {GPU_BUDGET / 2**20:.1f} used" in table


def test_a_layer_in_need_takes_texture_pages_from_hidden_layers(viewer, shot, gpu_budget):
    host = HostCache(HOST_BUDGET)
    _, others = _eight_layers(viewer, host)
    big = npg.add_progressive_image(  # 512 px tiles: 16 per texture page
        viewer, encoded_pyramid((4096, 4096), (512, 512), 4), name="big", host_cache=host
    )
    viewer.scene.camera.center = (600, 600)
    viewer.scene.camera.zoom = 2.0
    shot(viewer)
    before = npg.stats(big).gpu_bytes
    used = gpu_budget.used_bytes
    gpu_budget.budget_bytes = used  # full: growing means taking pages from others
    for lyr in others:
        lyr.visible = False
    viewer.scene.camera.center = (2048, 2048)
    viewer.scene.camera.zoom = 0.6  # level 0, more tiles than one page holds
    shot(viewer)
    s = npg.stats(big)
    assert s.target_level == 0
    assert s.available == s.needed > big.loader.stats().gpu_slots // 2
    assert s.gpu_bytes > before
    assert gpu_budget.used_bytes <= used
    assert sum(npg.stats(lyr).gpu_bytes for lyr in others) < used - before


def test_volume_layers_plan_within_equal_shares_of_the_gpu_budget_and_complete(
    viewer, shot, fresh_shared
):
    npg.set_gpu_budget(24 * 2**20)  # the three whole plans (about 23 MiB each) do not fit
    rng = np.random.default_rng(4)
    volume = rng.integers(1, 255, (256, 256, 256), dtype=np.uint8)
    levels = [volume, volume[::2, ::2, ::2].copy(), volume[::4, ::4, ::4].copy()]
    layers = [
        npg.add_progressive_image(viewer, levels, blending="additive", colormap=c)
        for c in ("red", "green", "blue")
    ]
    viewer.dims.ndisplay = 3
    viewer.scene.camera.zoom *= 2
    shot(viewer)
    budget = fresh_shared.shared_gpu_budget()
    assert budget.used_bytes <= budget.budget_bytes
    held = []
    for layer in layers:
        bricks = layer.loader.brick_stats()
        planned = sum(level.planned for level in bricks.levels)
        # each planned what its share holds, so the whole plan is on the GPU
        assert planned > 0 and sum(level.resident for level in bricks.levels) == planned
        held.append(npg.stats(layer).gpu_bytes)
    assert len(set(held)) == 1, f"unequal shares: {held}"
