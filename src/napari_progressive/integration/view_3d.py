"""Datasets best seen in 3D: the viewer turns to 3D when their layers are added."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    import napari
    from napari.layers import Layer


def show_in_3d(viewer: napari.Viewer, angles: Sequence[float]) -> None:
    """Show ``viewer`` in 3D, the camera at Euler ``angles`` (degrees, napari's)."""
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = tuple(angles)


def show_in_3d_when_added(
    viewer: napari.Viewer, layers: Sequence[Layer], angles: Sequence[float]
) -> None:
    """``show_in_3d`` once one of ``layers`` joins ``viewer`` (a reader's layers join later)."""

    def on_inserted(event: Any) -> None:
        if any(event.value is layer for layer in layers):
            viewer.layers.events.inserted.disconnect(on_inserted)
            show_in_3d(viewer, angles)

    viewer.layers.events.inserted.connect(on_inserted)
