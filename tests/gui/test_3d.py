"""In 3D a progressive image shows its coarsest level as napari's own layers do.

Every comparison renders the progressive layer and a napari layer over the
same data, one at a time, with the same controls, and compares the pixels.
"""

import numpy as np
import pytest

import napari_progressive as npg
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.pyramids import InstrumentedSource

Z, Y, X = np.mgrid[0:64, 0:80, 0:96].astype(np.float32)
VOLUME = (np.sin(X / 5) * np.cos(Y / 7) * np.sin(Z / 4) * 1000 + 1000).astype(np.uint16)
LEVELS = [VOLUME, VOLUME[::2, ::2, ::2].copy(), VOLUME[::4, ::4, ::4].copy()]
LIMITS = (0.0, 2000.0)


def _pair(viewer, levels=LEVELS, **kw):
    """napari's multiscale layer and a progressive layer over ``levels``."""
    ref = viewer.add_image(levels, multiscale=True, name="napari", contrast_limits=LIMITS, **kw)
    prog = npg.add_progressive_image(
        viewer, levels, name="progressive", contrast_limits=LIMITS, **kw
    )
    return ref, prog


def _shots(viewer, shot, first, second):
    """Screenshots of ``first`` alone, then of ``second`` alone."""
    out = []
    for shown, hidden in ((first, second), (second, first)):
        hidden.visible, shown.visible = False, True
        out.append(shot(viewer)[..., :3].astype(int))
    first.visible = second.visible = True
    return out


def _assert_same(a, b, tol=2):
    diff = np.abs(a - b).max(axis=-1)
    assert (b.max(axis=-1) > 10).mean() > 0.05, "the reference shows almost nothing"
    assert (diff > tol).mean() < 0.001, f"{(diff > tol).mean():.2%} of the pixels differ"


def _to_3d(viewer):
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (10, 35, 55)


def test_3d_shows_the_coarsest_level_as_napari_does(viewer, shot):
    ref, prog = _pair(viewer)
    _to_3d(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)
    assert prog.loader.volume.values.shape == LEVELS[-1].shape


@pytest.mark.parametrize(
    "controls",
    [
        {"rendering": "minip"},
        {"rendering": "attenuated_mip", "attenuation": 0.3},
        {"rendering": "translucent"},
        {"rendering": "additive", "opacity": 0.3},
        {"rendering": "average"},
        {"colormap": "viridis", "gamma": 0.5, "interpolation3d": "nearest"},
        {"contrast_limits": (800.0, 1600.0), "blending": "translucent"},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_napari_3d_controls_work_on_the_progressive_volume(viewer, shot, controls):
    ref, prog = _pair(viewer)
    _to_3d(viewer)
    shot(viewer)
    for layer in (ref, prog):
        for name, value in controls.items():
            setattr(layer, name, value)
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)


def test_iso_surfaces_of_float_data_match_naparis(viewer, shot):
    ref, prog = _pair(viewer, [lv.astype(np.float32) for lv in LEVELS])
    _to_3d(viewer)
    for layer in (ref, prog):
        layer.rendering, layer.iso_threshold = "iso", 1500.0
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)


def _coarsest_as_one_image(viewer):
    """napari's single-scale layer of the coarsest level, placed where the pyramid is."""
    return viewer.add_image(
        LEVELS[-1], name="coarsest", contrast_limits=LIMITS, scale=(4, 4, 4), translate=(1.5,) * 3
    )


def test_a_plane_cuts_the_volume_where_napari_puts_it(viewer, shot):
    prog = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS, depiction="plane")
    ref = _coarsest_as_one_image(viewer)
    ref.depiction = "plane"
    _to_3d(viewer)
    position, normal = np.array([30.0, 40.0, 45.0]), np.array([1.0, 0.5, 0.2])
    prog.plane.position, prog.plane.normal = position, normal
    ref.plane.position, ref.plane.normal = (position - 1.5) / 4, normal
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)


def test_clipping_planes_cut_the_volume_where_napari_cuts_it(viewer, shot):
    prog = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS)
    ref = _coarsest_as_one_image(viewer)
    _to_3d(viewer)
    prog.experimental_clipping_planes = [{"position": (0, 30, 0), "normal": (0, 1, 0)}]
    ref.experimental_clipping_planes = [{"position": (0, (30 - 1.5) / 4, 0), "normal": (0, 1, 0)}]
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)
    assert (got.max(axis=-1) > 10).mean() < 0.9 * (shot(viewer).max(axis=-1) > 10).mean()


def test_a_time_series_shows_the_new_time_point_and_reads_off_the_ui_thread(viewer, shot):
    series = [np.stack([lv, lv[::-1]]) for lv in LEVELS]  # (t, z, y, x)
    source = InstrumentedSource(ArrayPyramidSource(series, chunks=(1, 16, 16, 16)), delay=0.01)
    ref = viewer.add_image(series, multiscale=True, contrast_limits=LIMITS)
    prog = npg.add_progressive_image(viewer, source, contrast_limits=LIMITS)
    _to_3d(viewer)
    for t in (1, 0, 1):
        viewer.dims.set_current_step(0, t)
        got, want = _shots(viewer, shot, prog, ref)
        _assert_same(got, want)
    assert not source.main_thread_reads()
    assert {r[1][0] for r in source.reads} == {0, 1}


def test_a_2d_layer_on_a_3d_canvas_shows_as_napari_shows_it(viewer, shot):
    ref, prog = _pair(viewer, [lv[lv.shape[0] // 2] for lv in LEVELS])
    viewer.add_image(VOLUME, visible=False)  # a 3D layer makes the canvas 3D
    _to_3d(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)


def test_back_in_2d_the_tiles_draw_again(viewer, shot):
    ref, prog = _pair(viewer)
    viewer.dims.set_current_step(0, 20)
    before = _shots(viewer, shot, prog, ref)
    _to_3d(viewer)
    shot(viewer)
    viewer.dims.ndisplay = 2
    after = _shots(viewer, shot, prog, ref)
    _assert_same(after[0], before[0])
    _assert_same(after[0], after[1])
    assert prog.loader.volume is None  # its memory went with the 3D view
