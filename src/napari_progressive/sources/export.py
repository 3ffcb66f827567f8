"""Write levels of a source to an OME-Zarr 0.5 image, one chunk at a time.

A progressive layer's data lives in its source, often far larger than
memory, so saving it means copying chosen levels chunk by chunk: memory
stays at one chunk, and the copy can be cancelled between chunks. The
result opens again with ``open_source`` (and any OME-Zarr reader).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
import zarr.errors

from napari_progressive.core.errors import SourceError

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

    from napari_progressive.core.source import MultiscaleSource

#: Axis names NGFF knows as time or channel axes; every other axis is space.
_AXIS_TYPES = {"t": "time", "time": "time", "c": "channel", "channel": "channel"}


@dataclass(frozen=True)
class ExportProgress:
    """How far an export has come: chunks written of all the chunks to write."""

    written: int
    total: int


def export_omezarr(
    source: MultiscaleSource,
    path: str | os.PathLike[str],
    *,
    first_level: int = 0,
    axis_names: Sequence[str] | None = None,
    units: Sequence[str | None] | None = None,
    on_progress: Callable[[ExportProgress], None] = lambda progress: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> bool:
    """Copy levels ``first_level..`` of ``source`` to a new OME-Zarr at ``path``.

    Returns False when ``cancelled()`` became true (what was written stays).
    Blocking I/O: call it from a worker thread.
    """
    levels = list(source.levels)[first_level:]
    if not levels:
        raise SourceError(f"{source.name}: no level {first_level} to export")
    ndim = levels[0].ndim
    names = [str(n) for n in axis_names] if axis_names else _default_axis_names(ndim)
    if len(names) != ndim or len(set(names)) != ndim:
        raise SourceError(f"axis names {names} do not name {ndim} distinct axes")
    try:
        root = zarr.open_group(str(path), mode="w-", zarr_format=3)
    except (FileExistsError, zarr.errors.ContainsGroupError, zarr.errors.ContainsArrayError) as e:
        raise SourceError(f"{path} exists already: export to a new path") from e
    root.attrs["ome"] = _multiscales(levels, names, units)
    arrays = [
        root.create_array(str(i), shape=lv.shape, chunks=lv.chunks, dtype=lv.dtype, fill_value=0)
        for i, lv in enumerate(levels)
    ]
    total = export_chunks(source, first_level)
    written = 0
    for i, (lv, array) in enumerate(zip(levels, arrays, strict=True)):
        for index in lv.iter_chunks():
            if cancelled():
                return False
            array[lv.chunk_slices(index)] = source.read_chunk(first_level + i, index)
            written += 1
            on_progress(ExportProgress(written, total))
    return True


def export_bytes(source: MultiscaleSource, first_level: int = 0) -> int:
    """Uncompressed bytes that exporting levels ``first_level..`` copies."""
    return sum(
        int(np.prod(lv.shape, dtype=np.int64)) * lv.dtype.itemsize
        for lv in list(source.levels)[first_level:]
    )


def export_chunks(source: MultiscaleSource, first_level: int = 0) -> int:
    """Chunks that exporting levels ``first_level..`` writes."""
    return sum(int(np.prod(lv.grid, dtype=np.int64)) for lv in list(source.levels)[first_level:])


def _default_axis_names(ndim: int) -> list[str]:
    spatial = ["z", "y", "x"][-min(ndim, 3) :]
    return [f"dim_{i}" for i in range(ndim - len(spatial))] + spatial


def _multiscales(levels: Sequence[Any], names: list[str], units: Any) -> dict[str, Any]:
    axes: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        axis: dict[str, Any] = {"name": name, "type": _AXIS_TYPES.get(name.lower(), "space")}
        unit = units[i] if units is not None and i < len(units) else None
        if unit and unit != "pixel":
            axis["unit"] = str(unit)
        axes.append(axis)
    datasets = [
        {
            "path": str(i),
            "coordinateTransformations": [
                {"type": "scale", "scale": [float(s) for s in lv.scale]},
                {"type": "translation", "translation": [float(t) for t in lv.translate]},
            ],
        }
        for i, lv in enumerate(levels)
    ]
    return {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}
