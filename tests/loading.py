"""Drive a headless loader (no draw target) until it has read what a view plans."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from napari_progressive.core.loader import Loader
    from napari_progressive.core.view import SliceView


def load_view(loader: Loader, view: SliceView, timeout: float = 30.0) -> None:
    """Plan ``view`` and drain until no job is queued or running (shown and prefetched)."""
    loader.set_view(view)
    deadline = time.monotonic() + timeout
    while not loader.scheduler.idle:
        assert time.monotonic() < deadline
        time.sleep(0.005)
        loader.drain()
    loader.drain()
