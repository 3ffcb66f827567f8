"""Real formats through napari: File > Open (the npe2 reader), ``view`` and ``info``."""

from __future__ import annotations

import numpy as np
import pytest
from napari.layers import Shapes
from qtpy.QtCore import Qt

import napari_progressive as npg
from napari_progressive.cli import main
from napari_progressive.integration.labels_layer import ProgressiveLabels
from napari_progressive.integration.layer import ProgressiveImage
from napari_progressive.integration.plugin import get_reader
from tests import datasets as ds


@pytest.fixture
def omezarr(tmp_path):
    path = tmp_path / "cells.zarr"
    image = ds.smooth_image((2, 300, 400))
    labels = ds.segmentation((300, 400), dtype=np.uint32)
    ds.write_omezarr(path, image, "0.4", "cyx", (1, 64, 64), labels=labels, rois=True)
    return path


def test_file_open_gives_channels_labels_and_rois(viewer, shot, omezarr):
    assert get_reader(str(omezarr)) is not None
    layers = viewer.open(str(omezarr), plugin="napari-progressive")
    images = [lyr for lyr in layers if isinstance(lyr, ProgressiveImage)]
    assert [lyr.name for lyr in images] == ["image [ch0]", "image [ch1]"]
    red, green = images
    assert red.contrast_limits == [0, 40000] and green.contrast_limits == [100, 40000]
    assert np.allclose(red.colormap.colors[-1], [1, 0, 0, 1])
    assert green.blending == "additive"
    (cells,) = [lyr for lyr in layers if isinstance(lyr, ProgressiveLabels)]
    assert cells.name == "cells" and cells.loader.levels[0].dtype == np.uint32
    rois = [lyr for lyr in layers if isinstance(lyr, Shapes)]
    assert len(rois) == 1 and len(rois[0].data) == 2
    img = shot(viewer)
    assert img[..., 0].std() > 10 and img[..., 1].std() > 10


def test_reader_declines_what_is_not_ours(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path)) is None


def test_reader_reports_broken_metadata(viewer, omezarr):
    (omezarr / ".zattrs").write_text('{"multiscales": [{"axes": []}]}')
    with pytest.raises(Exception, match="multiscales"):
        viewer.open(str(omezarr), plugin="napari-progressive")


def test_precomputed_segmentation_renders(viewer, shot, tmp_path):
    seg = ds.segmentation((96, 80, 8))[..., None]
    ds.write_precomputed_codec(
        tmp_path / "seg", [seg, seg[::2, ::2]], "crackle", True, "segmentation"
    )
    layers = npg.add_progressive_layers(viewer, f"precomputed://file://{tmp_path}/seg")
    assert len(layers) == 1 and layers[0].loader.levels[0].shape == (8, 80, 96)
    img = shot(viewer)
    assert len(np.unique(img[..., :3].reshape(-1, 3), axis=0)) > 10


