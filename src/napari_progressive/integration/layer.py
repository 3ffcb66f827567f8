"""``ProgressiveImage``: a napari Image layer whose pixels load progressively.

It keeps every Image control (contrast limits, colormap, gamma, opacity,
blending, interpolation, visibility) but never slices data itself: before
each frame its vispy layer reads what the canvas shows, the view becomes a
frozen ``ViewState``, and the layer's ``LayerEngine`` plans, fetches and
stages tiles for the ``VispyProgressiveImageLayer`` to draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Image
from napari.layers.image.image import _ImageSlicingState

from napari_progressive.integration.lazy_array import LazyLevelArray
from napari_progressive.integration.progressive_base import (
    EmptySlicingMixin,
    ProgressiveLayerBase,
    placement_defaults,
)
from napari_progressive.sources.open import open_source

if TYPE_CHECKING:
    from napari_progressive.core.cache import HostCache
    from napari_progressive.core.executor import Executor


class _ProgressiveSlicingState(EmptySlicingMixin, _ImageSlicingState):
    """napari's image slicing, minus the data read."""


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
        source = open_source(data)
        level0 = source.levels[0]
        self._init_engine(
            source,
            max_gpu_bytes=max_gpu_bytes,
            host_cache=host_cache,
            executor=executor,
            max_in_flight=max_in_flight,
            lod_bias=lod_bias,
        )
        self._auto_contrast_pending = "contrast_limits" not in kwargs and level0.dtype != np.uint8
        kwargs.setdefault("contrast_limits", _initial_contrast_limits(level0.dtype))
        kwargs = {**placement_defaults(source), **kwargs}
        super().__init__(LazyLevelArray(source, 0), multiscale=False, rgb=False, **kwargs)
        self._init_events()

    def _get_layer_slicing_state(self, data: Any, cache: bool) -> _ProgressiveSlicingState:
        return _ProgressiveSlicingState(self, data, cache)

    def _update_thumbnail(self) -> None:
        coarsest = self._coarsest_image()
        if coarsest is None:
            super()._update_thumbnail()
            return
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
            finite = coarsest[np.isfinite(coarsest)]
            if finite.size:
                lo, hi = float(finite.min()), float(finite.max())
                hi = hi if hi > lo else lo + 1
                self.contrast_limits_range = (lo, hi)
                self.contrast_limits = (lo, hi)
        self._update_thumbnail()


def _initial_contrast_limits(dtype: np.dtype) -> tuple[float, float]:
    if dtype == np.uint8:
        return (0.0, 255.0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return (float(info.min), float(info.max))
    return (0.0, 1.0)
