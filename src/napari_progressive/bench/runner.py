"""Run a scenario once per display mode in this process and collect metrics."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

from napari_progressive.bench.heartbeat import Heartbeat
from napari_progressive.sources.faults import FaultInjectingSource

if TYPE_CHECKING:
    import napari

    from napari_progressive.bench.scenarios import Scenario, Step
    from napari_progressive.sources.protocol import MultiscaleSource

#: napari's multiscale image, sliced on the UI thread / on napari's slicing thread, and ours.
MODES = ("napari-sync", "napari-async", "progressive")


class _Frames:
    """Counts frames drawn and remembers when the latest one finished."""

    def __init__(self, scene_canvas: Any) -> None:
        self.count = 0
        self.last = 0.0
        scene_canvas.events.draw.connect(self._on_draw)  # connected last: after the scene

    def _on_draw(self, event: Any = None) -> None:
        self.count += 1
        self.last = time.perf_counter()


def run_mode(
    scenario: Scenario,
    mode: str,
    quick: bool,
    data: MultiscaleSource | None = None,
    layer_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Walk the scenario's camera path in a fresh viewer displaying it in ``mode``.

    ``data`` replaces the scenario's freshly built data; ``layer_kwargs`` are
    added to the progressive layer's keywords.
    """
    import napari
    from napari.settings import get_settings

    settings = get_settings()
    async_before = settings.experimental.async_
    settings.experimental.async_ = mode == "napari-async"
    try:
        inner = data if data is not None else scenario.build(quick)
        source = FaultInjectingSource(inner, latency=scenario.latency)
        viewer = napari.Viewer(show=True)
        try:
            return _walk(viewer, scenario, source, mode, quick, layer_kwargs or {})
        finally:
            viewer.close()
    finally:
        settings.experimental.async_ = async_before


def _walk(
    viewer: napari.Viewer,
    scenario: Scenario,
    source: FaultInjectingSource,
    mode: str,
    quick: bool,
    extra: dict[str, Any],
) -> dict[str, Any]:
    from qtpy.QtWidgets import QApplication

    import napari_progressive as npg
    from napari_progressive.integration.lazy_array import LazyLevelArray
    from napari_progressive.integration.window import resize_canvas

    resize_canvas(viewer, *((640, 480) if quick else (1280, 800)))
    if mode == "progressive":
        layer: Any = npg.add_progressive_image(viewer, source, **scenario.layer_kwargs, **extra)
    else:
        levels = [LazyLevelArray(source, i) for i in range(len(source.levels))]
        layer = viewer.add_image(levels, multiscale=True, **scenario.layer_kwargs)
    canvas = viewer.window._qt_viewer.canvas
    frames = _Frames(canvas._scene_canvas)
    app = QApplication.instance()
    _settle(app, layer, mode, frames, source, since=time.perf_counter(), timeout=120)
    beat = Heartbeat()
    steps = []
    for step in scenario.path(source.inner, quick):
        steps.append(_step(app, viewer, layer, mode, frames, beat, source, step))
    beat.stop()
    return {"mode": mode, "renderer": _renderer(canvas), "steps": steps, **_summary(steps)}


def _renderer(canvas: Any) -> str:
    from vispy.gloo import gl

    canvas._scene_canvas.set_current()
    return str(gl.glGetParameter(gl.GL_RENDERER))


def _step(
    app: Any,
    viewer: napari.Viewer,
    layer: Any,
    mode: str,
    frames: _Frames,
    beat: Heartbeat,
    source: FaultInjectingSource,
    step: Step,
) -> dict[str, Any]:
    import napari_progressive as npg

    reads0 = source.reads
    drawn0 = frames.count
    beat.reset()
    t0 = time.perf_counter()
    if step.dims_step is not None:
        viewer.dims.current_step = step.dims_step
    viewer.scene.camera.center = step.center
    viewer.scene.camera.zoom = step.zoom
    first = _until(app, lambda: frames.count > drawn0, timeout=60)
    full = _settle(app, layer, mode, frames, source, since=t0, timeout=120)
    out = {
        "longest_block_ms": beat.worst * 1000,
        "first_frame_ms": (first - t0) * 1000 if first else None,
        "full_resolution_s": full - t0 if full else None,
        "chunks_read": source.reads - reads0,
    }
    if mode == "progressive":
        s = npg.stats(layer)
        out.update(
            host_bytes=s["host_bytes"],
            gpu_bytes=s["gpu_bytes"],
            host_budget_bytes=s["host_budget_bytes"],
            gpu_budget_bytes=s["gpu_budget_bytes"],
            gpu_used_bytes=s["gpu_used_bytes"],
        )
    return out


def _until(app: Any, done: Any, timeout: float) -> float | None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        app.processEvents()
        if done():
            return time.perf_counter()
        time.sleep(0.0005)
    return None


def _settle(
    app: Any,
    layer: Any,
    mode: str,
    frames: _Frames,
    source: FaultInjectingSource,
    since: float,
    timeout: float,
) -> float | None:
    """When the layer last drew at full resolution (None on timeout).

    Progressive: nothing queued, in flight or staged. napari: its slice is
    loaded, no chunk was read for 300 ms and a frame was drawn after the last
    read (sync slicing reads inside the draw; async slicing reads on a thread
    and draws again when the slice arrives).
    """
    quiet = 0.3
    if mode == "progressive":
        done = _until(app, layer.is_idle, timeout)
        return max(frames.last, since) if done else None
    reads = [source.reads, since]  # count, when it last changed

    def settled() -> bool:
        now = time.perf_counter()
        if source.reads != reads[0]:
            reads[:] = [source.reads, now]
        drawn_after = frames.last > max(reads[1], since)
        return drawn_after and bool(layer.loaded) and now - max(reads[1], frames.last) > quiet

    done = _until(app, settled, timeout)
    return max(frames.last, since) if done else None


def _summary(steps: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float | None:
        values = [s[key] for s in steps if s.get(key) is not None]
        return statistics.median(values) if values else None

    blocks = [s["longest_block_ms"] for s in steps]
    return {
        "longest_block_ms_median": med("longest_block_ms"),
        "longest_block_ms_max": max(blocks) if blocks else None,
        "first_frame_ms_median": med("first_frame_ms"),
        "full_resolution_s_median": med("full_resolution_s"),
        "chunks_read": sum(s["chunks_read"] for s in steps),
        "timeouts": sum(1 for s in steps if s["full_resolution_s"] is None),
    }
