"""Camera motion from successive views (2D or 3D): what aims the prefetch."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from napari_progressive.core.view import SliceView, VolumeView

#: Weight of the newest step in the smoothed motion.
SMOOTHING = 0.5
#: A pause longer than this (s) means the camera stopped: motion starts again from rest.
STILL_AFTER_S = 0.3


@dataclass(frozen=True)
class Motion:
    """How the camera moves: level-0 units per second along each displayed axis, and zoom.

    ``velocity`` has one entry per displayed axis (empty: at rest);
    ``zoom_rate`` is d log2(data per screen pixel) / dt: negative while zooming in.
    ``slice_step`` is the latest change of the slice point along each data
    axis (level-0 units, 0 where it has not changed; empty: none seen): where
    the next slider step most likely goes. It outlasts pauses, since slider
    steps come one at a time.
    """

    velocity: tuple[float, ...] = ()
    zoom_rate: float = 0.0
    slice_step: tuple[float, ...] = ()


class MotionTracker:
    """Smoothed velocity of the view centre and zoom rate of one canvas's views."""

    def __init__(self) -> None:
        self._last: tuple[float, SliceView | VolumeView] | None = None
        self._slice_step: tuple[float, ...] = ()
        self.motion = Motion()

    def update(self, view: SliceView | VolumeView, now: float) -> Motion:
        """Account for ``view`` seen at time ``now`` (s) and return the motion."""
        last, self._last = self._last, (now, view)
        if last is None or type(last[1]) is not type(view) or last[1].displayed != view.displayed:
            self._slice_step = ()
            self.motion = Motion()
            return self.motion
        t0, before = last
        self._note_slice_step(before.point, view.point)
        dt = now - t0
        if dt <= 0:
            return self.motion
        if dt > STILL_AFTER_S:
            self.motion = Motion(slice_step=self._slice_step)
            return self.motion
        velocity = tuple((a - b) / dt for a, b in zip(view.centre, before.centre, strict=True))
        zoom_rate = math.log2(view.data_per_screen_px / before.data_per_screen_px) / dt
        old = self.motion.velocity or (0.0,) * len(velocity)
        a = SMOOTHING
        self.motion = Motion(
            velocity=tuple(a * v + (1 - a) * o for v, o in zip(velocity, old, strict=True)),
            zoom_rate=a * zoom_rate + (1 - a) * self.motion.zoom_rate,
            slice_step=self._slice_step,
        )
        return self.motion

    def _note_slice_step(self, before: tuple[float, ...], now: tuple[float, ...]) -> None:
        """Keep the latest change of the slice point along each axis that moved."""
        if len(before) != len(now):
            return
        delta = [b - a for a, b in zip(before, now, strict=True)]
        if not any(delta):
            return
        kept = self._slice_step or (0.0,) * len(delta)
        self._slice_step = tuple(d if d else k for d, k in zip(delta, kept, strict=True))
        self.motion = replace(self.motion, slice_step=self._slice_step)
