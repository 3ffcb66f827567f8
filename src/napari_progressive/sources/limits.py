"""Bounds on what untrusted metadata may state, checked before anything is allocated.

Every format's parser checks sizes from its metadata here, so a file that
states a 2^40-element chunk, a shape past int64 or a non-finite transform
is refused while it is opened (a ``MetadataError`` naming the file and the
field), never in a read or a decoder.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.errors import MetadataError
from napari_progressive.core.geometry import MAX_AXIS, MAX_CHUNK_BYTES

if TYPE_CHECKING:
    from collections.abc import Sequence


#: tensorstore's largest finite index (``kMaxFiniteIndex``): origins and ends stay within.
MAX_INDEX = MAX_AXIS
#: The most elements an array read from a file may have (numpy indexes with int64).
MAX_ELEMENTS = 2**63 - 1
#: The most levels a pyramid may list.
MAX_LEVELS = 64
#: The most channels an OME-Zarr image is split into, one layer each.
MAX_SPLIT_CHANNELS = 64


def check_chunk(where: str, field: str, chunk: Sequence[int], dtype: np.dtype) -> None:
    """A chunk of ``chunk`` elements of ``dtype`` must fit in ``MAX_CHUNK_BYTES``."""
    nbytes = math.prod(int(c) for c in chunk) * np.dtype(dtype).itemsize
    if nbytes > MAX_CHUNK_BYTES:
        raise MetadataError(
            where,
            field,
            f"a chunk of {' x '.join(str(c) for c in chunk)} {np.dtype(dtype)} is "
            f"{nbytes:,} bytes, over the {MAX_CHUNK_BYTES >> 20} MiB this reader allows",
        )


def check_shape(where: str, field: str, shape: Sequence[int]) -> None:
    """Every axis at least 1, at most ``MAX_INDEX``, and at most ``MAX_ELEMENTS`` in all."""
    if any(n < 1 for n in shape):
        raise MetadataError(where, field, f"shape {tuple(shape)} has an empty axis")
    if any(n > MAX_INDEX for n in shape) or math.prod(shape) > MAX_ELEMENTS:
        raise MetadataError(where, field, f"shape {tuple(shape)} is larger than int64 indexes")


def finite_numbers(value: Any, where: str, field: str, n: int | None = None) -> tuple[float, ...]:
    """``value`` as a tuple of finite floats (``n`` of them when given)."""
    ok = isinstance(value, (list, tuple)) and (n is None or len(value) == n)
    if ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        try:
            out = tuple(float(v) for v in value)
        except OverflowError:  # an integer beyond float range
            out = (math.inf,)
        if all(math.isfinite(v) for v in out):
            return out
    count = f"{n} " if n is not None else ""
    raise MetadataError(where, field, f"expected {count}finite numbers, got {_short(value)}")


def integers(value: Any, where: str, field: str, n: int) -> tuple[int, ...]:
    """``value`` as ``n`` integers within tensorstore's index range."""
    if (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and all(abs(v) <= MAX_INDEX for v in value)
    ):
        return tuple(value)
    raise MetadataError(
        where, field, f"expected {n} integers of at most 2**62, got {_short(value)}"
    )


def check_levels(where: str, field: str, count: int) -> None:
    """A pyramid lists between one and ``MAX_LEVELS`` levels."""
    if not 1 <= count <= MAX_LEVELS:
        raise MetadataError(where, field, f"lists {count} levels (1 to {MAX_LEVELS} allowed)")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
