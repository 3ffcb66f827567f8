"""The public Python API (re-exported by ``napari_progressive``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from napari_progressive.integration.labels_layer import ProgressiveLabels
from napari_progressive.integration.layer import ProgressiveImage
from napari_progressive.integration.layer_factory import dataset_layers, open_dataset
from napari_progressive.integration.progressive_base import ProgressiveLayerBase
from napari_progressive.integration.registration import register_with_napari
from napari_progressive.integration.view_3d import show_in_3d

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer

    from napari_progressive.core.pieces import LoaderStats


def add_progressive_image(
    viewer: napari.Viewer, data: Any, **layer_kwargs: Any
) -> ProgressiveImage:
    """Add ``data`` (a ``MultiscaleSource`` or arrays, finest first) as a progressive layer.

    ``layer_kwargs`` are ``ProgressiveImage`` / ``napari.layers.Image`` keywords.
    """
    register_with_napari()
    layer = ProgressiveImage(data, **layer_kwargs)
    viewer.add_layer(layer)
    return layer


def add_progressive_labels(
    viewer: napari.Viewer, data: Any, **layer_kwargs: Any
) -> ProgressiveLabels:
    """Add a label image (a ``MultiscaleSource``, integer arrays finest first, or a URI).

    Tiles are sampled nearest; a single array gets a lazy pyramid that picks
    the most frequent label of each block (never a blend of labels).
    ``layer_kwargs`` are ``ProgressiveLabels`` / ``napari.layers.Labels`` keywords
    (``colormap``, ``opacity``, ...). The layer is read-only.
    """
    register_with_napari()
    layer = ProgressiveLabels(data, **layer_kwargs)
    viewer.add_layer(layer)
    return layer


def add_progressive_layers(viewer: napari.Viewer, uri_or_data: Any, **options: Any) -> list[Layer]:
    """Add every layer of a dataset (``open_layers``) and its ROI tables as a Shapes layer.

    OME-Zarr channels become one layer each, with the file's colours and
    windows; label images are added over them. ``executor=`` (a
    ``distributed.Client`` or a scheduler address) reads chunks on a cluster.
    A dataset best seen in 3D (the Mandelbulb) turns the viewer to 3D.
    """
    register_with_napari()
    executor = options.pop("executor", None)
    opened = open_dataset(uri_or_data, **options)
    layers = dataset_layers(opened, executor)
    for layer in layers:
        viewer.add_layer(layer)
    if opened.view_3d is not None:
        show_in_3d(viewer, opened.view_3d)
    return layers


def progressive_layers(viewer: napari.Viewer) -> list[ProgressiveLayerBase]:
    """The viewer's progressive layers (images and labels)."""
    return [lyr for lyr in viewer.layers if isinstance(lyr, ProgressiveLayerBase)]


def wait_until_idle(viewer: napari.Viewer, timeout: float = 30.0) -> bool:
    """Process Qt events until every progressive layer shows all it needs.

    Returns True when nothing is queued, in flight or waiting for upload for
    the current camera, False if ``timeout`` seconds pass first.
    """
    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    canvas = _vispy_canvas(viewer)
    while True:
        visuals = []
        for layer in progressive_layers(viewer):
            visual = canvas.layer_to_visual.get(layer) if canvas is not None else None
            if visual is not None:
                visual.update_view()  # hand the layer the current view
                visuals.append(visual)
            layer.flush_view()
        QApplication.processEvents()
        layers = progressive_layers(viewer)
        if any(v.needs_redraw for v in visuals) and canvas is not None:
            canvas._scene_canvas.render()  # draw even when the window is hidden
        if all(lyr.is_idle() for lyr in layers):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)


def stats(layer: ProgressiveLayerBase) -> LoaderStats:
    """Loading counters of ``layer`` (a frozen ``LoaderStats``).

    Fields include ``needed`` (tiles the view needs), ``available`` (of those,
    on the GPU), ``prefetch`` (tiles fetched ahead of the camera), ``queued``,
    ``in_flight``, ``failed``, ``host_bytes`` (this layer's bytes in the shared
    host cache) against ``host_share_bytes`` (its fair share under pressure) and
    ``host_budget_bytes``, ``host_pinned_bytes`` (coarsest levels kept),
    ``cache_hits``/``cache_misses``/``cache_evictions`` (the shared cache),
    ``gpu_bytes`` and ``levels`` (levels drawn in the latest frame).
    """
    return layer.loader.stats()


def set_debug_overlay(layer: ProgressiveLayerBase, on: bool) -> None:
    """Tint and outline every tile in its level's colour (or stop)."""
    layer.debug_overlay = on


def _vispy_canvas(viewer: napari.Viewer) -> Any:
    window = getattr(viewer, "window", None)
    qt_viewer = getattr(window, "_qt_viewer", None)
    return getattr(qt_viewer, "canvas", None)
