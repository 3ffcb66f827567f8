"""The ``MultiscaleSource`` protocol every backend implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from napari_progressive.core.geometry import Level


@runtime_checkable
class MultiscaleSource(Protocol):
    """A pyramid of levels, fine to coarse, read one chunk at a time.

    ``read_chunk`` is called from worker threads, never from the main thread;
    it returns the whole chunk (edge chunks clipped to the level's shape) and
    raises ``ChunkReadError`` when the chunk cannot be read or decoded.
    ``name`` identifies the source in messages and cache keys.

    A source may also have an ``identity``: a string that names its data
    stably across processes and restarts (a store URL, a generator and its
    parameters), or None. Only sources with an identity use the persistent
    disk tier (``source_identity``).

    A source whose chunks are computed rather than read (a generator) may set
    ``compute_bound = True``: layers then keep no more of its chunks in flight
    than there are cores, since more would only dilute the priority order.
    Reads from storage mostly wait, so they get many threads.
    """

    @property
    def name(self) -> str:
        """Short human-readable identity."""
        ...

    @property
    def levels(self) -> Sequence[Level]:
        """Levels from finest (0) to coarsest."""
        ...

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Return chunk ``index`` of ``level`` as a numpy array."""
        ...


def source_identity(source: MultiscaleSource) -> str | None:
    """The source's stable identity, or None when it has none (in-memory data)."""
    identity = getattr(source, "identity", None)
    return identity if isinstance(identity, str) and identity else None


def is_compute_bound(source: MultiscaleSource) -> bool:
    """Whether the source computes its chunks on the CPU (see ``MultiscaleSource``)."""
    return getattr(source, "compute_bound", False) is True
