"""Mutation fuzzing of the precomputed codecs, run in a child process.

Run as ``python -m tests.sources.fuzz_codecs ENCODING N SEED [--direct]``: it
mutates valid chunks N times (bit flips, truncation, extension, random
header bytes) and decodes each with ``decode_isolated`` (or, with
``--direct``, ``decode_chunk`` in this process); anything but a correct
array or ``DecodeError`` exits non-zero. With ``--direct`` a decoder crash
kills this process, which shows why sources decode in isolation.
"""

from __future__ import annotations

import sys

import numpy as np

from napari_progressive.core.errors import DecodeError
from napari_progressive.sources.precomputed_codecs import decode_chunk, decode_isolated
from tests import datasets as ds

FULL = (16, 16, 8, 1)


def sample(encoding: str) -> tuple[bytes, np.dtype]:
    if encoding in ("fpzip", "kempressed"):
        chunk = ds.smooth_image(FULL, np.float32)
    else:
        chunk = ds.segmentation(FULL[:3], dtype=np.uint32)[..., None]
    return ds.encode_chunk(encoding, chunk), chunk.dtype


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    kind = rng.integers(5)
    if kind == 0:  # flip bits anywhere
        for _ in range(rng.integers(1, 8)):
            i = rng.integers(len(buf))
            buf[i] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncate
        buf = buf[: rng.integers(0, len(buf))]
    elif kind == 2:  # random bytes in the header
        for i in rng.integers(0, min(len(buf), 48), size=rng.integers(1, 6)):
            buf[i] = int(rng.integers(256))
    elif kind == 3:  # extend with garbage
        buf += bytes(rng.integers(0, 256, size=rng.integers(1, 512), dtype=np.uint8))
    else:  # overwrite a run
        i = int(rng.integers(len(buf)))
        n = int(rng.integers(1, 32))
        buf[i : i + n] = bytes(rng.integers(0, 256, size=n, dtype=np.uint8))[: len(buf) - i]
    return bytes(buf)


def main(encoding: str, n: int, seed: int, direct: bool = False) -> int:
    decode = decode_chunk if direct else decode_isolated
    data, dtype = sample(encoding)
    rng = np.random.default_rng(seed)
    rejected = 0
    for i in range(n):
        bad = mutate(data, rng)
        print(f"mutation {i}: {len(bad)} bytes", file=sys.stderr, flush=True)
        try:
            out = decode(encoding, bad, FULL, FULL, dtype)
        except DecodeError:
            rejected += 1
            continue
        if out.shape != FULL or out.dtype != dtype:
            print(f"wrong result {out.shape} {out.dtype}", file=sys.stderr)
            return 3
    print(f"{encoding}: {n} mutations, {rejected} rejected, none crashed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), "--direct" in sys.argv))
