"""The Mandelbulb in napari: the sample and the demo open in 3D; both demos switch 2D <-> 3D."""

import imageio.v3 as iio
import numpy as np
import pytest

import napari_progressive as npg
from napari_progressive.cli import main
from napari_progressive.integration.layer import ProgressiveImage


def assert_shows_the_bulb(img):
    """A bright middle (the bulb) on black corners (the space around it)."""
    value = img[..., :3].max(axis=-1).astype(int)
    h, w = value.shape
    middle = value[2 * h // 5 : 3 * h // 5, 2 * w // 5 : 3 * w // 5]
    corners = [value[: h // 10, : w // 10], value[: h // 10, -w // 10 :]]
    corners += [value[-h // 10 :, : w // 10], value[-h // 10 :, -w // 10 :]]
    assert (middle > 40).mean() > 0.9, "the middle is not the bulb"
    assert max(c.max() for c in corners) < 10, "the corners are not black"


def coarser(viewer, layer):
    """Plan two levels coarser than screen pixels: a whole-bulb view in seconds, not a minute."""
    layer.loader.lod_bias = 2.0
    viewer.scene.camera.zoom *= 1.001  # a new view, planned with the bias


def test_the_sample_opens_the_mandelbulb_in_3d(viewer, shot):
    layers = viewer.open_sample("napari-progressive", "mandelbulb")
    assert len(layers) == 1 and isinstance(layers[0], ProgressiveImage)
    layer = layers[0]
    assert layer.data.shape == (1_048_576,) * 3 and len(layer.loader.levels) == 15
    assert viewer.dims.ndisplay == 3
    coarser(viewer, layer)
    assert_shows_the_bulb(shot(viewer))
    plan = layer.loader.volume_plan  # drawn brick by brick, a level per brick
    assert plan is not None and len(plan.levels_used()) > 2


# napari-owned viewers need the plugin registry isolation that this fixture sets up
@pytest.mark.usefixtures("make_napari_viewer")
def test_the_demo_screenshot_shows_the_bulb(tmp_path):
    out = tmp_path / "bulb.png"
    assert main(["demo", "mandelbulb", "--screenshot", str(out), "--size", "400", "300"]) == 0
    assert_shows_the_bulb(iio.imread(out))


@pytest.mark.parametrize("uri", ["mandelbrot://levels=18", "mandelbulb://levels=15"])
def test_the_demos_switch_between_2d_and_3d(viewer, shot, uri):
    (layer,) = npg.add_progressive_layers(viewer, uri)
    layer.loader.lod_bias = 2.0
    seen = {}
    for ndisplay in (2, 3, 2, 3):
        viewer.dims.ndisplay = ndisplay
        img = shot(viewer)[..., :3].astype(int)
        assert img.std() > 10, f"nothing shown in {ndisplay}D"
        assert npg.stats(layer).failed == 0
        seen.setdefault(ndisplay, img)
        differ = np.abs(img - seen[ndisplay]).max(axis=-1) > 2
        assert differ.mean() < 0.001, f"{ndisplay}D shows another picture the second time"


def test_the_time_lapse_sample_steps_through_time_in_3d(viewer, shot):
    (layer,) = viewer.open_sample("napari-progressive", "mandelbulb-timelapse")
    assert layer.ndim == 4 and viewer.dims.ndisplay == 3
    coarser(viewer, layer)
    first = shot(viewer)
    assert_shows_the_bulb(first)
    viewer.dims.set_current_step(0, 1)
    # never blank: the last time point's bricks show until the new one's land
    assert_shows_the_bulb(shot(viewer, idle=False))
    turned = shot(viewer)
    assert_shows_the_bulb(turned)
    assert np.abs(turned[..., :3].astype(int) - first[..., :3]).mean() > 0.5
