"""One layer's loader: view -> plan -> fetch -> caches -> draw target.

Headless (no Qt, no GL): the layer hands it views and a ``notify`` callback
that wakes the main thread, and it is attached to a ``DrawTarget`` (the
visual) and that target's ``residency`` (which tiles are on the GPU). Every
planned tile has one state in ``self.pieces``, from which ``idle``,
progress and the frozen ``LoaderStats`` are derived.

The host cache keeps chunks as read (``ChunkKey``), shared by every layer
over the same data. A tile is staged for upload straight from a cached chunk
when no cut or conversion is needed; otherwise a worker cuts it (``CutPiece``)
or reads what it lacks first (``FetchPiece``). A chunk being read for one tile
is not read again for another: that tile waits and is cut once it lands.
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from napari_progressive.core.bricks import BORDER, brick_voxels, cut_brick
from napari_progressive.core.errors import ChunkReadError
from napari_progressive.core.executor import DistributedExecutor, share
from napari_progressive.core.fetch import CutPiece, DiskTier, FetchPiece, PieceResult, piece_chunks
from napari_progressive.core.fetch_ledger import FetchLedger
from napari_progressive.core.formats import texture_format, to_texture
from napari_progressive.core.geometry import level_mappings, validate_levels
from napari_progressive.core.pieces import (
    BrickStats,
    Drained,
    LevelBricks,
    LoaderStats,
    PieceState,
)
from napari_progressive.core.plane_planner import plan_plane
from napari_progressive.core.planner import EXPECTED, PREFETCH, Plan, plan_view, with_expected
from napari_progressive.core.scheduler import Job, Scheduler
from napari_progressive.core.slice_prefetch import slots_ahead, with_neighbouring_slices
from napari_progressive.core.source import source_identity
from napari_progressive.core.tiles import ChunkKey, TileKey, cut_tile
from napari_progressive.core.volume_planner import VolumePlan, at_slice, plan_volume

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

    import numpy as np

    from napari_progressive.core.bricks import BrickKey, PieceKey
    from napari_progressive.core.cache import HostCache
    from napari_progressive.core.disk_cache import DiskCache
    from napari_progressive.core.executor import Executor
    from napari_progressive.core.motion import Motion
    from napari_progressive.core.pieces import DrawTarget
    from napari_progressive.core.plane_planner import SlicingPlane
    from napari_progressive.core.planner import PlannedTile
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.view import SliceView, VolumeView
    from napari_progressive.core.volume_planner import ClipPlane, PlannedBrick

#: What a brick plan is made from: the view, slots, clipping planes, slicing plane.
_BrickRequest = tuple["VolumeView", int, tuple["ClipPlane", ...], "SlicingPlane | None"]
#: The coarsest levels kept in the host cache's pinned reserve.
PINNED_LEVELS = 2
#: Seconds before a failed tile is tried again: doubles per failure up to this.
MAX_RETRY_DELAY = 60.0

_ids = itertools.count()
#: Loaders using each host-cache owner: its chunks go when the last one is released.
_owners_in_use: Counter[Hashable] = Counter()
#: A token per in-memory source object: ``id()`` is reused once an object dies,
#: and a new source must never be served a dead one's chunks.
_tokens: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


@dataclass
class _Failure:
    error: str
    cause: str
    count: int = 1
    retry_at: float = 0.0


class Loader:
    """Plans, fetches and stages the tiles of one source for one layer.

    ``texture_of`` turns a tile's values into texture values (default: the
    texture dtype of the data; labels: their colormap's mapping, which
    ``set_texture_mapping`` replaces without reading anything again).
    ``clock`` gives the seconds that failed tiles wait out before a retry.
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.levels = tuple(source.levels)
        validate_levels(self.levels)
        self.mappings = level_mappings(self.levels)
        self.format = texture_format(
            texture_dtype if texture_dtype is not None else self.levels[0].dtype
        )
        self._identity_mapping = texture_of is None
        self._texture_of = texture_of or partial(to_texture, fmt=self.format)
        self._mapping = 0
        self.lod_bias = lod_bias
        self._clock = clock
        self._cache = host_cache
        queue = scheduler if scheduler is not None else Scheduler(executor, max_in_flight)
        self.scheduler = queue.client(notify, max_in_flight)
        self._shared_source = share(executor, source)
        identity = source_identity(source)
        # Chunks depend only on the data: layers over the same data share them.
        self._owner: Hashable = ("data", identity or _object_token(source))
        # Tile jobs also depend on the texture mapping (labels: the colormap).
        self._job_owner: Hashable = (
            (self._owner, self.format) if self._identity_mapping else ("layer", next(_ids))
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
        self._shown: Plan | VolumePlan | None = None
        self._brick_request: _BrickRequest | None = None
        # what the shown volume plan was made from (a request, the lod bias)
        self._volume_basis: tuple[_BrickRequest, float] | None = None
        # 2D views the user is expected to jump to, and their plans at a slice point
        self._expected: tuple[SliceView, ...] = ()
        self._expected_plans: tuple[tuple[float, ...], float, tuple[Plan, ...]] | None = None
        self.pieces: dict[PieceKey, PieceState] = {}
        self._target: DrawTarget | None = None
        self._failures: dict[PieceKey, _Failure] = {}
        self._reading: dict[ChunkKey, PieceKey] = {}
        # The shown plan's pieces by key, and the waiting pieces by the chunks
        # they wait for: a landed chunk revisits its waiters, not the whole plan.
        self._planned: dict[PieceKey, PlannedTile | PlannedBrick] = {}
        self._waiting_on: dict[ChunkKey, set[PieceKey]] = {}
        self.read_threads: set[str] = set()
        self.ledger = FetchLedger()

    # -- main thread ------------------------------------------------------------

    @property
    def plan(self) -> Plan | None:
        """The 2D view's plan, if a 2D view is shown."""
        return self._shown if isinstance(self._shown, Plan) else None

    @property
    def volume_plan(self) -> VolumePlan | None:
        """The 3D view's brick plan, if bricks are shown."""
        return self._shown if isinstance(self._shown, VolumePlan) else None

    def attach(self, target: DrawTarget) -> None:
        """Draw into ``target`` from now on (the tile visual in 2D, the brick volume in 3D)."""
        self._target = target
        if self._shown is not None:
            self._apply(self._shown)

    def release(self) -> None:
        """Stop loading and let go of the host cache (the layer left its viewer).

        The owner's cached chunks go once no other loader shares them. A view
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

    def set_view(self, view: SliceView | None, motion: Motion | None = None) -> None:
        """Plan for ``view`` (None: show nothing) unless it is unchanged.

        ``motion`` is how the camera has been moving; it aims the prefetch.
        """
        if view is None:
            self._shown = None
            self._brick_request = None
            self.pieces = {}
            self.scheduler.update([])
            if self._target is not None:
                self._target.clear_plan()
            return
        if self.plan is not None and self.plan.view == view:
            return
        self._hold()
        self._brick_request = None
        plan = plan_view(self.levels, view, self.mappings, self.lod_bias, motion)
        self._apply(with_expected(plan, self._plans_expected_at(view.point)))

    def expect(self, views: Sequence[SliceView]) -> None:
        """Prefetch what ``views`` show, into host memory: where the user may jump next.

        The next ROI of a list the user steps through, say. They are fetched
        after the shown view's own prefetch, at the levels those views need,
        at the shown view's slice point; ``()`` forgets them. Replaces the
        views expected before.
        """
        self._expected, self._expected_plans = tuple(views), None
        plan = self.plan
        if plan is not None:  # the shown view's own tiles and prefetch stay as they are
            own = tuple(t for t in plan.prefetch if t.priority[0] != EXPECTED)
            expected = self._plans_expected_at(plan.view.point)
            self._apply(with_expected(replace(plan, prefetch=own), expected))

    def _plans_expected_at(self, point: tuple[float, ...]) -> tuple[Plan, ...]:
        """The plans of the expected views, moved to the slice ``point`` (kept while it holds)."""
        if not self._expected:
            return ()
        memo = self._expected_plans
        if memo is None or memo[0] != point or memo[1] != self.lod_bias:
            plans = tuple(
                plan_view(self.levels, replace(v, point=point), self.mappings, self.lod_bias)
                for v in self._expected
            )
            memo = self._expected_plans = (point, self.lod_bias, plans)
        return memo[2]

    def set_brick_view(
        self,
        view: VolumeView,
        slots: int,
        clipping_planes: Sequence[ClipPlane] = (),
        plane: SlicingPlane | None = None,
    ) -> None:
        """Plan the bricks a 3D ``view`` needs, a level per brick, within ``slots`` GPU slots.

        ``clipping_planes`` (level-0 data coordinates along the displayed axes)
        cull what they cut away: it is never fetched. With a slicing ``plane``
        (plane depiction) only the bricks its slab crosses are planned.
        """
        request = (view, int(slots), tuple(clipping_planes), plane)
        if request == self._brick_request:
            return
        self._hold()
        self._brick_request = request
        if plane is None:
            ahead = slots_ahead(self.levels, slots)
            plan = self._at_slice(request) or plan_volume(
                self.levels, view, slots - ahead, self.mappings, request[2], lod_bias=self.lod_bias
            )
            self._volume_basis = (request, self.lod_bias)
            plan = with_neighbouring_slices(plan, self.levels, ahead)
        else:
            self._volume_basis = None  # a slab's plan is not a volume's to re-key
            plan = plan_plane(
                self.levels, view, slots, plane, self.mappings, request[2], self.lod_bias
            )
        self._apply(plan)

    def _at_slice(self, request: _BrickRequest) -> VolumePlan | None:
        """The shown volume plan moved to ``request``'s slice, if only its slice point changed."""
        plan, basis = self.volume_plan, self._volume_basis
        if plan is None or basis is None or basis[1] != self.lod_bias:
            return None
        previous = basis[0]
        view = request[0]
        if (replace(view, point=previous[0].point), *request[1:]) != previous:
            return None
        return at_slice(plan, view, self.levels, self.mappings)

    def set_texture_mapping(
        self, texture_of: Callable[[np.ndarray], np.ndarray], dtype: np.dtype
    ) -> None:
        """Map tiles to textures with ``texture_of`` from now on (cached chunks are re-cut)."""
        self._texture_of = texture_of
        self._identity_mapping = False
        self._mapping += 1
        self.format = texture_format(dtype)
        if self._target is not None:
            self._target.forget_tiles(self.format)
        self.replan()

    def replan(self) -> None:
        """Apply the current plan again (e.g. to retry failed tiles)."""
        if self._shown is not None:
            self._apply(self._shown)

    def drain(self) -> Drained:
        """Apply finished work: cache the chunks read, stage the tiles the view needs."""
        changed_failures = remap = False
        arrived: set[ChunkKey] = set()
        landed: set[int] = set()
        needed = self._shown.gpu_keys if self._shown is not None else frozenset()
        for r in self.scheduler.drain():
            key: PieceKey = r.key[-1]  # type: ignore[index]
            if r.error is not None:
                arrived |= self._record_failure(key, r.error)
                changed_failures = True
                continue
            if self._failures.pop(key, None) is not None:
                changed_failures = True
            result: PieceResult = r.value
            self.read_threads.add(result.worker)
            for chunk, values in result.read:
                self._reading.pop(chunk, None)
                self._cache.put(
                    (self._owner, chunk), values, r.seconds, pinned=self._pinned(chunk.level)
                )
                arrived.add(chunk)
            if result.read:
                self.ledger.on_fetched(key)
            if result.mapping != self._mapping:
                remap = True  # mapped before the colormap changed: map again
            elif key in needed:
                self._stage(key, result.texture, result.values)
            landed.add(key.level)
        if changed_failures and self._shown is not None and self._target is not None:
            self._target.set_plan(self._shown, self._failures)
        if remap:
            self.replan()
        elif arrived:
            self._revisit(arrived)
        return Drained(frozenset(landed))

    @property
    def idle(self) -> bool:
        """Nothing to fetch, drain or upload that the current view shows (prefetch aside)."""
        uploads = self._target.pending_uploads if self._target is not None else 0
        needed = self._shown.keys if self._shown is not None else frozenset()
        if uploads or any(self.pieces.get(k) is PieceState.WAITING for k in needed):
            return False
        return not self.scheduler.pending({self._job_key(k) for k in needed})

    @property
    def complete(self) -> bool:
        """Whether the view is planned and drawn with everything it needs."""
        target = self._target
        return (
            self._shown is not None and target is not None and self.idle and not target.needs_redraw
        )

    def failures(self) -> dict[PieceKey, str]:
        """Error message of every tile or brick that failed to load."""
        return {k: f.error for k, f in self._failures.items()}

    def next_retry_in(self) -> float | None:
        """Seconds until the first failed tile the view needs may be tried again (None: none)."""
        needed = self._shown.keys if self._shown is not None else frozenset()
        times = [f.retry_at for k, f in self._failures.items() if k in needed]
        return max(0.0, min(times) - self._clock()) if times else None

    def failure_causes(self) -> dict[str, int]:
        """Why tiles the current view needs failed (the reason, without the chunk), and how many."""
        needed = self._shown.keys if self._shown is not None else frozenset()
        causes: Counter[str] = Counter(f.cause for k, f in self._failures.items() if k in needed)
        return dict(causes)

    def tile_values(self, key: TileKey, step: int = 1) -> np.ndarray | None:
        """A tile's values from the chunks in memory (every ``step``-th pixel), or None.

        Never reads: None when a chunk is not cached.
        """
        chunks = self._cached_chunks(key)
        if chunks is None:
            return None
        return cut_tile(self.levels[key.level], key, chunks, step)

    def brick_values(self, key: BrickKey) -> np.ndarray | None:
        """A brick's voxels (no border, within the level) from the chunks in memory, or None.

        Never reads: None when a chunk is not cached.
        """
        chunks = self._cached_chunks(key)
        if chunks is None:
            return None
        level = self.levels[key.level]
        start, stop = brick_voxels(level, key)
        inner = tuple(slice(BORDER, BORDER + int(n)) for n in stop - start)
        return cut_brick(level, key, chunks)[inner]

    def drawn(self) -> Sequence[PlannedTile | PlannedBrick]:
        """Tiles or bricks the target drew in its latest frame."""
        return self._target.drawn() if self._target is not None else ()

    def value_at(self, level: int, pixel: Sequence[int]) -> Any:
        """The value of a level pixel if its chunk is in memory, else None."""
        lv = self.levels[level]
        index = tuple(int(p) // c for p, c in zip(pixel, lv.chunks, strict=True))
        chunk = self._cache.peek((self._owner, ChunkKey(level, index)))
        if chunk is None:
            return None
        local = tuple(int(p) - i * c for p, i, c in zip(pixel, index, lv.chunks, strict=True))
        value = chunk[local]
        return value.item() if hasattr(value, "item") else value

    def stats(self) -> LoaderStats:
        """The current counters."""
        plan = self._shown
        keys = plan.keys if plan is not None else frozenset()
        target = self._target
        resident = target.residency if target is not None else frozenset()
        drawn = target.drawn() if target is not None else []
        gpu = dict(target.gpu_stats()) if target is not None else {}
        return LoaderStats(
            needed=len(keys),
            prefetch=len(plan.prefetch) if plan is not None else 0,
            available=sum(k in resident for k in keys),
            queued=self.scheduler.queued,
            in_flight=self.scheduler.in_flight,
            failed=len(keys & self._failures.keys()),
            host_bytes=self._cache.owner_bytes(self._owner),
            host_share_bytes=self._cache.fair_share(),
            host_budget_bytes=self._cache.budget_bytes,
            host_pinned_bytes=self._cache.pinned_bytes,
            cache_hits=self._cache.hits,
            cache_misses=self._cache.misses,
            cache_evictions=self._cache.evictions,
            gpu_bytes=gpu.get("gpu_bytes", 0),
            gpu_slots=gpu.get("gpu_slots", 0),
            gpu_evictions=gpu.get("gpu_evictions", 0),
            gpu_budget_bytes=gpu.get("gpu_budget_bytes", 0),
            gpu_used_bytes=gpu.get("gpu_used_bytes", 0),
            levels=tuple(sorted({t.key.level for t in drawn})),
            target_level=_finest_level(plan),
            n_levels=len(self.levels),
            tiles_fetched=self.ledger.fetched,
            tiles_wasted=self.ledger.wasted,
            submitted=self.scheduler.submitted,
            cancelled=self.scheduler.cancelled,
            deduplicated=self.scheduler.scheduler.deduplicated,
            disk=self._disk.cache.stats() if self._disk is not None else {},
        )

    def brick_stats(self) -> BrickStats | None:
        """The 3D plan's bricks per level and the atlas's use (None: no brick plan shown).

        Cheap enough for a widget's refresh: one pass over the plan's bricks.
        """
        plan = self.volume_plan
        target = self._target
        if plan is None or self._brick_request is None or target is None:
            return None
        resident = target.residency
        running = {k[-1] for k in self.scheduler.running_keys()}  # type: ignore[index]
        counts: dict[int, list[int]] = {}
        for b in plan.bricks:
            key = b.key
            c = counts.setdefault(key.level, [0, 0, 0, 0])
            c[0] += 1
            c[1] += key in resident
            c[2] += key in running
            c[3] += key in self._failures
        gpu = target.gpu_stats()
        return BrickStats(
            levels=tuple(LevelBricks(lv, *c) for lv, c in sorted(counts.items())),
            resident=len(resident),
            slots=gpu.get("gpu_slots", 0),
            capacity=self._brick_request[1],
            gpu_bytes=gpu.get("gpu_bytes", 0),
        )

    # -- planning a view into work ---------------------------------------------------

    def _apply(self, plan: Plan | VolumePlan) -> None:
        self._shown = plan
        target = self._target
        if target is not None:
            target.set_plan(plan, self._failures)
        resident = target.residency if target is not None else frozenset()
        running = self.scheduler.running_keys()
        self._reading = {c: k for c, k in self._reading.items() if self._job_key(k) in running}
        now = self._clock()
        pieces: dict[PieceKey, PieceState] = {}
        jobs = []
        self._planned = {t.key: t for t in (*plan.pieces, *plan.prefetch)}
        self._waiting_on = {}
        looked_up: dict[ChunkKey, np.ndarray | None] = {}
        for t in self._planned.values():
            key = t.key
            if key in resident:
                pieces[key] = PieceState.GPU
                if key in plan.keys:
                    self.ledger.on_shown(key)
                continue
            failure = self._failures.get(key)
            if failure is not None and now < failure.retry_at:
                pieces[key] = PieceState.FAILED
                continue
            state, job = self._work_for(t, looked_up)
            if state is PieceState.QUEUED and self._job_key(key) in running:
                state = PieceState.LOADING
            pieces[key] = state
            if job is not None:
                jobs.append(job)
        self.pieces = pieces
        self.scheduler.update(jobs)

    def _revisit(self, chunks: set[ChunkKey]) -> None:
        """Queue the waiting pieces that ``chunks`` (landed, or their reader failed) concern."""
        waiters: set[PieceKey] = set()
        for c in chunks:
            waiters |= self._waiting_on.pop(c, set())
        jobs = []
        looked_up: dict[ChunkKey, np.ndarray | None] = {}
        for key in waiters:
            if self.pieces.get(key) is not PieceState.WAITING:
                continue
            state, job = self._work_for(self._planned[key], looked_up)
            self.pieces[key] = state
            if job is not None:
                jobs.append(job)
        if jobs:
            self.scheduler.add(jobs)

    def _work_for(
        self, t: PlannedTile | PlannedBrick, looked_up: dict[ChunkKey, np.ndarray | None]
    ) -> tuple[PieceState, Job | None]:
        """The state of a piece not on the GPU, and the job that brings it closer.

        ``looked_up`` remembers the host-cache lookups of one pass over the
        plan (neighbouring bricks share most of their chunks).
        """
        key = t.key
        level = self.levels[key.level]
        chunks = piece_chunks(level, key)
        cached = {}
        for c in chunks:
            if c not in looked_up:
                looked_up[c] = self._cache.get((self._owner, c))
            values = looked_up[c]
            if values is not None:
                cached[c] = values
        missing = [c for c in chunks if c not in cached]
        if missing:
            if any(self._reading.get(c, key) != key for c in missing):
                for c in missing:  # another piece reads them: cut this one after
                    self._waiting_on.setdefault(c, set()).add(key)
                return PieceState.WAITING, None
            for c in missing:
                self._reading[c] = key
            request = FetchPiece(
                key, tuple(cached.items()), self._texture_of, self._mapping, self._disk
            )
            job = Job(t.priority, self._job_key(key), request, (self._shared_source,))
            return PieceState.QUEUED, job
        if t.tier == PREFETCH and self._shown is not None and key not in self._shown.ahead_keys:
            return PieceState.HOST, None  # in host memory is all a prefetch asks for
        tile = (
            cut_tile(level, key, cached) if isinstance(key, TileKey) and len(cached) == 1 else None
        )
        if tile is not None and self._stages_as_is(tile):
            self._stage(key, tile, None)
            return PieceState.STAGED, None
        cut = CutPiece(level, key, tuple(cached.items()), self._texture_of, self._mapping)
        return PieceState.QUEUED, Job(t.priority, self._job_key(key), cut)

    def _stages_as_is(self, tile: np.ndarray) -> bool:
        """Whether ``tile`` is its own texture (no conversion, no copy to make)."""
        return (
            self._identity_mapping and tile.dtype == self.format.dtype and tile.flags.c_contiguous
        )

    def _cached_chunks(self, key: PieceKey) -> dict[ChunkKey, np.ndarray] | None:
        """All of the piece's chunks in the host cache (None if any is missing); not a use."""
        out = {}
        for c in piece_chunks(self.levels[key.level], key):
            values = self._cache.peek((self._owner, c))
            if values is None:
                return None
            out[c] = values
        return out

    def _stage(
        self, key: PieceKey, texture: np.ndarray, values: tuple[float, float] | None
    ) -> None:
        if self._target is None:
            return
        self._target.stage(key, texture, values)
        self.pieces[key] = PieceState.STAGED
        if self._shown is not None and key in self._shown.keys:
            self.ledger.on_shown(key)  # an ahead brick counts once a view draws it

    def _job_key(self, key: PieceKey) -> tuple[Hashable, ...]:
        """The scheduler's key for ``key``: equal for layers that make the same texture."""
        return (self._job_owner, self._mapping, key)

    def _hold(self) -> None:
        """Count this loader among its host-cache owner's users again (after a release)."""
        if not self._holding:
            self._holding = True
            _owners_in_use[self._owner] += 1

    def _pinned(self, level: int) -> bool:
        """The two coarsest levels stay cached: every view falls back on them."""
        return level >= len(self.levels) - PINNED_LEVELS

    def _record_failure(self, key: PieceKey, error: BaseException) -> set[ChunkKey]:
        """Note that ``key`` failed; returns the chunks it was reading (others may read them)."""
        released = {c for c, reader in self._reading.items() if reader == key}
        for c in released:
            del self._reading[c]
        self._failures[key] = _next_failure(self._failures.get(key), error, self._clock())
        return released


def _finest_level(plan: Plan | VolumePlan | None) -> int | None:
    """The level a 2D plan targets, or the finest level a brick plan holds."""
    if isinstance(plan, Plan):
        return plan.target_level
    if plan is not None and plan.bricks:
        return min(b.key.level for b in plan.bricks)
    return None


def _next_failure(previous: _Failure | None, error: BaseException, now: float) -> _Failure:
    """The failure after ``previous``, at ``now``: the retry waits twice as long, up to a cap."""
    count = 1 if previous is None else previous.count + 1
    delay = min(MAX_RETRY_DELAY, 2.0 ** (count - 1))
    cause = error.reason if isinstance(error, ChunkReadError) else type(error).__name__
    return _Failure(str(error), cause, count, now + delay)


def _object_token(source: object) -> Hashable:
    """A token that names ``source`` for as long as it lives, never reused."""
    try:
        token = _tokens.get(source)
        if token is None:
            token = _tokens[source] = next(_ids)
        return ("object", token)
    except TypeError:  # neither hashable nor weakly referable: a token of its own
        return ("object", next(_ids))
