"""What the command line does in a napari window: camera, Ctrl-C, screenshots, failed tiles.

A session ends one of the ``Outcome`` ways; ``cli`` turns each into an exit
status. Ctrl-C never raises inside Qt (a KeyboardInterrupt there prints a
traceback and stops nothing): it closes the window, or ends the wait for a
screenshot, and the session ends ``"interrupted"``.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator, Sequence

Outcome = Literal["done", "failed", "partial", "interrupted"]
#: Causes of failed tiles printed after a screenshot, most frequent first.
MAX_CAUSES = 3
#: Seconds between checks for Ctrl-C while Qt's event loop runs.
SIGNAL_CHECK_S = 0.1
#: ``name: level 0 chunk (1, 2): `` before a failed tile's cause (``ChunkReadError``).
_CHUNK_PREFIX = re.compile(r"^.*?: level \d+ chunk \([^)]*\): ")


def show(viewer: Any, args: argparse.Namespace) -> Outcome:
    """Apply camera and overlay options; run napari, or save a screenshot and close."""
    import napari

    from napari_progressive import set_debug_overlay
    from napari_progressive.integration.api import progressive_layers

    layers = progressive_layers(viewer)
    place_camera(viewer, layers[0] if layers else None, args.center, args.zoom)
    for layer in layers:
        set_debug_overlay(layer, args.overlay)
    if args.screenshot is not None:
        return _screenshot(viewer, args)
    with _on_ctrl_c(viewer.close) as interrupted:
        napari.run()
    return "interrupted" if interrupted else "done"


def place_camera(
    viewer: Any, layer: Any, center: Sequence[float] | None, zoom: float | None
) -> None:
    """Centre and zoom given in level-0 pixels of ``layer``, as napari's world units."""
    scale = tuple(layer.scale[-2:]) if layer is not None else (1.0, 1.0)
    translate = tuple(layer.translate[-2:]) if layer is not None else (0.0, 0.0)
    if center is not None:
        viewer.scene.camera.center = tuple(
            float(c) * s + t for c, s, t in zip(center, scale, translate, strict=True)
        )
    if zoom is not None:  # screen px per level-0 px, along the columns
        viewer.scene.camera.zoom = zoom / scale[-1]


def _screenshot(viewer: Any, args: argparse.Namespace) -> Outcome:
    """Wait for full resolution (or ``--timeout``), save the picture, say what is missing."""
    from napari_progressive import wait_until_idle
    from napari_progressive.integration.window import resize_canvas

    resize_canvas(viewer, *args.size)
    deadline = time.monotonic() + args.timeout
    with _on_ctrl_c(lambda: None) as interrupted:
        idle = False
        while not (idle or interrupted) and time.monotonic() < deadline:
            idle = wait_until_idle(viewer, timeout=min(1.0, deadline - time.monotonic()))
    if interrupted:
        viewer.close()
        return "interrupted"
    if args.full_window:
        _refresh_widgets(viewer)
    viewer.screenshot(args.screenshot, canvas_only=not args.full_window, flash=False)
    failed, causes = _failed_tiles(viewer)
    viewer.close()
    if failed:
        print(f"saved {args.screenshot} ({failed} tiles failed to load)")
        for cause, count in causes.most_common(MAX_CAUSES):
            print(f"  {count} x {cause}")
        if len(causes) > MAX_CAUSES:
            print(f"  ... and {len(causes) - MAX_CAUSES} other causes")
        return "failed"
    print(f"saved {args.screenshot} ({'complete' if idle else 'timed out, partial'})")
    return "done" if idle else "partial"


def _failed_tiles(viewer: Any) -> tuple[int, Counter[str]]:
    """Tiles of the view that failed, and the causes of every failed tile, counted."""
    from napari_progressive import stats
    from napari_progressive.integration.api import progressive_layers
    from napari_progressive.sources.redact import redact_text

    failed, causes = 0, Counter[str]()
    for layer in progressive_layers(viewer):
        failed += int(stats(layer).failed)
        for text in layer.loader.failures().values():
            causes[redact_text(_CHUNK_PREFIX.sub("", text, count=1))] += 1
    return failed, causes


@contextmanager
def _on_ctrl_c(action: Callable[[], None]) -> Iterator[list[int]]:
    """While inside, Ctrl-C runs ``action`` from Qt's event loop (and is noted) instead of raising.

    A KeyboardInterrupt raised inside a Qt callback prints a traceback and
    stops nothing. Python runs signal handlers only between bytecodes, and an
    idle Qt loop runs none: a timer lets it look every ``SIGNAL_CHECK_S``.
    """
    from qtpy.QtCore import QTimer

    interrupted: list[int] = []

    def note(signum: int, _frame: object) -> None:
        interrupted.append(signum)
        QTimer.singleShot(0, action)

    previous = signal.signal(signal.SIGINT, note)
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(int(SIGNAL_CHECK_S * 1000))
    try:
        yield interrupted
    finally:
        ticker.stop()
        signal.signal(signal.SIGINT, previous)


def add_dock_widget(viewer: object) -> None:
    """The *Progressive loading* widget, docked on the right."""
    from napari_progressive.integration.widget import ProgressiveWidget

    viewer.window.add_dock_widget(  # type: ignore[attr-defined]
        ProgressiveWidget(viewer),
        name="Progressive loading",
        area="right",
    )


def _refresh_widgets(viewer: object) -> None:
    from qtpy.QtWidgets import QApplication

    from napari_progressive.integration.widget import ProgressiveWidget

    for widget in viewer.window._qt_window.findChildren(ProgressiveWidget):  # type: ignore[attr-defined]
        widget._refresh()
    QApplication.processEvents()
