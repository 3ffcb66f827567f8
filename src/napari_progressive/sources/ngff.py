"""OME-NGFF (OME-Zarr) metadata: validated with ome-zarr-models, read into plain data.

Versions 0.4 (``.zattrs``) and 0.5 (``zarr.json`` attributes under ``ome``)
are read; every other version is refused with a message that says so. Each
metadata block present (``multiscales``, ``omero``, ``image-label``,
``labels``, ``plate``, ``well``, ``bioformats2raw.layout``) is validated by
the ome-zarr-models model of its version; rules of the specification text
that the models leave out (a label image is also a multiscales image, an
``omero`` window holds numbers and a colour is a hex string) are checked
here. Errors are ``MetadataError`` naming the file and the field.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import pydantic
from ome_zarr_models.common.omero import Omero
from ome_zarr_models.v04 import bioformats2raw as b04
from ome_zarr_models.v04 import hcs as hcs04
from ome_zarr_models.v04 import image as image04
from ome_zarr_models.v04 import image_label as label04
from ome_zarr_models.v04 import labels as labels04
from ome_zarr_models.v04 import well as well04
from ome_zarr_models.v05 import bioformats2raw as b05
from ome_zarr_models.v05 import hcs as hcs05
from ome_zarr_models.v05 import image as image05
from ome_zarr_models.v05 import image_label as label05
from ome_zarr_models.v05 import labels as labels05
from ome_zarr_models.v05 import well as well05

from napari_progressive.core.errors import MetadataError
from napari_progressive.sources.limits import check_levels, finite_numbers

SUPPORTED_VERSIONS = ("0.4", "0.5")

_MODELS: dict[str, dict[str, type[pydantic.BaseModel]]] = {
    "0.4": {
        "multiscales": image04.ImageAttrs,
        "image-label": label04.ImageLabelAttrs,
        "labels": labels04.LabelsAttrs,
        "plate": hcs04.HCSAttrs,
        "well": well04.WellAttrs,
        "bioformats2raw.layout": b04.BioFormats2RawAttrs,
    },
    "0.5": {
        "multiscales": image05.ImageAttrs,
        "image-label": label05.ImageLabelAttrs,
        "labels": labels05.LabelsAttrs,
        "plate": hcs05.HCSAttrs,
        "well": well05.WellAttrs,
        "bioformats2raw.layout": b05.BioFormats2RawAttrs,
    },
}
KNOWN_KEYS = tuple(_MODELS["0.4"])


@dataclass(frozen=True)
class Axis:
    """One axis: ``type`` is space, time, channel, a custom word or None."""

    name: str
    type: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One level: its array path and its physical scale and translation."""

    path: str
    scale: tuple[float, ...]
    translate: tuple[float, ...]


@dataclass(frozen=True)
class Channel:
    """Display defaults of one channel from ``omero``."""

    label: str | None
    color: str | None
    window: tuple[float, float] | None
    active: bool = True


@dataclass(frozen=True)
class Multiscales:
    """The first ``multiscales`` entry, transforms combined per level."""

    name: str | None
    axes: tuple[Axis, ...]
    datasets: tuple[Dataset, ...]

    @property
    def channel_axis(self) -> int | None:
        """Index of the axis of type ``channel``, if any."""
        return next((i for i, a in enumerate(self.axes) if a.type == "channel"), None)


@dataclass(frozen=True)
class NgffGroup:
    """What the metadata of one group says, validated."""

    version: str
    where: str
    multiscales: Multiscales | None = None
    channels: tuple[Channel, ...] = ()
    label_colors: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    is_label: bool = False
    labels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


def ngff_version(attrs: dict[str, Any], where: str, inherited: str | None = None) -> str:
    """The OME-NGFF version of a group's attributes (MetadataError when unsupported).

    ``inherited`` is the enclosing image's version, used when an ``ome`` block
    states none (ome-zarr-py writes 0.5 ``labels`` groups that way).
    """
    if "ome" in attrs:
        ome = attrs["ome"]
        if not isinstance(ome, dict):
            raise MetadataError(where, "ome", "must be a JSON object")
        version = ome.get("version", inherited)
        if version is None:
            raise MetadataError(where, "ome.version", "missing")
    else:
        blocks = [attrs.get(k) for k in ("multiscales", "image-label", "plate", "well")]
        stated = [b.get("version") for b in _flatten(blocks) if isinstance(b, dict)]
        version = next((v for v in stated if v is not None), "0.4")
    if version not in SUPPORTED_VERSIONS:
        raise MetadataError(
            where,
            "version",
            f"OME-NGFF {version} is not supported (this reader supports "
            f"{' and '.join(SUPPORTED_VERSIONS)})",
        )
    return str(version)


def _flatten(blocks: list[Any]) -> list[Any]:
    out: list[Any] = []
    for b in blocks:
        out.extend(b if isinstance(b, list) else [b])
    return out


def is_ngff(attrs: dict[str, Any]) -> bool:
    """Whether the attributes carry any OME-NGFF block."""
    body = attrs.get("ome", attrs)
    return isinstance(body, dict) and any(k in body for k in KNOWN_KEYS)


