"""The vispy side of progressive layers: a node per ``ndisplay``, kept in sync.

In 2D, and for a 2D layer on a 3D canvas (its plane, tiled from the 3D
camera), the node is the ``TiledImage``. Three displayed axes switch to the
layer's ``BrickDisplay`` node (the brick volume, a level per brick, in volume
and plane depiction), as napari's own layers switch nodes by ``ndisplay``.
Before every frame the layer is handed what the canvas shows (``camera``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from napari._vispy.layers.base import VispyBaseLayer
from qtpy.QtCore import QTimer

from napari_progressive.core.tiles import tile_grid, tile_shape
from napari_progressive.integration.brick_display import BrickDisplay, LabelBrickDisplay
from napari_progressive.integration.camera import canvas_rect, volume_view
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
#: The longest wait between two repaints of a brick volume whose frames are slow.
MAX_PACED_MS = 1000


class VispyProgressiveLayer(VispyBaseLayer["ProgressiveLayerBase"]):
    """Draws a progressive layer's tiles; subclasses follow its display controls."""

    node: Any  # the tile node in 2D, the brick or the volume node in 3D

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
        self._tiles = node
        self._bricks: BrickDisplay | None = None
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
        self._requested_at = time.perf_counter()
        layer.loader.attach(node)
        self._watched_canvas: Any = None
        node.events.parent_change.connect(self._watch_canvas)
        self._on_display_change()
        self.reset()

    def _brick_display(self, displayed: tuple[int, int, int]) -> BrickDisplay:
        """The brick volume of a 3D view of ``displayed``."""
        raise NotImplementedError

    def _wanted_node(self) -> Any:
        """The node the displayed axes ask for: tiles for two, the brick volume for three."""
        if self.layer._slice_input.ndisplay != 3:
            return self._tiles
        displayed = tuple(int(a) for a in self.layer._slice_input.displayed)
        if len(displayed) != 3:
            return self._tiles  # a 2D layer on a 3D canvas: its plane, tiled
        if self._bricks is None:
            self._bricks = self._brick_display((displayed[0], displayed[1], displayed[2]))
            self._bricks.node.events.parent_change.connect(self._watch_canvas)
        self._bricks.show_axes((displayed[0], displayed[1], displayed[2]))
        return self._bricks.node

    def _on_display_change(self, event: Any = None) -> None:
        """Use the node that ``ndisplay`` asks for (napari's ``get_node`` switch)."""
        node = self._wanted_node()
        if node is self.node:
            self._on_interpolation_change()  # napari samples by ndisplay
            return
        parent, order, children = self.node.parent, self.order, list(self.node.children)
        self.node.parent = None
        self.layer.clear_canvas_view()  # the old node's plan goes with it
        bricks = self._bricks
        self.layer.loader.attach(
            bricks.node if bricks is not None and node is bricks.node else self._tiles
        )
        self.node = node
        node.parent = parent
        node.order = order
        for child in children:  # napari's overlays (bounding box ...)
            child.parent = node
        self.reset()

    def _on_experimental_clipping_planes_change(self) -> None:
        """Napari's clipping planes: the brick volume's in 3D, napari's own on the tiles."""
        if self._bricks is not None and self.node is self._bricks.node:
            self._bricks.node.set_clipping_planes(self._bricks.clipping_planes())
            return
        super()._on_experimental_clipping_planes_change()

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
        """Hand the layer what the canvas shows now (``camera``), in level-0 data coordinates."""
        if self.node is self._tiles:
            rect = canvas_rect(self.node)
            if rect is None:
                self.layer.clear_canvas_view()  # on no canvas (yet)
            else:
                self.layer.set_canvas_view(*rect)
            return
        slice_input = self.layer.volume_slice()
        bricks = self._bricks
        if bricks is not None and self.node is bricks.node:
            view = None
            if slice_input is not None:
                view = volume_view(self.node, bricks.visual_from_data, *slice_input)
            if view is None:
                self.layer.clear_canvas_view()
            else:
                bricks.follow_camera(view)
                capacity = bricks.node.capacity
                planes = bricks.clipping_planes()
                self.layer.set_brick_view(view, capacity, planes, bricks.slicing_plane())
            return

    @property
    def needs_redraw(self) -> bool:
        """Whether the tile or brick node has uploads or a new plan waiting for a frame."""
        drawing = self.node is self._tiles or (
            self._bricks is not None and self.node is self._bricks.node
        )
        return drawing and bool(self.node.needs_redraw)

    def _keep_drawing(self) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw_if_needed(self) -> None:
        canvas = self.node.canvas
        if canvas is not None and self.needs_redraw and self.node.visible:
            self._pace()
            canvas.native.update()
        else:
            self._redraw_timer.stop()
            self.layer.view_drawn()

    def _pace(self) -> None:
        """Wait as long as a brick volume's last frame took before the next one.

        A software-GL ray cast can take a second, with the CPU the workers
        compute and read on: repainting back to back would starve them. The
        time between two repaint requests, less the wait, is the frame.
        """
        now = time.perf_counter()
        waited = self._redraw_timer.interval() / 1000
        frame = now - self._requested_at - waited
        self._requested_at = now
        bricks = self._bricks is not None and self.node is self._bricks.node
        paced = int(1000 * frame) if bricks else 0
        self._redraw_timer.setInterval(min(MAX_PACED_MS, max(REDRAW_INTERVAL_MS, paced)))

    def _on_data_change(self) -> None:
        # napari slices after ``ndisplay`` changes: that is when the node switches.
        self._on_display_change()
        self.node.update()

    def _connect_display_events(self) -> None:
        """Follow the layer's colour and sampling controls."""
        raise NotImplementedError

    def _on_colour_change(self, event: Any = None) -> None:
        raise NotImplementedError

    def _on_interpolation_change(self, event: Any = None) -> None:
        raise NotImplementedError

    def _on_overlay_change(self) -> None:
        self._tiles.overlay = self.layer.debug_overlay

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
        self._tiles.release()  # its texture pages go back to the shared budget
        if self._bricks is not None:
            self._bricks.release()
        super().close()


