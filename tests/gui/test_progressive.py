"""Never blank, never on the main thread, failures are marked, controls work."""

import threading
import time

import numpy as np

import napari_progressive as npg
from napari_progressive.render.palette import level_colour
from tests.pyramids import InstrumentedSource, encoded_pyramid


def _add(viewer, source, **kw):
    kw.setdefault("colormap", "gray")
    kw.setdefault("contrast_limits", (0, 255))
    return npg.add_progressive_image(viewer, source, **kw)


def test_first_frame_after_a_jump_shows_coarser_data(viewer, shot):
    slow = InstrumentedSource(
        encoded_pyramid((2048, 2048), (128, 128), 5), delay=0.3, delay_levels={0, 1, 2}
    )
    layer = _add(viewer, slow)
    viewer.scene.camera.zoom = 0.3
    shot(viewer)  # the overview is loaded
    viewer.scene.camera.center = (1800.0, 300.0)  # a region never seen at this zoom
    viewer.scene.camera.zoom = 4.0
    first = shot(viewer, idle=False)
    s = npg.stats(layer)
    assert s.available < s.needed, "the fine tiles cannot be there yet"
    assert min(s.levels) > 0
    # every pixel shows data (the pyramid has no zero values): nothing is blank
    assert (first[..., :3].max(axis=-1) > 0).all()
    final = shot(viewer)
    assert npg.stats(layer).levels == (0,)
    assert not np.array_equal(first, final)


def test_the_main_thread_never_reads_a_chunk(viewer, shot):
    src = InstrumentedSource(encoded_pyramid())
    layer = _add(viewer, src)
    for centre, zoom in [((100, 100), 0.2), ((350, 260), 1.0), ((600, 50), 4.0), ((20, 500), 2.0)]:
        viewer.scene.camera.center = centre
        viewer.scene.camera.zoom = zoom
        shot(viewer)
    viewer.dims.ndisplay = 2
    assert len(src.reads) > 10
    assert src.main_thread_reads() == []
    assert threading.main_thread().name not in layer.loader.read_threads


