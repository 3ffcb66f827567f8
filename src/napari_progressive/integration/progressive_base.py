"""What every progressive layer shares, whatever napari layer it extends.

``ProgressiveLayerBase`` is mixed in before a napari layer class (``Image``,
``Labels``): it owns the ``Loader``, turns what a canvas shows into a
frozen ``SliceView`` (throttled while the camera moves), answers
``get_value`` from tiles already in memory, and replaces napari's slicing with
one that reads nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers._scalar_field._slice import _ScalarFieldSliceResponse
from napari.utils.events import Event, EventEmitter
from qtpy.QtCore import QTimer
from superqt.utils import qthrottled

from napari_progressive.core.executor import as_executor, shared_thread_pool
from napari_progressive.core.loader import Loader
from napari_progressive.core.motion import MotionTracker
from napari_progressive.core.planner import PlannedTile
from napari_progressive.core.view import SliceView, VolumeView
from napari_progressive.integration.lazy_array import LazyLevelArray
from napari_progressive.integration.loading_status import LoadingStatus
from napari_progressive.integration.main_thread import MainThreadWaker
from napari_progressive.integration.shared import (
    default_in_flight,
    shared_disk_cache,
    shared_host_cache,
    shared_scheduler,
)
from napari_progressive.sources.export import export_omezarr
from napari_progressive.sources.open import open_source

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from napari.layers.base import Layer as _LayerBase

    from napari_progressive.core.cache import HostCache
    from napari_progressive.core.executor import Executor
    from napari_progressive.core.plane_planner import SlicingPlane
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.volume_planner import ClipPlane

    #: What a brick plan is asked for: view, slots, clipping planes, slicing plane.
    _BrickRequest = tuple[VolumeView, int, tuple[ClipPlane, ...], SlicingPlane | None]
else:
    _LayerBase = object

#: Least time between two plans while the camera moves (ms).
PLAN_INTERVAL_MS = 25
#: Values ``shown_values`` samples at most (contrast limits, histogram).
SHOWN_VALUES_MAX = 2**18


class EmptySliceRequest:
    """A slice request that reads nothing: the layer's loader does the loading."""

    def __init__(self, layer: Any, slice_input: Any) -> None:
        self._slice_input = slice_input
        self._dtype = layer.dtype

    def __call__(self) -> _ScalarFieldSliceResponse:
        """An empty slice of the requested dims."""
        return _ScalarFieldSliceResponse.make_empty(
            slice_input=self._slice_input, rgb=False, dtype=self._dtype
        )


class EmptySlicingMixin:
    """Mixed into a napari slicing state: napari's slicing, minus the data read."""

    layer: Any
    _slice_input: Any

    def _set_view_slice(self) -> None:
        self._update_slice_response(  # type: ignore[attr-defined]
            EmptySliceRequest(self.layer, self._slice_input)()
        )

    def _make_slice_request(self, dims: Any) -> Any:
        return EmptySliceRequest(self.layer, self.make_slice_input(dims))  # type: ignore[attr-defined]


def layer_source(data: Any, **options: Any) -> MultiscaleSource:
    """The source of a new layer: ``open_source(data)``, or the source of a layer's data.

    A progressive layer's ``data`` (its level 0, as Duplicate Layer passes
    it) gives another layer over the same source.
    """
    if isinstance(data, LazyLevelArray):
        if data.level != 0 or data.shape != tuple(data.source.levels[0].shape):
            raise ValueError("a progressive layer needs the whole of level 0 of a source")
        return data.source
    return open_source(data, **options)


def layer_units(layer: Any) -> list[str | None]:
    """A layer's units as text (None where it has none)."""
    return [None if u is None else str(u) for u in layer.units]


def placement_defaults(source: MultiscaleSource) -> dict[str, Any]:
    """Layer keywords a source implies: level 0's scale and translate, and its name."""
    level0 = source.levels[0]
    return {"scale": level0.scale, "translate": level0.translate, "name": source.name}