class VispyProgressiveImageLayer(VispyProgressiveLayer):
    """Follows an image layer's contrast limits, colormap, gamma and interpolation."""

    layer: ProgressiveImage

    def _brick_display(self, displayed: tuple[int, int, int]) -> BrickDisplay:
        return BrickDisplay(self.layer, displayed)

    def _connect_display_events(self) -> None:
        for name in ("contrast_limits", "colormap", "gamma"):
            getattr(self.layer.events, name).connect(self._on_colour_change)
        self.layer.events.interpolation2d.connect(self._on_interpolation_change)
        self.layer.events.interpolation3d.connect(self._on_interpolation_change)

    def _on_colour_change(self, event: Any = None) -> None:
        layer = self.layer
        lut = layer.colormap.map(np.linspace(0.0, 1.0, 256))
        self._tiles.set_colour(clim=layer.contrast_limits, gamma=layer.gamma, lut=lut)

    def _on_interpolation_change(self, event: Any = None) -> None:
        """Sample as napari does: ``interpolation2d`` in 2D, ``interpolation3d`` on a 3D canvas."""
        layer = self.layer
        in_2d = layer._slice_input.ndisplay == 2
        self._tiles.interpolation = str(layer.interpolation2d if in_2d else layer.interpolation3d)


class VispyProgressiveLabelsLayer(VispyProgressiveLayer):
    """Follows a labels layer's colormap and selected label; always nearest sampling."""

    layer: ProgressiveLabels

    def _brick_display(self, displayed: tuple[int, int, int]) -> BrickDisplay:
        return LabelBrickDisplay(self.layer, displayed)

    def _connect_display_events(self) -> None:
        for name in ("colormap", "selected_label", "show_selected_label"):
            getattr(self.layer.events, name).connect(self._on_colour_change)

    def _on_colour_change(self, event: Any = None) -> None:
        layer = self.layer
        layer._refresh_textures()  # the layer's handler may run after this one
        self._tiles.set_label_colours(colour_table(layer.colormap, layer.textures))

    def _on_interpolation_change(self, event: Any = None) -> None:
        self._tiles.interpolation = "nearest"


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
