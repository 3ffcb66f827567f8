"""Progressive, camera-driven loading of huge multiscale images in napari."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "MultiscaleSource",
    "ProgressiveImage",
    "ProgressiveLabels",
    "add_progressive_image",
    "add_progressive_labels",
    "add_progressive_layers",
    "datasets",
    "open_layers",
    "open_source",
    "read_rois",
    "set_debug_overlay",
    "set_disk_cache",
    "set_gpu_budget",
    "stats",
    "wait_until_idle",
]

if TYPE_CHECKING:
    from napari_progressive import datasets
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.integration.api import (
        add_progressive_image,
        add_progressive_labels,
        add_progressive_layers,
        set_debug_overlay,
        stats,
        wait_until_idle,
    )
    from napari_progressive.integration.labels_layer import ProgressiveLabels
    from napari_progressive.integration.layer import ProgressiveImage
    from napari_progressive.integration.shared import set_disk_cache, set_gpu_budget
    from napari_progressive.sources.open import open_layers, open_source
    from napari_progressive.sources.rois import read_rois

_LAZY = {
    "add_progressive_image": "napari_progressive.integration.api",
    "add_progressive_labels": "napari_progressive.integration.api",
    "add_progressive_layers": "napari_progressive.integration.api",
    "open_source": "napari_progressive.sources.open",
    "open_layers": "napari_progressive.sources.open",
    "read_rois": "napari_progressive.sources.rois",
    "wait_until_idle": "napari_progressive.integration.api",
    "stats": "napari_progressive.integration.api",
    "set_debug_overlay": "napari_progressive.integration.api",
    "set_disk_cache": "napari_progressive.integration.shared",
    "set_gpu_budget": "napari_progressive.integration.shared",
    "ProgressiveImage": "napari_progressive.integration.layer",
    "ProgressiveLabels": "napari_progressive.integration.labels_layer",
    "MultiscaleSource": "napari_progressive.core.source",
}


def __getattr__(name: str) -> Any:
    """Import the napari-facing API on first use, so the core stays light."""
    import importlib

    if name == "datasets":
        return importlib.import_module("napari_progressive.datasets")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'napari_progressive' has no attribute {name!r}")
