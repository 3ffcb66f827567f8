"""Precomputed codecs: round trips, header checks before decoding, fuzzing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from napari_progressive.core.errors import DecodeError
from napari_progressive.sources.precomputed_codecs import (
    CODEC_ENCODINGS,
    decode_chunk,
    decode_isolated,
    run_isolated,
)
from tests import datasets as ds

FULL = (16, 16, 8, 1)
ROOT = Path(__file__).resolve().parents[2]


def _chunk(encoding, shape=FULL):
    if encoding in ("fpzip", "kempressed"):
        return ds.smooth_image(shape, np.float32)
    return ds.segmentation(shape[:3], dtype=np.uint32)[..., None]


@pytest.mark.parametrize("encoding", CODEC_ENCODINGS)
def test_round_trip_full_and_clipped_edge_chunks(encoding):
    for shape in (FULL, (16, 5, 3, 1)):
        chunk = _chunk(encoding, shape)
        out = decode_chunk(encoding, ds.encode_chunk(encoding, chunk), FULL, shape, chunk.dtype)
        np.testing.assert_allclose(out, chunk, atol=1e-6)


@pytest.mark.parametrize("encoding", CODEC_ENCODINGS)
def test_chunk_of_the_wrong_shape_is_refused(encoding):
    chunk = _chunk(encoding, (8, 8, 8, 1))
    with pytest.raises(DecodeError, match="shape"):
        decode_chunk(encoding, ds.encode_chunk(encoding, chunk), FULL, FULL, chunk.dtype)


@pytest.mark.parametrize("encoding", ["compresso", "crackle"])
def test_label_header_checked_before_decoding(encoding):
    data = ds.encode_chunk(encoding, _chunk(encoding))
    with pytest.raises(DecodeError, match="data width"):
        decode_chunk(encoding, data, FULL, FULL, np.dtype(np.uint16))
    with pytest.raises(DecodeError, match="magic"):
        decode_chunk(encoding, b"XXXX" + data[4:], FULL, FULL, np.dtype(np.uint32))


@pytest.mark.parametrize("encoding", ["fpzip", "kempressed"])
def test_fpzip_stream_checks(encoding):
    data = ds.encode_chunk(encoding, _chunk(encoding))
    with pytest.raises(DecodeError, match="magic"):
        decode_chunk(encoding, b"\0" * len(data), FULL, FULL, np.dtype(np.float32))
    with pytest.raises(DecodeError, match="too large"):
        decode_chunk(encoding, data + b"\0" * 10**6, FULL, FULL, np.dtype(np.float32))
    with pytest.raises(DecodeError, match="float32/float64"):
        decode_chunk(encoding, data, FULL, FULL, np.dtype(np.uint8))


def test_empty_and_unknown():
    with pytest.raises(DecodeError, match="empty"):
        decode_chunk("crackle", b"", FULL, FULL, np.dtype(np.uint32))
    with pytest.raises(DecodeError, match="unknown encoding"):
        decode_chunk("zfp", b"x", FULL, FULL, np.dtype(np.uint32))


@pytest.mark.smoke
@pytest.mark.parametrize("encoding", CODEC_ENCODINGS)
def test_fuzzed_chunks_never_crash(encoding):
    """Mutated chunks through ``decode_isolated``: decoded right or refused, never a crash.

    (With ``--direct`` every one of these decoders segfaults on some inputs.)
    """
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.sources.fuzz_codecs", encoding, "150", "7"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"fuzzing {encoding} stalled; last mutations:\n{stderr[-1000:]}")
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert "none crashed" in proc.stdout


def test_isolated_worker_crash_and_hang_become_decode_errors():
    """A worker that dies or hangs costs that call only; the next call gets a fresh pool."""
    with pytest.raises(DecodeError, match="crashed"):
        run_isolated("test decoder", os.abort)
    with pytest.raises(DecodeError, match="took over 1 s"):
        run_isolated("test decoder", time.sleep, 600, timeout=1.0)
    data = ds.encode_chunk("crackle", _chunk("crackle"))
    out = decode_isolated("crackle", data, FULL, FULL, np.dtype(np.uint32))
    np.testing.assert_array_equal(out, _chunk("crackle"))
