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
    of a single-colour map), ``visible``, ``axis_labels``, ``units`` and
    ``label_colors`` (label value to RGBA, for labels).
    """

    source: MultiscaleSource
    kind: Literal["image", "labels"] = "image"
    name: str = ""
    display: dict[str, Any] = field(default_factory=dict)
