"""A wrapper that injects latency, errors and corrupt chunks, reproducibly."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.errors import ChunkReadError
from napari_progressive.core.source import is_compute_bound, source_identity

if TYPE_CHECKING:
    from napari_progressive.core.geometry import Level
    from napari_progressive.core.source import MultiscaleSource


class FaultInjectingSource:
    """Wraps a source; every read may be delayed, fail or come back corrupt.

    ``latency`` seconds are added to every read (emulating remote storage);
    ``error_rate`` and ``corrupt_rate`` are probabilities per read, drawn from
    a generator seeded with ``seed`` and the chunk's key, so the same chunk
    always behaves the same. A corrupt chunk is returned truncated, which the
    loader reports as a failed tile. ``reads`` counts every call (thread-safe),
    for benchmarks.
    """

    def __init__(
        self,
        inner: MultiscaleSource,
        *,
        latency: float = 0.0,
        error_rate: float = 0.0,
        corrupt_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not (0 <= error_rate <= 1 and 0 <= corrupt_rate <= 1 and latency >= 0):
            raise ValueError("rates must be in [0, 1] and latency >= 0")
        self.inner = inner
        self.latency = latency
        self.error_rate = error_rate
        self.corrupt_rate = corrupt_rate
        self.seed = seed
        self._lock = threading.Lock()
        self.reads = 0

    @property
    def name(self) -> str:
        """The wrapped source's name."""
        return self.inner.name

    @property
    def identity(self) -> str | None:
        """The wrapped source's identity (faults are not stored: failed reads are not cached)."""
        return source_identity(self.inner)

    @property
    def compute_bound(self) -> bool:
        """Whether reads are bound by computing: the wrapped source's, unless latency is added.

        Added latency emulates storage: reads then mostly wait, and more of
        them in flight hide it.
        """
        return self.latency == 0 and is_compute_bound(self.inner)

    @property
    def levels(self) -> tuple[Level, ...]:
        """The wrapped source's levels."""
        return tuple(self.inner.levels)

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Read through to the wrapped source, with the configured faults."""
        with self._lock:
            self.reads += 1
        if self.latency:
            time.sleep(self.latency)
        rng = np.random.default_rng([self.seed, level, *index])
        if rng.random() < self.error_rate:
            raise ChunkReadError(self.name, level, index, "injected read error")
        chunk = self.inner.read_chunk(level, index)
        if rng.random() < self.corrupt_rate:
            return chunk.reshape(-1)[: chunk.size // 2]
        return chunk
