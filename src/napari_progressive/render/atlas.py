"""Texture pages that hold equal-shaped pieces (2D tiles or 3D bricks) under one GPU budget.

* Pieces live in slots on up to ``MAX_PAGES`` single-channel textures
  (r8/r16/r32f; ``Texture2D`` for tiles, ``Texture3D`` for bricks). Pages are
  granted by the ``GpuBudget`` all layers share (``core.residency``): slots are
  recycled least recently used first, never while the current view needs
  them, and a page no view needs can be taken over by another layer.
* The owner stages pieces; ``upload`` sends them at draw time, at most
  ``upload_bytes_per_frame`` per frame and at most one new page per frame.
* The atlas knows no shader: it binds each page's texture through a callback
  (``bind(page, texture)``) to the sampler the owner's program names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from vispy.gloo import Texture2D, Texture3D

from napari_progressive.core.residency import TexturePool

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable, Iterable

    from vispy.gloo.texture import BaseTexture as Texture

    from napari_progressive.core.formats import TextureFormat
    from napari_progressive.core.residency import GpuBudget

#: Texture pages one atlas may hold (each is a sampler: keep pages + 2 <= 16 units).
MAX_PAGES = 12
#: Side of a page in texels, unless pieces are larger.
PAGE_SIDE = 2048


@dataclass(frozen=True)
class Slot:
    """Where a resident piece lies: its page, first texel and shape (array order)."""

    page: int
    origin: tuple[int, ...]
    shape: tuple[int, ...]


class TextureAtlas:
    """Slots of ``slot_shape`` texels on budgeted texture pages, filled at draw time."""

    def __init__(
        self,
        slot_shape: tuple[int, ...],
        fmt: TextureFormat,
        budget: GpuBudget,
        bind: Callable[[int, Texture], None],
        on_page_dropped: Callable[[], None] = lambda: None,
        max_bytes: int | None = None,
        max_slots: int | None = None,
        max_texture_size: int = 8192,
        upload_bytes_per_frame: int = 2 * 2**20,
    ) -> None:
        if len(slot_shape) not in (2, 3):
            raise ValueError(f"slots are 2D tiles or 3D bricks, got shape {slot_shape}")
        self.slot_shape = tuple(int(s) for s in slot_shape)
        self.upload_bytes_per_frame = upload_bytes_per_frame
        self._budget = budget
        self._bind = bind
        self._on_page_dropped = on_page_dropped
        self._max_bytes = max_bytes
        self._max_slots = max_slots
        self._max_texture_size = int(max_texture_size)
        self._texture_type: type[Texture] = Texture2D if len(slot_shape) == 2 else Texture3D
        self._empty = self._texture_type(
            np.zeros((1,) * len(slot_shape) + (1,), np.float32), format="red"
        )
        self._textures: dict[int, Texture] = {}
        self._staged: dict[Hashable, np.ndarray] = {}
        self._shapes: dict[Hashable, tuple[int, ...]] = {}
        self._evicted_before = 0
        self._interpolation = "nearest"
        self._pool: TexturePool | None = None
        self._reuse_first = False
        self.reset(fmt)

    def reset(self, fmt: TextureFormat) -> None:
        """Drop every piece and page; hold pieces of ``fmt`` from now on."""
        if self._pool is not None:
            self._evicted_before += self._pool.evictions
            self._pool.clear()
        self.fmt = fmt
        self.grid = page_grid(
            self.slot_shape,
            fmt.bytes_per_texel,
            self._max_slots,
            self._max_bytes,
            self._max_texture_size,
        )
        slots = math.prod(self.grid)
        page_bytes = slots * math.prod(self.slot_shape) * fmt.bytes_per_texel
        max_pages = MAX_PAGES if self._max_bytes is None else self._max_bytes // page_bytes
        self._pool = TexturePool(
            slots,
            page_bytes,
            self._budget,
            max(1, min(MAX_PAGES, max_pages)),
            on_page_dropped=self._drop_page,
        )
        self._pool.reuse_first = self._reuse_first
        for page in range(MAX_PAGES):
            self._bind(page, self._empty)
        self._staged.clear()
        self._shapes.clear()

    def release(self) -> None:
        """Give every page back to the budget (the owner is going away)."""
        self.pool.clear()

    @property
    def pool(self) -> TexturePool:
        """The slots and pages on the GPU now (``key in pool``), shared with the loader."""
        assert self._pool is not None
        return self._pool

    @property
    def page_shape(self) -> tuple[int, ...]:
        """Texels of one page per axis (array order)."""
        return tuple(g * s for g, s in zip(self.grid, self.slot_shape, strict=True))

    @property
    def reuse_first(self) -> bool:
        """Whether a new piece recycles an unneeded slot before taking a new page."""
        return self._reuse_first

    @reuse_first.setter
    def reuse_first(self, value: bool) -> None:
        self._reuse_first = self.pool.reuse_first = bool(value)

    @property
    def interpolation(self) -> str:
        """'nearest' or 'linear' sampling of every page."""
        return self._interpolation

    @interpolation.setter
    def interpolation(self, value: str) -> None:
        self._interpolation = "nearest" if value == "nearest" else "linear"
        for texture in self._textures.values():
            texture.interpolation = self._interpolation

    # -- staging ------------------------------------------------------------------

    def set_needed(self, keys: Collection[Hashable]) -> None:
        """What the view needs: kept on the GPU; staged pieces it does not need are dropped."""
        self._staged = {k: v for k, v in self._staged.items() if k in keys}
        self.pool.set_needed(keys)

    def stage(self, key: Hashable, piece: np.ndarray) -> None:
        """Queue ``piece`` (texture dtype, at most ``slot_shape``) for a coming upload."""
        if key not in self.pool:
            self._staged[key] = piece

    def clear_staged(self) -> None:
        """Forget every piece not yet uploaded."""
        self._staged.clear()

    @property
    def pending(self) -> int:
        """Staged pieces not yet uploaded."""
        return len(self._staged)

    def upload(self, order: Iterable[Hashable]) -> bool:
        """Upload staged pieces in ``order`` within this frame's byte cap; whether any went."""
        budget = self.upload_bytes_per_frame
        pool = self.pool
        uploaded = new_pages = 0
        for key in [k for k in order if k in self._staged]:
            piece = self._staged[key]
            if budget < piece.nbytes and budget < self.upload_bytes_per_frame:
                break  # the rest waits for the next frame
            if new_pages and not pool.has_free_slot:
                break  # one texture allocation per frame: the next page comes next frame
            pages_before = len(self._textures)
            slot = pool.acquire(key)
            if slot is None:
                self._staged.clear()  # the budget holds only pieces that views need
                break
            del self._staged[key]
            where = self._place(slot, piece.shape)
            self._page_texture(where.page).set_data(piece[..., None], offset=where.origin)
            new_pages += len(self._textures) - pages_before
            self._shapes[key] = where.shape
            budget -= piece.nbytes
            uploaded += 1
        return uploaded > 0

    # -- what the owner reads -----------------------------------------------------

    def slot(self, key: Hashable) -> Slot:
        """Where the resident piece ``key`` lies."""
        return self._place(self.pool.slot(key), self._shapes[key])

    @property
    def evictions(self) -> int:
        """Pieces evicted over this atlas's life."""
        return self._evicted_before + self.pool.evictions

    def gpu_stats(self) -> dict[str, int]:
        """Texture bytes, slots and evictions of this atlas, and the shared budget's use."""
        pool = self.pool
        return {
            "gpu_bytes": pool.nbytes,
            "gpu_slots": pool.n_slots,
            "gpu_evictions": self.evictions,
            "gpu_budget_bytes": self._budget.budget_bytes,
            "gpu_used_bytes": self._budget.used_bytes,
        }

    # -- internals ----------------------------------------------------------------

    def _place(self, slot: int, shape: tuple[int, ...]) -> Slot:
        page, local = divmod(slot, self.pool.slots_per_page)
        cell = np.unravel_index(local, self.grid)
        origin = tuple(int(c) * s for c, s in zip(cell, self.slot_shape, strict=True))
        return Slot(page, origin, tuple(int(s) for s in shape))

    def _page_texture(self, page: int) -> Texture:
        texture = self._textures.get(page)
        if texture is None:
            texture = self._texture_type(
                shape=(*self.page_shape, 1),
                format="red",
                internalformat=self.fmt.internalformat,
                interpolation=self._interpolation,
                wrapping="clamp_to_edge",
            )
            self._textures[page] = texture
            self._bind(page, texture)
        return texture

    def _drop_page(self, page: int) -> None:
        """The budget took ``page`` back: free its texture."""
        texture = self._textures.pop(page, None)
        if texture is not None:
            self._bind(page, self._empty)
            texture.delete()
        self._on_page_dropped()


