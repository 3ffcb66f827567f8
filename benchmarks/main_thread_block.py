"""Longest main-thread block per zoom step: napari multiscale vs progressive.

Run under a display (``xvfb-run -a python benchmarks/main_thread_block.py``).
Both layers show the same 18-level Mandelbrot pyramid along the same camera
path; a 2 ms heartbeat timer on the Qt event loop measures how late it fires
(the longest time the UI could not respond). The full ``bench`` command with
more scenarios is tracked separately; this script gives the headline ratio.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import napari
import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication

import napari_progressive as npg
from napari_progressive.integration.lazy_array import LazyLevelArray

TARGET = complex(-0.743643887, 0.131825904)
STEPS = 10  # each step zooms in 4x towards TARGET


class Heartbeat:
    """Records the largest gap between ticks of a short-interval timer."""

    def __init__(self, interval_ms: int = 2) -> None:
        self.interval = interval_ms / 1000
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.worst = 0.0
        self._last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last - self.interval)
        self._last = now

    def reset(self) -> None:
        self.worst = 0.0
        self._last = time.perf_counter()


def _process_until_idle(app: QApplication, viewer: napari.Viewer, timeout: float) -> None:
    """Spin the event loop (painting as the window would) until loading is done.

    ``wait_until_idle`` is not used here: it forces renders of its own, which
    would be measured as blocks.
    """
    from napari_progressive.integration.api import progressive_layers

    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        app.processEvents()
        if all(layer.is_idle() for layer in progressive_layers(viewer)):
            return
        time.sleep(0.001)


def run(mode: str) -> dict[str, object]:
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1200, 900)
    source = npg.datasets.mandelbrot()
    if mode == "napari":
        levels = [LazyLevelArray(source, i) for i in range(len(source.levels))]
        viewer.add_image(
            levels, multiscale=True, contrast_limits=(0, 255), colormap="twilight_shifted"
        )
    else:
        npg.add_progressive_image(
            viewer, source, colormap="twilight_shifted", contrast_limits=(0, 255)
        )
    app = QApplication.instance()
    end = time.perf_counter() + 3
    while time.perf_counter() < end:
        app.processEvents()
    npg.wait_until_idle(viewer, 60)
    beat = Heartbeat()
    row, col = source.data_coord_of(TARGET)
    camera = viewer.scene.camera
    blocks, full = [], []
    for step in range(STEPS):
        beat.reset()
        t0 = time.perf_counter()
        camera.center = (row, col)
        camera.zoom = camera.zoom * 4
        # let the view settle: everything painted and loaded
        settle_until = time.perf_counter() + 0.3
        while time.perf_counter() < settle_until:
            app.processEvents()
        if mode != "napari":
            _process_until_idle(app, viewer, 60)
        full.append(time.perf_counter() - t0)
        app.processEvents()
        blocks.append(beat.worst * 1000)
        print(
            f"{mode} step {step}: longest block {blocks[-1]:.1f} ms, settled in {full[-1]:.2f} s",
            flush=True,
        )
    viewer.close()
    return {
        "mode": mode,
        "block_ms_median": statistics.median(blocks),
        "block_ms_max": max(blocks),
        "settle_s_median": statistics.median(full),
        "blocks_ms": [round(b, 1) for b in blocks],
    }


if __name__ == "__main__":
    results = [run(m) for m in ("napari", "progressive")]
    nap, prog = results
    print(json.dumps(results, indent=1))
    print(
        f"median longest block: napari {nap['block_ms_median']:.0f} ms, "
        f"progressive {prog['block_ms_median']:.1f} ms "
        f"(ratio {nap['block_ms_median'] / max(prog['block_ms_median'], 1e-3):.0f}x)"
    )
    sys.exit(0 if np.isfinite(prog["block_ms_max"]) else 1)
