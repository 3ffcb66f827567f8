"""``ProgressiveLabels``: a napari Labels layer whose label image loads progressively.

The layer keeps napari's Labels controls that make sense for read-only data:
colormap (cyclic or direct), selected label and "show selected", opacity,
blending, visibility, and label-id picking in the status bar. Tiles are always
sampled nearest; the host cache keeps the label values read, and a worker maps
them to texture values with a snapshot of the colormap (``label_textures``),
so a colormap change re-maps cached tiles without reading them again. Label
images are read-only: painting is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Labels
from napari.layers.labels.labels import _LabelsSlicingState
from napari.utils.colormaps import label_colormap

from napari_progressive.integration.label_textures import label_textures
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


class _ProgressiveLabelsSlicingState(EmptySlicingMixin, _LabelsSlicingState):
    """napari's labels slicing, minus the data read."""


class ProgressiveLabels(ProgressiveLayerBase, Labels):
    """A read-only Labels layer over a ``MultiscaleSource`` that loads coarse to fine.

    Parameters
    ----------
    data
        A ``MultiscaleSource`` or a list of integer arrays, finest first.
    max_gpu_bytes, host_cache, executor, max_in_flight, lod_bias
        As for ``ProgressiveImage``.
    **kwargs
        Any ``napari.layers.Labels`` keyword (colormap, opacity, ...).
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
        source = layer_source(data, labels=True)
        level0 = source.levels[0]
        if not np.issubdtype(level0.dtype, np.integer):
            raise TypeError(f"labels must be integers, {source.name!r} holds {level0.dtype}")
        textures = label_textures(label_colormap(), level0.dtype)
        self._textures = textures
        self._init_loader(
            source,
            max_gpu_bytes=max_gpu_bytes,
            host_cache=host_cache,
            executor=executor,
            max_in_flight=max_in_flight,
            lod_bias=lod_bias,
            texture_of=textures,
            texture_dtype=textures.texture_dtype,
        )
        kwargs = {**placement_defaults(source), **kwargs}
        super().__init__(LazyLevelArray(source, 0), multiscale=False, **kwargs)
        self._init_events()
        self.events.colormap.connect(self._refresh_textures)
        self._refresh_textures()

    @property
    def textures(self) -> Any:
        """The current label-to-texture mapping (a ``LabelTextures``)."""
        return self._textures

    def _refresh_textures(self, event: Any = None) -> None:
        """Re-map tiles when the colormap changes which texture value a label gets."""
        textures = label_textures(self.colormap, self.loader.levels[0].dtype)
        if textures.mapping_key == self._textures.mapping_key:
            self._textures = textures
            return
        self._textures = textures
        self.loader.set_texture_mapping(textures, textures.texture_dtype)

    def _reset_editable(self) -> None:
        self.editable = False  # read-only: the data lives in a store, not in memory

    def _get_layer_slicing_state(self, data: Any, cache: bool) -> _ProgressiveLabelsSlicingState:
        return _ProgressiveLabelsSlicingState(self, data, cache)

    def _update_thumbnail(self) -> None:
        coarsest = self._coarsest_image()
        if coarsest is None:
            return
        if coarsest.ndim == 3:
            coarsest = coarsest.max(axis=0)  # a volume: its projection, as napari's
        th, tw = self._thumbnail_shape[:2]
        step = max(1, -(-coarsest.shape[0] // th), -(-coarsest.shape[1] // tw))
        rgba = np.asarray(self.colormap.map(coarsest[::step, ::step]), dtype=np.float32)
        rgba[..., 3] *= self.opacity
        self.thumbnail = rgba

    def _on_coarsest(self, coarsest: np.ndarray) -> None:
        self._update_thumbnail()
