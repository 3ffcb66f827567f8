"""Rendered pixels equal the expected level's values, wherever the camera is."""

import numpy as np
import pytest

import napari_progressive as npg
from tests.pyramids import encoded_pyramid, expected_image, expected_level


def _add(viewer, source, **kw):
    return npg.add_progressive_image(
        viewer, source, colormap="gray", contrast_limits=(0, 255), interpolation2d="nearest", **kw
    )


def _compare(img, source, level, centre, zoom):
    values, mask = expected_image(source, level, centre, zoom, img.shape[:2])
    got = img[..., 0].astype(int)
    diff = np.abs(got - values.astype(int))
    bad = (diff > 1) & mask
    assert mask.mean() > 0.5
    assert not bad.any(), (
        f"{bad.sum()} of {mask.sum()} pixels differ at level {level}, "
        f"first at {np.argwhere(bad)[:3].tolist()}"
    )


@pytest.mark.parametrize("seed", range(6))
def test_screenshot_equals_expected_level_values(viewer, shot, seed):
    source = encoded_pyramid()
    layer = _add(viewer, source)
    rng = np.random.default_rng(seed)
    zoom = float(np.exp(rng.uniform(np.log(0.15), np.log(6.0))))
    centre = (float(rng.uniform(0, 700)), float(rng.uniform(0, 520)))
    viewer.scene.camera.center = centre
    viewer.scene.camera.zoom = zoom
    img = shot(viewer)
    level = expected_level(len(source.levels), zoom)
    assert npg.stats(layer).levels == (level,)
    _compare(img, source, level, centre, zoom)


def test_levels_change_with_zoom_and_stay_aligned(viewer, shot):
    source = encoded_pyramid()
    _add(viewer, source)
    for zoom in (0.13, 0.3, 0.6, 1.0, 3.0):
        centre = (350.3, 260.7)
        viewer.scene.camera.center = centre
        viewer.scene.camera.zoom = zoom
        img = shot(viewer)
        _compare(img, source, expected_level(4, zoom), centre, zoom)


def test_translated_and_scaled_layer_lines_up(viewer, shot):
    source = encoded_pyramid()
    _add(viewer, source, scale=(2.0, 2.0), translate=(100.0, -50.0))
    viewer.scene.camera.center = (100 + 2 * 300, -50 + 2 * 200)
    viewer.scene.camera.zoom = 1.5  # 0.75 screen px per level-0 px: level 0
    img = shot(viewer)
    # the same view in data coordinates: centre (300, 200), zoom 3
    _compare(img, source, 0, (300.0, 200.0), 3.0)
