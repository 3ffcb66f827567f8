import pytest

from napari_progressive.core.motion import STILL_AFTER_S, MotionTracker
from napari_progressive.core.view import SliceView


def view(cy, cx, data_per_px=1.0, displayed=(0, 1)):
    return SliceView(
        displayed, (cy - 50, cx - 50), (cy + 50, cx + 50), data_per_px, (0.0, 0.0), (100, 100)
    )


def test_pan_velocity_builds_up_and_stops_after_a_pause():
    m = MotionTracker()
    assert m.update(view(0, 0), 0.0).velocity == (0.0, 0.0)
    for i in range(1, 8):
        motion = m.update(view(0, 100 * i), 0.1 * i)  # 1000 px/s to the right
    assert motion.velocity[0] == pytest.approx(0.0)
    assert motion.velocity[1] == pytest.approx(1000.0, rel=0.02)
    assert m.update(view(0, 800), 0.7 + 2 * STILL_AFTER_S).velocity == (0.0, 0.0)


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
    assert m.update(view(0, 100, displayed=(1, 2)), 0.2).velocity == (0.0, 0.0)