def parse_ngff(attrs: dict[str, Any], where: str, inherited: str | None = None) -> NgffGroup:
    """Validate a group's attributes and read what display needs (see ``ngff_version``)."""
    version = ngff_version(attrs, where, inherited)
    body = {**attrs["ome"], "version": version} if version != "0.4" else attrs
    kinds = tuple(k for k in KNOWN_KEYS if k in body)
    if not kinds:
        raise MetadataError(
            where, "", f"no OME-NGFF metadata (expected one of {', '.join(KNOWN_KEYS)})"
        )
    prefix = "ome." if version != "0.4" else ""
    if "image-label" in body and "multiscales" not in body:
        raise MetadataError(
            where, prefix + "multiscales", "a label image must also be a multiscales image"
        )
    for kind in kinds:
        if kind == "multiscales" and "image-label" in body:
            continue  # validated with its image-label model
        _validate(_MODELS[version][kind], body, where, prefix)
    channels: tuple[Channel, ...] = ()
    if "omero" in body:
        _validate(Omero, body["omero"], where, prefix + "omero.", strict=True)
        channels = _channels(body["omero"], where, prefix + "omero")
    multiscales = None
    if "multiscales" in kinds:
        entries = body["multiscales"]
        if not (isinstance(entries, list) and entries and isinstance(entries[0], dict)):
            raise MetadataError(where, prefix + "multiscales", "expected at least one entry")
        multiscales = _multiscales(entries[0], where, prefix)
    label = body.get("image-label") or {}
    return NgffGroup(
        version=version,
        where=where,
        multiscales=multiscales,
        channels=channels,
        label_colors=_label_colors(label),
        is_label="image-label" in body,
        labels=tuple(body.get("labels", ())),
        kinds=kinds,
    )


def _validate(
    model: type[pydantic.BaseModel],
    doc: Any,
    where: str,
    prefix: str,
    *,
    strict: bool = False,
) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the models warn about versions they fill in
            model.model_validate(doc, strict=strict)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise MetadataError(where, prefix + loc, first["msg"]) from None
    except Exception as e:  # the models' own validators raise IndexError and others too
        raise MetadataError(where, prefix.rstrip("."), f"{type(e).__name__}: {e}") from None


def _transform(
    transforms: list[dict[str, Any]], ndim: int, where: str, field: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Scale and translation of a ``coordinateTransformations`` list."""
    scale = [1.0] * ndim
    translate = [0.0] * ndim
    for t in transforms:
        kind = t.get("type")
        if kind not in ("scale", "translation", "identity"):
            raise MetadataError(where, field, f"transformation type {kind!r} is not supported")
        if kind == "identity":
            continue
        values = t.get(kind)
        if values is None:
            raise MetadataError(
                where, field, f"{kind} given by path {t.get('path')!r} is not supported"
            )
        values = finite_numbers(values, where, f"{field}.{kind}")
        if len(values) != ndim:
            raise MetadataError(
                where, field, f"{kind} has {len(values)} values but there are {ndim} axes"
            )
        if kind == "scale":
            scale = list(values)
            translate = [tr * s for tr, s in zip(translate, scale, strict=True)]
        else:
            translate = [tr + v for tr, v in zip(translate, values, strict=True)]
    if any(s <= 0 for s in scale):
        raise MetadataError(where, field, f"scale {scale} must be positive")
    return tuple(scale), tuple(translate)


def _multiscales(ms: dict[str, Any], where: str, prefix: str) -> Multiscales:
    axes = tuple(
        Axis(name=str(a["name"]), type=a.get("type"), unit=a.get("unit")) for a in ms["axes"]
    )
    ndim = len(axes)
    field0 = prefix + "multiscales.0"
    global_scale, global_translate = _transform(
        ms.get("coordinateTransformations") or [],
        ndim,
        where,
        field0 + ".coordinateTransformations",
    )
    check_levels(where, field0 + ".datasets", len(ms["datasets"]))
    datasets = []
    for i, ds in enumerate(ms["datasets"]):
        scale, translate = _transform(
            ds["coordinateTransformations"],
            ndim,
            where,
            f"{field0}.datasets.{i}.coordinateTransformations",
        )
        combined = Dataset(
            path=str(ds["path"]),
            scale=tuple(g * s for g, s in zip(global_scale, scale, strict=True)),
            translate=tuple(
                g * t + gt
                for g, t, gt in zip(global_scale, translate, global_translate, strict=True)
            ),
        )
        if not all(math.isfinite(v) and v != 0 for v in combined.scale) or not all(
            math.isfinite(v) for v in combined.translate
        ):
            raise MetadataError(
                where, f"{field0}.datasets.{i}", "scale and translation overflow when combined"
            )
        datasets.append(combined)
    name = ms.get("name")
    return Multiscales(name=str(name) if name else None, axes=axes, datasets=tuple(datasets))


def _channels(omero: dict[str, Any], where: str, field: str) -> tuple[Channel, ...]:
    out = []
    for i, ch in enumerate(omero.get("channels", ())):
        window = ch.get("window") or {}
        start, end = window.get("start"), window.get("end")
        limits = None
        if start is not None and end is not None:
            start, end = finite_numbers([start, end], where, f"{field}.channels.{i}.window")
            limits = (start, end)
        out.append(
            Channel(
                label=ch.get("label"),
                color=ch.get("color"),
                window=limits,
                active=bool(ch.get("active", True)),
            )
        )
    return tuple(out)


def _label_colors(label: dict[str, Any]) -> dict[int, tuple[float, float, float, float]]:
    colors: dict[int, tuple[float, float, float, float]] = {}
    for c in label.get("colors") or ():
        value, rgba = c.get("label-value"), c.get("rgba")
        if value is not None and rgba is not None:
            r, g, b, a = (float(v) / 255 for v in rgba)
            colors[int(value)] = (r, g, b, a)
    return colors
