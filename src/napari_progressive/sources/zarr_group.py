"""Zarr v2/v3 groups and arrays read through tensorstore."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from napari_progressive.core.errors import MetadataError, SourceError
from napari_progressive.sources.limits import check_chunk, check_shape
from napari_progressive.sources.tensorstore_source import native_chunks, open_store

if TYPE_CHECKING:
    import tensorstore as ts

    from napari_progressive.sources.location import Location


@dataclass(frozen=True)
class ZarrNode:
    """A zarr node's format, kind and attributes."""

    location: Location
    zarr_format: Literal[2, 3]
    node_type: Literal["group", "array"]
    attributes: dict[str, Any]

    @property
    def metadata_key(self) -> str:
        """The file holding the node's attributes."""
        return "zarr.json" if self.zarr_format == 3 else ".zattrs"

    @property
    def where(self) -> str:
        """The attributes file, for messages."""
        return self.location.where(self.metadata_key)


def read_node(loc: Location) -> ZarrNode | None:
    """The zarr node at ``loc`` (v3 first, then v2), None when there is none."""
    doc = loc.read_json("zarr.json")
    if doc is not None:
        node_type = doc.get("node_type")
        if doc.get("zarr_format") != 3 or node_type not in ("group", "array"):
            raise MetadataError(
                loc.where("zarr.json"), "node_type", f"not a zarr v3 group or array: {node_type!r}"
            )
        attrs = doc.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise MetadataError(loc.where("zarr.json"), "attributes", "must be a JSON object")
        return ZarrNode(loc, 3, node_type, attrs)
    for key, kind in ((".zarray", "array"), (".zgroup", "group")):
        if loc.read_json(key) is not None:
            return ZarrNode(loc, 2, kind, loc.read_json(".zattrs") or {})  # type: ignore[arg-type]
    attrs = loc.read_json(".zattrs")
    if attrs is not None:  # some writers leave out .zgroup
        return ZarrNode(loc, 2, "group", attrs)
    return None


def open_array(loc: Location, zarr_format: int) -> ts.TensorStore:
    """The zarr array at ``loc`` as a read-only tensorstore, its sizes bounded.

    An empty axis, or a chunk over ``MAX_CHUNK_BYTES`` (every read decodes
    a whole one), is a ``MetadataError`` naming the array's metadata file.
    """
    driver, key = ("zarr3", "zarr.json") if zarr_format == 3 else ("zarr", ".zarray")
    store = open_store({"driver": driver, "kvstore": loc.url}, loc.display, loc.timeout)
    check_shape(loc.where(key), "shape", tuple(int(n) for n in store.shape))
    chunk = native_chunks(store)
    field = "chunk_grid" if zarr_format == 3 else "chunks"
    check_chunk(loc.where(key), field, [c or 1 for c in chunk], store.dtype.numpy_dtype)
    return store


def level_arrays(node: ZarrNode) -> list[ts.TensorStore]:
    """A plain zarr pyramid: the array itself, or a group's arrays ``0, 1, 2 ...``."""
    if node.node_type == "array":
        return [open_array(node.location, node.zarr_format)]
    stores = []
    for i in range(64):
        child = node.location.child(str(i))
        sub = read_node(child)
        if sub is None or sub.node_type != "array":
            break
        stores.append(open_array(child, sub.zarr_format))
    if not stores:
        raise SourceError(
            f"{node.location.display}: a zarr group without OME-NGFF metadata needs arrays "
            "named 0, 1, 2 ... (finest first)"
        )
    return stores
