"""OME-Zarr 0.4/0.5 images, channels and label images as layer specs."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Literal

import tensorstore as ts

from napari_progressive.core.errors import MetadataError, SourceError
from napari_progressive.sources.layer_spec import LayerSpec
from napari_progressive.sources.limits import MAX_SPLIT_CHANNELS
from napari_progressive.sources.ngff import NgffGroup, ngff_version, parse_ngff
from napari_progressive.sources.tensorstore_source import DEFAULT_READ_TIMEOUT, TensorStoreSource
from napari_progressive.sources.zarr_group import ZarrNode, open_array, read_node

if TYPE_CHECKING:
    from napari_progressive.sources.ngff import Multiscales


def open_omezarr(
    node: ZarrNode,
    *,
    split_channels: bool = True,
    include_labels: bool = True,
    timeout: float = DEFAULT_READ_TIMEOUT,
) -> list[LayerSpec]:
    """Layers of an OME-Zarr group: the image (per channel) and its label images.

    An image of more than ``MAX_SPLIT_CHANNELS`` channels is not split (a
    ``UserWarning`` says so): it opens as one layer with a channel axis.
    """
    group = parse_ngff(node.attributes, node.where)
    if group.multiscales is None:
        return _open_container(node, group, split_channels, include_labels, timeout)
    stores = _level_stores(node, group.multiscales)
    specs = _image_specs(node, group, stores, split_channels, timeout)
    if include_labels and not group.is_label:
        specs.extend(_with_units_of(specs[0], label) for label in _label_specs(node, timeout))
    return specs


def _with_units_of(image: LayerSpec, label: LayerSpec) -> LayerSpec:
    """``label`` with the image's unit on every axis it names without one.

    Label images often state no units; napari would then warn that the
    layers disagree and hide the scale bar.
    """
    image_axes = image.display.get("axis_labels", ())
    image_units = dict(zip(image_axes, image.display.get("units", ()), strict=True))
    names = label.display.get("axis_labels", ())
    units = label.display.get("units", (None,) * len(names))
    label.display["units"] = tuple(
        unit or image_units.get(name) for name, unit in zip(names, units, strict=True)
    )
    return label


def _open_container(
    node: ZarrNode, group: NgffGroup, split: bool, labels: bool, timeout: float
) -> list[LayerSpec]:
    if "bioformats2raw.layout" in group.kinds:  # series 0 holds the image
        child = read_node(node.location.child("0"))
        if child is None:
            raise SourceError(f"{node.location.display}: bioformats2raw layout without series 0")
        return open_omezarr(child, split_channels=split, include_labels=labels, timeout=timeout)
    if "plate" in group.kinds or "well" in group.kinds:
        raise SourceError(
            f"{node.location.display}: HCS plates and wells are not opened as a whole; "
            "open one field instead (for example plate.zarr/A/1/0)"
        )
    raise MetadataError(
        node.where, "multiscales", "no image here (only " + ", ".join(group.kinds) + ")"
    )


def _level_stores(node: ZarrNode, ms: Multiscales) -> list[ts.TensorStore]:
    stores: list[ts.TensorStore] = []
    ndim = len(ms.axes)
    prefix = "ome.multiscales.0" if node.zarr_format == 3 else "multiscales.0"
    for i, ds in enumerate(ms.datasets):
        field = f"{prefix}.datasets.{i}"
        try:
            store = open_array(node.location.child(ds.path), node.zarr_format)
        except SourceError as e:
            raise MetadataError(node.where, field + ".path", f"cannot open {ds.path!r}: {e}") from e
        if store.rank != ndim:
            raise MetadataError(
                node.where, field, f"array {ds.path!r} has {store.rank} axes, axes lists {ndim}"
            )
        if stores:
            _check_extent(node.where, field, ms, i, stores[0].shape, store.shape)
        stores.append(store)
    return stores


def _check_extent(
    where: str, field: str, ms: Multiscales, i: int, shape0: tuple[int, ...], shape: tuple[int, ...]
) -> None:
    """Level ``i`` must cover what level 0 covers, to within one of its pixels."""
    s0, si = ms.datasets[0].scale, ms.datasets[i].scale
    for a, axis in enumerate(ms.axes):
        if axis.type == "channel":
            if shape[a] != shape0[a]:
                raise MetadataError(where, field, f"has {shape[a]} channels, level 0 {shape0[a]}")
            continue
        extent0, extent = shape0[a] * s0[a], shape[a] * si[a]
        if abs(extent - extent0) > si[a] * (1 + 1e-6):
            raise MetadataError(
                where,
                field,
                f"shape {tuple(shape)} with scale {si} covers {extent:g} along {axis.name!r}, "
                f"level 0 covers {extent0:g}: shapes and scales do not match",
            )


def _image_specs(
    node: ZarrNode,
    group: NgffGroup,
    stores: list[ts.TensorStore],
    split_channels: bool,
    timeout: float,
) -> list[LayerSpec]:
    ms = group.multiscales
    assert ms is not None
    name = ms.name or node.location.basename.removesuffix(".zarr") or "OME-Zarr"
    kind: Literal["image", "labels"] = "labels" if group.is_label else "image"
    c_ax = ms.channel_axis
    axes = list(ms.axes)
    scales = [ds.scale for ds in ms.datasets]
    translates = [ds.translate for ds in ms.datasets]
    if c_ax is not None and split_channels and stores[0].shape[c_ax] > MAX_SPLIT_CHANNELS:
        warnings.warn(
            f"{node.location.display}: {stores[0].shape[c_ax]} channels are more than "
            f"{MAX_SPLIT_CHANNELS} layers; opened as one layer with a channel axis "
            "(its slider picks the channel)",
            UserWarning,
            stacklevel=2,
        )
        split_channels = False
    if c_ax is None or not split_channels:
        source = TensorStoreSource(
            stores, name=name, scales=scales, translates=translates, timeout=timeout
        )
        display = _axes_display(axes)
        if group.is_label:
            display["label_colors"] = group.label_colors
        elif len(group.channels) == 1:
            display.update(_channel_display(group, 0))
        return [LayerSpec(source, kind, name, display)]
    specs = []
    n_channels = int(stores[0].shape[c_ax])
    keep = [a for a in range(len(axes)) if a != c_ax]
    for c in range(n_channels):
        label = group.channels[c].label if c < len(group.channels) else None
        channel_name = f"{name} [{label or c}]"
        source = TensorStoreSource(
            [s[ts.d[c_ax][c]] for s in stores],
            name=channel_name,
            scales=[tuple(s[a] for a in keep) for s in scales],
            translates=[tuple(t[a] for a in keep) for t in translates],
            timeout=timeout,
        )
        display = _axes_display([axes[a] for a in keep])
        display.update(_channel_display(group, c))
        if "color" not in display:  # no omero colour: napari's own for a channel axis
            display["colormap"] = _default_channel_colormap(c, n_channels)
        display["blending"] = "additive" if n_channels > 1 else "translucent"
        specs.append(LayerSpec(source, "image", channel_name, display))
    return specs


#: napari's colormaps of a split channel axis (``add_image(channel_axis=...)``):
#: magenta and green for two channels, else cycling through these six.
TWO_CHANNEL_COLORMAPS = ("magenta", "green")
CHANNEL_COLORMAPS = ("cyan", "magenta", "yellow", "blue", "green", "red")


def _default_channel_colormap(c: int, n_channels: int) -> str:
    """The colormap napari gives channel ``c`` of ``n_channels`` when none is set."""
    if n_channels == 1:
        return "gray"
    if n_channels == 2:
        return TWO_CHANNEL_COLORMAPS[c]
    return CHANNEL_COLORMAPS[c % len(CHANNEL_COLORMAPS)]


def _axes_display(axes: list) -> dict:
    return {
        "axis_labels": tuple(a.name for a in axes),
        "units": tuple(a.unit for a in axes),
    }


def _channel_display(group: NgffGroup, c: int) -> dict:
    if c >= len(group.channels):
        return {}
    ch = group.channels[c]
    out: dict = {"visible": ch.active}
    if ch.window is not None and ch.window[1] > ch.window[0]:
        out["contrast_limits"] = ch.window
    if ch.color:
        out["color"] = "#" + ch.color.lstrip("#").lower()
    return out


def _label_specs(node: ZarrNode, timeout: float) -> list[LayerSpec]:
    labels_node = read_node(node.location.child("labels"))
    if labels_node is None:
        return []
    version = ngff_version(node.attributes, node.where)
    group = parse_ngff(labels_node.attributes, labels_node.where, inherited=version)
    specs = []
    for name in group.labels:
        child = read_node(labels_node.location.child(name))
        if child is None:
            raise MetadataError(labels_node.where, "labels", f"label image {name!r} is missing")
        for spec in open_omezarr(child, include_labels=False, timeout=timeout):
            spec.kind = "labels"
            spec.name = f"{name}"
            specs.append(spec)
    return specs
