"""In 3D a progressive image renders its bricks, a level per brick, as napari renders a level.

Every comparison renders the progressive layer and a napari layer over the
same data, one at a time, with the same controls, and compares the pixels.
The volumes here are small, so the plan reaches level 0 everywhere and the
reference is napari's single-scale image of level 0 (what napari shows when
the data fits); withheld fine bricks are compared with napari's image of the
coarser level. Plane depiction plans and draws the bricks its slab crosses; a
2D layer on a 3D canvas is tiled at the levels its plane's pixels need on
screen (napari's multiscale layer shows its coarsest level there).
"""

import numpy as np
import pytest
from napari.utils import Colormap

import napari_progressive as npg
from napari_progressive.sources.arrays import ArrayPyramidSource
from tests.pyramids import InstrumentedSource

Z, Y, X = np.mgrid[0:64, 0:80, 0:96].astype(np.float32)
VOLUME = (np.sin(X / 5) * np.cos(Y / 7) * np.sin(Z / 4) * 1000 + 1000).astype(np.uint16)
LEVELS = [VOLUME, VOLUME[::2, ::2, ::2].copy(), VOLUME[::4, ::4, ::4].copy()]
LIMITS = (0.0, 2000.0)
#: How close the brick ray march comes to napari's volume: on average within one
#: grey level; a few percent of the pixels (near saturated maxima, a pixel at the
#: silhouette) differ by more than 8 of 255.
BRICKS = {"tol": 8, "share": 0.04, "mean": 1.5}


def _pair(viewer, levels=LEVELS, multiscale=False, **kw):
    """napari's image of level 0 (or its multiscale image) and a progressive layer."""
    data = levels if multiscale else levels[0]
    ref = viewer.add_image(data, multiscale=multiscale, name="napari", contrast_limits=LIMITS, **kw)
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


def _assert_same(a, b, tol=2, share=0.001, mean=None):
    diff = np.abs(a - b).max(axis=-1)
    assert (b.max(axis=-1) > 10).mean() > 0.05, "the reference shows almost nothing"
    assert (diff > tol).mean() < share, f"{(diff > tol).mean():.2%} of the pixels differ"
    if mean is not None:
        assert np.abs(a - b).mean() < mean, f"mean difference {np.abs(a - b).mean():.2f}"


def _to_3d(viewer):
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (10, 35, 55)


def test_3d_renders_full_resolution_as_napari_renders_level_0(viewer, shot):
    ref, prog = _pair(viewer)
    _to_3d(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want, **BRICKS)
    ref.visible = False
    shot(viewer)
    assert prog.loader.stats().target_level == 0  # the plan reaches level 0


def test_withheld_fine_bricks_show_the_coarser_level_never_a_hole(viewer, shot):
    fine = ArrayPyramidSource(LEVELS, chunks=(16, 16, 16))
    failing = [(0, index) for index in fine.levels[0].iter_chunks()]
    source = InstrumentedSource(fine, fail=failing)
    prog = npg.add_progressive_image(viewer, source, contrast_limits=LIMITS)
    ref = viewer.add_image(LEVELS[1], contrast_limits=LIMITS, scale=(2, 2, 2), translate=(0.5,) * 3)
    _to_3d(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    # the failed bricks are hatched red; between the stripes level 1 shows
    hatch = got[..., 0] - got[..., 1:].max(axis=-1) > 120
    volume = want.max(axis=-1) > 10
    assert 0.3 < hatch[volume].mean() < 0.7
    _assert_same(got[~hatch], want[~hatch], **BRICKS)
    assert {r[0] for r in source.reads} >= {0, 1}  # level 0 was tried: level 1 shows


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
    _assert_same(got, want, **BRICKS)


#: Mostly empty: two bright balls in zeros, so that most bricks are skipped whole.
SPARSE = np.where(
    ((X - 30) ** 2 + (Y - 40) ** 2 + (Z - 20) ** 2 < 100)
    | ((X - 70) ** 2 + (Y - 30) ** 2 + (Z - 44) ** 2 < 64),
    VOLUME,
    0,
).astype(np.uint16)


@pytest.mark.parametrize("rendering", ["mip", "attenuated_mip", "iso", "translucent"])
def test_bricks_skipped_for_their_value_range_change_no_pixel(viewer, shot, rendering):
    levels = [SPARSE, SPARSE[::2, ::2, ::2].copy(), SPARSE[::4, ::4, ::4].copy()]
    if rendering == "iso":  # napari's iso threshold is in data units for float data
        levels = [lv.astype(np.float32) for lv in levels]
    ref, prog = _pair(viewer, levels)
    _to_3d(viewer)
    for layer in (ref, prog):
        layer.rendering = rendering
        layer.iso_threshold = 500.0
        if rendering == "translucent":  # transparent zeros: empty bricks are skipped
            layer.colormap = Colormap([[0, 0, 0, 0], [1, 1, 1, 1]], name="fade-in")
    got, want = _shots(viewer, shot, prog, ref)
    if rendering == "iso":
        _assert_same(got, want, tol=16, share=0.1, mean=6.0)
    else:
        _assert_same(got, want, **BRICKS)


def test_iso_surfaces_of_float_data_match_naparis(viewer, shot):
    ref, prog = _pair(viewer, [lv.astype(np.float32) for lv in LEVELS])
    _to_3d(viewer)
    for layer in (ref, prog):
        layer.rendering, layer.iso_threshold = "iso", 1500.0
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want, tol=16, share=0.1, mean=6.0)  # lit like napari's, not bit for bit


