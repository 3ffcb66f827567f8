"""Fuzzing every metadata parser: a typed error or a bounded, finite result, nothing else.

Valid documents of each format are mutated (values replaced by arbitrary
JSON, huge, negative and non-finite numbers, keys deleted, lists grown);
the parsers must either accept them with every size and transform in
range or raise a ``MetadataError``/``SourceError``. Files go through the
same readers as real data (``read_node``, ``open_layers``). The long runs
are marked ``slow`` (see ``tests/sources/fuzzing.py``).
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from napari_progressive.core.errors import ProgressiveError, SourceError
from napari_progressive.sources.limits import MAX_CHUNK_BYTES, MAX_INDEX, MAX_LEVELS
from napari_progressive.sources.location import Location
from napari_progressive.sources.mandelbrot import MandelbrotSource, parse_mandelbrot_uri
from napari_progressive.sources.mandelbulb import MandelbulbSource, parse_mandelbulb_uri
from napari_progressive.sources.ngff import parse_ngff
from napari_progressive.sources.open import open_layers
from napari_progressive.sources.precomputed import parse_info
from napari_progressive.sources.rois import table_names
from napari_progressive.sources.zarr_group import read_node
from tests.sources.fuzzing import JSON, fuzz_pair, mutated


def _ms(version, axes, scale=(1.0, 1.0)):
    datasets = [
        {
            "path": str(i),
            "coordinateTransformations": [
                {"type": "scale", "scale": [s * 2**i for s in scale]},
                {"type": "translation", "translation": [0.5 * i] * len(scale)},
            ],
        }
        for i in range(2)
    ]
    ms = {"axes": axes, "datasets": datasets, "name": "img"}
    return {**ms, "version": version} if version == "0.4" else ms


YX = [{"name": "y", "type": "space", "unit": "micrometer"}, {"name": "x", "type": "space"}]
CYX = [{"name": "c", "type": "channel"}, *YX]
OMERO = {
    "channels": [
        {
            "label": "a",
            "color": "FF0000",
            "active": True,
            "window": {"min": 0, "max": 255, "start": 0, "end": 200},
        }
    ],
    "rdefs": {"model": "color"},
}
NGFF_SEEDS = [
    {"multiscales": [_ms("0.4", YX)]},
    {"multiscales": [_ms("0.4", CYX, (1.0, 1.0, 1.0))], "omero": OMERO},
    {"ome": {"version": "0.5", "multiscales": [_ms("0.5", YX)], "omero": OMERO}},
    {
        "multiscales": [_ms("0.4", YX)],
        "image-label": {
            "version": "0.4",
            "colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}],
        },
    },
    {"ome": {"version": "0.5", "labels": ["cells"]}},
    {"labels": ["cells", "nuclei"]},
    {"bioformats2raw.layout": 3},
]


def check_ngff(attrs):
    try:
        group = parse_ngff(attrs, "img.zarr/.zattrs")
    except SourceError:
        return
    ms = group.multiscales
    if ms is not None:
        assert 1 <= len(ms.datasets) <= MAX_LEVELS
        for ds in ms.datasets:
            assert all(math.isfinite(v) and v > 0 for v in ds.scale)
            assert all(math.isfinite(v) for v in ds.translate)
    for ch in group.channels:
        assert ch.window is None or all(math.isfinite(v) for v in ch.window)


test_ngff_fuzzed, test_ngff_fuzzed_long = fuzz_pair(mutated(NGFF_SEEDS), check_ngff)


PRECOMPUTED_SEEDS = [
    {
        "type": t,
        "data_type": dtype,
        "num_channels": channels,
        "scales": [
            {
                "key": f"s{i}",
                "size": [64 >> i, 64 >> i, 16],
                "chunk_sizes": [[32, 32, 16]],
                "resolution": [4 * 2**i, 4 * 2**i, 40],
                "voxel_offset": [0, 0, 0],
                "encoding": encoding,
            }
            for i in range(2)
        ],
    }
    for t, dtype, channels, encoding in [
        ("image", "uint8", 1, "raw"),
        ("image", "float32", 3, "fpzip"),
        ("segmentation", "uint32", 1, "crackle"),
        ("segmentation", "uint64", 1, "compressed_segmentation"),
    ]
]


def check_info(doc):
    try:
        info = parse_info(doc, "vol/info")
    except SourceError:
        return
    assert 1 <= len(info.scales) <= MAX_LEVELS
    for s in info.scales:
        assert math.prod(s.chunk) * info.channels * info.dtype.itemsize <= MAX_CHUNK_BYTES
        assert math.prod(s.size) * info.channels < 2**63
        assert all(
            abs(o) <= MAX_INDEX and abs(o + n) <= MAX_INDEX
            for o, n in zip(s.offset, s.size, strict=True)
        )
        assert all(math.isfinite(r) and r > 0 for r in s.resolution)
        assert ".." not in s.key.split("/") and not s.key.startswith("/")


test_info_fuzzed, test_info_fuzzed_long = fuzz_pair(mutated(PRECOMPUTED_SEEDS), check_info)


def _raw_bytes(seeds):
    """A seed serialised, then cut, padded or with bytes overwritten."""
    return st.tuples(
        st.sampled_from(seeds), st.integers(0, 400), st.binary(max_size=8), st.booleans()
    ).map(lambda t: _cut(json.dumps(t[0]).encode(), *t[1:]))


def _cut(text: bytes, at: int, junk: bytes, truncate: bool) -> bytes:
    at = min(at, len(text))
    return text[:at] if truncate else text[:at] + junk + text[at + len(junk) :]


def _open_folder(files: dict[str, bytes | dict]) -> None:
    """Write ``files`` into a fresh folder and open it as a user would: only typed errors."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the channel cap warns, by design
        root = Path(tmp) / "data"
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(content) if isinstance(content, (dict, list)) else content
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
        try:
            read_node(Location.parse(str(root)))
            open_layers(str(root))
        except ProgressiveError:
            pass


