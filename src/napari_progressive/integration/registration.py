"""Make napari know the progressive layer types.

* napari picks a layer's visual from ``layer_to_visual`` by walking the
  layer's MRO: ``ProgressiveImage`` and ``ProgressiveLabels`` map to their
  vispy layers there.
* ``Layer.create`` (Duplicate Layer, layer-data tuples) accepts the type
  names in ``napari.layers.NAMES`` and finds the class as an attribute of
  ``napari.layers``: the progressive types join them, so a duplicate is
  another progressive layer over the same source.

Both are private-in-practice extension points of napari 0.9, hence the
pinned napari range.
"""

from __future__ import annotations


def register_with_napari() -> None:
    """Register the progressive layer types and their vispy layers (idempotent)."""
    import napari.layers
    from napari._vispy.utils.visual import layer_to_visual

    from napari_progressive.integration.labels_layer import ProgressiveLabels
    from napari_progressive.integration.layer import ProgressiveImage
    from napari_progressive.integration.vispy_layer import (
        VispyProgressiveImageLayer,
        VispyProgressiveLabelsLayer,
    )

    layer_to_visual[ProgressiveImage] = VispyProgressiveImageLayer
    layer_to_visual[ProgressiveLabels] = VispyProgressiveLabelsLayer
    for cls in (ProgressiveImage, ProgressiveLabels):
        name = cls.__name__.lower()  # napari's ``Layer._type_string``
        napari.layers.NAMES.add(name)
        setattr(napari.layers, name.title(), cls)
