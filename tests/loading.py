"""Drive a headless loader (no draw target) on a ``SynchronousExecutor``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from napari_progressive.core.loader import Loader
    from napari_progressive.core.view import SliceView

#: Drains before a loader on a synchronous executor must have settled.
MAX_DRAINS = 100


def drain_until(loader: Loader, done: Callable[[], bool]) -> None:
    """Drain ``loader`` until ``done()``: each drain's new jobs have run when it returns."""
    for _ in range(MAX_DRAINS):
        if done():
            return
        loader.drain()
    raise AssertionError(f"not done after {MAX_DRAINS} drains")


def load_view(loader: Loader, view: SliceView) -> None:
    """Plan ``view`` and drain until no job is queued or running (shown and prefetched)."""
    loader.set_view(view)
    drain_until(loader, lambda: loader.scheduler.idle)