ZARRAY = {
    "zarr_format": 2,
    "shape": [64, 48],
    "chunks": [32, 32],
    "dtype": "<u2",
    "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
    "fill_value": 0,
    "order": "C",
    "filters": None,
}
ZARR_JSON = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [64, 48],
    "data_type": "uint16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [32, 32]}},
    "chunk_key_encoding": {"name": "default"},
    "fill_value": 0,
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    "attributes": {},
}
ZARR_GROUP = {
    "zarr_format": 3,
    "node_type": "group",
    "attributes": {"ome": {"version": "0.5", "multiscales": [_ms("0.5", YX)]}},
}
ZATTRS = {"multiscales": [_ms("0.4", YX)]}


@st.composite
def zarr_folders(draw):
    """An OME-Zarr (v2 or v3) whose attributes or array metadata are mutated."""
    if draw(st.booleans()):
        attrs = draw(st.one_of(mutated([ZATTRS, *NGFF_SEEDS[:2]]), _raw_bytes([ZATTRS])))
        zarray = draw(st.one_of(st.just(ZARRAY), mutated([ZARRAY])))
        return {
            ".zgroup": {"zarr_format": 2},
            ".zattrs": attrs,
            "0/.zarray": zarray,
            "1/.zarray": {**ZARRAY, "shape": [32, 24]},
        }
    group = draw(st.one_of(mutated([ZARR_GROUP]), _raw_bytes([ZARR_GROUP])))
    array = draw(st.one_of(st.just(ZARR_JSON), mutated([ZARR_JSON])))
    return {
        "zarr.json": group,
        "0/zarr.json": array,
        "1/zarr.json": {**ZARR_JSON, "shape": [32, 24]},
    }


test_zarr_folder_fuzzed, test_zarr_folder_fuzzed_long = fuzz_pair(zarr_folders(), _open_folder)


def _precomputed_folder(info):
    return {"info": info, "s0/.keep": b"", "s1/.keep": b""}


test_precomputed_folder_fuzzed, test_precomputed_folder_fuzzed_long = fuzz_pair(
    st.one_of(mutated(PRECOMPUTED_SEEDS), _raw_bytes(PRECOMPUTED_SEEDS)).map(_precomputed_folder),
    _open_folder,
)


def _tables_folder(attrs):
    return {
        ".zgroup": {"zarr_format": 2},
        "tables/.zgroup": {"zarr_format": 2},
        "tables/.zattrs": attrs,
    }


def check_tables(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(json.dumps(content))
        try:
            names = table_names(Location.parse(str(root)))
        except SourceError:
            return
        assert all(isinstance(n, str) for n in names)


test_roi_tables_fuzzed, test_roi_tables_fuzzed_long = fuzz_pair(
    st.one_of(
        mutated([{"tables": ["FOV_ROI_table", "well"]}]), JSON.filter(lambda v: isinstance(v, dict))
    ).map(_tables_folder),
    check_tables,
)

MANDELBROT_URIS = st.one_of(
    st.text(max_size=40).map(lambda t: "mandelbrot://" + t),
    st.lists(
        st.tuples(
            st.sampled_from(["levels", "tile", "max_iter", "x", ""]),
            st.one_of(st.integers(-5, 10**13).map(str), st.text(max_size=6)),
        ),
        max_size=4,
    ).map(lambda kv: "mandelbrot://" + ",".join(f"{k}={v}" for k, v in kv)),
)


def check_mandelbrot(uri):
    try:
        options = parse_mandelbrot_uri(uri)
    except SourceError:
        return
    source = MandelbrotSource(**options)
    assert source.levels[0].shape[0] <= 2**31
    assert np.dtype(source.levels[0].dtype) == np.uint8


test_mandelbrot_uri_fuzzed, test_mandelbrot_uri_fuzzed_long = fuzz_pair(
    MANDELBROT_URIS, check_mandelbrot
)

MANDELBULB_URIS = st.one_of(
    st.text(max_size=40).map(lambda t: "mandelbulb://" + t),
    st.lists(
        st.tuples(
            st.sampled_from(["levels", "chunk", "max_iter", "tile", ""]),
            st.one_of(st.integers(-5, 10**13).map(str), st.text(max_size=6)),
        ),
        max_size=4,
    ).map(lambda kv: "mandelbulb://" + ",".join(f"{k}={v}" for k, v in kv)),
)


def check_mandelbulb(uri):
    try:
        options = parse_mandelbulb_uri(uri)
    except SourceError:
        return
    source = MandelbulbSource(**options)
    assert source.levels[0].shape[0] <= 2**20
    assert source.levels[0].chunks[0] ** 3 <= 2**24


test_mandelbulb_uri_fuzzed, test_mandelbulb_uri_fuzzed_long = fuzz_pair(
    MANDELBULB_URIS, check_mandelbulb
)