def test_a_failing_chunk_is_marked_and_the_rest_renders(viewer, shot):
    src = InstrumentedSource(encoded_pyramid(), fail={(0, (1, 1))})
    layer = _add(viewer, src)
    viewer.scene.camera.center = (192.0, 192.0)  # centre of level-0 chunk (1, 1)
    viewer.scene.camera.zoom = 2.0
    img = shot(viewer)
    s = npg.stats(layer)
    assert s.failed == 1
    assert s.available == s.needed - 1
    assert "injected failure" in next(iter(layer.loader.failures().values()))
    h, w = img.shape[:2]
    centre = img[h // 2 - 20 : h // 2 + 20, w // 2 - 20 : w // 2 + 20]
    red = (centre[..., 0] > 150) & (centre[..., 1] < 90) & (centre[..., 2] < 90)
    assert red.mean() > 0.3, "the failed tile carries a red hatch"
    assert not red.all(), "the hatch lets the coarser fallback show through"
    corner = img[:30, :30]  # a healthy tile
    assert not ((corner[..., 0] > 150) & (corner[..., 1] < 90)).any()
    assert corner[..., :3].max() > 0


def test_layer_controls_change_the_rendering(viewer, shot):
    layer = _add(viewer, encoded_pyramid())
    viewer.scene.camera.center = (350, 260)
    viewer.scene.camera.zoom = 1.0
    grey = shot(viewer)
    assert (grey[..., 0] == grey[..., 1]).all()

    layer.colormap = "red"
    red = shot(viewer)
    assert red[..., 0].max() > 200 and red[..., 1].max() == 0

    layer.colormap = "gray"
    layer.contrast_limits = (100, 150)
    clipped = shot(viewer)[..., 0]
    assert set(np.unique(clipped)) - {0, 255} and (clipped == 255).mean() > 0.3

    layer.contrast_limits = (0, 255)
    layer.gamma = 2.0
    darker = shot(viewer)[..., 0].astype(int)
    assert darker.mean() < grey[..., 0].mean() - 20

    layer.gamma = 1.0
    layer.opacity = 0.5
    half = shot(viewer)[..., 0].astype(int)
    assert abs(half.mean() - grey[..., 0].mean() / 2) < 5

    layer.opacity = 1.0
    layer.visible = False
    assert shot(viewer)[..., :3].max() == 0
    layer.visible = True
    assert np.array_equal(shot(viewer), grey)


def test_debug_overlay_tints_and_outlines_by_level(viewer, shot):
    layer = _add(viewer, encoded_pyramid())
    viewer.scene.camera.center = (350, 260)
    viewer.scene.camera.zoom = 0.4  # 2.5 data px per screen px: level 1
    plain = shot(viewer)
    npg.set_debug_overlay(layer, True)
    assert layer.debug_overlay
    tinted = shot(viewer)
    colour = (np.array(level_colour(1)) * 255).round()
    outline = np.all(np.abs(tinted[..., :3].astype(int) - colour) <= 1, axis=-1)
    assert outline.mean() > 0.005
    assert not np.array_equal(plain, tinted)
    npg.set_debug_overlay(layer, False)
    assert np.array_equal(shot(viewer), plain)


def test_gpu_budget_holds_and_lru_recycles_slots(viewer, shot):
    layer = _add(viewer, encoded_pyramid((2048, 2048), (128, 128), 5), max_gpu_bytes=40 * 128 * 128)
    for c in [(200, 200), (1800, 1800), (200, 1800), (1800, 200)]:
        viewer.scene.camera.center = c
        viewer.scene.camera.zoom = 1.5
        shot(viewer)
        s = npg.stats(layer)
        assert s.gpu_bytes <= 40 * 128 * 128
        assert s.available == s.needed
    assert layer.loader.stats().gpu_evictions > 0


def test_value_under_the_cursor_comes_from_memory(viewer, shot):
    layer = _add(viewer, encoded_pyramid())
    viewer.scene.camera.center = (350, 260)
    viewer.scene.camera.zoom = 2.0
    shot(viewer)
    from tests.pyramids import encoded_level

    assert layer.get_value((350, 260)) == encoded_level(0, (700, 520))[350, 260]


def test_3d_view_of_a_2d_layer_tiles_its_plane_and_2d_comes_back(viewer, shot):
    layer = _add(viewer, encoded_pyramid())
    viewer.scene.camera.zoom = 1.0
    before = shot(viewer)
    viewer.dims.ndisplay = 3
    img3d = shot(viewer)
    assert npg.stats(layer).available == npg.stats(layer).needed > 0  # its plane, tiled
    assert img3d[..., :3].max() > 0
    viewer.dims.ndisplay = 2
    viewer.scene.camera.zoom = 1.0
    after = shot(viewer)
    assert npg.stats(layer).available == npg.stats(layer).needed > 0
    assert after[..., :3].max() > 0 and before.shape == after.shape


def test_time_series_slider_changes_the_plane(viewer, shot):
    rng = np.random.default_rng(1)
    stack = rng.integers(1, 255, (3, 300, 260), dtype=np.uint8)
    layer = _add(viewer, [stack, stack[:, ::2, ::2].copy()], interpolation2d="nearest")
    viewer.scene.camera.center = (150, 130)
    viewer.scene.camera.zoom = 2.0
    for t in (0, 2, 1):
        viewer.dims.current_step = (t, 150, 130)
        shot(viewer)
        assert layer.get_value((t, 150, 130)) == stack[t, 150, 130]
        fine = [k for k in layer.loader.plan.keys if k.level == 0]
        assert fine and all(dict(k.plane)[0] == t for k in fine)


def test_additive_blending_adds_two_layers(viewer, shot):
    base = _add(viewer, encoded_pyramid())
    viewer.scene.camera.center = (350, 260)
    viewer.scene.camera.zoom = 1.0
    single = shot(viewer)[..., 0].astype(int)
    top = _add(viewer, encoded_pyramid(), blending="additive")
    assert top.blending == "additive" and base.blending == "translucent"
    both = shot(viewer)[..., 0].astype(int)
    np.testing.assert_allclose(both, np.minimum(2 * single, 255), atol=2)


def test_next_time_point_is_prefetched_so_the_slider_never_blanks(viewer, shot, qtbot):
    rng = np.random.default_rng(2)
    stack = rng.integers(1, 255, (6, 512, 512), dtype=np.uint8)
    levels = [stack, stack[:, ::2, ::2].copy(), stack[:, ::4, ::4].copy()]
    slow = InstrumentedSource(npg.open_source(levels), delay=0.5, delay_levels={0, 1})
    layer = _add(viewer, slow)
    assert viewer.dims.current_step[0] == 2
    viewer.dims.current_step = (3, 256, 256)
    before = shot(viewer)
    assert all(lv.chunks[0] == 1 for lv in layer.loader.levels)  # one plane per chunk
    planes = {(k.level, dict(k.plane)[0]) for k in layer.loader.plan.prefetch_keys}
    # the target level one step further (the slider's last step was +1), and the
    # coarsest level of the whole (short) slider range
    assert planes == {(0, 4)} | {(2, t) for t in range(6) if t != 3}
    qtbot.waitUntil(lambda: layer.loader.scheduler.idle, timeout=20_000)  # prefetch landed
    reads = len(slow.reads)
    viewer.dims.current_step = (4, 256, 256)
    first = shot(viewer, idle=False)
    assert npg.stats(layer).available > 0, "the prefetched plane shows at once"
    covered = (before[..., :3].max(axis=-1) > 0).mean()
    assert (first[..., :3].max(axis=-1) > 0).mean() >= covered - 0.001  # no blank tile
    shot(viewer)
    assert npg.stats(layer).levels == (0,)
    again = {lv for lv, index, _ in slow.reads[reads:] if index[0] == 4}
    assert again <= {1}  # the prefetched levels (0 and 2) were not read again


class _SlowOffPlaneSource(InstrumentedSource):
    """Reads of every plane but the first take ``delay`` seconds."""

    def read_chunk(self, level, index):
        if index[0] != 0:
            time.sleep(self.delay)
        return self.inner.read_chunk(level, index)


def test_scrubbing_z_keeps_the_last_plane_until_the_new_one_covers_the_view(viewer, shot):
    rng = np.random.default_rng(3)
    stack = rng.integers(1, 255, (8, 512, 512), dtype=np.uint8)
    levels = [stack, stack[:, ::2, ::2].copy(), stack[:, ::4, ::4].copy()]
    layer = _add(viewer, _SlowOffPlaneSource(npg.open_source(levels), delay=2.0))
    viewer.dims.current_step = (0, 256, 256)
    before = shot(viewer)
    covered = before[..., :3].max(axis=-1) > 0
    assert covered.mean() > 0.3
    for z in range(1, 6):  # faster than any off-plane read lands
        viewer.dims.current_step = (z, 256, 256)
        frame = shot(viewer, idle=False)
        assert npg.stats(layer).available == 0, "nothing of the new plane has landed"
        assert (frame[..., :3].max(axis=-1) > 0)[covered].all(), f"blank pixels at z={z}"
    shot(viewer)  # the last plane arrives and replaces what was shown
    assert layer.get_value((5, 256, 256)) == stack[5, 256, 256]
    assert npg.stats(layer).levels == (0,)


class _Outage(InstrumentedSource):
    """Every read fails until ``back`` is set (a server that is down, then returns)."""

    back = False

    def read_chunk(self, level, index):
        if not self.back:
            raise OSError("connection refused")
        return self.inner.read_chunk(level, index)


def test_tiles_failed_in_an_outage_come_back_while_the_camera_is_still(viewer, shot, qtbot):
    src = _Outage(encoded_pyramid())
    layer = _add(viewer, src)
    qtbot.waitUntil(lambda: npg.stats(layer).failed > 0, timeout=10_000)
    src.back = True  # the camera does not move from here on
    qtbot.waitUntil(lambda: npg.stats(layer).failed == 0, timeout=20_000)
    img = shot(viewer)
    assert (img[..., :3].max(axis=-1) > 0).mean() > 0.3


def test_the_thumbnail_survives_a_trip_to_3d(viewer, shot):
    layer = _add(viewer, encoded_pyramid())
    shot(viewer)
    before = np.asarray(layer.thumbnail)[..., :3].mean()
    assert before > 20
    viewer.dims.ndisplay = 3
    viewer.dims.ndisplay = 2
    shot(viewer)
    assert np.asarray(layer.thumbnail)[..., :3].mean() == before
