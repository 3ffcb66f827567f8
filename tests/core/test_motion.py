import pytest

from napari_progressive.core.motion import STILL_AFTER_S, MotionTracker
from napari_progressive.core.view import SliceView, VolumeView


def view(cy, cx, data_per_px=1.0, displayed=(0, 1)):
    return SliceView(
        displayed, (cy - 50, cx - 50), (cy + 50, cx + 50), data_per_px, (0.0, 0.0), (100, 100)
    )


def test_pan_velocity_builds_up_and_stops_after_a_pause():
    m = MotionTracker()
    assert not any(m.update(view(0, 0), 0.0).velocity)
    for i in range(1, 8):
        motion = m.update(view(0, 100 * i), 0.1 * i)  # 1000 px/s to the right
    assert motion.velocity[0] == pytest.approx(0.0)
    assert motion.velocity[1] == pytest.approx(1000.0, rel=0.02)
    assert not any(m.update(view(0, 800), 0.7 + 2 * STILL_AFTER_S).velocity)


def test_zoom_rate_is_negative_when_zooming_in():
    m = MotionTracker()
    m.update(view(0, 0, 4.0), 0.0)
    assert m.update(view(0, 0, 2.0), 0.1).zoom_rate < 0
    m = MotionTracker()
    m.update(view(0, 0, 2.0), 0.0)
    assert m.update(view(0, 0, 4.0), 0.1).zoom_rate > 0


def test_changing_the_displayed_axes_resets_the_motion():
    m = MotionTracker()
    m.update(view(0, 0), 0.0)
    m.update(view(0, 100), 0.1)
    assert not any(m.update(view(0, 100, displayed=(1, 2)), 0.2).velocity)


def stack_view(z):
    return SliceView((1, 2), (0, 0), (100, 100), 1.0, (z, 0.0, 0.0), (100, 100))


def test_the_sliders_last_step_is_kept_across_pauses():
    m = MotionTracker()
    assert m.update(stack_view(10.0), 0.0).slice_step == ()
    assert m.update(stack_view(13.0), 1.0).slice_step == (3.0, 0.0, 0.0)
    assert m.update(stack_view(13.0), 5.0).slice_step == (3.0, 0.0, 0.0)  # a pause
    assert m.update(stack_view(11.0), 5.1).slice_step == (-2.0, 0.0, 0.0)  # turned back
    assert m.update(view(0, 0), 5.2).slice_step == ()  # other displayed axes: forgotten


def volume_view(centre, data_per_px=1.0):
    eye = tuple(tuple(float(i == j) for j in range(4)) for i in range(4))
    return VolumeView((0, 1, 2), (0.0, 0.0, 0.0), eye, eye, (100, 100), centre, data_per_px)


def test_a_3d_camera_moving_along_depth_has_a_velocity_on_that_axis():
    m = MotionTracker()
    for i in range(6):
        motion = m.update(volume_view((50.0 * i, 0.0, 0.0)), 0.1 * i)  # 500 voxels/s in depth
    assert len(motion.velocity) == 3
    assert motion.velocity[0] == pytest.approx(500.0, rel=0.05)
    assert motion.velocity[1:] == (0.0, 0.0)