def _coarsest_as_one_image(viewer):
    """napari's single-scale layer of the coarsest level, placed where the pyramid is."""
    return viewer.add_image(
        LEVELS[-1], name="coarsest", contrast_limits=LIMITS, scale=(4, 4, 4), translate=(1.5,) * 3
    )


#: How close a progressive plane comes to napari's plane over level 0: vispy samples
#: from half a voxel behind the plane along its normal, the bricks at the plane
#: itself, so a tilted plane shows the same pattern shifted by up to half a voxel.
PLANE = {"axial": {"tol": 16, "share": 0.03, "mean": 3.0}}
PLANE["oblique"] = {"tol": 16, "share": 0.08, "mean": 3.0}


@pytest.mark.parametrize(
    ("name", "normal"), [("axial", (1.0, 0.0, 0.0)), ("oblique", (1.0, 0.5, 0.2))]
)
def test_a_plane_shows_level_0_where_napari_puts_it(viewer, shot, name, normal):
    ref, prog = _pair(viewer)
    _to_3d(viewer)
    for layer in (ref, prog):
        layer.depiction = "plane"
        layer.plane.position, layer.plane.normal = (30.0, 40.0, 45.0), normal
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want, **PLANE[name])
    ref.visible = False
    shot(viewer)
    assert 0 in prog.loader.volume_plan.levels_used()  # full resolution, not the coarse volume


def test_plane_depiction_plans_only_the_bricks_its_slab_crosses(viewer, shot):
    prog = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS, depiction="plane")
    _to_3d(viewer)
    position, normal = np.array([30.0, 40.0, 45.0]), np.array([1.0, 0.5, 0.2])
    prog.plane.position, prog.plane.normal, prog.plane.thickness = position, normal, 2.0
    shot(viewer)
    plan = prog.loader.volume_plan
    unit = normal / np.linalg.norm(normal)
    for b in plan.bricks:  # every planned brick meets the slab
        corners = np.array(np.meshgrid(*zip(b.lo, b.hi, strict=True), indexing="ij"))
        distances = (corners.reshape(3, -1).T - position) @ unit
        assert distances.min() <= 1.0 + 1e-6 and distances.max() >= -1.0 - 1e-6
    whole = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS)
    shot(viewer)
    assert len(plan.bricks) < len(whole.loader.volume_plan.bricks)
    first = plan.keys
    prog.plane.position = position + 12 * unit  # moving the plane plans its new bricks
    shot(viewer)
    assert prog.loader.volume_plan.keys != first


def test_clipping_planes_cut_the_volume_where_napari_cuts_it(viewer, shot):
    source = InstrumentedSource(ArrayPyramidSource(LEVELS, chunks=(16, 16, 16)))
    prog = npg.add_progressive_image(viewer, source, contrast_limits=LIMITS)
    ref = viewer.add_image(VOLUME, contrast_limits=LIMITS)
    plane = [{"position": (0, 40, 0), "normal": (0, 1, 0)}]
    prog.experimental_clipping_planes = plane
    ref.experimental_clipping_planes = plane
    shot(viewer)
    source.reads.clear()  # from here on, only what the 3D views read
    _to_3d(viewer)
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want, **BRICKS)
    # what the plane cuts away is never read at level 0: the bricks of rows 0-31
    # and so the chunks of rows 0-15 (rows 16-31 give the next brick its border)
    level_0_rows = {r[1][1] for r in source.reads if r[0] == 0}
    assert level_0_rows and 0 not in level_0_rows
    prog.experimental_clipping_planes = []
    ref.visible = False
    assert (got.max(axis=-1) > 10).mean() < 0.9 * (shot(viewer).max(axis=-1) > 10).mean()


