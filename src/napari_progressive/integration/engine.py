"""One layer's loading engine: view -> plan -> fetch -> cache -> GPU.

Runs on the main thread except ``fetch_tile`` and ``map_tile``, which the
executor runs on a worker thread or a ``dask.distributed`` worker (so they
take everything they need as picklable arguments: the source travels once,
through ``Executor.share``). It imports no Qt and no napari: the layer hands it views and a
``notify`` callback that wakes the main thread when results are ready.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.errors import ChunkReadError
from napari_progressive.core.executor import DistributedExecutor, share
from napari_progressive.core.fetch_ledger import FetchLedger
from napari_progressive.core.formats import texture_format, to_texture
from napari_progressive.core.geometry import level_mappings, validate_levels
from napari_progressive.core.planner import PREFETCH, Motion, Plan, TileKey, plan_view
from napari_progressive.core.scheduler import Job, Scheduler
from napari_progressive.core.source import source_identity

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from napari_progressive.core.cache import HostCache
    from napari_progressive.core.disk_cache import DiskCache
    from napari_progressive.core.executor import Executor
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.view import ViewState
    from napari_progressive.render.tiled_visual import TiledImageVisual

_ids = itertools.count()
#: Engines using each host-cache owner: its tiles go when the last one is released.
_owners_in_use: Counter[Hashable] = Counter()
#: A token per in-memory source object: ``id()`` is reused once an object dies,
#: and a new source must never be served a dead one's tiles.
_tokens: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def _object_token(source: object) -> Hashable:
    """A token that names ``source`` for as long as it lives, never reused."""
    try:
        token = _tokens.get(source)
        if token is None:
            token = _tokens[source] = next(_ids)
        return ("object", token)
    except TypeError:  # neither hashable nor weakly referable: a token of its own
        return ("object", next(_ids))


#: The coarsest levels kept in the host cache's pinned reserve.
PINNED_LEVELS = 2
#: Seconds before a failed tile is tried again: doubles per failure up to this.
MAX_RETRY_DELAY = 60.0


@dataclass(frozen=True)
class _Fetched:
    """A worker's answer: what to cache (None: cached already) and the texture to show."""

    cached: np.ndarray | None
    texture: np.ndarray
    mapping: int
    worker: str = ""


@dataclass
class _Failure:
    error: str
    cause: str
    count: int = 1
    retry_at: float = field(default=0.0)


