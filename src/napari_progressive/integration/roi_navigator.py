"""Move the camera to an OME-NGFF ROI (fractal's ``FOV_ROI_table``, ``well_ROI_table``).

Opening an OME-Zarr adds its ROI tables as a Shapes layer ("ROIs", features
``table`` and ``roi``). The navigator lists those boxes; choosing one fits
the 2D view to it, and the progressive layers plan (and fetch) the level
that view needs, as for any camera move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from napari.layers import Shapes
from qtpy.QtWidgets import QComboBox

if TYPE_CHECKING:
    import napari

#: Share of the canvas a chosen ROI fills along its tighter side.
FIT_MARGIN = 0.95


@dataclass(frozen=True)
class RoiBox:
    """One ROI rectangle of a Shapes layer: its label and its (row, column) world box."""

    label: str
    lo: tuple[float, float]
    hi: tuple[float, float]


def roi_boxes(viewer: napari.Viewer) -> list[RoiBox]:
    """The ROI rectangles of every Shapes layer that names them (features ``table``, ``roi``)."""
    out = []
    for layer in viewer.layers:
        if not isinstance(layer, Shapes) or not {"table", "roi"} <= set(layer.features):
            continue
        for data, table, roi in zip(
            layer.data, layer.features["table"], layer.features["roi"], strict=True
        ):
            world = np.asarray([layer.data_to_world(p) for p in data])[:, -2:]
            lo, hi = world.min(axis=0), world.max(axis=0)
            out.append(RoiBox(f"{table}: {roi}", (lo[0], lo[1]), (hi[0], hi[1])))
    return out


def fit_to_roi(viewer: napari.Viewer, box: RoiBox) -> None:
    """Centre the camera on ``box`` and zoom so that it fills the canvas (2D)."""
    lo, hi = np.asarray(box.lo), np.asarray(box.hi)
    centre = list(viewer.scene.camera.center)
    centre[-2:] = (lo + hi) / 2
    viewer.scene.camera.center = tuple(float(c) for c in centre)
    height, width = viewer.canvas.size  # napari: (height, width)
    extent = np.maximum(hi - lo, 1e-12)
    viewer.scene.camera.zoom = FIT_MARGIN * min(height / extent[0], width / extent[1])


class RoiNavigator(QComboBox):
    """A list of the viewer's ROIs; choosing one moves the camera to it."""

    def __init__(self, viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self.boxes: list[RoiBox] = []
        self.setToolTip("Move the camera to an ROI of the OME-Zarr's ROI tables")
        self.activated.connect(self._go)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.refill)
        self.refill()

    def refill(self, *_: object) -> None:
        """List the ROIs the viewer's layers hold now."""
        self.boxes = roi_boxes(self.viewer)
        self.blockSignals(True)
        self.clear()
        self.addItems(["Go to ROI ..."] + [b.label for b in self.boxes])
        self.blockSignals(False)
        self.setVisible(bool(self.boxes))

    def _go(self, index: int) -> None:
        if 1 <= index <= len(self.boxes):
            fit_to_roi(self.viewer, self.boxes[index - 1])
