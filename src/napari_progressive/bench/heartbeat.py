"""How long the UI thread could not respond: lateness of a short-interval timer."""

from __future__ import annotations

import time

from qtpy.QtCore import QTimer


class Heartbeat:
    """Records the largest gap between ticks of a ``interval_ms`` Qt timer."""

    def __init__(self, interval_ms: int = 2) -> None:
        self.interval = interval_ms / 1000
        self.worst = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last - self.interval)
        self._last = now

    def reset(self) -> None:
        """Start a new measurement window."""
        self.worst = 0.0
        self._last = time.perf_counter()

    def stop(self) -> None:
        """Stop the timer."""
        self._timer.stop()
