"""Move the camera to an OME-NGFF ROI (fractal's ``FOV_ROI_table``, ``well_ROI_table``).

Opening an OME-Zarr adds its ROI tables as a Shapes layer ("ROIs", features
``table``, ``roi``, ``z_start`` and ``z_stop``). The navigator lists those
boxes; choosing one fits the view to it. In 2D the rectangle fills the
canvas. In 3D the box does, and every image and labels layer is clipped to
it with napari's clipping planes, so that progressive layers fetch nothing
outside the box and spend the GPU budget on full resolution inside it.
"Whole image" gives the layers back the clipping planes they had and fits
the view to all layers (keeping the camera's angles). The layers plan (and
fetch) the level the new view needs, as for any camera move. In 2D the ROIs
next to the chosen one in the list are prefetched at the level their views
need (``Loader.expect``), so stepping through the list finds each next ROI
in host memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Image, Labels, Shapes
from qtpy.QtWidgets import QComboBox

from napari_progressive.integration.progressive_base import ProgressiveLayerBase

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer

    from napari_progressive.core.view import SliceView

#: Share of the canvas a chosen ROI fills along its tighter side.
FIT_MARGIN = 0.95
#: The navigator's first entries: a prompt and the way back to the whole image.
PROMPT, WHOLE_IMAGE = "Go to ROI ...", "Whole image"
#: ROIs either side of the chosen one in the list whose views are prefetched (2D).
NEIGHBOURS = 1


@dataclass(frozen=True)
class RoiBox:
    """One ROI of a Shapes layer: its label, its (row, column) world box and its z range.

    ``z`` is ``(-inf, inf)`` when the ROI's table has no z: it spans every plane.
    """

    label: str
    lo: tuple[float, float]
    hi: tuple[float, float]
    z: tuple[float, float] = (-np.inf, np.inf)


def roi_boxes(viewer: napari.Viewer) -> list[RoiBox]:
    """The ROI rectangles of every Shapes layer that names them (features ``table``, ``roi``)."""
    out = []
    for layer in viewer.layers:
        if not isinstance(layer, Shapes) or not {"table", "roi"} <= set(layer.features):
            continue
        features = layer.features
        n = len(layer.data)
        z_start = features.get("z_start", [-np.inf] * n)
        z_stop = features.get("z_stop", [np.inf] * n)
        for data, table, roi, z0, z1 in zip(
            layer.data, features["table"], features["roi"], z_start, z_stop, strict=True
        ):
            world = np.asarray([layer.data_to_world(p) for p in data])[:, -2:]
            lo, hi = world.min(axis=0), world.max(axis=0)
            out.append(
                RoiBox(f"{table}: {roi}", (lo[0], lo[1]), (hi[0], hi[1]), (float(z0), float(z1)))
            )
    return out


def fit_to_roi(viewer: napari.Viewer, box: RoiBox) -> None:
    """Centre the camera on ``box`` and zoom so that it fills the canvas.

    In 3D (over data with a z axis) the box is the ROI's z range (or the
    layers' whole depth) by its rectangle; ``RoiNavigator`` also clips the
    layers to it (``roi_clipping_planes``).
    """
    centre, zoom = roi_camera(viewer, box)
    viewer.scene.camera.center = centre
    viewer.scene.camera.zoom = zoom


def roi_camera(viewer: napari.Viewer, box: RoiBox) -> tuple[tuple[float, ...], float]:
    """The camera centre (world) and zoom at which ``box`` fills the canvas."""
    lo, hi = _world_box(viewer, box, three_d=shows_depth(viewer))
    n = len(lo)
    centre = list(viewer.scene.camera.center)
    centre[-n:] = (lo + hi) / 2
    height, width = viewer.canvas.size  # napari: (height, width)
    extent = np.maximum(hi - lo, 1e-12)
    if n == 3:  # the box may be seen from any side: its longest edge fits
        zoom = FIT_MARGIN * min(height, width) / extent.max()
    else:
        zoom = FIT_MARGIN * min(height / extent[0], width / extent[1])
    return tuple(float(c) for c in centre), float(zoom)


def roi_view(
    layer: ProgressiveLayerBase, viewer: napari.Viewer, box: RoiBox, pixel_ratio: float = 1.0
) -> SliceView | None:
    """The 2D view ``layer`` will have once the camera fits ``box`` (None: not a 2D view).

    What the canvas will show, as the layer freezes it before a frame: the
    canvas's rectangle about the ROI in the layer's level-0 data
    coordinates and their size per physical pixel (``pixel_ratio`` physical
    pixels to a canvas pixel), at the current slice.
    """
    if viewer.dims.ndisplay != 2:
        return None
    centre, zoom = roi_camera(viewer, box)
    height, width = viewer.canvas.size
    world = np.asarray(viewer.dims.point, dtype=float)
    world[-2:] = centre[-2:]
    half = np.array([height, width], dtype=float) / (2 * zoom)
    displayed = list(layer._slice_input.displayed)

    def to_data(offset: tuple[float, float]) -> np.ndarray:
        at = world.copy()
        at[-2:] += offset
        return np.asarray(layer.world_to_data(at), dtype=float)[displayed]

    corners = np.array([to_data((sr * half[0], sc * half[1])) for sr in (-1, 1) for sc in (-1, 1)])
    middle = to_data((0.0, 0.0))
    px = 1 / zoom  # world units per canvas pixel, along each canvas axis
    per_px = max(float(np.linalg.norm(to_data(step) - middle)) for step in ((px, 0), (0, px)))
    return layer.view_state(
        corners.min(axis=0), corners.max(axis=0), per_px / pixel_ratio, (height, width)
    )


def shows_depth(viewer: napari.Viewer) -> bool:
    """Whether the canvas shows (z, y, x) in 3D: the last three axes, in order."""
    ndim = viewer.dims.ndim
    return (
        viewer.dims.ndisplay == 3
        and ndim >= 3
        and tuple(viewer.dims.displayed) == tuple(range(ndim - 3, ndim))
    )


def roi_clipping_planes(layer: Layer, viewer: napari.Viewer, box: RoiBox) -> list[dict[str, Any]]:
    """The clipping planes that keep the pixels of ``box`` in ``layer`` (its data coordinates).

    The box's edges are where its rectangle is drawn (an ROI table's, half a
    pixel before the centres napari counts: ``rois_layer``); a box without a
    z range is not clipped along z.
    """
    has_z = bool(np.isfinite(box.z).all())
    lo = np.asarray((box.z[0] if has_z else 0.0, *box.lo), dtype=float)
    hi = np.asarray((box.z[1] if has_z else 0.0, *box.hi), dtype=float)
    point = np.asarray(viewer.dims.point, dtype=float)
    corners = []
    for side in (lo, hi):
        world = point.copy()
        world[-3:] = side
        corners.append(np.asarray(layer.world_to_data(world), dtype=float)[-3:])
    data_lo, data_hi = np.minimum(*corners), np.maximum(*corners)
    planes = []
    for axis in range(0 if has_z else 1, 3):
        normal = np.eye(3)[axis]
        for position, sign in ((data_lo, 1.0), (data_hi, -1.0)):
            planes.append(
                {"position": tuple(position), "normal": tuple(sign * normal), "enabled": True}
            )
    return planes


def _world_box(viewer: napari.Viewer, box: RoiBox, three_d: bool) -> tuple[np.ndarray, np.ndarray]:
    """``box`` in world coordinates: (row, column), or (z, row, column) when ``three_d``.

    A z range without ends takes the layers' world extent along z.
    """
    if not three_d:
        return np.asarray(box.lo, dtype=float), np.asarray(box.hi, dtype=float)
    z0, z1 = box.z
    if not (np.isfinite(z0) and np.isfinite(z1)):
        extent = viewer.layers.extent.world[:, -3]
        z0 = z0 if np.isfinite(z0) else float(extent[0])
        z1 = z1 if np.isfinite(z1) else float(extent[1])
    return np.asarray((z0, *box.lo), dtype=float), np.asarray((z1, *box.hi), dtype=float)


class RoiNavigator(QComboBox):
    """A list of the viewer's ROIs; choosing one moves the camera to it (and clips, in 3D)."""

    def __init__(self, viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self.boxes: list[RoiBox] = []
        #: The clipping planes each clipped layer had before (restored by "Whole image").
        self._planes_before: dict[int, tuple[Layer, list[dict[str, Any]]]] = {}
        self.setToolTip(
            "Move the camera to an ROI of the OME-Zarr's ROI tables (in 3D, clip to its box)"
        )
        self.activated.connect(self._go)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.refill)
        self.refill()

    def refill(self, *_: object) -> None:
        """List the ROIs the viewer's layers hold now (and forget removed layers)."""
        self._planes_before = {
            k: (layer, planes)
            for k, (layer, planes) in self._planes_before.items()
            if layer in self.viewer.layers
        }
        self.boxes = roi_boxes(self.viewer)
        self.blockSignals(True)
        self.clear()
        self.addItems([PROMPT, WHOLE_IMAGE] + [b.label for b in self.boxes])
        self.blockSignals(False)
        self.setVisible(bool(self.boxes))

    def go(self, roi: int | None) -> None:
        """Move to the ``roi``-th ROI of ``boxes`` (None: the whole image)."""
        self.setCurrentIndex(1 if roi is None else 2 + roi)
        self._go(self.currentIndex())

    def _go(self, index: int) -> None:
        if index == 1:
            self._unclip()
            self._expect([])
            self.viewer.reset_view(reset_camera_angle=False)
        elif 2 <= index < 2 + len(self.boxes):
            box = self.boxes[index - 2]
            if shows_depth(self.viewer):
                self._clip(box)
            else:  # a 2D view: no box to clip to, and none left from an earlier 3D ROI
                self._unclip()
            fit_to_roi(self.viewer, box)
            roi = index - 2
            near = range(max(0, roi - NEIGHBOURS), min(len(self.boxes), roi + NEIGHBOURS + 1))
            self._expect([self.boxes[i] for i in near if i != roi])

    def _expect(self, boxes: list[RoiBox]) -> None:
        """Have the progressive layers prefetch the views of ``boxes`` (2D): the ROIs next in line.

        A user stepping through the list (the arrow keys step the list) then
        finds the next ROI in host memory.
        """
        ratio = float(self.devicePixelRatioF())
        for layer in self.viewer.layers:
            if isinstance(layer, ProgressiveLayerBase):
                views = [roi_view(layer, self.viewer, b, ratio) for b in boxes]
                layer.loader.expect([v for v in views if v is not None])

    def _clip(self, box: RoiBox) -> None:
        for layer in self.viewer.layers:
            if isinstance(layer, Image | Labels) and layer.ndim >= 3:
                before = [p.model_dump() for p in layer.experimental_clipping_planes]
                self._planes_before.setdefault(id(layer), (layer, before))
                layer.experimental_clipping_planes = roi_clipping_planes(layer, self.viewer, box)

    def _unclip(self) -> None:
        for layer, planes in self._planes_before.values():
            if layer in self.viewer.layers:
                layer.experimental_clipping_planes = planes
        self._planes_before.clear()
