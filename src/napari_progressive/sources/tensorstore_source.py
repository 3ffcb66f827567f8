"""A pyramid of tensorstore arrays (zarr v2/v3, n5, Neuroglancer precomputed)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import tensorstore as ts

from napari_progressive.core.errors import ChunkReadError, DecodeError, SourceError
from napari_progressive.core.geometry import Level, implied_transforms, validate_levels
from napari_progressive.sources.blosc_guard import BloscGuard
from napari_progressive.sources.chunk_grid import read_chunks
from napari_progressive.sources.location import METADATA_TIMEOUT
from napari_progressive.sources.read_failure import failure_cause
from napari_progressive.sources.redact import redacted_error, without_secrets_text
from napari_progressive.sources.ts_context import shared_context

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Seconds one chunk read may take before its tile is marked failed.
DEFAULT_READ_TIMEOUT = 60.0


def native_chunks(store: ts.TensorStore) -> tuple[int | None, ...]:
    """The store's read chunk shape (None on axes it does not state)."""
    try:
        shape = store.chunk_layout.read_chunk.shape
    except Exception:
        shape = None
    if shape is None:
        return (None,) * store.rank
    return tuple(int(c) if c else None for c in shape)


def open_store(
    spec: dict[str, Any] | str, where: str, timeout: float = METADATA_TIMEOUT
) -> ts.TensorStore:
    """Open a read-only tensorstore from a spec, with the shared context.

    Opening reads the array's metadata: ``timeout`` bounds it, and a failure
    says why in a line (``sources.read_failure``), ``where`` (redacted) first.
    """
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as e:
            raise SourceError(f"{where}: not a tensorstore JSON spec ({e})") from e
    if not isinstance(spec, dict):
        raise SourceError(f"{where}: a tensorstore spec is a JSON object")
    future = ts.open(spec, read=True, context=shared_context())
    try:
        return future.result(timeout=timeout)
    except Exception as e:
        future.cancel()
        cause = failure_cause(e, timeout)
        raise SourceError(f"{where}: cannot open: {cause}") from redacted_error(e)


def stores_identity(stores: Sequence[ts.TensorStore]) -> str | None:
    """A stable identity of stores read from persistent storage, else None.

    In-memory (``array``) and callback-backed (``virtual_chunked``) stores
    have none: their data does not outlive the process.
    """
    specs = []
    for store in stores:
        if store.kvstore is None:  # in memory or computed: its spec would hold the data
            return None
        try:
            spec = store.spec(minimal_spec=True).to_json()
        except Exception:
            return None
        text = without_secrets_text(json.dumps(spec, sort_keys=True))
        if '"kvstore"' not in text or '"driver": "array"' in text:
            return None
        specs.append(text)
    return "tensorstore:" + "|".join(specs)


class TensorStoreSource:
    """Levels given as tensorstore arrays, finest first.

    Each store is moved to a zero origin (its offset goes into ``translate``
    only when ``translates`` is not given). Without ``scales`` the factors
    follow from the shapes. A level's chunk is its store's read chunk
    (``sources.chunk_grid.read_chunks``) unless ``chunks`` states the grid
    (levels computed on read have none of their own).
    ``timeout`` bounds every chunk read; a read that fails, times out or
    cannot be decoded raises ``ChunkReadError``, and missing chunks read as
    the store's fill value.
    """

    def __init__(
        self,
        stores: Sequence[ts.TensorStore],
        *,
        name: str,
        scales: Sequence[Sequence[float]] | None = None,
        translates: Sequence[Sequence[float]] | None = None,
        chunks: Sequence[Sequence[int]] | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        identity: str | None = None,
    ) -> None:
        if not stores:
            raise SourceError(f"{name}: a pyramid needs at least one array")
        self._name = name
        self._timeout = float(timeout)
        self._stores = [s.translate_to[0] for s in stores]
        implied = implied_transforms([s.shape for s in self._stores])
        levels = []
        for i, store in enumerate(self._stores):
            shape = tuple(int(n) for n in store.shape)
            dtype = np.dtype(store.dtype.numpy_dtype)
            levels.append(
                Level(
                    shape=shape,
                    chunks=tuple(chunks[i])
                    if chunks
                    else read_chunks(native_chunks(store), shape, dtype),
                    dtype=dtype,
                    scale=tuple(float(v) for v in (scales[i] if scales else implied[i][0])),
                    translate=tuple(
                        float(v) for v in (translates[i] if translates else implied[i][1])
                    ),
                )
            )
        try:
            validate_levels(levels)
        except ValueError as e:
            raise SourceError(f"{name}: {e}") from e
        self._levels = tuple(levels)
        self._identity = identity if identity is not None else stores_identity(self._stores)
        self._guards = [BloscGuard.for_store(s) for s in self._stores]

    @property
    def identity(self) -> str | None:
        """The stores' specs, when all are persistent (None for in-memory arrays)."""
        return self._identity

    @property
    def name(self) -> str:
        """Short human-readable identity."""
        return self._name

    @property
    def levels(self) -> tuple[Level, ...]:
        """Levels from finest to coarsest."""
        return self._levels

    @property
    def stores(self) -> tuple[ts.TensorStore, ...]:
        """The zero-origin stores, finest first."""
        return tuple(self._stores)

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Read one chunk, waiting at most the read timeout."""
        region = self._levels[level].chunk_slices(index)
        return self._read(level, index, region, self._stores[level][region])

    def read_halved(
        self, level: int, region: tuple[slice, ...], method: Literal["mode", "mean"]
    ) -> np.ndarray:
        """``region`` of ``level`` downsampled 2 x 2 over the last two axes by ``method``.

        tensorstore reduces the region as it reads it (a missing chunk costs
        nothing); the read is guarded and timed out as ``read_chunk``'s.
        """
        store = self._stores[level]
        factors = [1] * (store.rank - 2) + [2, 2]
        halved = ts.downsample(store[region].translate_to[0], factors, method=method)
        return self._read(level, (), region, halved)

    def _read(
        self, level: int, index: tuple[int, ...], region: tuple[slice, ...], view: ts.TensorStore
    ) -> np.ndarray:
        guard = self._guards[level]
        if guard is not None:
            try:
                guard.check(region, self._timeout)
            except DecodeError as e:
                raise ChunkReadError(self._name, level, index, str(e)) from e
        future = view.read()
        try:
            return np.asarray(future.result(timeout=self._timeout))
        except Exception as e:
            future.cancel()  # a request still queued is dropped; see ``ts_context``
            cause = failure_cause(e, self._timeout)
            raise ChunkReadError(self._name, level, index, cause) from redacted_error(e)