def page_grid(
    slot_shape: tuple[int, ...],
    bytes_per_texel: int,
    max_slots: int | None,
    max_bytes: int | None,
    max_size: int,
) -> tuple[int, ...]:
    """Slots per axis on one page (array order).

    A page is about ``PAGE_SIDE`` texels a side (at least two slots across),
    no larger than the owner needs (``max_slots``) or its byte cap, and within
    the GPU's texture size. Slots are spread evenly over the axes, the last
    axis filled first.
    """
    side = min(max_size, max(PAGE_SIDE, 2 * max(slot_shape)))
    most = [max(1, side // s) for s in slot_shape]
    n = math.prod(most)
    if max_slots is not None:
        n = min(n, max(1, max_slots))
    if max_bytes is not None:
        n = min(n, max(1, max_bytes // (math.prod(slot_shape) * bytes_per_texel)))
    grid = [1] * len(slot_shape)
    placed = 1
    for axis in range(len(slot_shape) - 1, 0, -1):  # all but the first: even shares
        share = math.ceil((n / placed) ** (1 / (axis + 1)) - 1e-9)
        grid[axis] = min(most[axis], max(1, share))
        placed *= grid[axis]
    first = min(most[0], max(1, math.ceil(n / placed)))
    if max_bytes is not None:  # a last partial row must not exceed the cap
        first = min(first, max(1, n // placed))
    grid[0] = first
    return tuple(grid)
