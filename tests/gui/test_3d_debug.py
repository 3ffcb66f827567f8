"""In 3D, failed bricks are hatched red, the overlay outlines bricks and the widget lists them.

The volume of ``test_3d`` (64 x 80 x 96, so 2 x 3 x 3 bricks of 32 at level 0)
is seen along its rows axis (napari's default 3D camera): depth runs down the
screen and columns across, and a brick's region on screen is a rectangle
found from the volume's own rectangle.
"""

import numpy as np

import napari_progressive as npg
from napari_progressive.integration.widget import ProgressiveWidget
from napari_progressive.render.palette import level_colour
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.gui.test_3d import LEVELS, LIMITS, _assert_same, _shots
from tests.pyramids import InstrumentedSource

DEPTH, COLUMNS = LEVELS[0].shape[0], LEVELS[0].shape[2]


def _along_rows(viewer):
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (0, 0, 90)
    viewer.scene.camera.zoom = 4.0  # the whole volume on the canvas


def _frame(image):
    """The volume's rectangle on screen: top, left and pixels per voxel down and across."""
    rows, cols = np.nonzero(image.max(axis=-1) > 10)
    top, left = rows.min(), cols.min()
    return top, left, (rows.max() + 1 - top) / DEPTH, (cols.max() + 1 - left) / COLUMNS


def _red(image):
    return image[..., 0] - image[..., 1:].max(axis=-1) > 120


def test_a_failed_brick_is_hatched_red_over_its_region_and_the_rest_renders(viewer, shot):
    source = InstrumentedSource(ArrayPyramidSource(LEVELS, chunks=(16,) * 3), fail=[(0, (0, 0, 0))])
    prog = npg.add_progressive_image(viewer, source, contrast_limits=LIMITS)
    ref = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS)
    _along_rows(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    assert {k.brick for k in prog.loader.failures() if k.level == 0} == {(0, 0, 0)}
    top, left, down, across = _frame(want)
    # the brick of depth and columns 0..31 (and rows 0..31, hidden along the rays)
    inside = np.zeros(got.shape[:2], dtype=bool)
    inside[top : round(top + 32 * down), left : round(left + 32 * across)] = True
    margin = np.zeros_like(inside)
    margin[top : round(top + 32 * down) + 3, left : round(left + 32 * across) + 3] = True
    red = _red(got)
    assert 0.3 < red[inside].mean() < 0.7, f"{red[inside].mean():.0%} of the brick is hatched"
    assert not red[~margin].any()
    assert not _red(want).any()
    _assert_same(got[~margin], want[~margin], tol=2, share=0.002)
    between = inside & ~red  # between the stripes: the coarser level, as bright as the data
    assert got[between].mean() > 0.8 * want[inside].mean()


def test_the_overlay_outlines_bricks_in_their_level_colour(viewer, shot):
    prog = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS)
    _along_rows(viewer)
    plain = shot(viewer)[..., :3].astype(int)
    prog.debug_overlay = True
    tinted = shot(viewer)[..., :3].astype(int)
    drawn = {b.key.level for b in prog.loader.drawn()}
    colours = [np.array(level_colour(lv)) * 255 for lv in drawn]
    outline = np.zeros(tinted.shape[:2], dtype=bool)
    for colour in colours:
        outline |= np.all(np.abs(tinted - colour.round()) <= 2, axis=-1)
    assert not any(np.all(np.abs(plain - c.round()) <= 2, axis=-1).any() for c in colours)
    top, left, down, across = _frame(plain)
    height = round(DEPTH * down)
    # the brick edges between columns 31 | 32 and 63 | 64 are lines down the volume
    for edge in (32, 64):
        x = round(left + edge * across)
        near = outline[top : top + height, x - 3 : x + 3].any(axis=1)
        assert near.mean() > 0.6, f"{near.mean():.0%} of the edge at column {edge} is outlined"
    # and within a brick's column span there is no outline but across the depth edge
    for middle in (16, 48, 80):
        x = round(left + middle * across)
        assert outline[top : top + height, x].mean() < 0.1
    # the outline is what differs beyond the tint: off again, the render is as before
    assert (np.abs(tinted - plain).max(axis=-1)[outline] > 30).all()
    prog.debug_overlay = False
    assert np.array_equal(shot(viewer)[..., :3].astype(int), plain)


def test_the_widget_lists_bricks_per_level_in_3d(viewer, shot, qtbot):
    source = InstrumentedSource(ArrayPyramidSource(LEVELS, chunks=(16,) * 3), fail=[(0, (0, 0, 0))])
    layer = npg.add_progressive_image(viewer, source, contrast_limits=LIMITS)
    widget = ProgressiveWidget(viewer)
    qtbot.addWidget(widget)
    _along_rows(viewer)
    shot(viewer)
    stats = layer.loader.brick_stats()
    assert stats is not None and stats.levels
    lines = []
    for lv in stats.levels:
        assert lv.planned > 0 and lv.resident <= lv.planned
        lines.append(f"level {lv.level}: {lv.resident}/{lv.planned}")
    assert next(lv for lv in stats.levels if lv.level == 0).failed == 1
    widget._refresh()
    text = widget.stats_label.text()
    for line in lines:
        assert line in text, text
    assert "1 failed" in text and f"of {stats.capacity} slots" in text
    viewer.dims.ndisplay = 2
    shot(viewer)
    widget._refresh()
    assert "tiles:" in widget.stats_label.text() and layer.loader.brick_stats() is None
    widget.close()
