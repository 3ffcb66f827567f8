"""npe2 entry points: the reader behind File > Open and the sample data."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from napari_progressive.core.errors import ProgressiveError
from napari_progressive.integration.layer_factory import open_as_layers
from napari_progressive.integration.registration import register_vispy_layers
from napari_progressive.sources.open import Target

if TYPE_CHECKING:
    from collections.abc import Callable

#: Inputs claimed by their scheme alone; anything else is probed for metadata.
CLAIMED_SCHEMES = ("mandelbrot://", "precomputed://")


def get_reader(path: str | list[str]) -> Callable[[Any], list[Any]] | None:
    """npe2 reader hook: a reader for URIs and folders this plugin opens.

    A path is ours when it has zarr or precomputed metadata; a folder whose
    metadata is broken is still ours, so File > Open reports what is wrong
    instead of "no reader".
    """
    p = path[0] if isinstance(path, list) else path
    if not isinstance(p, (str, os.PathLike)):
        return None
    text = os.fspath(p)
    if text.startswith(CLAIMED_SCHEMES):
        return _read
    target = Target(text)
    try:
        found = target.node is not None or target.info is not None
    except ProgressiveError:
        return _read if text.rstrip("/").endswith(".zarr") else None
    return _read if found else None


def _read(path: str | list[str]) -> list[Any]:
    paths = path if isinstance(path, list) else [path]
    register_vispy_layers()
    return [layer for p in paths for layer in open_as_layers(os.fspath(p))]
