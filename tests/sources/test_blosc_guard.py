"""A blosc chunk that states more than a chunk can hold is refused before tensorstore decodes it."""

import struct

import numpy as np
import pytest
import tensorstore as ts

from napari_progressive.core.errors import ChunkReadError
from napari_progressive.sources.blosc_guard import ChunkKeys
from napari_progressive.sources.tensorstore_source import TensorStoreSource

BLOSC = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}


def _array(path, driver):
    if driver == "zarr":
        metadata = {"shape": [64, 64], "chunks": [32, 32], "dtype": "<u2", "compressor": BLOSC}
        bomb_key = "1.1"
    else:
        metadata = {
            "shape": [64, 64],
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [32, 32]}},
            "data_type": "uint16",
            "codecs": [{"name": "bytes"}, {"name": "blosc", "configuration": {"cname": "lz4"}}],
        }
        bomb_key = "c/1/1"
    spec = {"driver": driver, "kvstore": f"file://{path}/", "metadata": metadata}
    store = ts.open(spec, create=True, delete_existing=True).result()
    store[...] = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    return ts.open({"driver": driver, "kvstore": f"file://{path}/"}).result(), bomb_key


@pytest.mark.parametrize("driver", ["zarr", "zarr3"])
def test_a_chunk_stating_too_many_bytes_fails_alone(tmp_path, driver):
    store, key = _array(tmp_path / "a.zarr", driver)
    chunk_file = tmp_path / "a.zarr" / key
    frame = bytearray(chunk_file.read_bytes())
    struct.pack_into("<I", frame, 4, 256 * 2**20)  # states 256 MiB for a 2 KiB chunk
    chunk_file.write_bytes(bytes(frame))
    source = TensorStoreSource([store], name="bomb", chunks=[(32, 32)])
    with pytest.raises(ChunkReadError, match="blosc header states 268435456"):
        source.read_chunk(0, (1, 1))
    np.testing.assert_array_equal(source.read_chunk(0, (0, 0))[0], np.arange(32))


def test_chunk_names_follow_the_arrays_encoding():
    assert ChunkKeys.of({"dimension_separator": "/"}, "zarr").key((1, 2)) == "1/2"
    assert ChunkKeys.of({}, "zarr").key((1, 2)) == "1.2"
    assert ChunkKeys.of({}, "zarr3").key((1, 2)) == "c/1/2"
    v2 = {"chunk_key_encoding": {"name": "v2", "configuration": {"separator": "."}}}
    assert ChunkKeys.of(v2, "zarr3").key((1, 2)) == "1.2"
