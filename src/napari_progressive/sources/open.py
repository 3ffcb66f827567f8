"""``open_source`` / ``open_layers``: pick the adapter for what the user passes.

Each adapter states what it ``supports`` and a ``priority``; the first
supporting adapter in priority order opens the input. Paths and URLs are
probed once (zarr metadata, precomputed ``info``), and every adapter sees
the same probe.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol

import tensorstore as ts

from napari_progressive.core.errors import SourceError
from napari_progressive.core.source import MultiscaleSource
from napari_progressive.sources import precomputed
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.layer_spec import LayerSpec
from napari_progressive.sources.lazy_pyramid import lazy_pyramid
from napari_progressive.sources.location import METADATA_TIMEOUT, Location
from napari_progressive.sources.mandelbrot import (
    MANDELBROT_SCHEME,
    MandelbrotSource,
    mandelbrot_display,
    parse_mandelbrot_uri,
)
from napari_progressive.sources.mandelbulb import (
    MANDELBULB_SCHEME,
    MandelbulbSource,
    mandelbulb_display,
    parse_mandelbulb_uri,
)
from napari_progressive.sources.ngff import is_ngff
from napari_progressive.sources.omezarr import open_omezarr
from napari_progressive.sources.redact import redact_text, without_secrets
from napari_progressive.sources.tensorstore_source import (
    DEFAULT_READ_TIMEOUT,
    TensorStoreSource,
    open_store,
)
from napari_progressive.sources.zarr_group import ZarrNode, level_arrays, read_node

#: URI schemes of the synthetic datasets: computed, never read from a location.
SYNTHETIC_SCHEMES = (MANDELBROT_SCHEME, MANDELBULB_SCHEME)


@dataclass
class Target:
    """What the user passed, with lazily probed metadata for path-like input."""

    data: Any
    timeout: float = METADATA_TIMEOUT

    @cached_property
    def uri(self) -> str | None:
        """The input as a string when it is a path or URL."""
        if isinstance(self.data, os.PathLike):
            return os.fspath(self.data)
        if isinstance(self.data, str) and not self.data.lstrip().startswith("{"):
            return self.data
        return None

    @cached_property
    def location(self) -> Location | None:
        """Where a path or URL points (``precomputed://`` removed)."""
        if self.uri is None or self.uri.startswith(SYNTHETIC_SCHEMES):
            return None
        return Location.parse(precomputed.strip_scheme(self.uri), self.timeout)

    @cached_property
    def node(self) -> ZarrNode | None:
        """The zarr node at the location, if any."""
        return read_node(self.location) if self.location is not None else None

    @cached_property
    def info(self) -> dict[str, Any] | None:
        """A precomputed ``info`` document at the location, if any."""
        return self.location.read_json("info") if self.location is not None else None


class Adapter(Protocol):
    """Opens one kind of input (implementations share these docstrings)."""

    name: str
    priority: int

    def supports(self, target: Target) -> bool:
        """Whether this adapter opens ``target``."""
        ...

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:
        """The layers of ``target``."""
        ...


class SourceAdapter:
    """A ``MultiscaleSource`` as it is."""

    name, priority = "source", 100

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        return isinstance(target.data, MultiscaleSource)

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        return [LayerSpec(target.data, name=target.data.name)]


class ArrayListAdapter:
    """A list of numpy, dask, zarr or tensorstore arrays, finest first."""

    name, priority = "arrays", 90

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        d = target.data
        return isinstance(d, (list, tuple)) and bool(d) and all(hasattr(a, "shape") for a in d)

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        name = options.get("name", "arrays")
        return [LayerSpec(ArrayPyramidSource(list(target.data), name=name), name=name)]


class SingleArrayAdapter:
    """One large array; coarser levels are computed lazily (``lazy_pyramid``)."""

    name, priority = "array", 85

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        d = target.data
        return target.uri is None and hasattr(d, "shape") and hasattr(d, "dtype")

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        name = options.get("name", "array")
        source = lazy_pyramid(
            target.data,
            name=name,
            labels=options.get("labels"),
            timeout=options.get("timeout", DEFAULT_READ_TIMEOUT),
        )
        return [LayerSpec(source, "labels" if options.get("labels") else "image", name)]


class TensorStoreSpecAdapter:
    """A tensorstore spec (dict or JSON string) for zarr, zarr3, n5 or precomputed."""

    name, priority = "tensorstore", 80

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        d = target.data
        return (isinstance(d, dict) and "driver" in d) or (
            isinstance(d, str) and d.lstrip().startswith("{")
        )

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        spec = _spec_object(target.data)
        name = options.get("name", spec.get("driver", "tensorstore"))
        timeout = options.get("timeout", DEFAULT_READ_TIMEOUT)
        if spec.get("driver") == "neuroglancer_precomputed":  # every scale of its info
            loc = _kvstore_location(spec.get("kvstore"), timeout)
            return _precomputed_specs(loc, name, timeout)
        store = open_store(spec, name, options.get("timeout", METADATA_TIMEOUT))
        return [LayerSpec(lazy_pyramid(store, name=name, timeout=timeout), name=name)]


def _spec_object(data: dict[str, Any] | str) -> dict[str, Any]:
    """A tensorstore spec given as a dict or a JSON string, as a dict (else SourceError)."""
    if isinstance(data, dict):
        return dict(data)
    try:
        spec = json.loads(data)
    except (RecursionError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise SourceError(f"not a tensorstore JSON spec ({type(e).__name__}: {e})") from None
    if not isinstance(spec, dict):
        raise SourceError("a tensorstore spec is a JSON object")
    return spec


def _kvstore_location(kvstore: Any, timeout: float) -> Location:
    """A location from a kvstore URL or JSON spec."""
    if isinstance(kvstore, dict):
        try:
            kvstore = ts.KvStore.Spec(kvstore).url
        except Exception as e:
            raise SourceError(redact_text(f"kvstore {kvstore}: {e}")) from e
    if not isinstance(kvstore, str):
        raise SourceError(redact_text(f"a tensorstore spec needs a kvstore, got {kvstore!r}"))
    return Location.parse(kvstore, timeout)


class MandelbrotAdapter:
    """``mandelbrot://levels=N,tile=N,max_iter=N``."""

    name, priority = "mandelbrot", 70

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        return target.uri is not None and target.uri.startswith(MANDELBROT_SCHEME)

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        assert target.uri is not None
        source = MandelbrotSource(**parse_mandelbrot_uri(target.uri))
        display = mandelbrot_display(len(source.levels))
        return [LayerSpec(source, name=display.pop("name"), display=display)]


class MandelbulbAdapter:
    """``mandelbulb://levels=N,chunk=N,max_iter=N,times=N`` (times: a time-lapse)."""

    name, priority = "mandelbulb", 65

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        return target.uri is not None and target.uri.startswith(MANDELBULB_SCHEME)

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        assert target.uri is not None
        source = MandelbulbSource(**parse_mandelbulb_uri(target.uri))
        display = mandelbulb_display(len(source.levels), source.times)
        return [LayerSpec(source, name=display.pop("name"), display=display)]


class PrecomputedAdapter:
    """A Neuroglancer precomputed volume (``precomputed://`` URL or a folder with ``info``)."""

    name, priority = "precomputed", 60

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        if target.uri is None:
            return False
        return target.uri.startswith(precomputed.SCHEME) or (
            target.node is None and target.info is not None
        )

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        assert target.location is not None
        name = options.get("name", target.location.basename)
        return _precomputed_specs(
            target.location, name, options.get("timeout", DEFAULT_READ_TIMEOUT)
        )


def _precomputed_specs(loc: Location, name: str, timeout: float) -> list[LayerSpec]:
    doc = loc.read_json("info")
    if doc is None:
        raise SourceError(f"{loc.where('info')}: no precomputed info file")
    info = precomputed.parse_info(doc, loc.where("info"))
    scales, translates = precomputed.physical_transforms(info)
    source = TensorStoreSource(
        precomputed.open_scales(loc, info, timeout),
        name=name,
        scales=scales,
        translates=translates,
        timeout=timeout,
        identity=f"precomputed:{without_secrets(loc.prefix)}",
    )
    kind: Literal["image", "labels"] = "labels" if info.type == "segmentation" else "image"
    channel = ("c",) if info.channels > 1 else ()
    display: dict[str, Any] = {
        "axis_labels": (*channel, "z", "y", "x"),
        "units": (*(None for _ in channel), "nm", "nm", "nm"),
    }
    return [LayerSpec(source, kind, name, display)]


class OmeZarrAdapter:
    """An OME-Zarr 0.4/0.5 image (also a bioformats2raw container or a label image)."""

    name, priority = "ome-zarr", 50

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        return target.node is not None and is_ngff(target.node.attributes)

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        assert target.node is not None
        return open_omezarr(
            target.node,
            split_channels=options.get("split_channels", True),
            include_labels=options.get("include_labels", True),
            timeout=options.get("timeout", DEFAULT_READ_TIMEOUT),
        )


class ZarrAdapter:
    """A plain zarr v2/v3 array, or a group of arrays ``0, 1, 2 ...``."""

    name, priority = "zarr", 40

    def supports(self, target: Target) -> bool:  # noqa: D102 - see Adapter
        return target.node is not None

    def open(self, target: Target, options: dict[str, Any]) -> list[LayerSpec]:  # noqa: D102
        assert target.node is not None
        assert target.location is not None
        name = options.get("name", target.location.basename)
        stores = level_arrays(target.node)
        timeout = options.get("timeout", DEFAULT_READ_TIMEOUT)
        if len(stores) == 1:
            source: MultiscaleSource = lazy_pyramid(stores[0], name=name, timeout=timeout)
        else:
            source = TensorStoreSource(stores, name=name, timeout=timeout)
        return [LayerSpec(source, name=name)]


ADAPTERS: list[Adapter] = sorted(
    [
        SourceAdapter(),
        ArrayListAdapter(),
        SingleArrayAdapter(),
        TensorStoreSpecAdapter(),
        MandelbrotAdapter(),
        MandelbulbAdapter(),
        PrecomputedAdapter(),
        OmeZarrAdapter(),
        ZarrAdapter(),
    ],
    key=lambda a: -a.priority,
)


def open_layers(uri_or_data: Any, **options: Any) -> list[LayerSpec]:
    """Every layer of a dataset: OME-Zarr channels split, label images included.

    ``options``: ``name``, ``timeout`` (seconds per chunk read),
    ``split_channels`` and ``include_labels`` (OME-Zarr), ``labels``
    (a single array holds labels).
    """
    target = Target(uri_or_data, options.get("timeout", METADATA_TIMEOUT))
    for adapter in ADAPTERS:
        if adapter.supports(target):
            return adapter.open(target, options)
    raise SourceError(_not_supported(target))


def open_source(uri_or_data: Any, **options: Any) -> MultiscaleSource:
    """One ``MultiscaleSource`` for a path, URL, tensorstore spec, array(s) or source.

    An OME-Zarr image keeps its channel axis (``open_layers`` splits it).
    """
    options.setdefault("split_channels", False)
    options.setdefault("include_labels", False)
    return open_layers(uri_or_data, **options)[0].source


def _not_supported(target: Target) -> str:
    if target.location is None:
        return (
            f"cannot open {type(target.data).__name__}: pass a path or URL, a tensorstore "
            "spec, a MultiscaleSource, an array or a list of arrays (finest first)"
        )
    loc = target.location
    if loc.is_local and not os.path.exists(loc.local_path):
        return f"{loc.display}: no such file or directory"
    return (
        f"{loc.display}: not a zarr array or group, OME-Zarr image or precomputed volume "
        "(found no zarr.json, .zarray, .zgroup, .zattrs or info)"
    )
