"""Turn what a user passes into a ``MultiscaleSource``."""

from __future__ import annotations

from typing import Any

from napari_progressive.core.errors import SourceError
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.protocol import MultiscaleSource


def as_source(data: Any) -> MultiscaleSource:
    """``data`` itself when it is a source; a list of arrays becomes one."""
    if isinstance(data, MultiscaleSource):
        return data
    if isinstance(data, (list, tuple)) and data and all(hasattr(a, "shape") for a in data):
        return ArrayPyramidSource(list(data))
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return ArrayPyramidSource([data])
    raise SourceError(
        f"cannot display {type(data).__name__}: pass a MultiscaleSource or a list of "
        "arrays (finest first)"
    )
