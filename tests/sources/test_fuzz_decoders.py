"""Fuzzing every decoder path of ``precomputed_codecs``: typed errors, bounded memory.

* Streams whose headers state any other array than the chunk are refused
  with ``DecodeError`` before a decoder runs (decoders are replaced by a
  tripwire here), so the memory a decode takes is bounded by the chunk.
* Mutated real chunks through ``decode_isolated``: a correct array or a
  ``DecodeError``, never another exception or a crash of this process.
* Bombs decoded directly in a child process whose address space is capped
  (``tests/sources/bombs.py``): all refused within the cap.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from napari_progressive.core.errors import DecodeError
from napari_progressive.sources.precomputed_codecs import (
    CODEC_ENCODINGS,
    decode_chunk,
    decode_isolated,
)
from tests import datasets as ds
from tests.sources.forge import fpzip_stream, restate_dims
from tests.sources.fuzzing import fuzz_pair

ROOT = Path(__file__).resolve().parents[2]
FULL = (16, 16, 8, 1)
CLIPPED = (16, 5, 8, 1)
F32, U32 = np.dtype(np.float32), np.dtype(np.uint32)
SIDES = st.one_of(st.integers(0, 70), st.sampled_from([2**16 - 1, 2**31, 2**32 - 1]))


def _chunk(encoding: str) -> np.ndarray:
    if encoding in ("fpzip", "kempressed"):
        return ds.smooth_image(FULL, np.float32)
    return ds.segmentation(FULL[:3], dtype=np.uint32)[..., None]


def _tripwire(*_args, **_kwargs):
    raise AssertionError("a decoder ran on a stream whose header states another array")


def _no_decoders() -> ExitStack:
    import compresso
    import crackle
    import fpzip

    stack = ExitStack()
    for module in (fpzip, compresso, crackle):
        stack.enter_context(mock.patch.object(module, "decompress", _tripwire))
    return stack


@st.composite
def misstated_streams(draw):
    """``(encoding, stream, dtype)``: a header stating an array other than FULL/CLIPPED."""
    encoding = draw(st.sampled_from(CODEC_ENCODINGS))
    if encoding in ("fpzip", "kempressed"):
        shape = tuple(draw(SIDES) for _ in range(4))
        stored = (FULL, CLIPPED)
        if encoding == "kempressed":
            stored = tuple((s[0], s[1], s[3], s[2]) for s in stored)
        assume(shape not in stored)
        body = draw(st.binary(max_size=64))
        return encoding, fpzip_stream(shape, draw(st.integers(0, 1)), body), F32
    high = 2**16 - 1 if encoding == "compresso" else 2**32 - 1
    dims = tuple(min(draw(SIDES), high) for _ in range(3))
    assume(dims not in (FULL[:3], CLIPPED[:3]))
    data = ds.encode_chunk(encoding, _chunk(encoding))
    return encoding, restate_dims(encoding, data, dims), U32


def check_misstated(case):
    encoding, data, dtype = case
    with _no_decoders():
        try:
            decode_chunk(encoding, data, FULL, CLIPPED, dtype)
        except DecodeError:
            return
    raise AssertionError(f"{encoding}: a misstated stream was accepted")


test_misstated_headers_refused_before_decoding, test_misstated_headers_long = fuzz_pair(
    misstated_streams(), check_misstated
)

SAMPLES = {e: (ds.encode_chunk(e, _chunk(e)), _chunk(e).dtype) for e in CODEC_ENCODINGS}


@st.composite
def mutated_chunks(draw):
    """A valid chunk with bytes flipped, overwritten, cut or appended (header bytes favoured)."""
    encoding = draw(st.sampled_from(CODEC_ENCODINGS))
    buf = bytearray(SAMPLES[encoding][0])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "header", "cut", "append"]))
        if kind == "cut":
            buf = buf[: draw(st.integers(0, len(buf)))]
        elif kind == "append":
            buf += draw(st.binary(min_size=1, max_size=256))
        elif buf:
            top = len(buf) - 1 if kind == "flip" else min(len(buf) - 1, 48)
            i = draw(st.integers(0, top))
            buf[i] = (
                buf[i] ^ (1 << draw(st.integers(0, 7)))
                if kind == "flip"
                else draw(st.integers(0, 255))
            )
    return encoding, bytes(buf)


def check_mutated(case):
    encoding, data = case
    dtype = SAMPLES[encoding][1]
    try:
        out = decode_isolated(encoding, data, FULL, FULL, dtype)
    except DecodeError:
        return
    assert out.shape == FULL
    assert out.dtype == dtype


test_mutated_chunks_decode_or_refuse, test_mutated_chunks_long = fuzz_pair(
    mutated_chunks(), check_mutated
)


def test_bombs_are_refused_within_a_memory_cap():
    """Every bomb, decoded directly under a 128 MiB address-space cap: a DecodeError."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sources.bombs", "128"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    )
    report = json.loads(proc.stdout.splitlines()[-1])
    assert len(report["results"]) == 9
    assert report["rss_growth_mib"] < 64