def test_a_time_series_shows_the_new_time_point_and_reads_off_the_ui_thread(viewer, shot):
    series = [np.stack([lv, lv[::-1]]) for lv in LEVELS]  # (t, z, y, x)
    source = InstrumentedSource(ArrayPyramidSource(series, chunks=(1, 16, 16, 16)), delay=0.01)
    ref = viewer.add_image(series[0], contrast_limits=LIMITS)
    prog = npg.add_progressive_image(viewer, source, contrast_limits=LIMITS)
    _to_3d(viewer)
    for t in (1, 0, 1):
        viewer.dims.set_current_step(0, t)
        got, want = _shots(viewer, shot, prog, ref)
        _assert_same(got, want, **BRICKS)
    assert not source.main_thread_reads()
    assert {r[1][0] for r in source.reads} == {0, 1}


def test_a_2d_layer_on_a_3d_canvas_shows_level_0_where_napari_shows_it(viewer, shot):
    # napari's own multiscale image shows its coarsest level here; the tiles
    # follow the 3D camera as in 2D, so the plane matches napari's level-0 image
    ref, prog = _pair(viewer, [lv[lv.shape[0] // 2] for lv in LEVELS])
    viewer.add_image(VOLUME, visible=False)  # a 3D layer makes the canvas 3D
    viewer.dims.ndisplay = 3
    got, want = _shots(viewer, shot, prog, ref)
    _assert_same(got, want)
    shot(viewer)
    assert {t.key.level for t in prog.loader.drawn()} == {0}
    # tilted: the same silhouette as napari's, still level 0 (napari's own image
    # turns brighter when tilted, about 7 grey levels on average; the tiles keep
    # the values they show face-on)
    viewer.scene.camera.angles = (10, 35, 55)
    ref.contrast_limits = prog.contrast_limits = (-1000, 2000)  # no pixel maps to black
    got, want = _shots(viewer, shot, prog, ref)
    # within a screen pixel of napari's outline (a data pixel is about five here)
    assert ((got.max(axis=-1) > 10) != (want.max(axis=-1) > 10)).mean() < 0.01
    shot(viewer)
    assert {t.key.level for t in prog.loader.drawn()} == {0}


def test_a_2d_layer_seen_edge_on_in_3d_shows_its_coarsest_level(viewer, shot):
    _, prog = _pair(viewer, [lv[lv.shape[0] // 2] for lv in LEVELS])
    viewer.add_image(VOLUME, visible=False)
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (0, 90, 90)  # looking along the plane
    shot(viewer)
    assert prog.loader.plan is not None
    assert {t.key.level for t in prog.loader.plan.tiles} == {len(LEVELS) - 1}


def test_back_in_2d_the_tiles_draw_again(viewer, shot):
    ref, prog = _pair(viewer, multiscale=True)
    viewer.dims.set_current_step(0, 20)
    before = _shots(viewer, shot, prog, ref)
    _to_3d(viewer)
    shot(viewer)
    viewer.dims.ndisplay = 2
    after = _shots(viewer, shot, prog, ref)
    _assert_same(after[0], before[0])
    _assert_same(after[0], after[1])
    assert prog.loader.volume_plan is None


def test_a_moving_camera_draws_cheaper_frames_then_full_quality(viewer, shot, qtbot):
    from napari_progressive.integration.brick_display import MOTION_STEPS
    from napari_progressive.render.gl_info import software_gl

    prog = npg.add_progressive_image(viewer, LEVELS, contrast_limits=LIMITS)
    _to_3d(viewer)
    still = shot(viewer)
    node = viewer.window._qt_viewer.canvas.layer_to_visual[prog].node
    assert node.coarse_steps == 1.0
    viewer.scene.camera.angles = (10, 40, 55)
    qtbot.wait(30)  # a frame or two while moving
    if software_gl():  # a GPU draws every frame at full quality
        assert node.coarse_steps == MOTION_STEPS and not prog.is_idle()
    viewer.scene.camera.angles = (10, 35, 55)
    assert np.array_equal(shot(viewer), still)  # once still: full quality, as before
    assert node.coarse_steps == 1.0
