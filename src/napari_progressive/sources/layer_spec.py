"""What an opened dataset asks to show: one entry per layer, GUI-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from napari_progressive.core.source import MultiscaleSource


@dataclass
class LayerSpec:
    """One layer to add: its source, its kind and its display defaults.

    ``display`` holds napari-independent defaults the integration layer
    turns into layer keywords: ``contrast_limits``, ``color`` (``#rrggbb``
    of a single-colour map), ``colormap`` (a name), ``rendering`` and
    ``attenuation`` (3D rendering), ``visible``, ``axis_labels``, ``units`` and ``label_colors``
    (label value to RGBA, for labels). ``view_3d``, camera angles in
    degrees, asks for the viewer to show the layer in 3D from there.
    """

    source: MultiscaleSource
    kind: Literal["image", "labels"] = "image"
    name: str = ""
    display: dict[str, Any] = field(default_factory=dict)
