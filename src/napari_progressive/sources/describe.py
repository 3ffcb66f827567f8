"""A plain-text summary of a dataset, for ``napari-progressive info``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.sources.open import SYNTHETIC_SCHEMES
from napari_progressive.sources.rois import read_rois

if TYPE_CHECKING:
    from napari_progressive.sources.layer_spec import LayerSpec


def _codecs(store: Any) -> str:
    """The codecs a tensorstore's chunks are stored with (empty when it states none)."""
    codec = getattr(store, "codec", None)
    meta = codec.to_json() if codec is not None else {}
    if "codecs" in meta:
        return ", ".join(c.get("name", "?") for c in meta["codecs"])
    if "compressor" in meta:
        compressor = meta["compressor"] or {}
        name = str(compressor.get("id", "none"))
        return f"{name}/{compressor['cname']}" if compressor.get("cname") else name
    if "encoding" in meta:
        return str(meta["encoding"])
    return ""


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return ""  # pragma: no cover


def describe(specs: list[LayerSpec], uri: str | None = None) -> str:
    """Layers, levels (shape, tile, dtype, scale, translate, codecs, size) and ROI tables."""
    lines = []
    for spec in specs:
        src = spec.source
        labels = spec.display.get("axis_labels")
        lines.append(f"{spec.kind} layer {spec.name!r}" + (f"  axes {labels}" if labels else ""))
        stores = getattr(src, "stores", None)
        for i, lv in enumerate(src.levels):
            nbytes = float(np.prod(lv.shape, dtype=float)) * lv.dtype.itemsize
            codecs = _codecs(stores[i]) if stores is not None else ""
            lines.append(
                f"  level {i}: shape {lv.shape} tile {lv.chunks} {lv.dtype} "
                f"scale {tuple(round(s, 6) for s in lv.scale)} "
                f"translate {tuple(round(t, 6) for t in lv.translate)} "
                f"{_size(nbytes)}" + (f" codecs {codecs}" if codecs else "")
            )
    if uri is not None and not uri.startswith((*SYNTHETIC_SCHEMES, "precomputed://")):
        for table, rois in read_rois(uri).items():
            lines.append(f"ROI table {table!r}: {len(rois)} ROIs")
    return "\n".join(lines)