class ProgressiveLayerBase(_LayerBase):
    """Engine, view tracking and value lookup of a progressive layer."""

    loader: Loader
    max_gpu_bytes: int | None
    loading: EventEmitter

    def _init_loader(
        self,
        source: MultiscaleSource,
        *,
        max_gpu_bytes: int | None,
        host_cache: HostCache | None,
        executor: Executor | Any,
        max_in_flight: int | None,
        lod_bias: float,
        texture_of: Callable[[np.ndarray], np.ndarray] | None = None,
        texture_dtype: np.dtype | None = None,
    ) -> None:
        """Create the loader (before the napari layer's ``__init__``)."""
        self.max_gpu_bytes = None if max_gpu_bytes is None else int(max_gpu_bytes)
        self._loading_options = {
            "max_gpu_bytes": max_gpu_bytes,
            "host_cache": host_cache,
            "executor": executor,
            "max_in_flight": max_in_flight,
            "lod_bias": lod_bias,
        }
        self._waker = MainThreadWaker(self._on_results)
        runner = as_executor(executor) if executor is not None else shared_thread_pool()
        queue = shared_scheduler(runner)
        self.loader = Loader(
            source,
            host_cache=host_cache if host_cache is not None else shared_host_cache(),
            executor=runner,
            max_in_flight=max_in_flight or default_in_flight(source, runner),
            scheduler=queue,
            notify=self._waker,
            lod_bias=lod_bias,
            texture_of=texture_of,
            texture_dtype=texture_dtype,
            disk_cache=shared_disk_cache(),
        )
        self._debug_overlay = False
        self._last_view: SliceView | None = None
        self._last_brick_request: _BrickRequest | None = None
        self._motion = MotionTracker()

    def _init_events(self) -> None:
        """Add the layer's own events (after the napari layer's ``__init__``)."""
        self.events.add(debug_overlay=Event)
        # Loading progress gets its own emitter, outside ``layer.events``: the
        # layer list re-emits every layer event as a row update and repaint.
        self.loading = EventEmitter(source=self, type_name="loading")
        self._plan_throttled = qthrottled(self._plan_now, timeout=PLAN_INTERVAL_MS)
        self._bricks_throttled = qthrottled(self._plan_bricks_now, timeout=PLAN_INTERVAL_MS)
        self._loading_status = LoadingStatus(self)
        # Failed tiles are tried again on their own, also while the camera is still.
        self._retry_timer = QTimer()
        self._retry_timer.setSingleShot(True)
        self._retry_timer.timeout.connect(self._retry_failed)

    @property
    def debug_overlay(self) -> bool:
        """Whether each tile is tinted and outlined in its level's colour."""
        return self._debug_overlay

    @debug_overlay.setter
    def debug_overlay(self, on: bool) -> None:
        self._debug_overlay = bool(on)
        self.events.debug_overlay(value=self._debug_overlay)

    def flush_view(self) -> None:
        """Plan now for the latest view instead of waiting for the throttle."""
        self._plan_throttled.flush()
        self._bricks_throttled.flush()

    def view_drawn(self) -> None:
        """The canvas has drawn everything it has for the current view."""
        self._loading_status.update()

    def is_idle(self) -> bool:
        """Whether the current view has everything it needs on screen."""
        if not self.visible:
            return True  # nothing to show
        return self.loader.complete

    # -- napari hooks ---

    def save(self, path: str, plugin: str | None = None) -> list[str]:
        """Write every level to a new OME-Zarr at ``path`` (``.zarr``), chunk by chunk.

        Blocks until done; File > IO Utilities > "Export progressive layer to
        OME-Zarr..." does the same in the background and can keep only the
        coarser levels.
        """
        if not str(path).rstrip("/").endswith(".zarr"):
            raise ValueError(
                f"a progressive layer is saved as OME-Zarr: give a path ending in .zarr, "
                f"not {path!r} (File > Save Screenshot saves what the canvas shows)"
            )
        export_omezarr(
            self.loader.source,
            path,
            axis_names=list(self.axis_labels),
            units=layer_units(self),
        )
        return [str(path)]

    def _get_state(self) -> dict[str, Any]:
        """Napari's layer state plus the loading options: what Duplicate Layer copies."""
        state = super()._get_state()
        for key in ("multiscale", "rgb"):  # fixed by the progressive layer itself
            state.pop(key, None)
        return {**state, **self._loading_options}

    def _set_source(self, source: Any) -> None:
        """Keep the sample provenance when napari's reader path adds its own.

        Sample data reaches this plugin through its reader, so napari sets the
        source twice (sample, then path and reader); merge instead of failing.
        """
        current: Any = getattr(self, "_source")  # noqa: B009 - typed by napari at runtime only
        if current.sample and not (current.path or current.reader_plugin):
            self._source = source.model_copy(update={"sample": current.sample})
            return
        super()._set_source(source)

    def _update_draw(
        self,
        scale_factor: float,
        corner_pixels_displayed: np.ndarray,
        shape_threshold: tuple[int, int],
    ) -> None:
        # napari calls this after each frame; the view is taken before each
        # frame instead (``set_canvas_view``), so there is nothing to do here.
        self.scale_factor = scale_factor

    def set_canvas_view(
        self, lo: np.ndarray, hi: np.ndarray, data_per_px: float, canvas: tuple[int, int]
    ) -> None:
        """Plan for what a canvas shows (throttled while the camera moves).

        ``lo``/``hi`` bound the view along the displayed axes in level-0 data
        coordinates (rows, cols); ``data_per_px`` is level-0 pixels per screen
        pixel; ``canvas`` the canvas size (height, width).
        """
        view = self.view_state(lo, hi, data_per_px, canvas)
        if view is None:
            self.clear_canvas_view()
            return
        if view == self._last_view:
            return  # redraws of an unchanged view must not keep the throttle busy
        self._last_view = view
        self._motion.update(view, time.monotonic())
        if self.loader.plan is None:
            self._plan_now(view)  # first view: at once
        else:
            self._plan_throttled(view)

    def clear_canvas_view(self) -> None:
        """The canvas shows no 2D view of this layer (3D camera, hidden layer).

        A plan still waiting in the throttle is dropped with it, so a late
        2D plan cannot come back after the view has gone.
        """
        if (
            self._last_view is not None
            or self._last_brick_request is not None
            or self.loader.plan is not None
            or self.loader.volume_plan is not None
        ):
            self._last_view = None
            self._last_brick_request = None
            self._plan_throttled.cancel()
            self._bricks_throttled.cancel()
            self._plan_now(None)

    def volume_slice(self) -> tuple[tuple[int, int, int], tuple[float, ...]] | None:
        """The displayed axes and the slice point of a 3D view; None when not in 3D.

        A 2D layer on a 3D canvas displays two axes: its plane is tiled as in 2D
        (``set_canvas_view``), so it has no volume slice.
        """
        displayed = tuple(int(a) for a in self._slice_input.displayed)
        if self._slice_input.ndisplay != 3 or len(displayed) != 3 or not self.visible:
            return None
        point = self._slice_point(displayed)
        return None if point is None else ((displayed[0], displayed[1], displayed[2]), point)

    def _slice_point(self, displayed: tuple[int, ...]) -> tuple[float, ...] | None:
        """The slice point, displayed axes zeroed (napari may leave NaN there); None if unset."""
        point = np.asarray(self._data_slice.point, dtype=float).copy()
        point[list(displayed)] = 0.0
        if not np.all(np.isfinite(point)):
            return None
        return tuple(float(v) for v in point)

    def set_brick_view(
        self,
        view: VolumeView,
        slots: int,
        clipping_planes: Sequence[ClipPlane] = (),
        plane: SlicingPlane | None = None,
    ) -> None:
        """Plan the bricks a 3D canvas shows, within ``slots`` (throttled while it moves).

        ``plane``: napari's slicing plane under plane depiction.
        """
        request = (view, slots, tuple(clipping_planes), plane)
        if request == self._last_brick_request:
            return
        self._last_brick_request = request
        self._last_view = None
        self._plan_throttled.cancel()  # a late 2D plan must not come back in 3D
        if self.loader.volume_plan is None:
            self._plan_bricks_now(request)  # first 3D view: at once
        else:
            self._bricks_throttled(request)

    def _plan_bricks_now(self, request: _BrickRequest) -> None:
        if self._last_brick_request is None:
            return  # the 3D view went away while this waited in the throttle
        self.loader.set_brick_view(*request)
        self._schedule_retry()
        self.loading()

    def _plan_now(self, view: SliceView | None) -> None:
        self.loader.set_view(view, self._motion.motion)
        self._schedule_retry()
        self.loading()

    def _schedule_retry(self) -> None:
        delay = self.loader.next_retry_in()
        if delay is None:
            self._retry_timer.stop()
        elif not self._retry_timer.isActive():
            self._retry_timer.start(int(delay * 1000) + 5)

    def _retry_failed(self) -> None:
        self.loader.replan()
        self._schedule_retry()

    def view_state(
        self, lo: np.ndarray, hi: np.ndarray, data_per_px: float, canvas: tuple[int, int]
    ) -> SliceView | None:
        """The frozen ``SliceView`` of a canvas; None when it does not show 2 axes."""
        displayed = tuple(int(a) for a in self._slice_input.displayed)
        if len(displayed) != 2 or not self.visible:
            return None
        point = self._slice_point(displayed)
        if point is None or not np.isfinite(data_per_px):
            return None
        # Quantise to 1/8 screen pixel so that float noise in the camera does
        # not make every redraw look like a new view.
        q = data_per_px / 8
        return SliceView(
            displayed=(displayed[0], displayed[1]),
            lo=(float(np.floor(lo[0] / q) * q), float(np.floor(lo[1] / q) * q)),
            hi=(float(np.ceil(hi[0] / q) * q), float(np.ceil(hi[1] / q) * q)),
            data_per_screen_px=float(f"{data_per_px:.9g}"),
            point=point,
            canvas=(int(canvas[0]), int(canvas[1])),
        )

    def _get_value(self, position: Any) -> Any:
        """The finest value already in memory at ``position`` (never reads)."""
        pos = np.asarray(position, dtype=float)
        for lv, (level, mapping) in enumerate(
            zip(self.loader.levels, self.loader.mappings, strict=True)
        ):
            px = mapping.pixel_of(pos)
            if np.any(px < 0) or np.any(px >= np.asarray(level.shape)):
                return None
            value = self.loader.value_at(lv, tuple(int(p) for p in px))
            if value is not None:
                return value
        return None

    # -- loader results ---------------------------------------------------------

    def _on_results(self) -> None:
        drained = self.loader.drain()
        if len(self.loader.levels) - 1 in drained.levels:
            coarsest = self._coarsest_image()
            if coarsest is not None:
                self._on_coarsest(coarsest)
        self._schedule_retry()
        self.loading()

    def _on_coarsest(self, coarsest: np.ndarray) -> None:
        """All of the coarsest level's current cut is cached (thumbnail, contrast)."""

    def shown_values(self, max_values: int = SHOWN_VALUES_MAX) -> np.ndarray | None:
        """Values of the tiles drawn in the latest frame, inside the view (never reads).

        Each tile is cropped to the view and strided so that at most about
        ``max_values`` values come back in all; None when nothing is drawn.
        """
        plan = self.loader.plan
        if plan is None:
            return None
        view_lo, view_hi = np.asarray(plan.view.lo), np.asarray(plan.view.hi)
        crops = []
        for t in self.loader.drawn():
            if not isinstance(t, PlannedTile):
                continue
            tile = self.loader.tile_values(t.key)
            if tile is None:
                continue
            lo, hi = np.asarray(t.lo), np.asarray(t.hi)
            size = np.asarray(tile.shape[:2])
            first = np.clip(np.floor((view_lo - lo) / (hi - lo) * size), 0, size).astype(int)
            last = np.clip(np.ceil((view_hi - lo) / (hi - lo) * size), 0, size).astype(int)
            crop = tile[first[0] : last[0], first[1] : last[1]]
            if crop.size:
                crops.append(crop)
        total = sum(c.size for c in crops)
        if not total:
            return None
        step = max(1, int(np.ceil(np.sqrt(total / max_values))))
        return np.concatenate([c[::step, ::step].ravel() for c in crops])

    def _coarsest_image(self) -> np.ndarray | None:
        """The coarsest level's current 2D cut when all its tiles are cached (3D: its bricks)."""
        if self.loader.volume_plan is not None:
            return self._coarsest_bricks()
        plan = self.loader.plan
        if plan is None:
            return None
        last = len(self.loader.levels) - 1
        tiles = [t for t in plan.tiles if t.key.level == last]
        if not tiles:
            return None
        arrays = [self.loader.tile_values(t.key) for t in tiles]
        if any(a is None for a in arrays):
            return None
        rows = sorted({t.key.tile[0] for t in tiles})
        cols = sorted({t.key.tile[1] for t in tiles})
        grid = {t.key.tile: a for t, a in zip(tiles, arrays, strict=True)}
        if len(grid) != len(rows) * len(cols):
            return None
        return np.block([[grid[i, j] for j in cols] for i in rows])

    def _coarsest_bricks(self) -> np.ndarray | None:
        """The coarsest level's volume when all its planned bricks are cached (brick view)."""
        plan = self.loader.volume_plan
        assert plan is not None
        last = len(self.loader.levels) - 1
        bricks = {b.key.brick: b.key for b in plan.bricks if b.key.level == last}
        if not bricks:
            return None
        axes = [sorted({index[a] for index in bricks}) for a in range(3)]
        if len(bricks) != len(axes[0]) * len(axes[1]) * len(axes[2]):
            return None
        values = {index: self.loader.brick_values(key) for index, key in bricks.items()}
        if any(v is None for v in values.values()):
            return None
        return np.block([[[values[i, j, k] for k in axes[2]] for j in axes[1]] for i in axes[0]])
