"""Window helpers shared by the command line and the benchmarks."""

from __future__ import annotations

from qtpy.QtWidgets import QApplication


def resize_canvas(viewer: object, width: int, height: int) -> None:
    """Resize the window until the viewer's canvas is ``width`` x ``height`` px."""
    window = viewer.window  # type: ignore[attr-defined]
    canvas = window._qt_viewer.canvas
    qt_window = window._qt_window
    for _ in range(5):  # grow the window until the canvas has the asked size
        h, w = canvas.size
        if (h, w) == (height, width):
            return
        qt_window.resize(qt_window.width() + width - w, qt_window.height() + height - h)
        for _ in range(5):
            QApplication.processEvents()
