"""The header of an fpzip stream, read without the fpzip decoder.

fpzip range-codes its header (magic ``"fpz" NUL``, version, type, precision and
the array's ``nx, ny, nz, nf``) with uniform bits, so it is read here with
the same 32-bit range decoder as fpzip's ``RCdecoder``: a stream can then be
refused for the array it states before the decoder allocates that array.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari_progressive.core.errors import DecodeError

_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class FpzipHeader:
    """What an fpzip stream says it holds."""

    type: int  # 0 float32, 1 float64
    precision: int
    shape: tuple[int, int, int, int]  # nx, ny, nz, nf (x fastest)

    @property
    def itemsize(self) -> int:
        """Bytes per decoded value."""
        return 8 if self.type else 4


class _RangeDecoder:
    """fpzip's ``RCdecoder``, uniform symbols only (``decode_shift``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._low, self._range, self._code = 0, _MASK, 0
        self._get(4)

    def _get(self, n: int) -> None:
        for _ in range(n):
            if self._pos >= len(self._data):
                raise DecodeError("fpzip stream ends inside its header")
            self._code = ((self._code << 8) | self._data[self._pos]) & _MASK
            self._low = (self._low << 8) & _MASK
            self._pos += 1

    def _shift(self, n: int) -> int:
        self._range >>= n
        if self._range == 0:
            raise DecodeError("fpzip header is corrupt")
        s = ((self._code - self._low) & _MASK) // self._range
        self._low = (self._low + self._range * s) & _MASK
        while not ((self._low ^ ((self._low + self._range) & _MASK)) >> 24):
            self._get(1)
            self._range = (self._range << 8) & _MASK
        if not self._range >> 16:
            self._get(2)
            self._range = -self._low & _MASK
        return s

    def bits(self, n: int) -> int:
        """A number of ``n`` <= 32 bits (``RCdecoder::decode<uint>(n)``)."""
        if n > 16:
            low = self._shift(16)
            value = (self._shift(n - 16) << 16) + low
        else:
            value = self._shift(n)
        if value >> n:  # only corrupt data decodes past its width
            raise DecodeError("fpzip header is corrupt")
        return value


def read_fpzip_header(data: bytes) -> FpzipHeader:
    """The header of an fpzip stream (``DecodeError`` when it is not one)."""
    rd = _RangeDecoder(data)
    if tuple(rd.bits(8) for _ in range(4)) != tuple(b"fpz\0"):
        raise DecodeError("not an fpzip stream (bad magic)")
    rd.bits(16), rd.bits(8)  # format version: the decoder checks it
    kind, precision = rd.bits(1), rd.bits(7)
    nx, ny, nz, nf = (rd.bits(32) for _ in range(4))
    return FpzipHeader(kind, precision, (nx, ny, nz, nf))
