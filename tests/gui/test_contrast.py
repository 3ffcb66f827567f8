"""Contrast limits and the histogram work as on napari's own Image layer, from tiles in memory."""

import numpy as np
from qtpy.QtWidgets import QPushButton

import napari_progressive as npg
from napari_progressive.core.geometry import block_pyramid
from napari_progressive.integration.layer import DATA_VIEW_INTERVAL_MS
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.pyramids import InstrumentedSource


def _ramp_pyramid(shape=(512, 1024), chunks=(128, 128), n_levels=4) -> ArrayPyramidSource:
    """uint16 values from 1000 (left edge) to 3000 (right edge), block-averaged levels."""
    levels = block_pyramid(shape, chunks, np.uint16, n_levels)
    ramp = np.linspace(1000, 3000, shape[1])
    arrays = []
    for lv in levels:
        f = shape[1] // lv.shape[1]
        cols = ramp.reshape(-1, f).mean(axis=1)
        arrays.append(np.broadcast_to(cols, lv.shape).astype(np.uint16).copy())
    return ArrayPyramidSource(arrays, name="ramp", chunks=chunks)


def _ramp_in_view(layer) -> tuple[float, float]:
    """Ramp values at the left and right edges of the view."""
    view = layer.loader.plan.view
    cols = np.clip([view.lo[1], view.hi[1]], 0, 1023)
    return tuple(1000 + 2000 * cols / 1023)


def _once_button(viewer, layer) -> QPushButton:
    controls = viewer.window._qt_viewer.controls.widgets[layer]
    (button,) = [b for b in controls.findChildren(QPushButton) if b.text() == "once"]
    return button


def test_automatic_limits_come_from_the_coarsest_level(viewer, shot):
    layer = npg.add_progressive_image(viewer, _ramp_pyramid())
    shot(viewer)
    lo, hi = layer.contrast_limits
    assert 1000 <= lo < 1100 and 2900 < hi <= 3000
    assert layer.contrast_limits_range == [0, 65535]  # an integer dtype's range, as in napari


def test_once_and_continuous_use_the_values_shown(viewer, shot, qtbot):
    src = InstrumentedSource(_ramp_pyramid())
    layer = npg.add_progressive_image(viewer, src)
    viewer.scene.camera.center = (256, 128)  # the low-valued left quarter, at full resolution
    viewer.scene.camera.zoom = 4.0
    shot(viewer)
    _once_button(viewer, layer).click()
    expected = _ramp_in_view(layer)
    assert expected[1] - expected[0] < 500  # the view shows a narrow band of the ramp
    np.testing.assert_allclose(layer.contrast_limits, expected, atol=5)

    layer.auto_contrast = True  # "continuous": follows the view
    viewer.scene.camera.center = (256, 900)
    shot(viewer)
    qtbot.wait(2 * DATA_VIEW_INTERVAL_MS)  # the update follows the tiles, throttled
    np.testing.assert_allclose(layer.contrast_limits, _ramp_in_view(layer), atol=5)
    assert src.main_thread_reads() == []


def test_the_histogram_counts_the_values_shown(viewer, shot):
    layer = npg.add_progressive_image(viewer, _ramp_pyramid())
    shot(viewer)
    histogram = layer.histogram
    histogram.enabled = True
    for mode in ("canvas", "full"):
        histogram.mode = mode
        counts, edges = histogram.counts, histogram._bin_edges
        filled = np.flatnonzero(counts)
        assert counts.sum() > 0, mode
        width = edges[1] - edges[0]  # bins span the layer's contrast range, as in napari
        assert edges[filled[0]] >= 1000 - width and edges[filled[-1] + 1] <= 3000 + width


def test_limits_set_by_the_user_before_tiles_land_are_kept(viewer, shot):
    slow = InstrumentedSource(_ramp_pyramid(), delay=0.2)
    layer = npg.add_progressive_image(viewer, slow)
    layer.contrast_limits = (0, 4000)
    shot(viewer)
    assert layer.contrast_limits == [0, 4000]
