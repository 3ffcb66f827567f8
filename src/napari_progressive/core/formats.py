"""Single-channel texture formats: which GPU format holds which dtype."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TextureFormat:
    """How tiles of one dtype live on the GPU.

    ``value_scale`` turns what the shader samples back into data values
    (normalised integer formats sample as ``value / max``).
    """

    dtype: np.dtype
    internalformat: str
    value_scale: float

    @property
    def bytes_per_texel(self) -> int:
        """Bytes per texel."""
        return self.dtype.itemsize


def texture_format(dtype: np.dtype | type | str) -> TextureFormat:
    """uint8 -> r8, uint16 -> r16 (normalised), anything else -> r32f."""
    dt = np.dtype(dtype)
    if dt == np.uint8:
        return TextureFormat(np.dtype(np.uint8), "r8", 255.0)
    if dt == np.uint16:
        return TextureFormat(np.dtype(np.uint16), "r16", 65535.0)
    return TextureFormat(np.dtype(np.float32), "r32f", 1.0)


def to_texture(array: np.ndarray, fmt: TextureFormat) -> np.ndarray:
    """A C-contiguous copy of ``array`` in the texture dtype (worker side)."""
    return np.ascontiguousarray(array, dtype=fmt.dtype)
