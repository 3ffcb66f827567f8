"""The 3D node of a progressive image: napari's volume node over the coarse volume.

Until per-brick levels land, a progressive layer in 3D shows what napari's own
multiscale image shows: its coarsest level as one volume. ``VolumeDisplay``
owns that node and keeps it in step with the layer's 3D controls exactly as
napari's ``VispyImageLayer`` does (rendering, depiction and plane,
interpolation, contrast limits, gamma, colormap, iso threshold, attenuation,
and the mip/minip cut-offs under translucent blending); the vispy layer
switches between it and the tile node by ``ndisplay``.

The volume's voxels are the coarse level's (every ``stride``-th when it had to
be strided), so the node maps them to level-0 data coordinates itself
(``data_from_visual``); plane positions and normals are mapped the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari._vispy.utils.gl import get_gl_extensions
from napari._vispy.visuals.volume import Volume as VolumeNode
from napari.layers.base._base_constants import Blending
from napari.utils.colormaps.colormap_utils import (
    _coerce_contrast_limits,
    _napari_cmap_to_vispy,
)

if TYPE_CHECKING:
    from napari_progressive.core.coarse_volume import CoarseVolume
    from napari_progressive.core.geometry import LevelMapping
    from napari_progressive.integration.layer import ProgressiveImage

#: Layer events the volume node follows, and the handler of each.
_CONTROLS = {
    "rendering": "_on_rendering",
    "depiction": "_on_depiction",
    "interpolation3d": "_on_interpolation",
    "contrast_limits": "_on_contrast_limits",
    "gamma": "_on_gamma",
    "colormap": "_on_colormap",
    "iso_threshold": "_on_iso_threshold",
    "attenuation": "_on_attenuation",
    "blending": "_on_cutoffs",
}
_PLANE_CONTROLS = ("position", "normal", "thickness")


class VolumeDisplay:
    """napari's volume node showing a layer's coarse volume, following its 3D controls."""

    def __init__(self, layer: ProgressiveImage) -> None:
        self.layer = layer
        fmt = "auto" if "texture_float" in get_gl_extensions() else None
        self.node = VolumeNode(np.zeros((1, 1, 1), np.float32), clim=[0, 1], texture_format=fmt)
        self.shown: CoarseVolume | None = None
        self._data_from_visual = np.eye(4)
        for name, handler in _CONTROLS.items():
            getattr(layer.events, name).connect(getattr(self, handler))
        for name in _PLANE_CONTROLS:
            getattr(layer.plane.events, name).connect(self._on_plane)
        self.apply_controls()

    @property
    def data_from_visual(self) -> np.ndarray:
        """Node voxel (visual) coordinates -> level-0 data coordinates, 4x4 column vectors.

        Data coordinates along the displayed axes in napari's order; the
        visual axes (x, y, z) are those reversed.
        """
        return self._data_from_visual

    def show(self, volume: CoarseVolume, mapping: LevelMapping) -> None:
        """Upload ``volume`` (a coarse level's box) and place it in level-0 data coordinates."""
        axes = list(volume.box.displayed)
        factor = np.asarray(mapping.factor, float)[axes] * volume.box.stride
        offset = np.asarray(mapping.offset, float)[axes]
        values = volume.values
        if len(axes) == 2:  # a 2D layer on a 3D canvas: one plane deep, as napari shows it
            factor, offset = np.append(1.0, factor), np.append(0.0, offset)
            values = values[np.newaxis]
        m = np.eye(4)
        m[:3, :3] = np.diag(factor)[:, ::-1]  # visual (x, y, z) = data axes reversed
        m[:3, 3] = offset
        self._data_from_visual = m
        self.node.set_data(values)
        self.shown = volume
        self.apply_controls()

    def clear(self) -> None:
        """Let go of the volume's texture memory (the layer went back to 2D)."""
        if self.shown is not None:
            self.node.set_data(np.zeros((1, 1, 1), self.shown.values.dtype))
            self.shown = None

    def apply_controls(self) -> None:
        """Push every 3D control to the node."""
        self._on_rendering()
        self._on_depiction()
        self._on_interpolation()
        self._on_colormap()
        self._on_contrast_limits()
        self._on_gamma()
        self._on_plane()

    def disconnect(self) -> None:
        """Stop following the layer."""
        for name, handler in _CONTROLS.items():
            getattr(self.layer.events, name).disconnect(getattr(self, handler))
        for name in _PLANE_CONTROLS:
            getattr(self.layer.plane.events, name).disconnect(self._on_plane)

    # -- napari's VispyImageLayer, for the volume node ---------------------------

    def _on_rendering(self, event: Any = None) -> None:
        self.node.method = self.layer.rendering
        self._on_attenuation()
        self._on_iso_threshold()

    def _on_depiction(self, event: Any = None) -> None:
        self.node.raycasting_mode = str(self.layer.depiction)

    def _on_interpolation(self, event: Any = None) -> None:
        self.node.interpolation = str(self.layer.interpolation3d)

    def _on_colormap(self, event: Any = None) -> None:
        self.node.cmap = _napari_cmap_to_vispy(self.layer.colormap)

    def _on_contrast_limits(self, event: Any = None) -> None:
        self.node.clim = _coerce_contrast_limits(self.layer.contrast_limits).contrast_limits
        self._on_cutoffs()
        self._on_iso_threshold()

    def _on_gamma(self, event: Any = None) -> None:
        self.node.gamma = self.layer.gamma

    def _on_cutoffs(self, event: Any = None) -> None:
        """Discard fragments beyond the contrast limits, but only under translucent blending."""
        if self.layer.blending in {Blending.TRANSLUCENT, Blending.TRANSLUCENT_NO_DEPTH}:
            self.node.mip_cutoff = self.node._texture.clim_normalized[0]
            self.node.minip_cutoff = self.node._texture.clim_normalized[1]
        else:
            self.node.mip_cutoff = None
            self.node.minip_cutoff = None

    def _on_iso_threshold(self, event: Any = None) -> None:
        if self.node._texture.is_normalized:
            cmin, cmax = self.layer.contrast_limits_range
            self.node.threshold = (self.layer.iso_threshold - cmin) / (cmax - cmin)
        else:
            self.node.threshold = self.layer.iso_threshold

    def _on_attenuation(self, event: Any = None) -> None:
        self.node.attenuation = self.layer.attenuation

    def _on_plane(self, event: Any = None) -> None:
        plane = self.layer.plane
        position, normal, spacing = self.plane_in_voxels(plane.position, plane.normal)
        self.node.plane_position = position
        self.node.plane_normal = normal
        self.node.plane_thickness = max(1.0, plane.thickness / spacing)  # vispy needs >= 1

    def plane_in_voxels(self, position: Any, normal: Any) -> tuple[np.ndarray, np.ndarray, float]:
        """A plane in level-0 data coordinates, in the node's voxels (array axis order).

        Returns the position, the unit normal and the data length of one voxel
        along the normal.
        """
        m = self._data_from_visual
        at = np.linalg.solve(m, np.append(np.asarray(position, float), 1.0))[:3]
        n = np.asarray(normal, float)
        n = n / (np.linalg.norm(n) or 1.0)
        across = m[:3, :3].T @ n  # normals map by the transpose of the forward map
        across = across / (np.linalg.norm(across) or 1.0)
        spacing = float(abs(n @ (m[:3, :3] @ across))) or 1.0
        return at[::-1], across[::-1], spacing