@pytest.mark.usefixtures("make_napari_viewer")
def test_info_and_view_commands(omezarr, tmp_path, capsys):
    assert main(["info", str(omezarr)]) == 0
    out = capsys.readouterr().out
    assert "image layer 'image [ch0]'" in out and "level 0: shape (300, 400)" in out
    assert "ROI table 'FOV_ROI_table': 2 ROIs" in out
    assert "codecs zstd" in out  # the stored compressor, never the driver's name
    shot_file = tmp_path / "view.png"
    assert main(["view", str(omezarr), "--screenshot", str(shot_file), "--size", "400", "300"]) == 0
    import imageio.v3 as iio

    assert iio.imread(shot_file)[..., :3].std() > 10
    assert main(["info", str(tmp_path / "nothing.zarr")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_reader_claims_no_plain_image_files(tmp_path):
    from npe2 import PluginManager

    pm = PluginManager.instance()
    for name in ("photo.png", "stack.tif", "scan.ome.tiff"):
        readers = {r.plugin_name for r in pm.iter_compatible_readers([str(tmp_path / name)])}
        assert "napari-progressive" not in readers, name
    readers = {r.plugin_name for r in pm.iter_compatible_readers([str(tmp_path / "a.zarr")])}
    assert "napari-progressive" in readers
    plain = tmp_path / "volume"  # a zarr folder without the suffix
    plain.mkdir()
    (plain / "zarr.json").write_text("{}")
    assert get_reader(str(plain)) is not None


def test_a_hanging_server_opens_in_the_background(viewer, shot, tmp_path, qtbot):
    import threading

    from napari.utils.progress import progress

    ds.write_omezarr(tmp_path / "img.zarr", ds.smooth_image((200, 300)), "0.4", "yx", (64, 64))
    gate = threading.Event()
    with ds.StaticServer(tmp_path, gate=gate) as base:
        layers = viewer.open(f"{base}/img.zarr", plugin="napari-progressive")
        assert layers == [] and len(viewer.layers) == 0  # returned at once, the UI is free
        opening = [p for p in progress._all_instances if "img.zarr" in (p.desc or "")]
        assert len(opening) == 1, "an 'Opening ...' entry with a Cancel button is shown"
        qtbot.wait(200)
        gate.set()
        qtbot.waitUntil(lambda: len(viewer.layers) == 1, timeout=20_000)
        assert isinstance(viewer.layers[0], ProgressiveImage)
        assert shot(viewer)[..., :3].std() > 5
    assert not [p for p in progress._all_instances if "img.zarr" in (p.desc or "")]


def test_a_cancelled_opening_adds_nothing(viewer, tmp_path, qtbot):
    import threading

    from napari_progressive.integration.opening import open_in_background

    ds.write_omezarr(tmp_path / "img.zarr", ds.smooth_image((200, 300)), "0.4", "yx", (64, 64))
    gate = threading.Event()
    with ds.StaticServer(tmp_path, gate=gate) as base:
        job = open_in_background(viewer, f"{base}/img.zarr")
        job.progress.cancel()
        gate.set()
        qtbot.waitUntil(job.done.is_set, timeout=20_000)
    assert job.cancelled and len(viewer.layers) == 0


@pytest.mark.usefixtures("make_napari_viewer")
def test_view_shows_a_volume_in_3d_from_the_command_line(tmp_path):
    import imageio.v3 as iio

    path = tmp_path / "volume.zarr"
    volume = np.full((48, 64, 64), 30000, np.uint16)
    volume[0, 0, 0] = 0  # bright everywhere under the automatic contrast limits
    ds.write_omezarr(path, volume, "0.4", "zyx", (16, 32, 32))
    shots = {}
    for name, extra in (("2d", []), ("3d", ["--3d", "--angles", "10", "35", "55"])):
        out = tmp_path / f"{name}.png"
        args = ["view", str(path), "--screenshot", str(out), "--size", "300", "240"]
        assert main([*args, *extra]) == 0
        shots[name] = iio.imread(out)[..., :3].astype(int)

    def row_widths(img):
        shown = img.max(axis=-1) > 0
        widths = shown.sum(axis=1)
        return widths[widths > 0] / widths.max()

    # the plane is a rectangle (rows of one width), the rotated cube a hexagon
    assert row_widths(shots["2d"]).std() < 0.05
    assert row_widths(shots["3d"]).std() > 0.1


def test_the_widget_moves_the_camera_to_a_chosen_roi(viewer, shot, omezarr):
    from napari_progressive.integration.roi_navigator import RoiNavigator
    from napari_progressive.integration.widget import ProgressiveWidget

    layers = viewer.open(str(omezarr), plugin="napari-progressive")
    widget = ProgressiveWidget(viewer)
    (navigator,) = widget.findChildren(RoiNavigator)
    # a prompt, "Whole image" and two ROIs
    assert navigator.isVisibleTo(widget) and navigator.count() == 4
    rois = next(lyr for lyr in layers if isinstance(lyr, Shapes))
    second = np.asarray(rois.data[1])
    lo, hi = second.min(axis=0), second.max(axis=0)
    navigator.activated.emit(3)
    centre = np.asarray(viewer.scene.camera.center)[-2:]
    np.testing.assert_allclose(centre, (lo + hi) / 2)
    height, width = viewer.canvas.size
    zoom = viewer.scene.camera.zoom
    assert min(height / zoom, width / zoom) >= 0.99 * min(hi - lo)  # the ROI fits, snugly
    assert zoom * max((hi - lo) / np.array([height, width])) <= 1.0 + 1e-9
    images = [lyr for lyr in layers if isinstance(lyr, ProgressiveImage)]
    shot(viewer)
    assert all(img.loader.plan is not None for img in images)  # planned for the ROI's view


def test_the_next_roi_in_the_list_is_read_ahead_and_its_view_predicted(
    viewer, shot, qtbot, tmp_path
):
    from napari_progressive.core.planner import EXPECTED, plan_view
    from napari_progressive.integration.roi_navigator import RoiNavigator, roi_view
    from napari_progressive.integration.widget import ProgressiveWidget

    path = tmp_path / "fovs.zarr"
    ds.write_omezarr(path, ds.smooth_image((2, 300, 400)), "0.4", "cyx", (1, 64, 64))
    ds.write_roi_table(path, "FOV_ROI_table", [(0, 0, 0, 80, 60, 1), (300, 220, 0, 80, 60, 1)])
    layers = viewer.open(str(path), plugin="napari-progressive")
    images = [lyr for lyr in layers if isinstance(lyr, ProgressiveImage)]
    widget = ProgressiveWidget(viewer)
    (navigator,) = widget.findChildren(RoiNavigator)
    viewer.scene.camera.zoom *= 0.2  # the whole image, coarse: nothing of level 0 is needed yet
    shot(viewer)
    predicted = [roi_view(img, viewer, navigator.boxes[1]) for img in images]
    navigator.go(0)
    shot(viewer)
    for img, view in zip(images, predicted, strict=True):
        ahead = [t for t in img.loader.plan.prefetch if t.priority[0] == EXPECTED]
        assert any(t.key.level == 0 for t in ahead)
        assert {t.key for t in ahead} == {
            t.key for t in plan_view(img.loader.levels, view).tiles if t.tier == 0
        } - img.loader.plan.keys - {t.key for t in img.loader.plan.prefetch if t not in ahead}
    qtbot.waitUntil(lambda: all(img.loader.scheduler.idle for img in images), timeout=30000)
    fetched = [img.loader.ledger.fetched for img in images]

    qtbot.keyClick(navigator, Qt.Key.Key_Down)  # the next ROI: as predicted, and in memory
    assert navigator.currentIndex() == 3
    shot(viewer)

    for img, view, before in zip(images, predicted, fetched, strict=True):
        shown = img.loader.plan
        np.testing.assert_allclose([shown.view.lo, shown.view.hi], [view.lo, view.hi], atol=1e-3)
        assert shown.keys == plan_view(img.loader.levels, view).keys
        assert shown.target_level == 0
        assert img.loader.ledger.fetched == before, "the next ROI was read ahead"
    navigator.go(None)  # the whole image: nothing is expected any more
    shot(viewer)
    assert all(t.priority[0] != EXPECTED for img in images for t in img.loader.plan.prefetch)


def test_in_3d_a_chosen_roi_clips_the_layers_to_its_box_and_whole_image_undoes_it(
    viewer, shot, tmp_path
):
    from napari_progressive.integration.roi_navigator import RoiNavigator
    from napari_progressive.integration.widget import ProgressiveWidget

    path = tmp_path / "volume.zarr"
    ds.write_omezarr(path, ds.smooth_image((64, 128, 160)), "0.4", "zyx", (16, 64, 64))
    ds.write_roi_table(path, "FOV_ROI_table", [(20, 30, 8, 60, 50, 24), (0, 0, 0, 160, 128, 64)])
    layers = viewer.open(str(path), plugin="napari-progressive")
    image = next(lyr for lyr in layers if isinstance(lyr, ProgressiveImage))
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (10, 35, 55)
    widget = ProgressiveWidget(viewer)
    (navigator,) = widget.findChildren(RoiNavigator)
    own = {"position": (0.0, 0.0, 10.0), "normal": (0.0, 0.0, 1.0), "enabled": True}
    image.experimental_clipping_planes = [own]  # the user's own plane
    navigator.activated.emit(2)  # FOV_1: z 8-32, y 30-80, x 20-80
    # the ROI's pixels are 8..31, 30..79 and 20..79: its edges lie half a pixel outside
    lo, hi = np.array([7.5, 29.5, 19.5]), np.array([31.5, 79.5, 79.5])
    (rois,) = [lyr for lyr in layers if isinstance(lyr, Shapes)]
    drawn = np.asarray(rois.data[0])
    np.testing.assert_allclose([drawn.min(axis=0), drawn.max(axis=0)], [lo[1:], hi[1:]])
    np.testing.assert_allclose(viewer.scene.camera.center, (lo + hi) / 2)
    planes = image.experimental_clipping_planes
    assert len(planes) == 6 and all(p.enabled for p in planes)
    positions = sorted(tuple(p.position) for p in planes)
    assert {tuple(lo), tuple(hi)} == {tuple(p) for p in positions}
    img = shot(viewer)
    plan = image.loader.volume_plan
    assert plan is not None and plan.bricks
    for brick in plan.bricks:  # nothing outside the box is planned (touching it may be)
        assert np.all(np.asarray(brick.lo) <= hi) and np.all(np.asarray(brick.hi) >= lo)
    assert img[..., :3].max() > 0
    navigator.activated.emit(1)  # whole image: the user's plane again, the whole volume in view
    (back,) = image.experimental_clipping_planes
    assert tuple(back.position) == own["position"] and tuple(back.normal) == own["normal"]
    image.experimental_clipping_planes = []
    shot(viewer)
    assert any(np.any(np.asarray(b.hi) > hi + 16) for b in image.loader.volume_plan.bricks)
    navigator.activated.emit(2)
    viewer.dims.ndisplay = 2
    navigator.activated.emit(3)  # an ROI chosen in 2D leaves no clipping from 3D behind
    assert len(image.experimental_clipping_planes) == 0


def test_a_2d_image_on_a_3d_canvas_goes_to_an_roi_without_z(viewer, shot, omezarr):
    from napari_progressive.integration.roi_navigator import RoiNavigator
    from napari_progressive.integration.widget import ProgressiveWidget

    layers = viewer.open(str(omezarr), plugin="napari-progressive")
    viewer.dims.ndisplay = 3  # 2D data: nothing to clip, the rectangle fills the view
    widget = ProgressiveWidget(viewer)
    (navigator,) = widget.findChildren(RoiNavigator)
    navigator.activated.emit(3)
    images = [lyr for lyr in layers if isinstance(lyr, ProgressiveImage)]
    assert all(len(img.experimental_clipping_planes) == 0 for img in images)
    assert shot(viewer)[..., :3].max() > 0
