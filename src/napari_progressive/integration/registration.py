"""Tell napari which vispy layer draws a ``ProgressiveImage``.

napari picks a layer's visual from ``layer_to_visual`` by walking the layer's
MRO; adding our subclass there is the supported-in-practice extension point
for napari 0.9 (private API, hence the pinned napari range).
"""

from __future__ import annotations


def register_vispy_layers() -> None:
    """Map ``ProgressiveImage`` to its vispy layer (idempotent)."""
    from napari._vispy.utils.visual import layer_to_visual

    from napari_progressive.integration.layer import ProgressiveImage
    from napari_progressive.integration.vispy_layer import VispyProgressiveImageLayer

    layer_to_visual[ProgressiveImage] = VispyProgressiveImageLayer
