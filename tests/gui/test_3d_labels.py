"""Progressive labels in 3D: the brick volume with napari's label colours, sampled nearest.

Each test renders the progressive labels layer and napari's own Labels layer
over the same data, one at a time, and compares the pixels; a coarse level
shown for withheld fine bricks must show only colours of labels that exist.
"""

import numpy as np
import pytest

import napari_progressive as npg

Z, Y, X = np.mgrid[0:64, 0:96, 0:96]
LABELS = np.zeros((64, 96, 96), np.uint32)
LABELS[((X - 30) ** 2 + (Y - 40) ** 2 + (Z - 20) ** 2) < 200] = 3
LABELS[((X - 64) ** 2 + (Y - 50) ** 2 + (Z - 40) ** 2) < 300] = 7
LABELS[10:20, 60:90, 10:30] = 12
LEVELS = [LABELS, LABELS[::2, ::2, ::2].copy()]


def _shots(viewer, shot, first, second):
    out = []
    for shown, hidden in ((first, second), (second, first)):
        hidden.visible, shown.visible = False, True
        out.append(shot(viewer)[..., :3].astype(int))
    return out


def _to_3d(viewer):
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (10, 35, 55)


def _chromaticities(layer, labels):
    """Each label's colour, scaled to its brightest channel."""
    rgb = np.array([layer.colormap.map(np.array([v]))[0][:3] for v in labels]) * 255
    return rgb / rgb.max(axis=1, keepdims=True)


def _only_label_colours(image, layer, labels, tol=0.08):
    """Whether every drawn pixel is a shade of one of ``labels``' colours."""
    drawn = image[image.max(axis=-1) > 20].astype(float)
    shades = drawn / drawn.max(axis=1, keepdims=True)
    known = _chromaticities(layer, labels)
    nearest = np.abs(shades[:, None, :] - known[None]).max(axis=-1).min(axis=1)
    return drawn.size > 0 and (nearest < tol).mean() > 0.99


@pytest.mark.parametrize("rendering", ["iso_categorical", "translucent"])
def test_labels_render_in_3d_as_naparis_labels_layer(viewer, shot, rendering):
    ref = viewer.add_labels(LABELS, name="napari")
    prog = npg.add_progressive_labels(viewer, LEVELS, name="progressive")
    _to_3d(viewer)
    for layer in (ref, prog):
        layer.rendering = rendering
    got, want = _shots(viewer, shot, prog, ref)
    covered, expected = got.max(axis=-1) > 0, want.max(axis=-1) > 0
    assert expected.mean() > 0.05
    assert (covered == expected).mean() > 0.995
    assert np.abs(got - want).mean() < 4.0  # lit like napari's, not bit for bit
    assert _only_label_colours(got, prog, [3, 7, 12])


def test_a_coarse_label_level_never_blends_labels(viewer, shot):
    prog = npg.add_progressive_labels(viewer, LEVELS)
    prog.loader.lod_bias = 4  # plan the coarse level only
    _to_3d(viewer)
    prog.rendering = "translucent"
    got = shot(viewer)[..., :3].astype(int)
    assert npg.stats(prog).levels == (1,)
    assert (got.max(axis=-1) > 20).mean() > 0.05
    assert _only_label_colours(got, prog, [3, 7, 12])


def test_show_selected_label_shows_only_that_label_in_3d(viewer, shot):
    ref = viewer.add_labels(LABELS, name="napari")
    prog = npg.add_progressive_labels(viewer, LEVELS, name="progressive")
    _to_3d(viewer)
    for layer in (ref, prog):
        layer.selected_label = 7
        layer.show_selected_label = True
    got, want = _shots(viewer, shot, prog, ref)
    assert _only_label_colours(got, prog, [7])
    assert ((got.max(axis=-1) > 0) == (want.max(axis=-1) > 0)).mean() > 0.995


def test_a_2d_labels_layer_on_a_3d_canvas_shows_naparis_colours(viewer, shot):
    cells = (Y[0] // 12 * 8 + X[0] // 12 + 1).astype(np.uint32)  # 64 labels, no background
    plane = [cells, cells[::2, ::2].copy()]
    ref = viewer.add_labels(plane[0], name="napari")
    prog = npg.add_progressive_labels(viewer, plane, name="progressive")
    viewer.add_image(LABELS.astype(np.float32), visible=False)  # a 3D layer: a 3D canvas
    _to_3d(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    # napari's silhouette and label colours (napari's own 2D labels on a tilted
    # 3D canvas come out darker than in its 2D view; the tiles keep the 2D colours)
    covered, expected = got.max(axis=-1) > 0, want.max(axis=-1) > 0
    assert expected.mean() > 0.05
    assert (covered != expected).mean() < 0.01
    assert _only_label_colours(got, prog, np.unique(cells))
    ref.visible, prog.visible = False, True
    shot(viewer)
    assert {t.key.level for t in prog.loader.drawn()} == {0}
