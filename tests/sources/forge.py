"""Chunk streams whose headers state other arrays than the chunk: decompression bombs.

``fpzip_stream`` range-codes an fpzip header (fpzip's ``RCencoder``, uniform
bits) for any ``nx, ny, nz, nf`` and appends a body; ``restate_dims`` rewrites
the dimensions in a compresso or crackle header in place.
"""

from __future__ import annotations

import struct

import numpy as np

_MASK = 0xFFFFFFFF


class _RangeEncoder:
    def __init__(self) -> None:
        self.out = bytearray()
        self.low, self.range = 0, _MASK

    def _put(self, n: int) -> None:
        for _ in range(n):
            self.out.append(self.low >> 24)
            self.low = (self.low << 8) & _MASK

    def _shift(self, s: int, n: int) -> None:
        self.range >>= n
        self.low = (self.low + self.range * s) & _MASK
        while not ((self.low ^ ((self.low + self.range) & _MASK)) >> 24):
            self._put(1)
            self.range = (self.range << 8) & _MASK
        if not self.range >> 16:
            self._put(2)
            self.range = -self.low & _MASK

    def bits(self, s: int, n: int) -> None:
        if n > 16:
            self._shift(s & 0xFFFF, 16)
            s, n = s >> 16, n - 16
        self._shift(s, n)

    def finish(self) -> bytes:
        self._put(4)
        return bytes(self.out)


def fpzip_version() -> tuple[int, int]:
    """The format version the installed fpzip writes (read back from a real stream)."""
    import fpzip

    from napari_progressive.sources.fpzip_header import _RangeDecoder

    rd = _RangeDecoder(fpzip.compress(np.zeros((1, 1, 1, 1), np.float32)))
    for _ in range(4):
        rd.bits(8)
    return rd.bits(16), rd.bits(8)


def fpzip_stream(shape: tuple[int, int, int, int], kind: int = 0, body: bytes = b"") -> bytes:
    """An fpzip stream whose header states ``shape`` (nx, ny, nz, nf) and type ``kind``."""
    enc = _RangeEncoder()
    for c in b"fpz\0":
        enc.bits(c, 8)
    major, minor = fpzip_version()
    enc.bits(major, 16)
    enc.bits(minor, 8)
    enc.bits(kind, 1)
    enc.bits(0, 7)
    for n in shape:
        enc.bits(n, 32)
    return enc.finish() + body


def restate_dims(encoding: str, data: bytes, dims: tuple[int, int, int]) -> bytes:
    """A compresso (u16 dims at byte 6) or crackle (u32 dims at byte 7) stream stating ``dims``.

    Crackle guards its header with a CRC8; it is recomputed so that only
    the stated size is wrong.
    """
    buf = bytearray(data)
    if encoding == "compresso":
        struct.pack_into("<HHH", buf, 6, *dims)
        return bytes(buf)
    import crackle
    from crackle.headers import crc8

    struct.pack_into("<III", buf, 7, *dims)
    size = crackle.header(bytes(data)).header_bytes
    buf[size - 1] = crc8(buf[5 : size - 1])
    return bytes(buf)
