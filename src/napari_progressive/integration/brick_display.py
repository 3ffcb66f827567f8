"""The 3D node of a progressive image: the brick volume, a level per brick.

``BrickDisplay`` owns the ``BrickVolume`` node and keeps it in step with the
layer's 3D controls as napari's ``VispyImageLayer`` keeps its volume node:
rendering, interpolation, contrast limits, gamma, colormap, iso threshold,
attenuation, the mip/minip cut-offs under translucent blending, clipping
planes and the scale-debug overlay. The node's visual coordinates are the
layer's level-0 data coordinates (axes reversed, as for napari's volumes), so
napari's own placement of the node applies unchanged.

On software GL, while the camera moves, the node ray casts with steps
``MOTION_STEPS`` times longer (a cheaper frame), and at full quality once the
camera has been still for ``SETTLE_MS``; on a GPU every frame is full quality.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers.base._base_constants import Blending
from napari.utils.colormaps.colormap_utils import _coerce_contrast_limits
from qtpy.QtCore import QTimer

from napari_progressive.core.plane_planner import SlicingPlane
from napari_progressive.integration.label_textures import colour_table
from napari_progressive.integration.shared import shared_gpu_budget
from napari_progressive.render.brick_volume import BrickVolume
from napari_progressive.render.gl_info import software_gl

if TYPE_CHECKING:
    from napari_progressive.core.view import VolumeView
    from napari_progressive.core.volume_planner import ClipPlane

#: Layer events the brick node follows, and the handler of each.
_CONTROLS = {
    "rendering": "_on_rendering",
    "interpolation3d": "_on_interpolation",
    "contrast_limits": "_on_colour",
    "gamma": "_on_colour",
    "colormap": "_on_colour",
    "iso_threshold": "_on_iso_threshold",
    "attenuation": "_on_attenuation",
    "blending": "_on_cutoffs",
    "debug_overlay": "_on_overlay",
}
#: napari's 3D interpolation modes the bricks sample with ('nearest' or 'linear').
_NEAREST = {"nearest"}
#: While the camera moves on software GL: how many times longer the ray steps
#: are, and how long the camera must be still before full quality (ms).
MOTION_STEPS = 4.0
SETTLE_MS = 250


class BrickDisplay:
    """The brick volume node of one image layer, following its 3D controls."""

    #: Layer events the node follows, and the handler of each.
    controls: dict[str, str] = _CONTROLS

    def __init__(self, layer: Any, displayed: tuple[int, int, int]) -> None:
        self.layer = layer
        loader = layer.loader
        self.node = BrickVolume(
            loader.levels,
            loader.mappings,
            displayed,
            loader.format,
            shared_gpu_budget(),
            max_bytes=layer.max_gpu_bytes,
        )
        self.displayed = displayed
        self._camera: tuple[Any, ...] | None = None
        self._settle = QTimer()
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._full_quality)
        for name, handler in self.controls.items():
            getattr(layer.events, name).connect(getattr(self, handler))
        for event in self._plane_events():
            event.connect(self._on_plane)
        self.apply_controls()

    #: Level-0 data (displayed order) -> the node's visual coordinates (x, y, z).
    visual_from_data = np.eye(4)[[2, 1, 0, 3]]

    def show_axes(self, displayed: tuple[int, int, int]) -> None:
        """Show the data axes ``displayed`` (napari's order) from now on."""
        if displayed != self.displayed:
            self.displayed = displayed
            self.node.set_displayed(self.layer.loader.levels, displayed)

    def clipping_planes(self) -> tuple[ClipPlane, ...]:
        """The layer's enabled clipping planes, in level-0 data coordinates (displayed order)."""
        planes = self.layer.experimental_clipping_planes.as_array()
        return tuple(
            (
                (float(p[0, 0]), float(p[0, 1]), float(p[0, 2])),
                (float(p[1, 0]), float(p[1, 1]), float(p[1, 2])),
            )
            for p in planes
        )

    def slicing_plane(self) -> SlicingPlane | None:
        """The slicing plane of napari's plane depiction (level-0 data, displayed order)."""
        if str(getattr(self.layer, "depiction", "volume")) != "plane":
            return None
        plane = self.layer.plane
        try:
            (pd, pr, pc), (nd, nr, nc) = plane.position, plane.normal
            return SlicingPlane(
                (float(pd), float(pr), float(pc)),
                (float(nd), float(nr), float(nc)),
                float(plane.thickness),
            )
        except ValueError:  # napari's plane is not a plane (yet): show the volume
            return None

    def follow_camera(self, view: VolumeView) -> None:
        """A frame starts with ``view``: cheaper frames while the camera moves (software GL)."""
        camera = (view.view, view.projection, view.canvas)
        if self._camera is not None and camera != self._camera and software_gl():
            self.node.coarse_steps = MOTION_STEPS
            self._settle.start()
        self._camera = camera

    def _full_quality(self) -> None:
        self.node.coarse_steps = 1.0

    def apply_controls(self) -> None:
        """Push every 3D control to the node."""
        self._on_rendering()
        self._on_interpolation()
        self._on_colour()
        self._on_overlay()
        self._on_plane()
        self.node.set_clipping_planes(self.clipping_planes())

    def release(self) -> None:
        """Stop following the layer and give the node's pages back to the GPU budget."""
        for name, handler in self.controls.items():
            getattr(self.layer.events, name).disconnect(getattr(self, handler))
        for event in self._plane_events():
            event.disconnect(self._on_plane)
        self._settle.stop()
        self.node.release()

    # -- napari's VispyImageLayer, for the brick node ----------------------------

    def _on_rendering(self, event: Any = None) -> None:
        self.node.method = str(self.layer.rendering)
        self._on_attenuation()
        self._on_iso_threshold()

    def _on_interpolation(self, event: Any = None) -> None:
        mode = str(self.layer.interpolation3d)
        self.node.interpolation = "nearest" if mode in _NEAREST else "linear"

    def _on_colour(self, event: Any = None) -> None:
        layer = self.layer
        clim = _coerce_contrast_limits(layer.contrast_limits).contrast_limits
        lut = layer.colormap.map(np.linspace(0.0, 1.0, 256))
        self.node.set_colour(clim=tuple(clim), gamma=layer.gamma, lut=lut)
        self._on_cutoffs()

    def _on_cutoffs(self, event: Any = None) -> None:
        """Discard rays beyond the contrast limits, but only under translucent blending."""
        translucent = self.layer.blending in {Blending.TRANSLUCENT, Blending.TRANSLUCENT_NO_DEPTH}
        self.node.set_cutoffs(tuple(self.layer.contrast_limits) if translucent else None)

    def _on_iso_threshold(self, event: Any = None) -> None:
        self.node.threshold = float(self.layer.iso_threshold)

    def _on_attenuation(self, event: Any = None) -> None:
        self.node.attenuation = float(self.layer.attenuation)

    def _on_overlay(self, event: Any = None) -> None:
        self.node.overlay = self.layer.debug_overlay

    def _plane_events(self) -> list[Any]:
        """The depiction's and the slicing plane's events (none for labels)."""
        layer = self.layer
        if not hasattr(layer, "depiction"):
            return []
        plane = layer.plane.events
        return [layer.events.depiction, plane.position, plane.normal, plane.thickness]

    def _on_plane(self, event: Any = None) -> None:
        """Show the plane's slab (the next frame plans its bricks)."""
        self.node.set_slicing_plane(self.slicing_plane())


class LabelBrickDisplay(BrickDisplay):
    """The brick volume of a labels layer: label colours, nearest sampling, its rendering.

    napari's Labels render in 3D as ``iso_categorical`` (the first labelled
    voxel along the ray, shaded) or ``translucent``. Label pyramids are
    sampled nearest, so a coarse level never blends two labels.
    """

    controls = {
        "rendering": "_on_rendering",
        "colormap": "_on_colour",
        "selected_label": "_on_colour",
        "show_selected_label": "_on_colour",
        "debug_overlay": "_on_overlay",
    }

    def _on_rendering(self, event: Any = None) -> None:
        self.node.method = str(self.layer.rendering)

    def _on_interpolation(self, event: Any = None) -> None:
        self.node.interpolation = "nearest"

    def _on_colour(self, event: Any = None) -> None:
        layer = self.layer
        layer._refresh_textures()  # the layer's own handler may run after this one
        self.node.set_label_colours(colour_table(layer.colormap, layer.textures))
