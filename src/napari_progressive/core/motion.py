"""Camera motion from successive views: what aims the prefetch."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from napari_progressive.core.planner import Motion

if TYPE_CHECKING:
    from napari_progressive.core.view import SliceView

#: Weight of the newest step in the smoothed motion.
SMOOTHING = 0.5
#: A pause longer than this (s) means the camera stopped: motion starts again from rest.
STILL_AFTER_S = 0.3


class MotionTracker:
    """Smoothed pan velocity and zoom rate of one canvas's views."""

    def __init__(self) -> None:
        self._last: tuple[float, SliceView] | None = None
        self.motion = Motion()

    def update(self, view: SliceView, now: float) -> Motion:
        """Account for ``view`` seen at time ``now`` (s) and return the motion."""
        last, self._last = self._last, (now, view)
        if last is None or last[1].displayed != view.displayed:
            self.motion = Motion()
            return self.motion
        t0, before = last
        dt = now - t0
        if dt <= 0:
            return self.motion
        if dt > STILL_AFTER_S:
            self.motion = Motion()
            return self.motion
        step = Motion(
            velocity=(
                (view.centre[0] - before.centre[0]) / dt,
                (view.centre[1] - before.centre[1]) / dt,
            ),
            zoom_rate=math.log2(view.data_per_screen_px / before.data_per_screen_px) / dt,
        )
        a = SMOOTHING
        old = self.motion
        self.motion = Motion(
            velocity=(
                a * step.velocity[0] + (1 - a) * old.velocity[0],
                a * step.velocity[1] + (1 - a) * old.velocity[1],
            ),
            zoom_rate=a * step.zoom_rate + (1 - a) * old.zoom_rate,
        )
        return self.motion
