"""Tell napari which vispy layers draw progressive layers.

napari picks a layer's visual from ``layer_to_visual`` by walking the layer's
MRO; adding our subclass there is the supported-in-practice extension point
for napari 0.9 (private API, hence the pinned napari range).
"""

from __future__ import annotations


def register_vispy_layers() -> None:
    """Map ``ProgressiveImage`` and ``ProgressiveLabels`` to their vispy layers (idempotent)."""
    from napari._vispy.utils.visual import layer_to_visual

    from napari_progressive.integration.labels_layer import ProgressiveLabels
    from napari_progressive.integration.layer import ProgressiveImage
    from napari_progressive.integration.vispy_layer import (
        VispyProgressiveImageLayer,
        VispyProgressiveLabelsLayer,
    )

    layer_to_visual[ProgressiveImage] = VispyProgressiveImageLayer
    layer_to_visual[ProgressiveLabels] = VispyProgressiveLabelsLayer