class LayerEngine:
    """Plans, fetches and stages the tiles of one source for one layer.

    By default the host cache holds texture-ready tiles. With ``texture_of``
    (labels: value -> texture value, which depends on the colormap) it holds
    the 2D cuts as read, and a worker maps them; ``set_texture_mapping``
    changes the mapping without reading anything again.
    """

    def __init__(
        self,
        source: MultiscaleSource,
        *,
        host_cache: HostCache,
        executor: Executor,
        max_in_flight: int,
        notify: Callable[[], None] = lambda: None,
        lod_bias: float = 0.0,
        texture_of: Callable[[np.ndarray], np.ndarray] | None = None,
        texture_dtype: np.dtype | None = None,
        disk_cache: DiskCache | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.source = source
        self.levels = tuple(source.levels)
        validate_levels(self.levels)
        self.mappings = level_mappings(self.levels)
        self.format = texture_format(
            texture_dtype if texture_dtype is not None else self.levels[0].dtype
        )
        self._keep_raw = texture_of is not None
        self._texture_of = texture_of or partial(to_texture, fmt=self.format)
        self._mapping = 0
        self.lod_bias = lod_bias
        self._cache = host_cache
        self._notify = notify
        queue = scheduler if scheduler is not None else Scheduler(executor, max_in_flight)
        self.scheduler = queue.client(notify, max_in_flight)
        self._shared_source = share(executor, source)
        identity = source_identity(source)
        # Host-cache owner: texture tiles depend only on the data and the
        # format, so layers over the same data share them (and one fair share);
        # mapped label tiles depend on a layer's colormap and stay its own.
        self._owner: Hashable = (
            ("layer", next(_ids))
            if self._keep_raw
            else ("data", identity or _object_token(source), self.format)
        )
        _owners_in_use[self._owner] += 1
        self._holding = True
        # The persistent tier serves sources with a stable identity whose
        # chunks are read in this process (cluster workers have their own disks).
        self._disk = (
            DiskTier(disk_cache, identity)
            if disk_cache is not None
            and identity is not None
            and not isinstance(executor, DistributedExecutor)
            else None
        )
        self.plan: Plan | None = None
        self.visual: TiledImageVisual | None = None
        self._failures: dict[TileKey, _Failure] = {}
        self.read_threads: set[str] = set()
        self.ledger = FetchLedger()
        self.on_tile: Callable[[TileKey], None] | None = None

    # -- main thread ------------------------------------------------------------

    def release(self) -> None:
        """Stop loading and let go of the host cache (the layer left its viewer).

        The owner's cached tiles go once no other engine shares them. A view
        set later (the layer is added again) loads them anew.
        """
        self.set_view(None)
        if not self._holding:
            return
        self._holding = False
        _owners_in_use[self._owner] -= 1
        if _owners_in_use[self._owner] <= 0:
            del _owners_in_use[self._owner]
            self._cache.drop_owner(self._owner)

    def attach(self, visual: TiledImageVisual) -> None:
        """Draw into ``visual`` from now on."""
        self.visual = visual
        if self.plan is not None:
            self._apply(self.plan)

    def set_view(self, view: ViewState | None, motion: Motion | None = None) -> None:
        """Plan for ``view`` (None: show nothing) unless it is unchanged.

        ``motion`` is how the camera has been moving; it aims the prefetch.
        """
        if view is None:
            self.plan = None
            self.scheduler.update([])
            if self.visual is not None:
                self.visual.clear_plan()
            return
        if self.plan is not None and self.plan.view == view:
            return
        if not self._holding:
            self._holding = True
            _owners_in_use[self._owner] += 1
        self._apply(plan_view(self.levels, view, self.mappings, self.lod_bias, motion))

    def set_texture_mapping(
        self, texture_of: Callable[[np.ndarray], np.ndarray], dtype: np.dtype
    ) -> None:
        """Map cached cuts to textures with ``texture_of`` from now on (raw-keeping engines)."""
        if not self._keep_raw:
            raise RuntimeError("this engine caches textures, not the values read")
        self._texture_of = texture_of
        self._mapping += 1
        self.format = texture_format(dtype)
        if self.visual is not None:
            self.visual.forget_tiles(self.format)
        self.replan()

    def replan(self) -> None:
        """Plan the current view again (e.g. to retry failed tiles)."""
        if self.plan is not None:
            self._apply(self.plan)

    def drain(self) -> None:
        """Apply finished fetches: cache them, stage the needed ones for upload."""
        changed_failures = stale = False
        needed = self.plan.keys if self.plan is not None else frozenset()
        for r in self.scheduler.drain():
            key: TileKey = r.key[-1]  # type: ignore[index]
            if r.error is not None:
                self._record_failure(key, r.error)
                changed_failures = True
                continue
            if self._failures.pop(key, None) is not None:
                changed_failures = True
            fetched: _Fetched = r.value
            self.read_threads.add(fetched.worker)
            if fetched.cached is not None:
                self.ledger.on_fetched(key)
                self._cache.put(
                    (self._owner, key), fetched.cached, r.seconds, pinned=self._pinned(key)
                )
            if fetched.mapping != self._mapping:
                stale = True  # mapped before the colormap changed: map again
            elif self.visual is not None and key in needed:
                self._stage(key, fetched.texture)
            if self.on_tile is not None:
                self.on_tile(key)
        if changed_failures and self.plan is not None and self.visual is not None:
            self.visual.set_plan(self.plan, self._failures)
        if stale:
            self.replan()

    @property
    def idle(self) -> bool:
        """Nothing to fetch, drain or upload that the current view shows (prefetch aside)."""
        uploads = self.visual.pending_uploads if self.visual is not None else 0
        needed = self.plan.keys if self.plan is not None else frozenset()
        return uploads == 0 and not self.scheduler.pending({self._job_key(k) for k in needed})

    def failures(self) -> dict[TileKey, str]:
        """Error message of every tile that failed to load."""
        return {k: f.error for k, f in self._failures.items()}

    def next_retry_in(self) -> float | None:
        """Seconds until the first failed tile the view needs may be tried again (None: none)."""
        needed = self.plan.keys if self.plan is not None else frozenset()
        times = [f.retry_at for k, f in self._failures.items() if k in needed]
        return max(0.0, min(times) - time.monotonic()) if times else None

    def failure_causes(self) -> dict[str, int]:
        """Why tiles the current view needs failed (the reason, without the chunk), and how many."""
        needed = self.plan.keys if self.plan is not None else frozenset()
        causes: dict[str, int] = {}
        for key, f in self._failures.items():
            if key in needed:
                causes[f.cause] = causes.get(f.cause, 0) + 1
        return causes

    def cached_tile(self, key: TileKey) -> np.ndarray | None:
        """A tile from the host cache, without counting a hit or a miss."""
        return self._cache.peek((self._owner, key))

    def stats(self) -> dict[str, Any]:
        """Counters in the ``napari_progressive.stats`` format."""
        plan = self.plan
        keys = plan.keys if plan is not None else frozenset()
        visual = self.visual
        resident = visual.resident() if visual is not None else frozenset()
        drawn = visual.drawn() if visual is not None else []
        disk = self._disk.cache.stats() if self._disk is not None else {}
        return {
            **disk,
            "needed": len(keys),
            "prefetch": len(plan.prefetch) if plan is not None else 0,
            "available": len(keys & resident),
            "queued": self.scheduler.queued,
            "in_flight": self.scheduler.in_flight,
            "failed": len(keys & self._failures.keys()),
            "host_bytes": self._cache.owner_bytes(self._owner),
            "host_share_bytes": self._cache.fair_share(),
            "host_budget_bytes": self._cache.budget_bytes,
            "host_pinned_bytes": self._cache.pinned_bytes,
            "cache_hits": self._cache.hits,
            "cache_misses": self._cache.misses,
            "cache_evictions": self._cache.evictions,
            "gpu_bytes": visual.gpu_bytes if visual is not None else 0,
            "gpu_slots": visual.capacity if visual is not None else 0,
            "gpu_evictions": visual.gpu_evictions if visual is not None else 0,
            **(visual.budget_stats() if visual is not None else {}),
            "levels": sorted({t.key.level for t in drawn}),
            "target_level": plan.target_level if plan is not None else None,
            "n_levels": len(self.levels),
            "tiles_fetched": self.ledger.fetched,
            "tiles_wasted": self.ledger.wasted,
            "submitted": self.scheduler.submitted,
            "cancelled": self.scheduler.cancelled,
            "deduplicated": self.scheduler.scheduler.deduplicated,
        }

    def _apply(self, plan: Plan) -> None:
        self.plan = plan
        visual = self.visual
        if visual is not None:
            visual.set_plan(plan, self._failures)
        now = time.monotonic()
        jobs = []
        for t in plan.tiles + plan.prefetch:
            key = t.key
            if visual is not None and visual.is_resident(key):
                continue
            failure = self._failures.get(key)
            if failure is not None and now < failure.retry_at:
                continue
            cached = self._cache.get((self._owner, key))
            if cached is None:
                fetch = (
                    self._shared_source,
                    key,
                    self._texture_of,
                    self._keep_raw,
                    self._mapping,
                    self._disk,
                )
                jobs.append(Job(t.priority, self._job_key(key), fetch_tile, fetch))
            elif t.tier == PREFETCH:
                continue  # cached is all a prefetch asks for
            elif self._keep_raw:
                jobs.append(
                    Job(
                        t.priority,
                        self._job_key(key),
                        map_tile,
                        (cached, self._texture_of, self._mapping),
                    )
                )
            elif visual is not None:
                self._stage(key, cached)
        self.scheduler.update(jobs)

    def _stage(self, key: TileKey, texture: np.ndarray) -> None:
        assert self.visual is not None
        self.visual.stage(key, texture)
        self.ledger.on_shown(key)

    def _job_key(self, key: TileKey) -> tuple[Hashable, ...]:
        """The scheduler's key for ``key``: equal for layers that compute the same tile."""
        return (self._owner, self._mapping, key)

    def _pinned(self, key: TileKey) -> bool:
        """The two coarsest levels stay cached: every view falls back on them."""
        return key.level >= len(self.levels) - PINNED_LEVELS

    def _record_failure(self, key: TileKey, error: BaseException) -> None:
        f = self._failures.get(key)
        count = 1 if f is None else f.count + 1
        delay = min(MAX_RETRY_DELAY, 2.0 ** (count - 1))
        cause = error.reason if isinstance(error, ChunkReadError) else f"{type(error).__name__}"
        self._failures[key] = _Failure(str(error), cause, count, time.monotonic() + delay)


# -- workers (threads or dask.distributed workers) --------------------------------


@dataclass(frozen=True)
class DiskTier:
    """A source's place in the persistent cache: the cache and the source's identity."""

    cache: DiskCache
    identity: str


def read_chunk(
    source: MultiscaleSource, level: int, index: tuple[int, ...], disk: DiskTier | None = None
) -> np.ndarray:
    """Chunk ``index`` of ``level``, checked against its shape, through the disk tier if any."""
    lv = source.levels[level]
    expected = tuple(s.stop - s.start for s in lv.chunk_slices(index))
    disk_key = None
    if disk is not None:
        disk_key = disk.cache.key(disk.identity, level, lv, index)
        stored = disk.cache.get(disk_key)
        if stored is not None and stored.shape == expected:
            return stored
    try:
        chunk = np.asarray(source.read_chunk(level, index))
    except ChunkReadError:
        raise
    except Exception as e:
        raise ChunkReadError(source.name, level, index, f"{type(e).__name__}: {e}") from e
    if chunk.shape != expected:
        raise ChunkReadError(
            source.name, level, index, f"chunk has shape {chunk.shape}, expected {expected}"
        )
    if disk is not None and disk_key is not None:
        disk.cache.put(disk_key, chunk)
    return chunk


def fetch_tile(
    source: MultiscaleSource,
    key: TileKey,
    texture_of: Callable[[np.ndarray], np.ndarray],
    keep_raw: bool,
    mapping: int,
    disk: DiskTier | None = None,
) -> _Fetched:
    """Read the chunk of ``key``, cut its 2D plane and make its texture."""
    chunk = read_chunk(source, key.level, key.chunk, disk)
    cut = tile_plane(chunk, key)
    worker = threading.current_thread().name
    if keep_raw:
        cut = np.ascontiguousarray(cut)
        return _Fetched(cut, texture_of(cut), mapping, worker)
    texture = texture_of(cut)
    return _Fetched(texture, texture, mapping, worker)


def map_tile(
    cut: np.ndarray, texture_of: Callable[[np.ndarray], np.ndarray], mapping: int
) -> _Fetched:
    """A cached cut mapped to a texture (no I/O)."""
    return _Fetched(None, texture_of(cut), mapping, threading.current_thread().name)


def tile_plane(chunk: np.ndarray, key: TileKey) -> np.ndarray:
    """The 2D cut of ``chunk`` at the key's planes, axes as (rows, cols)."""
    index: list[Any] = [slice(None)] * chunk.ndim
    for axis, offset in key.planes:
        index[axis] = offset
    tile = chunk[tuple(index)]
    if tile.ndim != 2:
        raise ChunkReadError("tile", key.level, key.chunk, f"cut has {tile.ndim} axes, not 2")
    return tile.T if key.transposed else tile
