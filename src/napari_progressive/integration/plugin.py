"""npe2 entry points: the reader behind File > Open and the sample data."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from napari_progressive.integration.layer_factory import dataset_layers, open_dataset
from napari_progressive.integration.registration import register_with_napari
from napari_progressive.integration.view_3d import show_in_3d_when_added
from napari_progressive.sources.location import REMOTE_SCHEMES
from napari_progressive.sources.open import SYNTHETIC_SCHEMES

if TYPE_CHECKING:
    from collections.abc import Callable

#: Inputs claimed by their scheme alone.
CLAIMED_SCHEMES = (*SYNTHETIC_SCHEMES, "precomputed://")
#: Files whose presence makes a local folder ours (zarr v2/v3, precomputed).
METADATA_FILES = ("zarr.json", ".zarray", ".zgroup", ".zattrs", "info")


def get_reader(path: str | list[str]) -> Callable[[Any], list[Any]] | None:
    """npe2 reader hook: a reader for URIs and folders this plugin opens.

    It decides without reading anything remote (it runs on napari's UI
    thread): URLs are ours by their scheme, a local folder when it ends in
    ``.zarr`` or holds zarr or precomputed metadata files. A ``.zarr`` folder
    whose metadata is broken is still ours, so File > Open reports what is
    wrong instead of "no reader".
    """
    p = path[0] if isinstance(path, list) else path
    if not isinstance(p, (str, os.PathLike)):
        return None
    text = os.fspath(p)
    if text.startswith(CLAIMED_SCHEMES) or _is_remote(text):
        return _read
    folder = text.removeprefix("file://")
    if text.rstrip("/").endswith(".zarr") or (
        os.path.isdir(folder)
        and any(os.path.isfile(os.path.join(folder, f)) for f in METADATA_FILES)
    ):
        return _read
    return None


def _is_remote(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in REMOTE_SCHEMES


def _read(path: str | list[str]) -> list[Any]:
    """Layers of local data at once; remote data opens in the background.

    For a remote dataset the reader returns napari's "no layers" sentinel
    and the layers join the viewer when its metadata has arrived. A dataset
    best seen in 3D (the Mandelbulb) turns the viewer to 3D once its layers
    have joined it.
    """
    import napari

    paths = [os.fspath(p) for p in (path if isinstance(path, list) else [path])]
    register_with_napari()
    viewer = napari.current_viewer()
    remote = [p for p in paths if _is_remote(p.removeprefix("precomputed://"))]
    if remote and viewer is not None:
        from napari_progressive.integration.opening import open_in_background

        for p in remote:
            open_in_background(viewer, p)
        paths = [p for p in paths if p not in remote]
        if not paths:
            return [(None,)]
    layers = []
    for p in paths:
        opened = open_dataset(p)
        added = dataset_layers(opened)
        if opened.view_3d is not None and viewer is not None:
            show_in_3d_when_added(viewer, added, opened.view_3d)
        layers.extend(added)
    return layers
