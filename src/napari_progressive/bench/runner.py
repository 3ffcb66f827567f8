"""Run a scenario once per display mode in this process and collect metrics."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.bench.floor import FetchFloor
from napari_progressive.bench.heartbeat import Heartbeat
from napari_progressive.sources.faults import FaultInjectingSource

if TYPE_CHECKING:
    import napari

    from napari_progressive.bench.scenarios import Scenario, Step
    from napari_progressive.core.pieces import LoaderStats
    from napari_progressive.core.source import MultiscaleSource

#: napari's multiscale image, sliced on the UI thread / on napari's slicing thread, and ours.
MODES = ("napari-sync", "napari-async", "progressive")
#: Camera moves per second on a continuous path (a drag at display rate).
CONTINUOUS_HZ = 30.0
#: Seconds the first view may take to show content and to complete.
OPEN_TIMEOUT = 300.0


#: A pixel is lit when a channel exceeds this (the canvas is black).
LIT = 8
#: A frame differs from another when this share of its pixels changed by more than ``LIT``.
CHANGED_SHARE = 0.001


class _Frames:
    """Counts frames drawn, how long each took, and when the latest one finished.

    With ``read_back`` (scenarios that read frames back) every frame is read
    back, which waits until it is rasterised: a frame's time and its end then
    include the rasteriser's work. While watching it also keeps the first
    frame's pixels and when the picture first differed from the frame before
    the move. A software rasteriser works on the UI thread, so reading back
    puts each whole frame into the longest block, in every mode.
    """

    def __init__(self, scene_canvas: Any, read_back: bool = False) -> None:
        self.read_back = read_back
        self.count = 0
        self.last = 0.0
        self.durations: list[float] = []
        self._start = 0.0
        self._before: np.ndarray | None = None
        self._watching = False
        self._grab = False
        self.grabbed: np.ndarray | None = None
        self.first_pixels: np.ndarray | None = None
        self.changed_at: float | None = None
        #: Frames read back that showed nothing (no pixel lit).
        self.blank = 0
        # vispy calls the draw event's callbacks in list order and ``connect``
        # inserts first by default: place one before the scene and one after it
        scene_canvas.events.draw.connect(self._on_start, position="first")
        scene_canvas.events.draw.connect(self._on_draw, position="last")

    def _on_start(self, event: Any = None) -> None:
        self._start = time.perf_counter()

    def _on_draw(self, event: Any = None) -> None:
        self.count += 1
        if self.read_back or self._watching or self._grab:
            self._look()
        self.last = time.perf_counter()
        self.durations.append(self.last - self._start)

    def watch(self, before: np.ndarray | None) -> None:
        """Read frames back from now on until one differs from ``before``."""
        self._before, self._watching = before, True
        self.first_pixels = self.changed_at = None

    def unwatch(self) -> None:
        """Stop looking for a change (the picture may never change)."""
        self._watching = False

    def grab(self) -> None:
        """Read the next frame back into ``grabbed``."""
        self._grab, self.grabbed = True, None

    def _look(self) -> None:
        from vispy.gloo import read_pixels

        pixels = read_pixels(alpha=False)
        if self.read_back and not _lit(pixels).any():
            self.blank += 1
        if self._grab:
            self._grab, self.grabbed = False, pixels
        if not self._watching:
            return
        if self.first_pixels is None:
            self.first_pixels = pixels
        if self._before is None or _differs(pixels, self._before):
            self._watching, self.changed_at = False, time.perf_counter()

    def median_ms_since(self, count: int) -> float | None:
        """Median draw time of the frames after the first ``count``."""
        recent = self.durations[count:]
        return statistics.median(recent) * 1000 if recent else None


@dataclass
class _Run:
    """One mode's viewer, layers and instruments."""

    app: Any
    viewer: napari.Viewer
    layers: list[Any]
    mode: str
    frames: _Frames
    beat: Heartbeat
    sources: list[FaultInjectingSource]
    floor: FetchFloor | None
    #: The settled frame before the next move (when frames are read back).
    before: np.ndarray | None = None
    #: The ROI list that ``roi`` steps choose from, and the seconds spent on each view.
    navigator: Any = None
    dwell_s: float = 0.0

    @property
    def reads(self) -> int:
        return sum(s.reads for s in self.sources)


