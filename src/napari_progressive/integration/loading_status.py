"""Show a progressive layer's loading where napari users look.

* **Loading**: the layer list shows napari's own loading animation (and
  "(loading)" in the row's tooltip) while the view waits for tiles, as for
  a layer that napari slices asynchronously. A view that completes within
  ``SHOW_LOADING_AFTER_MS`` never shows it, so a quick pan does not flicker.
* **Failures**: a napari notification (warning) per cause of failed tiles,
  once per layer: which layer, how many tiles, and why. Causes are compared
  without the numbers and quoted names that differ from chunk to chunk.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from napari.utils.notifications import show_warning
from qtpy.QtCore import QTimer

if TYPE_CHECKING:
    from napari_progressive.integration.progressive_base import ProgressiveLayerBase

#: Views that complete sooner than this (ms) never show the loading animation.
SHOW_LOADING_AFTER_MS = 250
_SPECIFIC = re.compile(r"\"[^\"]*\"|'[^']*'|\d+")


def cause_key(reason: str) -> str:
    """``reason`` without what differs from chunk to chunk (numbers, quoted names)."""
    return _SPECIFIC.sub("#", reason)


class LoadingStatus:
    """Keeps a layer's napari loading state and failure notifications current."""

    def __init__(self, layer: ProgressiveLayerBase) -> None:
        self._layer = layer
        self._told: set[str] = set()
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_LOADING_AFTER_MS)
        self._timer.timeout.connect(self._show_if_still_loading)
        layer.loading.connect(self.update)

    def update(self, event: object = None) -> None:
        """Account for a new plan or newly landed tiles."""
        if self._layer.is_idle():
            self._timer.stop()
            self._set_loaded(True)
        elif self._layer.loaded and not self._timer.isActive():
            self._timer.start()
        self._report_failures()

    def _show_if_still_loading(self) -> None:
        if not self._layer.is_idle():
            self._set_loaded(False)

    def _set_loaded(self, loaded: bool) -> None:
        self._layer._slicing_state._set_loaded(loaded)

    def _report_failures(self) -> None:
        for reason, count in self._layer.loader.failure_causes().items():
            key = cause_key(reason)
            if key in self._told:
                continue
            self._told.add(key)
            tiles = "a tile" if count == 1 else f"{count} tiles"
            show_warning(f"{self._layer.name}: {tiles} failed to load: {reason}")
