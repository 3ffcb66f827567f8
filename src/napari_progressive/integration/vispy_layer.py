"""The vispy side of ``ProgressiveImage``: a ``TiledImage`` node kept in sync."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari._vispy.layers.base import VispyBaseLayer

from napari_progressive.render.tiled_visual import TiledImage

if TYPE_CHECKING:
    from napari_progressive.integration.layer import ProgressiveImage


class VispyProgressiveImageLayer(VispyBaseLayer["ProgressiveImage"]):
    """Draws a progressive layer's tiles and follows its display controls."""

    def __init__(self, layer: ProgressiveImage, **kwargs: Any) -> None:
        levels = layer.engine.levels
        side = max(max(lv.chunks) for lv in levels)
        node = TiledImage(
            (side, side),
            layer.engine.format,
            layer.gpu_budget_bytes,
            max_texture_size=_max_texture_size(),
        )
        super().__init__(layer, node, **kwargs)
        for name in ("contrast_limits", "colormap", "gamma"):
            getattr(layer.events, name).connect(self._on_colour_change)
        layer.events.interpolation2d.connect(self._on_interpolation_change)
        layer.events.debug_overlay.connect(self._on_overlay_change)
        layer.engine.attach(node)
        self.reset()

    def _on_data_change(self) -> None:
        self.node.update()

    def _on_colour_change(self) -> None:
        layer = self.layer
        lut = layer.colormap.map(np.linspace(0.0, 1.0, 256))
        self.node.set_colour(clim=layer.contrast_limits, gamma=layer.gamma, lut=lut)

    def _on_interpolation_change(self) -> None:
        self.node.interpolation = str(self.layer.interpolation2d)

    def _on_overlay_change(self) -> None:
        self.node.overlay = self.layer.debug_overlay

    def reset(self) -> None:
        """Push every display property to the node."""
        super().reset()
        self._on_colour_change()
        self._on_interpolation_change()
        self._on_overlay_change()

    def close(self) -> None:
        """Stop loading for this canvas and detach the node."""
        self.layer.engine.set_view(None)
        super().close()


def _max_texture_size() -> int:
    from napari._vispy.utils.gl import get_max_texture_sizes

    size_2d, _ = get_max_texture_sizes()
    return int(size_2d) if size_2d else 8192
