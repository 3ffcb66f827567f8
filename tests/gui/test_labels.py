"""Progressive labels: napari's Labels look and controls, nearest sampling, read-only."""

from __future__ import annotations

import numpy as np
import pytest
from napari.layers import Labels
from napari.utils.colormaps import DirectLabelColormap

import napari_progressive as npg
from napari_progressive.integration.labels_layer import ProgressiveLabels
from napari_progressive.sources.lazy_pyramid import lazy_pyramid
from tests import datasets as ds


class CountingSource:
    """Counts chunk reads of a wrapped source."""

    def __init__(self, inner):
        self.inner = inner
        self.reads = 0

    @property
    def name(self):
        return self.inner.name

    @property
    def levels(self):
        return self.inner.levels

    def read_chunk(self, level, index):
        self.reads += 1
        return self.inner.read_chunk(level, index)


@pytest.fixture
def labels():
    """Large label ids (beyond uint16) on a background, 1024 x 768."""
    seg = ds.segmentation((1024, 768), seed=3, dtype=np.uint64)
    return np.where(seg > 0, seg * 1_000_003 + 7, 0).astype(np.uint64)


def _colours(img):
    return {tuple(c) for c in img[..., :3].reshape(-1, 3)}


def test_matches_napari_labels_pixel_for_pixel(viewer, shot, labels):
    """At full resolution the progressive layer draws what napari's own Labels layer draws."""
    reference = viewer.add_labels(labels, name="napari")
    viewer.reset_view()
    viewer.scene.camera.zoom = 1.5
    viewer.scene.camera.center = (400, 300)
    expected = shot(viewer, idle=False)
    reference.visible = False
    layer = npg.add_progressive_labels(viewer, labels)
    viewer.scene.camera.zoom = 1.5
    viewer.scene.camera.center = (400, 300)
    got = shot(viewer)
    assert npg.stats(layer).levels == (0,)
    same = np.all(got[..., :3] == expected[..., :3], axis=-1).mean()
    assert same > 0.99, f"only {same:.3f} of the pixels match napari's Labels layer"
    assert len(_colours(got)) > 10


def test_coarse_levels_never_blend_labels(viewer, shot, labels):
    """Zoomed out, every drawn colour is the colour of a label that exists."""
    layer = npg.add_progressive_labels(viewer, labels)
    viewer.reset_view()
    viewer.scene.camera.zoom = 0.2
    img = shot(viewer)
    source = layer.loader.source
    assert npg.stats(layer).levels == (len(source.levels) - 1,)
    present = np.unique(labels)
    for lv in range(1, len(source.levels)):
        coarse = np.asarray(source.read_chunk(lv, (0, 0)))
        assert np.isin(coarse, present).all(), f"level {lv} holds values no label has"
    rgba = layer.colormap.map(present)
    background = tuple(shot(viewer)[0, 0, :3])
    allowed = {tuple(np.round(c[:3] * 255 * 0.7).astype(int)) for c in rgba}  # opacity 0.7
    drawn = {tuple(int(v) for v in c) for c in _colours(img)} - {background}
    # Each drawn colour is a label colour blended over the black canvas at the layer opacity.
    assert all(
        any(max(abs(a - b) for a, b in zip(c, ok, strict=True)) <= 2 for ok in allowed)
        for c in drawn
    )


def test_picking_selection_and_colormap(viewer, shot, labels):
    source = CountingSource(lazy_pyramid(labels, name="seg", labels=True))
    layer = npg.add_progressive_labels(viewer, source, opacity=1.0)
    assert isinstance(layer, ProgressiveLabels) and not layer.editable
    viewer.reset_view()
    before = shot(viewer)
    reads = source.reads
    ys, xs = np.nonzero(labels)
    value = int(labels[ys[100], xs[100]])
    assert layer.get_value((ys[100], xs[100])) == value  # the label id, not a texture value

    layer.selected_label = value
    layer.show_selected_label = True
    selected = shot(viewer)
    lit = selected[..., :3].sum(-1) > 0
    assert 0 < lit.sum() < (before[..., :3].sum(-1) > 0).sum() / 5

    layer.show_selected_label = False
    layer.colormap = DirectLabelColormap(color_dict={value: "red", None: "blue", 0: "transparent"})
    direct = shot(viewer)
    assert _colours(direct) <= {(0, 0, 0), (255, 0, 0), (0, 0, 255)}
    assert (direct[..., 0] == 255).sum() > 0
    assert source.reads == reads, "a colormap change must re-map cached tiles, not read again"


@pytest.mark.parametrize("colormap", ["cyclic", "direct"])
def test_show_selected_label_shows_that_label_only_as_napari_does(viewer, shot, colormap):
    # 8 x 8 cells of uint32 ids that all share one texture value under napari's
    # default cyclic colormap (and one colour under the direct one)
    step = len(Labels(np.zeros((2, 2), np.uint32)).colormap.colors) - 1
    ids = (100_000 * step + 1 + step * np.arange(64)).astype(np.uint32).reshape(8, 8)
    labels = np.kron(ids, np.ones((96, 96), np.uint32))
    labels[::96] = labels[:, ::96] = 0
    kwargs = {}
    if colormap == "direct":
        kwargs["colormap"] = DirectLabelColormap(color_dict={None: "yellow", 0: "transparent"})
    value = int(ids[3, 4])
    shown = []
    for add in (viewer.add_labels, lambda *a, **k: npg.add_progressive_labels(viewer, *a, **k)):
        layer = add(labels, opacity=1.0, **kwargs)
        layer.selected_label = value
        layer.show_selected_label = True
        viewer.reset_view()
        shown.append(shot(viewer)[..., :3].sum(-1) > 0)
        layer.visible = False
    napari_lit, lit = shown
    assert 0 < napari_lit.mean() < 1 / 32  # napari shows one cell of 64
    assert (lit == napari_lit).mean() > 0.995, "the selected label shows where napari shows it"
    layer.visible = True
    layer.selected_label = int(ids[0, 0])  # another cell: re-mapped in workers
    other = shot(viewer)[..., :3].sum(-1) > 0
    assert other.any() and not (other & lit).any()


def test_ome_zarr_label_colours(viewer, shot, tmp_path):
    image = ds.smooth_image((300, 400))
    seg = ds.segmentation((300, 400), dtype=np.uint32)
    ds.write_omezarr(tmp_path / "c.zarr", image, "0.5", "yx", (64, 64), labels=seg)
    layers = npg.add_progressive_layers(viewer, str(tmp_path / "c.zarr"))
    cells = next(lyr for lyr in layers if isinstance(lyr, ProgressiveLabels))
    assert isinstance(cells.colormap, DirectLabelColormap)
    assert np.allclose(cells.colormap.map(1), [1, 0, 0, 1])  # from image-label colors
    for lyr in layers:
        lyr.visible = lyr is cells
    cells.opacity = 1.0
    img = shot(viewer)
    assert (img[..., 0] == 255).sum() > 0 and (img[..., 2] > 0).sum() > 0
