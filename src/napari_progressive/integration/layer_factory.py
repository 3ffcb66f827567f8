"""Turn opened layer specs into napari layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Shapes
from napari.utils.colormaps import Colormap, DirectLabelColormap

from napari_progressive.integration.labels_layer import ProgressiveLabels
from napari_progressive.integration.layer import ProgressiveImage
from napari_progressive.sources.open import SYNTHETIC_SCHEMES, open_layers
from napari_progressive.sources.rois import read_rois

#: URI schemes that never hold ROI tables.
NOT_OME_SCHEMES = (*SYNTHETIC_SCHEMES, "precomputed://")

if TYPE_CHECKING:
    from napari.layers import Layer

    from napari_progressive.sources.layer_spec import LayerSpec
    from napari_progressive.sources.rois import Roi


#: ``LayerSpec.display`` entries that are layer keywords as they are.
_LAYER_KEYWORDS = (
    "contrast_limits",
    "visible",
    "blending",
    "axis_labels",
    "colormap",
    "rendering",
    "attenuation",
)
#: Colour of labels an OME-Zarr ``image-label`` lists no colour for.
UNLISTED_LABEL_COLOUR = (0.5, 0.5, 0.5, 1.0)


def layer_from_spec(spec: LayerSpec, **overrides: Any) -> ProgressiveImage | ProgressiveLabels:
    """A progressive layer for one spec; ``overrides`` win over the spec's defaults."""
    kwargs = _display_kwargs(spec.display)
    kwargs["name"] = spec.name or spec.source.name
    if spec.kind == "labels":
        kwargs = {k: v for k, v in kwargs.items() if k not in ("contrast_limits", "colormap")}
        colours = spec.display.get("label_colors")
        if colours:
            kwargs["colormap"] = DirectLabelColormap(
                color_dict={**colours, 0: (0.0, 0.0, 0.0, 0.0), None: UNLISTED_LABEL_COLOUR}
            )
        kwargs.setdefault("opacity", 0.7)
        kwargs.update(overrides)
        return ProgressiveLabels(spec.source, **kwargs)
    kwargs.update(overrides)
    return ProgressiveImage(spec.source, **kwargs)


def _display_kwargs(display: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key in _LAYER_KEYWORDS:
        if key in display:
            kwargs[key] = display[key]
    units = display.get("units")
    if units and any(units):
        kwargs["units"] = tuple(u or "pixel" for u in units)
    if "color" in display:
        rgb = [int(display["color"][i : i + 2], 16) / 255 for i in (1, 3, 5)]
        kwargs["colormap"] = Colormap([[0, 0, 0, 1], [*rgb, 1]], name=display["color"])
    return kwargs


def rois_layer(tables: dict[str, tuple[Roi, ...]], scale: tuple[float, ...]) -> Shapes | None:
    """A 2D Shapes layer with every ROI of an OME-Zarr image (None when there are none).

    It has no z: napari shows it on every plane. Each ROI's z range (world
    units; infinite when its table has none) is kept in the features
    ``z_start`` and ``z_stop``, for the 3D ROI navigation. An ROI's edges are
    pixel edges: napari's world coordinates count from pixel centres, so
    every edge is drawn (and kept) half a pixel (``scale``) before its value.
    """
    boxes = [roi for rois in tables.values() for roi in rois]
    if not boxes:
        return None
    half_z, half_y, half_x = (0.5 * s for s in (1.0, 1.0, *scale)[-3:])
    rects = []
    for roi in boxes:
        (_, y0, x0), (_, h, w) = roi.start, roi.size
        y0, x0 = y0 - half_y, x0 - half_x
        rects.append(np.array([[y0, x0], [y0, x0 + w], [y0 + h, x0 + w], [y0 + h, x0]]))
    return Shapes(
        rects,
        shape_type="rectangle",
        edge_color="yellow",
        face_color="transparent",
        edge_width=max(scale[-2:]) * 2,
        name="ROIs",
        features={
            "table": [r.table for r in boxes],
            "roi": [r.name for r in boxes],
            "z_start": [r.start[0] - half_z if r.has_z else -np.inf for r in boxes],
            "z_stop": [r.start[0] + r.size[0] - half_z if r.has_z else np.inf for r in boxes],
        },
        text={"string": "{roi}", "color": "yellow"},
    )


@dataclass(frozen=True)
class OpenedDataset:
    """What opening a dataset read: its layer specs and ROI tables (no napari objects)."""

    specs: list[LayerSpec]
    rois: dict[str, tuple[Roi, ...]] = field(default_factory=dict)

    @property
    def view_3d(self) -> tuple[float, float, float] | None:
        """Camera angles of a dataset best seen in 3D (its first layer's ``view_3d``), or None."""
        angles = next((s.display["view_3d"] for s in self.specs if "view_3d" in s.display), None)
        return tuple(angles) if angles is not None else None


def open_dataset(uri_or_data: Any, **options: Any) -> OpenedDataset:
    """Read a dataset's metadata and ROI tables (blocking I/O: any thread but the UI's).

    ``options`` go to ``open_layers``.
    """
    specs = open_layers(uri_or_data, **options)
    rois = {}
    if isinstance(uri_or_data, str) and not uri_or_data.startswith(NOT_OME_SCHEMES):
        rois = read_rois(uri_or_data)
    return OpenedDataset(specs, rois)


def dataset_layers(opened: OpenedDataset, executor: Any = None) -> list[Layer]:
    """Progressive layers of an opened dataset, plus its ROI tables as a Shapes layer.

    ``executor`` (a thread pool, a ``distributed.Client`` or a scheduler address)
    is where the layers' chunks are read. Reads nothing.
    """
    layer_options = {"executor": executor} if executor is not None else {}
    layers: list[Layer] = [layer_from_spec(spec, **layer_options) for spec in opened.specs]
    roi_layer = rois_layer(opened.rois, opened.specs[0].source.levels[0].scale)
    if roi_layer is not None:
        layers.append(roi_layer)
    return layers


def open_as_layers(uri_or_data: Any, executor: Any = None, **options: Any) -> list[Layer]:
    """Progressive layers of a dataset, plus its ROI tables as a Shapes layer (blocking)."""
    return dataset_layers(open_dataset(uri_or_data, **options), executor)
