"""``ProgressiveImage``: a napari Image layer whose pixels load progressively.

It keeps every Image control (contrast limits, colormap, gamma, opacity,
blending, interpolation, visibility) but never slices data itself: before
each frame its vispy layer reads what the canvas shows, the view becomes a
frozen ``SliceView``, and the layer's ``LayerEngine`` plans, fetches and
stages tiles for the ``VispyProgressiveImageLayer`` to draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari.components.histogram import HistogramModel
from napari.layers import Image
from napari.layers._scalar_field.scalar_field import ScalarFieldSlicingState
from napari.layers.image.image import _ImageSlicingState
from napari.layers.utils.layer_utils import calc_data_range
from superqt.utils import qthrottled

from napari_progressive.integration.lazy_array import LazyLevelArray
from napari_progressive.integration.progressive_base import (
    EmptySlicingMixin,
    ProgressiveLayerBase,
    layer_source,
    placement_defaults,
)

if TYPE_CHECKING:
    from napari_progressive.core.cache import HostCache
    from napari_progressive.core.executor import Executor


#: Least time between two automatic contrast or histogram updates as tiles land (ms).
DATA_VIEW_INTERVAL_MS = 200


class _ProgressiveSlicingState(EmptySlicingMixin, _ImageSlicingState):
    """napari's image slicing, minus the data read."""

    def _update_slice_response(self, response: Any) -> None:
        # The empty slice holds no values: napari's image slicing would set the
        # contrast limits from it; the layer sets them from its tiles instead.
        ScalarFieldSlicingState._update_slice_response(self, response)


class ProgressiveHistogram(HistogramModel):
    """napari's histogram over what a progressive layer has in memory (never reads).

    "canvas" mode counts the values drawn in the view; "full" mode the
    coarsest level's current plane.
    """

    def _get_displayed_data(self) -> np.ndarray | None:
        return self._layer.shown_values()

    def _get_full_data(self) -> np.ndarray | None:
        return self._layer._coarsest_image()


class ProgressiveImage(ProgressiveLayerBase, Image):
    """An Image layer over a ``MultiscaleSource`` that loads coarse to fine.

    Parameters
    ----------
    data
        A ``MultiscaleSource`` or a list of arrays, finest first.
    max_gpu_bytes
        At most this much texture memory for this layer (default: no cap of
        its own). All layers share one GPU budget (``set_gpu_budget``).
    host_cache, executor, max_in_flight
        Where tiles are cached and fetched; defaults are shared process-wide.
        ``executor`` may be a ``dask.distributed`` ``Client`` or a scheduler
        address: chunks are then read (or computed) on the cluster's workers.
    lod_bias
        Positive values pick coarser levels (each unit halves the resolution).
    **kwargs
        Any ``napari.layers.Image`` keyword (colormap, contrast_limits, ...).
    """

    def __init__(
        self,
        data: Any,
        *,
        max_gpu_bytes: int | None = None,
        host_cache: HostCache | None = None,
        executor: Executor | Any = None,
        max_in_flight: int | None = None,
        lod_bias: float = 0.0,
        **kwargs: Any,
    ) -> None:
        source = layer_source(data)
        level0 = source.levels[0]
        self._init_loader(
            source,
            max_gpu_bytes=max_gpu_bytes,
            host_cache=host_cache,
            executor=executor,
            max_in_flight=max_in_flight,
            lod_bias=lod_bias,
        )
        # Automatic limits come once, from the coarsest level, unless the
        # caller or the user sets limits first.
        self._auto_contrast_pending = "contrast_limits" not in kwargs and level0.dtype != np.uint8
        kwargs.setdefault("contrast_limits", _initial_contrast_limits(level0.dtype))
        kwargs = {**placement_defaults(source), **kwargs}
        super().__init__(LazyLevelArray(source, 0), multiscale=False, rgb=False, **kwargs)
        self._init_events()
        self._setting_auto_contrast = False
        self.events.contrast_limits.connect(self._on_contrast_limits)
        self._refresh_data_views = qthrottled(
            self._update_data_views, timeout=DATA_VIEW_INTERVAL_MS, leading=False
        )
        self.loading.connect(self._refresh_data_views)

    @property
    def histogram(self) -> HistogramModel:
        """The histogram model of napari, counting the values already in memory."""
        if not hasattr(self, "_histogram"):
            self._histogram = ProgressiveHistogram(self)
        return self._histogram

    def _calc_data_range(self, mode: str = "data") -> tuple[float, float]:
        """Value range of the tiles drawn ("slice") or of the coarsest level ("data").

        Uses only tiles in memory; falls back on the other source of values,
        and keeps the current limits when nothing has loaded yet.
        """
        shown, coarsest = self.shown_values, self._coarsest_image
        for get in (shown, coarsest) if mode == "slice" else (coarsest, shown):
            values = get()
            if values is not None and values.size:
                lo, hi = calc_data_range(values, dtype=self.dtype)
                if np.isfinite(lo) and np.isfinite(hi):
                    return float(lo), float(hi)
        lo, hi = self.contrast_limits
        return float(lo), float(hi)

    def _on_contrast_limits(self, event: Any = None) -> None:
        if not self._setting_auto_contrast:
            self._auto_contrast_pending = False  # the caller's or the user's limits win

    def _update_data_views(self, event: Any = None) -> None:
        """Follow new tiles: continuous auto-contrast, and the histogram when shown."""
        if self.auto_contrast:
            self._set_auto_contrast(self._calc_data_range("slice"))
        histogram = getattr(self, "_histogram", None)
        if histogram is not None and histogram.enabled:
            histogram._on_slice_change()

    def _set_auto_contrast(self, limits: tuple[float, float]) -> None:
        self._setting_auto_contrast = True
        try:
            self.contrast_limits = limits
        finally:
            self._setting_auto_contrast = False

    def _get_layer_slicing_state(self, data: Any, cache: bool) -> _ProgressiveSlicingState:
        return _ProgressiveSlicingState(self, data, cache)

    def _update_thumbnail(self) -> None:
        coarsest = self._coarsest_image()
        if coarsest is None:
            return  # nothing in view yet: keep the last thumbnail
        if coarsest.ndim == 3:
            coarsest = coarsest.max(axis=0)  # a volume: its projection, as napari's
        lo, hi = self.contrast_limits
        span = (hi - lo) or 1.0
        th, tw = self._thumbnail_shape[:2]
        step = max(1, -(-coarsest.shape[0] // th), -(-coarsest.shape[1] // tw))
        img = np.clip((coarsest[::step, ::step].astype(np.float32) - lo) / span, 0, 1)
        lut = self.colormap.map(np.linspace(0.0, 1.0, 256))
        rgba = lut[np.round(img**self.gamma * 255).astype(np.uint8)]
        rgba[..., 3] *= self.opacity
        self.thumbnail = rgba

    def _on_coarsest(self, coarsest: np.ndarray) -> None:
        if self._auto_contrast_pending:
            self._auto_contrast_pending = False
            limits = calc_data_range(coarsest, dtype=self.dtype)
            if not np.issubdtype(self.dtype, np.integer):
                self.contrast_limits_range = limits  # integers keep their dtype's range
            self._set_auto_contrast(limits)
        self._update_thumbnail()


def _initial_contrast_limits(dtype: np.dtype) -> tuple[float, float]:
    if dtype == np.uint8:
        return (0.0, 255.0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return (float(info.min), float(info.max))
    return (0.0, 1.0)
