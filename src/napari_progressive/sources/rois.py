"""ROI tables stored with an OME-Zarr image (AnnData tables, as fractal writes them).

A table lists one ROI per row with ``x/y/z_micrometer`` (corner) and
``len_x/y/z_micrometer`` (extent) columns, in the image's world units
(micrometers). Tables are listed in ``<image>/tables`` and read with
anndata, which understands every AnnData encoding on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_progressive.core.errors import MetadataError, SourceError
from napari_progressive.sources.location import Location
from napari_progressive.sources.redact import redact_text
from napari_progressive.sources.zarr_group import read_node

AXES = ("z", "y", "x")


@dataclass(frozen=True)
class Roi:
    """One box in world coordinates, axes ``(z, y, x)``.

    A table without z columns gives z 0 and 1 and ``has_z`` False: the box
    spans every plane.
    """

    table: str
    name: str
    start: tuple[float, float, float]
    size: tuple[float, float, float]
    has_z: bool = True


def table_names(image: Location) -> tuple[str, ...]:
    """Names listed in ``<image>/tables`` (empty when there is none)."""
    node = read_node(image.child("tables"))
    if node is None:
        return ()
    names = node.attributes.get("tables", ())
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise MetadataError(node.where, "tables", "expected a list of table names")
    return tuple(names)


def read_rois(image: Location | str) -> dict[str, tuple[Roi, ...]]:
    """Every ROI table of an image, by table name (tables without ROI columns are left out)."""
    loc = image if isinstance(image, Location) else Location.parse(image)
    out = {}
    for name in table_names(loc):
        table_loc = loc.child("tables").child(name)
        table = _read_table(table_loc)
        columns = [str(c) for c in table.var_names]
        if not all(f"{a}_micrometer" in columns and f"len_{a}_micrometer" in columns for a in "xy"):
            continue
        x = _values(table, len(columns), table_loc)
        starts = np.stack([_column(x, columns, f"{a}_micrometer", 0.0) for a in AXES], axis=1)
        sizes = np.stack([_column(x, columns, f"len_{a}_micrometer", 1.0) for a in AXES], axis=1)
        has_z = "z_micrometer" in columns and "len_z_micrometer" in columns
        out[name] = tuple(
            Roi(name, str(obs), (s[0], s[1], s[2]), (n[0], n[1], n[2]), has_z)
            for obs, s, n in zip(table.obs_names, starts.tolist(), sizes.tolist(), strict=True)
        )
    return out


def _values(table: Any, n_columns: int, loc: Location) -> np.ndarray:
    """The table's matrix as finite floats, one column per variable."""
    try:
        x = np.asarray(table.X, dtype=float)
    except (TypeError, ValueError) as e:
        raise SourceError(f"{loc.display}: ROI values are not numbers ({e})") from None
    if x.ndim != 2 or x.shape[1] != n_columns:
        raise SourceError(f"{loc.display}: ROI values of shape {x.shape} for {n_columns} columns")
    if not np.isfinite(x).all():
        raise SourceError(f"{loc.display}: ROI values must be finite")
    return x


def _column(x: np.ndarray, columns: list[str], label: str, default: float) -> np.ndarray:
    return x[:, columns.index(label)] if label in columns else np.full(len(x), default)


def _open_group(zarr: Any, loc: Location) -> Any:
    """The zarr group at ``loc``; a URL's query string goes with every request, after the key."""
    if loc.is_local:
        return zarr.open_group(loc.local_path, mode="r")
    options = {"params": loc.query} if loc.query else {}
    return zarr.open_group(loc.prefix, mode="r", storage_options=options)


def _read_table(loc: Location) -> Any:
    try:
        import anndata
        import zarr
    except ImportError as e:  # pragma: no cover - part of the [all] extra
        raise SourceError("reading ROI tables needs anndata: pip install anndata") from e
    try:
        return anndata.read_zarr(_open_group(zarr, loc))
    except Exception as e:
        raise SourceError(f"{loc.display}: cannot read the table ({redact_text(str(e))})") from e
