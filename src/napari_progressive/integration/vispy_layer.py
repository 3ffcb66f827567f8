"""The vispy side of progressive layers: a ``TiledImage`` node kept in sync."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari._vispy.layers.base import VispyBaseLayer
from qtpy.QtCore import QTimer
from vispy.scene import PanZoomCamera, ViewBox

from napari_progressive.core.tiles import tile_grid, tile_shape
from napari_progressive.integration.label_textures import colour_table
from napari_progressive.integration.shared import shared_gpu_budget
from napari_progressive.render.tiled_visual import TiledImage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from napari_progressive.core.geometry import Level
    from napari_progressive.integration.labels_layer import ProgressiveLabels
    from napari_progressive.integration.layer import ProgressiveImage
    from napari_progressive.integration.progressive_base import ProgressiveLayerBase

#: How often a layer with pending uploads or geometry asks for a repaint (ms); tile
#: arrivals between two repaints are shown together.
REDRAW_INTERVAL_MS = 50


class VispyProgressiveLayer(VispyBaseLayer["ProgressiveLayerBase"]):
    """Draws a progressive layer's tiles; subclasses follow its display controls."""

    def __init__(self, layer: ProgressiveLayerBase, **kwargs: Any) -> None:
        levels = layer.loader.levels
        side = max(max(tile_shape(lv, _last_two(lv))) for lv in levels)
        node = TiledImage(
            (side, side),
            layer.loader.format,
            shared_gpu_budget(),
            max_bytes=layer.max_gpu_bytes,
            max_tiles=_plane_tiles(levels),
            max_texture_size=_max_texture_size(),
        )
        super().__init__(layer, node, **kwargs)
        self._connect_display_events()
        layer.events.debug_overlay.connect(self._on_overlay_change)
        layer.loading.connect(self._keep_drawing)
        # vispy drops update requests made while a frame is being drawn, so a
        # tile that lands then, or uploads left for the next frame, could wait
        # for an unrelated repaint. While work is pending, ask Qt directly.
        self._redraw_timer = QTimer()
        self._redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self._redraw_timer.timeout.connect(self._redraw_if_needed)
        layer.loader.attach(node)
        self._watched_canvas: Any = None
        node.events.parent_change.connect(self._watch_canvas)
        self.reset()

    def _watch_canvas(self, event: Any = None) -> None:
        """Take the view before every frame of the canvas the node is in.

        napari hands layers their view only after a frame is drawn; planning
        before the frame means a camera jump already draws the new plan (with
        its coarse fallbacks) in its first frame.
        """
        canvas = self.node.canvas
        if canvas is self._watched_canvas:
            return
        if self._watched_canvas is not None:
            self._watched_canvas.events.draw.disconnect(self.update_view)
        if canvas is not None:
            canvas.events.draw.connect(self.update_view, position="first")
        self._watched_canvas = canvas

    def update_view(self, event: Any = None) -> None:
        """Hand the layer what the canvas shows now, in level-0 data coordinates."""
        canvas = self.node.canvas
        if canvas is None:
            return
        if not isinstance(_viewbox_camera(self.node), PanZoomCamera):
            self.layer.clear_canvas_view()  # 3D: not drawn yet
            return
        w, h = canvas.size
        # The 2D visual-to-canvas map is affine: evaluate it forward at three
        # points (cheap, float64) and invert the 2x2 instead of the chain.
        to_canvas = self.node.get_transform("visual", "canvas")
        ref = np.asarray(
            to_canvas.map(np.array([[0, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1]], dtype=float)),
            dtype=float,
        )
        ref = ref[:, :2] / ref[:, 3:4]
        a = np.stack([ref[1] - ref[0], ref[2] - ref[0]], axis=1)  # canvas px per visual unit
        inv = np.linalg.inv(a)
        px = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=float)
        corners = ((px - ref[0]) @ inv.T)[:, ::-1]  # visual (x, y) = data (cols, rows)
        step = max(np.hypot(*inv[:, 0]), np.hypot(*inv[:, 1]))  # visual units per px
        data_per_px = float(step) / float(getattr(canvas, "pixel_scale", 1.0) or 1.0)
        self.layer.set_canvas_view(
            corners.min(axis=0), corners.max(axis=0), data_per_px, (int(h), int(w))
        )

    def _keep_drawing(self) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw_if_needed(self) -> None:
        canvas = self.node.canvas
        if canvas is not None and self.node.needs_redraw and self.node.visible:
            canvas.native.update()
        else:
            self._redraw_timer.stop()
            self.layer.view_drawn()

    def _on_data_change(self) -> None:
        self.node.update()

    def _connect_display_events(self) -> None:
        """Follow the layer's colour and sampling controls."""
        raise NotImplementedError

    def _on_colour_change(self, event: Any = None) -> None:
        raise NotImplementedError

    def _on_interpolation_change(self, event: Any = None) -> None:
        raise NotImplementedError

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
        self._redraw_timer.stop()
        if self._watched_canvas is not None:
            self._watched_canvas.events.draw.disconnect(self.update_view)
        self.layer.loader.release()  # stops loading, frees the layer's host-cache share
        self.node.release()  # its texture pages go back to the shared budget
        super().close()


class VispyProgressiveImageLayer(VispyProgressiveLayer):
    """Follows an image layer's contrast limits, colormap, gamma and interpolation."""

    layer: ProgressiveImage

    def _connect_display_events(self) -> None:
        for name in ("contrast_limits", "colormap", "gamma"):
            getattr(self.layer.events, name).connect(self._on_colour_change)
        self.layer.events.interpolation2d.connect(self._on_interpolation_change)

    def _on_colour_change(self, event: Any = None) -> None:
        layer = self.layer
        lut = layer.colormap.map(np.linspace(0.0, 1.0, 256))
        self.node.set_colour(clim=layer.contrast_limits, gamma=layer.gamma, lut=lut)

    def _on_interpolation_change(self, event: Any = None) -> None:
        self.node.interpolation = str(self.layer.interpolation2d)


class VispyProgressiveLabelsLayer(VispyProgressiveLayer):
    """Follows a labels layer's colormap and selected label; always nearest sampling."""

    layer: ProgressiveLabels

    def _connect_display_events(self) -> None:
        for name in ("colormap", "selected_label", "show_selected_label"):
            getattr(self.layer.events, name).connect(self._on_colour_change)

    def _on_colour_change(self, event: Any = None) -> None:
        layer = self.layer
        layer._refresh_textures()  # the layer's handler may run after this one
        self.node.set_label_colours(colour_table(layer.colormap, layer.textures))

    def _on_interpolation_change(self, event: Any = None) -> None:
        self.node.interpolation = "nearest"


def _viewbox_camera(node: Any) -> Any:
    """The camera of the view box that holds ``node``, if any."""
    while node is not None:
        if isinstance(node, ViewBox):
            return node.camera
        node = node.parent
    return None


def _last_two(level: Level) -> tuple[int, int]:
    return (level.ndim - 2, level.ndim - 1) if level.ndim > 1 else (0, 0)


def _plane_tiles(levels: Sequence[Level]) -> int:
    """Tiles of one 2D plane over all levels (the most a view of it can need)."""
    total = 0
    for level in levels:
        rows, cols = tile_grid(level, _last_two(level))
        total += rows * cols
    return total


def _max_texture_size() -> int:
    from napari._vispy.utils.gl import get_max_texture_sizes

    size_2d, _ = get_max_texture_sizes()
    return int(size_2d) if size_2d else 8192