def run_mode(
    scenario: Scenario,
    mode: str,
    quick: bool,
    data: list[MultiscaleSource] | None = None,
    layer_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Walk the scenario's camera path in a fresh viewer displaying it in ``mode``.

    ``data`` replaces the scenario's freshly built sources; ``layer_kwargs``
    are added to every progressive layer's keywords.
    """
    import napari
    from napari.settings import get_settings

    settings = get_settings()
    async_before = settings.experimental.async_
    settings.experimental.async_ = mode == "napari-async"
    try:
        inner = data if data is not None else scenario.build(quick)
        sources = [FaultInjectingSource(s, latency=scenario.latency) for s in inner]
        viewer = napari.Viewer(show=True)
        try:
            return _walk(viewer, scenario, sources, mode, quick, layer_kwargs or {})
        finally:
            viewer.close()
    finally:
        settings.experimental.async_ = async_before


def _walk(
    viewer: napari.Viewer,
    scenario: Scenario,
    sources: list[FaultInjectingSource],
    mode: str,
    quick: bool,
    extra: dict[str, Any],
) -> dict[str, Any]:
    from qtpy.QtWidgets import QApplication

    from napari_progressive.integration.window import resize_canvas

    resize_canvas(viewer, *scenario.canvas_size(quick))
    viewer.dims.ndisplay = scenario.ndisplay
    if scenario.angles is not None:
        viewer.scene.camera.angles = scenario.angles
    opened = time.perf_counter()
    layers = [
        _add_layer(viewer, source, mode, {**scenario.layer_kwargs, **style, **extra})
        for source, style in zip(sources, scenario.styles(len(sources)), strict=True)
    ]
    canvas = viewer.window._qt_viewer.canvas
    scene_canvas = canvas._scene_canvas
    floor = FetchFloor(scene_canvas, scenario.latency) if mode == "progressive" else None
    run = _Run(
        QApplication.instance(),
        viewer,
        layers,
        mode,
        _Frames(scene_canvas, read_back=scenario.read_frames),
        Heartbeat(),
        sources,
        floor,
        navigator=_roi_navigator(viewer, scenario, sources[0].inner, quick),
        dwell_s=scenario.dwell_s,
    )
    first_content = _until(run.app, lambda: _shows_content(run), OPEN_TIMEOUT)
    complete = _settle(run, since=opened, timeout=OPEN_TIMEOUT)
    if run.frames.read_back:
        run.before = _read_frame(run)
    opening = {
        "first_content_s": first_content - opened if first_content else None,
        "complete_s": complete - opened if complete else None,
        **_volume_detail(run),
    }
    path = scenario.path(sources[0].inner, quick)
    if scenario.continuous:  # a drag starts from a settled view at its first position
        _move(run, path[0])
        _settle(run, since=time.perf_counter(), timeout=120)
    if mode == "progressive":  # count the path's fetches, not the first view's or its prefetch
        _until(run.app, lambda: all(layer.loader.scheduler.idle for layer in layers), 60)
        for layer in layers:
            layer.loader.ledger.reset()
    steps = [_continuous(run, path)] if scenario.continuous else [_step(run, s) for s in path]
    run.beat.stop()
    totals = _ledger(run)
    if totals:
        totals["tiles_shown"] = totals["tiles_fetched"] - totals["tiles_wasted"]
    return {
        "mode": mode,
        "renderer": _renderer(canvas),
        "layers": len(layers),
        "open": opening,
        "steps": steps,
        "roi_steps": any(s.roi is not None for s in path),
        **_summary(steps),
        **totals,
    }


def _add_layer(viewer: napari.Viewer, source: Any, mode: str, kwargs: dict[str, Any]) -> Any:
    import napari_progressive as npg
    from napari_progressive.integration.lazy_array import LazyLevelArray

    if mode == "progressive":
        return npg.add_progressive_image(viewer, source, **kwargs)
    progressive_only = {"host_cache", "executor", "max_in_flight", "max_gpu_bytes", "lod_bias"}
    kwargs = {k: v for k, v in kwargs.items() if k not in progressive_only}
    levels = [LazyLevelArray(source, i) for i in range(len(source.levels))]
    return viewer.add_image(levels, multiscale=True, **kwargs)


def _renderer(canvas: Any) -> str:
    from vispy.gloo import gl

    canvas._scene_canvas.set_current()
    return str(gl.glGetParameter(gl.GL_RENDERER))


def _roi_navigator(
    viewer: napari.Viewer, scenario: Scenario, source: MultiscaleSource, quick: bool
) -> Any:
    """The scenario's ROIs as the ROIs layer, and a navigator listing them (None: no ROIs)."""
    if scenario.rois is None:
        return None
    from napari_progressive.integration.layer_factory import rois_layer
    from napari_progressive.integration.roi_navigator import RoiNavigator

    rois = rois_layer(scenario.rois(source, quick), (1.0, 1.0))
    if rois is not None:
        viewer.add_layer(rois)
    return RoiNavigator(viewer)


def _move(run: _Run, step: Step) -> None:
    viewer = run.viewer
    if step.roi is not None:
        run.navigator.go(step.roi)
        return
    if step.dims_step is not None:
        viewer.dims.current_step = step.dims_step
    if step.angles is not None:
        viewer.scene.camera.angles = step.angles
    if step.plane is not None:
        position, normal = step.plane
        for layer in viewer.layers:
            layer.plane.position, layer.plane.normal = position, normal
    viewer.scene.camera.center = step.center
    viewer.scene.camera.zoom = step.zoom


def _step(run: _Run, step: Step) -> dict[str, Any]:
    """Jump the camera once and measure until full resolution."""
    reads0, drawn0, ledger0 = run.reads, run.frames.count, _ledger(run)
    if run.frames.read_back:
        run.frames.watch(run.before)
    run.beat.reset()
    t0 = time.perf_counter()
    _move(run, step)
    first = _until(run.app, lambda: run.frames.count > drawn0, timeout=60)
    full = _settle(run, since=t0, timeout=120)
    out = _record(run, reads0, drawn0, t0, first, t0, full)
    if run.frames.read_back:
        out.update(_first_frames(run, t0))
    out = {
        **out,
        **_progressive_step(run, ledger0, out["full_resolution_s"]),
        **_volume_detail(run),
    }
    if run.dwell_s:  # the user looks at the view before the next move
        _until(run.app, lambda: False, run.dwell_s)
    return out


def _first_frames(run: _Run, t0: float) -> dict[str, Any]:
    """What the first frame after a move showed, and when the picture first changed.

    ``first_frame_coverage``: the share of the settled frame's lit pixels
    that the first frame lit too (1: it showed data everywhere the final
    view does). ``first_new_frame_ms``: from the move to the first frame that
    differs from the settled frame before it (a time step that keeps showing
    the last time point draws frames that do not count).
    """
    frames = run.frames
    frames.unwatch()
    first, changed = frames.first_pixels, frames.changed_at
    settled = _read_frame(run)
    run.before = settled
    lit = _lit(settled) if settled is not None else None
    coverage = None
    if first is not None and lit is not None and lit.any():
        coverage = float((_lit(first) & lit).sum() / lit.sum())
    return {
        "first_frame_coverage": coverage,
        "first_new_frame_ms": (changed - t0) * 1000 if changed is not None else None,
    }


def _read_frame(run: _Run) -> np.ndarray | None:
    """Draw the scene once more and read the frame back."""
    run.frames.grab()
    run.viewer.window._qt_viewer.canvas._scene_canvas.update()
    _until(run.app, lambda: run.frames.grabbed is not None, timeout=30)
    return run.frames.grabbed


def _lit(pixels: np.ndarray) -> np.ndarray:
    return pixels.max(axis=-1) > LIT


def _differs(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return True
    changed = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1) > LIT
    return bool(changed.mean() > CHANGED_SHARE)


def _continuous(run: _Run, path: list[Step]) -> dict[str, Any]:
    """Move the camera at ``CONTINUOUS_HZ`` along ``path`` without waiting, then settle.

    One record for the whole drag: its longest block, frames drawn while
    moving, and time to full resolution after the last move.
    """
    reads0, drawn0, ledger0 = run.reads, run.frames.count, _ledger(run)
    blank0 = run.frames.blank
    run.beat.reset()
    t0 = time.perf_counter()
    first = None
    for i, step in enumerate(path):
        _move(run, step)
        due = t0 + (i + 1) / CONTINUOUS_HZ
        _until(run.app, lambda due=due: time.perf_counter() >= due, timeout=120)
        if first is None and run.frames.count > drawn0:
            first = run.frames.last
    moved = time.perf_counter()
    frames_moving = run.frames.count - drawn0
    blank_moving = run.frames.blank - blank0
    full = _settle(run, since=moved, timeout=120)
    out = {
        **_record(run, reads0, drawn0, t0, first, moved, full),
        "moves": len(path),
        "move_s": moved - t0,
        "frames_while_moving": frames_moving,
    }
    if run.frames.read_back:
        out["blank_frames_while_moving"] = blank_moving
    return {**out, **_progressive_step(run, ledger0, None)}


def _record(
    run: _Run,
    reads0: int,
    drawn0: int,
    t0: float,
    first: float | None,
    last_move: float,
    full: float | None,
) -> dict[str, Any]:
    """A step's measures: the camera first moved at ``t0`` and last at ``last_move``."""
    return {
        "longest_block_ms": run.beat.worst * 1000,
        "first_frame_ms": (first - t0) * 1000 if first else None,
        "full_resolution_s": full - last_move if full else None,
        "chunks_read": run.reads - reads0,
        "frames": run.frames.count - drawn0,
        "frame_ms": run.frames.median_ms_since(drawn0),
    }


def _ledger(run: _Run, stats: list[LoaderStats] | None = None) -> dict[str, int]:
    """Tiles fetched and wasted so far, over the progressive layers (from ``stats`` if taken)."""
    if run.mode != "progressive":
        return {}
    import napari_progressive as npg

    stats = stats if stats is not None else [npg.stats(layer) for layer in run.layers]
    return {
        "tiles_fetched": sum(s.tiles_fetched for s in stats),
        "tiles_wasted": sum(s.tiles_wasted for s in stats),
    }


def _progressive_step(run: _Run, ledger0: dict[str, int], full_s: float | None) -> dict[str, Any]:
    """Budgets, wasted fetches and (given a jump's ``full_s``) the fetch floor of a step."""
    if run.mode != "progressive":
        return {}
    import napari_progressive as npg

    stats = [npg.stats(layer) for layer in run.layers]
    ledger = _ledger(run, stats)
    out: dict[str, Any] = {
        "host_bytes": sum(s.host_bytes for s in stats),
        "gpu_bytes": sum(s.gpu_bytes for s in stats),
        "host_budget_bytes": stats[0].host_budget_bytes,
        "gpu_budget_bytes": stats[0].gpu_budget_bytes,
        "gpu_used_bytes": stats[0].gpu_used_bytes,
        "tiles_fetched": ledger["tiles_fetched"] - ledger0["tiles_fetched"],
        "tiles_wasted_so_far": ledger["tiles_wasted"],
    }
    if run.floor is not None and full_s is not None:
        needs = [
            (s.inner, _final_keys(layer)) for layer, s in zip(run.layers, run.sources, strict=True)
        ]
        out.update(run.floor.measure(needs))
        if out["floor_s"] > 0:
            out["floor_ratio"] = full_s / out["floor_s"]
    return out


def _final_keys(layer: Any) -> list[Any]:
    """What a layer's settled view needs: 2D, its target level's tiles; 3D, its finest bricks.

    The finest bricks are the visible planned bricks whose box holds no finer
    planned brick (their coarser ancestors and prefetch are not needed).
    """
    plan = layer.loader.plan
    if plan is not None:
        return [t.key for t in plan.tiles if t.key.level == plan.target_level]
    volume = layer.loader.volume_plan
    if volume is None:
        return []
    from napari_progressive.core.planner import VISIBLE

    bricks = [b for b in volume.bricks if b.tier == VISIBLE]
    lo = np.asarray([b.lo for b in bricks])
    hi = np.asarray([b.hi for b in bricks])
    level = np.asarray([b.key.level for b in bricks])
    centre = (lo + hi) / 2
    inside = np.all((lo[:, None] <= centre[None]) & (centre[None] < hi[:, None]), axis=-1)
    covers_finer = (inside & (level[None] < level[:, None])).any(axis=1)
    return [b.key for b, parent in zip(bricks, covers_finer, strict=True) if not parent]


def _shows_content(run: _Run) -> bool:
    """Whether the latest frame drew data of every layer."""
    if run.frames.count == 0:
        return False
    if run.mode == "progressive":
        import napari_progressive as npg

        return all(npg.stats(layer).levels for layer in run.layers)
    return all(layer.loaded for layer in run.layers)


def _volume_detail(run: _Run) -> dict[str, Any]:
    """3D: the level drawn at the camera's centre, its voxels on screen and the 1 px level.

    napari's multiscale volume draws one level (its coarsest); a progressive
    layer the finest planned level whose brick holds the centre.
    """
    if run.viewer.dims.ndisplay != 3:
        return {}
    layer, levels = run.layers[0], run.sources[0].inner.levels
    data_per_px = 1.0 / run.viewer.scene.camera.zoom  # the layers' scale is 1
    if run.mode == "progressive":
        plan = layer.loader.volume_plan
        if plan is None or not plan.bricks:
            return {}
        data_per_px = plan.view.data_per_screen_px
        centre = np.asarray(plan.view.centre)
        holding = [
            b.key.level
            for b in plan.bricks
            if np.all(np.asarray(b.lo) <= centre) and np.all(centre < np.asarray(b.hi))
        ]
        level = min(holding) if holding else max(b.key.level for b in plan.bricks)
    else:
        level = int(layer.data_level)
    displayed = run.viewer.dims.displayed[-3:]  # the layers span the viewer's axes
    voxel = [min(lv.scale[a] for a in displayed) for lv in levels]
    fine_enough = [i for i, v in enumerate(voxel) if v <= data_per_px]
    return {
        "centre_level": level,
        "one_px_level": max(fine_enough) if fine_enough else 0,
        "centre_voxel_px": voxel[level] / data_per_px,
    }


def _until(app: Any, done: Any, timeout: float) -> float | None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        app.processEvents()
        if done():
            return time.perf_counter()
        time.sleep(0.0005)
    return None


def _settle(run: _Run, since: float, timeout: float) -> float | None:
    """When the layers last drew at full resolution (None on timeout).

    Progressive: nothing queued, in flight or staged. napari: every slice is
    loaded, no chunk was read for 300 ms and a frame was drawn after the last
    read (sync slicing reads inside the draw; async slicing reads on a thread
    and draws again when the slice arrives).
    """
    quiet = 0.3
    frames = run.frames
    if run.mode == "progressive":
        done = _until(run.app, lambda: all(layer.is_idle() for layer in run.layers), timeout)
        return max(frames.last, since) if done else None
    reads = [run.reads, since]  # count, when it last changed

    def settled() -> bool:
        now = time.perf_counter()
        if run.reads != reads[0]:
            reads[:] = [run.reads, now]
        drawn_after = frames.last > max(reads[1], since)
        loaded = all(layer.loaded for layer in run.layers)
        return drawn_after and loaded and now - max(reads[1], frames.last) > quiet

    done = _until(run.app, settled, timeout)
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
        "frame_ms_median": med("frame_ms"),
        "full_resolution_s_median": med("full_resolution_s"),
        "floor_s_median": med("floor_s"),
        "floor_ratio_median": med("floor_ratio"),
        "chunks_read": sum(s["chunks_read"] for s in steps),
        "timeouts": sum(1 for s in steps if s["full_resolution_s"] is None),
    }
