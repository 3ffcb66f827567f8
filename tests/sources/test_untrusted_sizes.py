"""Sizes and values from untrusted files: bounded, refused while opening, typed errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from napari_progressive import open_source
from napari_progressive.core.errors import DecodeError, MetadataError, SourceError
from napari_progressive.sources.mandelbrot import parse_mandelbrot_uri
from napari_progressive.sources.open import open_layers
from napari_progressive.sources.precomputed import parse_info
from napari_progressive.sources.precomputed_codecs import decode_chunk
from tests import datasets as ds
from tests.sources.forge import fpzip_stream, restate_dims


def _info(encoding="fpzip", data_type="float32", **scale):
    base = {
        "key": "s0",
        "size": [64, 64, 64],
        "chunk_sizes": [[64, 64, 64]],
        "resolution": [4, 4, 40],
        "encoding": encoding,
    }
    return {
        "type": "image",
        "data_type": data_type,
        "num_channels": scale.pop("num_channels", 1),
        "scales": [{**base, **scale}],
    }


def _write_info(path, info):
    path.mkdir(parents=True, exist_ok=True)
    (path / "info").write_text(json.dumps(info))
    return path


@pytest.mark.parametrize(
    ("scale", "field"),
    [
        ({"size": [2**40, 1, 1], "chunk_sizes": [[2**40, 1, 1]]}, "scales.0.chunk_sizes.0"),
        (
            {"size": [4, 4, 4], "chunk_sizes": [[4, 4, 4]], "num_channels": 10**9},
            "scales.0.chunk_sizes.0",
        ),
        ({"size": [2**40, 2**40, 2**40]}, "scales.0.size"),
        ({"size": [10, float("inf"), 10]}, "scales.0.size"),
        ({"voxel_offset": [2**63, 0, 0]}, "scales.0.voxel_offset"),
        ({"voxel_offset": [2**62 - 10, 0, 0]}, "scales.0.voxel_offset"),
        ({"resolution": [4, float("nan"), 40]}, "scales.0.resolution"),
        ({"resolution": [4, 1e308, 40], "voxel_offset": [0, 2**60, 0]}, "scales.0.voxel_offset"),
        ({"size": [True, 4, 4]}, "scales.0.size"),
    ],
)
@pytest.mark.parametrize("encoding", ["fpzip", "crackle", "raw"])
def test_precomputed_sizes_are_bounded_in_the_info(scale, field, encoding):
    info = _info(encoding, "uint32" if encoding == "crackle" else "float32", **scale)
    with pytest.raises(MetadataError, match=f"vol/info: {field}"):
        parse_info(info, "vol/info")


def test_precomputed_huge_chunk_is_refused_before_any_read(tmp_path):
    """On the first read this info used to abort the process (std::bad_alloc)."""
    path = _write_info(tmp_path / "v", _info(size=[2**40, 1, 1], chunk_sizes=[[2**40, 1, 1]]))
    with pytest.raises(MetadataError, match="over the 256 MiB"):
        open_source(f"precomputed://file://{path}")


@pytest.mark.parametrize("key", ["../other", "a/../../other", "/abs/s0", "..", "a\\..\\b", "", "/"])
@pytest.mark.parametrize("encoding", ["raw", "jpeg", "png", "compressed_segmentation", "fpzip"])
def test_precomputed_key_cannot_leave_the_dataset(key, encoding):
    with pytest.raises(MetadataError, match=r"vol/info: scales\.0\.key"):
        parse_info(_info(encoding, "uint8", key=key), "vol/info")


def test_precomputed_raw_scale_does_not_read_a_sibling_folder(tmp_path):
    data = ds.smooth_image((16, 16, 4, 1), np.uint8)
    ds.write_precomputed(tmp_path / "other", [data], "raw", sharded=False, chunk=(8, 8, 4))
    info = json.loads((tmp_path / "other" / "info").read_text())
    info["scales"][0]["key"] = "../other/" + info["scales"][0]["key"]
    path = _write_info(tmp_path / "mine", info)
    with pytest.raises(MetadataError, match="leaves the dataset"):
        open_source(str(path))


def _zarr_array(path, **meta):
    path.mkdir(parents=True)
    zarray = {
        "zarr_format": 2,
        "shape": [16, 16],
        "chunks": [8, 8],
        "dtype": "|u1",
        "compressor": None,
        "fill_value": 0,
        "order": "C",
        "filters": None,
        **meta,
    }
    (path / ".zarray").write_text(json.dumps(zarray))
    return path


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"shape": [0, 16]}, "shape"),
        ({"shape": [2**40, 2**40]}, "shape"),
        ({"shape": [2**20, 2**20], "chunks": [2**20, 2**20]}, "chunks"),
    ],
)
def test_zarr_array_sizes_are_bounded(tmp_path, meta, field):
    path = _zarr_array(tmp_path / "a.zarr", **meta)
    with pytest.raises(MetadataError, match=rf"a\.zarr/\.zarray: {field}"):
        open_source(str(path))


def test_json_nested_too_deeply(tmp_path):
    from napari_progressive.integration.plugin import get_reader

    (tmp_path / "deep.zarr").mkdir()
    (tmp_path / "deep.zarr" / "zarr.json").write_text("[" * 100_000)
    with pytest.raises(MetadataError, match=r"zarr\.json: JSON nested too deeply"):
        open_source(str(tmp_path / "deep.zarr"))
    assert get_reader(str(tmp_path / "deep.zarr")) is not None  # reported, not raised
    (tmp_path / "vol").mkdir()
    (tmp_path / "vol" / "info").write_text('{"a": ' * 100_000)
    with pytest.raises(MetadataError, match="info: JSON nested too deeply"):
        open_source(str(tmp_path / "vol"))


def test_json_number_too_long(tmp_path):
    (tmp_path / "vol").mkdir()
    (tmp_path / "vol" / "info").write_text('{"num_channels": ' + "9" * 5000 + "}")
    with pytest.raises(MetadataError, match="not valid JSON"):
        open_source(str(tmp_path / "vol"))


def test_zarr_json_attributes_must_be_an_object(tmp_path):
    (tmp_path / "g.zarr").mkdir()
    doc = {"zarr_format": 3, "node_type": "group", "attributes": ["ome"]}
    (tmp_path / "g.zarr" / "zarr.json").write_text(json.dumps(doc))
    with pytest.raises(MetadataError, match=r"zarr\.json: attributes"):
        open_source(str(tmp_path / "g.zarr"))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.zarr"
    ds.write_omezarr(path, ds.smooth_image((64, 48)), "0.4", "yx", (32, 32))
    return path


def _edit_transform(path, level, kind, values):
    attrs = json.loads((path / ".zattrs").read_text())
    for t in attrs["multiscales"][0]["datasets"][level]["coordinateTransformations"]:
        if t["type"] == kind:
            t[kind] = values
            break
    else:
        attrs["multiscales"][0]["datasets"][level]["coordinateTransformations"].append(
            {"type": kind, kind: values}
        )
    (path / ".zattrs").write_text(json.dumps(attrs))


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("translation", [float("nan"), 0.0]),
        ("translation", [0.0, float("inf")]),
        ("scale", [float("nan"), 1.0]),
        ("scale", [1e308, 1e308]),
    ],
)
def test_ome_transform_must_be_finite(image, kind, values):
    _edit_transform(image, 1, kind, values)
    with pytest.raises(MetadataError, match=r"\.zattrs: multiscales\.0"):
        open_layers(str(image))


def test_omero_window_must_be_finite(tmp_path):
    path = tmp_path / "c.zarr"
    ds.write_omezarr(path, ds.smooth_image((2, 32, 32)), "0.4", "cyx", (1, 32, 32))
    attrs = json.loads((path / ".zattrs").read_text())
    attrs["omero"]["channels"][1]["window"]["end"] = float("inf")
    (path / ".zattrs").write_text(json.dumps(attrs))
    with pytest.raises(MetadataError, match=r"omero\.channels\.1\.window"):
        open_layers(str(path))


def test_many_channels_open_as_one_layer(tmp_path):
    """A 424-byte OME-Zarr with 20,000 channels used to make 20,000 layers."""
    path = tmp_path / "many.zarr"
    ds.write_omezarr(path, np.zeros((65, 32, 32), np.uint8), "0.4", "cyx", (65, 32, 32))
    with pytest.warns(UserWarning, match="65 channels are more than 64 layers"):
        specs = open_layers(str(path))
    assert len(specs) == 1
    assert specs[0].source.levels[0].shape[0] == 65
    path = tmp_path / "64.zarr"
    ds.write_omezarr(path, np.zeros((64, 32, 32), np.uint8), "0.4", "cyx", (64, 32, 32))
    assert len(open_layers(str(path))) == 64


@pytest.mark.parametrize(
    "uri",
    [
        "mandelbrot://levels=0",
        "mandelbrot://tile=0",
        "mandelbrot://levels=64",
        "mandelbrot://levels=30,tile=512",
        "mandelbrot://tile=100000",
        "mandelbrot://max_iter=" + "9" * 5000,
        "mandelbrot://levels=\u00b2",
    ],
)
def test_mandelbrot_uri_out_of_range(uri):
    with pytest.raises(SourceError, match="mandelbrot"):
        open_source(uri)


def test_mandelbrot_uri_in_range():
    assert parse_mandelbrot_uri("mandelbrot://levels=22,tile=512,max_iter=100000") == {
        "levels": 22,
        "tile": 512,
        "max_iter": 100_000,
    }


def test_tensorstore_spec_string_that_is_not_json():
    with pytest.raises(SourceError, match="not a tensorstore JSON spec"):
        open_source('{"driver": ')
    with pytest.raises(SourceError, match="not a tensorstore JSON spec"):
        open_source("{" + '"a": [' * 100_000)


def test_cli_info_reports_instead_of_a_traceback(tmp_path, capsys):
    from napari_progressive.cli import main

    path = _zarr_array(tmp_path / "empty.zarr", shape=[0, 4])
    assert main(["info", str(path)]) == 1  # cannot open (2 is for usage errors)
    assert "shape" in capsys.readouterr().err


FULL = (64, 64, 64, 1)
F32 = np.dtype(np.float32)


@pytest.fixture
def no_decoder(monkeypatch):
    """Fail the test if a decoder runs: the header alone must refuse the stream."""
    import compresso
    import crackle
    import fpzip

    def called(*_a, **_k):
        raise AssertionError("the decoder ran on a stream its header should have refused")

    for module in (fpzip, compresso, crackle):
        monkeypatch.setattr(module, "decompress", called)


@pytest.mark.parametrize(
    "stated", [(640, 640, 640, 1), (64, 64, 64, 2), (2**32 - 1, 2**32 - 1, 1, 1), (64, 64, 1, 64)]
)
@pytest.mark.parametrize("encoding", ["fpzip", "kempressed"])
def test_fpzip_header_states_the_chunk_before_decoding(no_decoder, encoding, stated):
    """A 73 KB stream stating 640^3 used to be decompressed (1.1 GB) before its shape was seen."""
    if encoding == "kempressed":
        stated = (stated[0], stated[1], stated[3], stated[2])
    data = fpzip_stream(stated, body=bytes(64))
    with pytest.raises(DecodeError, match="says shape"):
        decode_chunk(encoding, data, FULL, FULL, np.dtype(np.float32))


def test_fpzip_header_states_the_type_before_decoding(no_decoder):
    data = fpzip_stream(FULL, kind=1, body=bytes(64))
    with pytest.raises(DecodeError, match="float64"):
        decode_chunk("fpzip", data, FULL, FULL, np.dtype(np.float32))


@pytest.mark.parametrize("encoding", ["compresso", "crackle"])
def test_label_header_dims_checked_before_decoding(no_decoder, encoding):
    chunk = ds.segmentation((16, 16, 8), dtype=np.uint32)[..., None]
    data = restate_dims(encoding, ds.encode_chunk(encoding, chunk), (4096, 4096, 4096))
    with pytest.raises(DecodeError, match="says shape"):
        decode_chunk(encoding, data, (16, 16, 8, 1), (16, 16, 8, 1), np.dtype(np.uint32))


def test_decoder_refuses_a_chunk_over_the_size_limit(no_decoder):
    side = math.ceil((256 * 2**20 / 4) ** (1 / 3)) + 1
    full = (side, side, side, 1)
    with pytest.raises(DecodeError, match="size limit"):
        decode_chunk("fpzip", fpzip_stream(full), full, full, np.dtype(np.float32))


def test_label_image_with_empty_multiscales():
    """Found by fuzzing: an IndexError escaped."""
    from napari_progressive.sources.ngff import parse_ngff

    attrs = {"multiscales": [], "image-label": {"version": "0.4"}}
    with pytest.raises(MetadataError, match="multiscales"):
        parse_ngff(attrs, "img.zarr/.zattrs")


def test_scale_of_wrong_length_in_a_coarser_level(image):
    """Found by fuzzing: ome-zarr-models' own validator raised IndexError."""
    _edit_transform(image, 1, "scale", [2.0])
    with pytest.raises(MetadataError, match=r"\.zattrs"):
        open_source(str(image))


def test_corrupt_fpzip_header_is_a_decode_error():
    """Found by fuzzing: a header decoding past its bit widths raised ValueError."""
    data = ds.encode_chunk("fpzip", ds.smooth_image((16, 16, 8, 1), np.float32))
    with pytest.raises(DecodeError, match="header is corrupt"):
        decode_chunk("fpzip", data[:1] + b"\0" + data[2:], (16, 16, 8, 1), (16, 16, 8, 1), F32)
