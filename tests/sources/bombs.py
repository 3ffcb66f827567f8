"""Decompression bombs through ``decode_chunk``, in a process with a hard memory limit.

Run as ``python -m tests.sources.bombs LIMIT_MIB``: the address space is
capped at what the process uses after its imports plus ``LIMIT_MIB``, then
every bomb (streams whose headers state up to 2^32-1 elements a side, a real
fpzip stream of 256^3 zeros, all for a 64^3 chunk) is decoded directly, not
isolated. Each must raise ``DecodeError``; a decoder that allocated what
the header states would hit the limit (MemoryError or an abort). Prints one
JSON line: the bombs, their outcome and the peak RSS growth.
"""

from __future__ import annotations

import json
import resource
import sys

import numpy as np

from napari_progressive.core.errors import DecodeError
from napari_progressive.sources.precomputed_codecs import decode_chunk
from tests import datasets as ds
from tests.sources.forge import fpzip_stream, restate_dims

FULL = (64, 64, 64, 1)
HUGE = 2**32 - 1


def bombs() -> list[tuple[str, str, bytes, np.dtype]]:
    """``(name, encoding, stream, dtype)`` for every bomb."""
    import fpzip

    f32, u32 = np.dtype(np.float32), np.dtype(np.uint32)
    zeros = fpzip.compress(np.zeros((256, 256, 256, 1), np.float32, order="F"), order="F")
    labels = ds.segmentation(FULL[:3], dtype=np.uint32)
    out = [
        ("fpzip 256^3 zeros", "fpzip", zeros, f32),
        ("fpzip 640^3 header", "fpzip", fpzip_stream((640, 640, 640, 1), body=bytes(70_000)), f32),
        ("fpzip 2^32-1 x 2^32-1", "fpzip", fpzip_stream((HUGE, HUGE, 1, 1), body=bytes(64)), f32),
        ("fpzip 64^3 x 2^32-1 channels", "fpzip", fpzip_stream((64, 64, 64, HUGE)), f32),
        ("kempressed 2^32-1 z", "kempressed", fpzip_stream((64, 64, 1, HUGE)), f32),
    ]
    for encoding, side in (("compresso", 65535), ("crackle", HUGE)):
        data = ds.encode_chunk(encoding, labels[..., None])
        out.append(
            (f"{encoding} {side}^3", encoding, restate_dims(encoding, data, (side,) * 3), u32)
        )
        out.append(
            (
                f"{encoding} 64x64x{side}",
                encoding,
                restate_dims(encoding, data, (64, 64, side)),
                u32,
            )
        )
    return out


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")  # pragma: no cover - Linux only


def main(limit_mib: int) -> int:
    cases = bombs()
    import compresso
    import crackle

    del compresso, crackle  # imported before the limit is set
    limit = _vm_bytes() + limit_mib * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = {}
    for name, encoding, data, dtype in cases:
        try:
            decode_chunk(encoding, data, FULL, FULL, dtype)
            results[name] = "decoded"
        except DecodeError as e:
            results[name] = f"DecodeError: {e}"
        except MemoryError:
            results[name] = "MemoryError"
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"limit_mib": limit_mib, "rss_growth_mib": growth, "results": results}))
    return 0 if all(r.startswith("DecodeError") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
