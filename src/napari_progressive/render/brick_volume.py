"""The 3D visual: a multi-resolution brick volume, ray marched level by level.

* Bricks live in slots of a 3D ``TextureAtlas`` under the shared GPU budget;
  the loader stages them, and they are uploaded at draw time within the
  per-frame byte cap.
* After each change of plan or residency the page table is baked on the CPU
  (``core.page_table``): every cell names the finest resident brick there, so
  a missing brick shows its nearest coarser ancestor, never a hole.
* The ray march (``render.volume_shader``) samples each brick segment at its
  own level, in every napari rendering mode; the colour and LUT are the
  shared snippets of ``render.shaders``. Failed bricks are hatched in the
  failure colour; the scale-debug overlay tints and outlines bricks by level.
* Positions are level-0 data coordinates relative to a local origin near the
  camera's centre, and the transforms are folded in float64, so a 2^20-voxel
  volume renders without float32 jitter.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from vispy.gloo import IndexBuffer, Texture2D, Texture3D, VertexBuffer
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual
from vispy.visuals.transforms import MatrixTransform

from napari_progressive.core.bricks import BRICK_TEXELS
from napari_progressive.core.page_table import (
    MAX_SLOTS_PER_PAGE,
    UNKNOWN_RANGE,
    bake_page_table,
)
from napari_progressive.render.atlas import TextureAtlas
from napari_progressive.render.folding import folded_matrix, snapped_origin
from napari_progressive.render.gl_info import software_gl
from napari_progressive.render.palette import level_colour
from napari_progressive.render.shaders import (
    init_colour,
    page_lookup,
    set_colour,
    set_label_colours,
)
from napari_progressive.render.volume_shader import (
    FRAGMENT,
    MAX_CLIPPING_PLANES,
    MAX_ROWS,
    MODES,
    OUTLINE_PX,
    VERTEX,
    clip_tests,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from vispy.gloo.texture import BaseTexture

    from napari_progressive.core.bricks import BrickKey
    from napari_progressive.core.formats import TextureFormat
    from napari_progressive.core.geometry import Level, LevelMapping
    from napari_progressive.core.plane_planner import SlicingPlane
    from napari_progressive.core.residency import GpuBudget, TexturePool
    from napari_progressive.core.volume_planner import ClipPlane, PlannedBrick, VolumePlan

# The box's corners (x, y, z as 0/1) and a strip whose front faces point outward.
_CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
    dtype=np.float64,
)
_STRIP = np.array([2, 6, 0, 4, 5, 6, 7, 2, 3, 0, 1, 5, 3, 7], dtype=np.uint32)


class BrickVolumeVisual(Visual):
    """Ray marches the resident bricks of a ``VolumePlan``, the finest level per place."""

    def __init__(
        self,
        levels: Sequence[Level],
        mappings: Sequence[LevelMapping],
        displayed: tuple[int, int, int],
        fmt: TextureFormat,
        gpu_budget: GpuBudget,
        max_bytes: int | None = None,
        max_bricks: int | None = None,
        max_texture_size: int = 2048,
        upload_bytes_per_frame: int = 4 * 2**20,
    ) -> None:
        self._to_render = MatrixTransform()
        self._to_document = MatrixTransform()
        self._from_document = MatrixTransform()
        super().__init__(vcode=VERTEX, fcode=FRAGMENT)
        self._n_clip = -1  # clipping planes the shader tests
        self._coarse_drawn = False  # the latest frame had longer steps than full quality
        self._upload_base = upload_bytes_per_frame
        self._last_upload = 0.0
        self._draw_mode = "triangle_strip"
        self._index_buffer = IndexBuffer(_STRIP)
        self.set_gl_state("translucent", cull_face=False)
        self._mappings = tuple(mappings)
        self._budget = gpu_budget
        self._plan: VolumePlan | None = None
        self._failed: frozenset[BrickKey] = frozenset()
        self._table_dirty = True
        self._drawn: list[PlannedBrick] = []
        self._shows_any = False  # whether the page table names any brick
        self._origin = np.zeros(3)  # displayed order (depth, rows, columns)
        self._vertices = VertexBuffer(np.zeros((8, 3), np.float32))
        self.shared_program["a_position"] = self._vertices
        self.set_displayed(levels, displayed)
        self._atlas = TextureAtlas(
            (BRICK_TEXELS,) * 3,
            fmt,
            gpu_budget,
            bind=self._bind_page,
            on_page_dropped=self._page_dropped,
            max_bytes=max_bytes,
            max_slots=_slots_per_page(fmt, gpu_budget, max_bricks),
            max_texture_size=max_texture_size,
            upload_bytes_per_frame=upload_bytes_per_frame,
        )
        self._use_format(fmt)
        init_colour(self.shared_program, fmt.value_scale)
        self._pages = 0
        self._use_pages(1)
        self.shared_program["u_table"] = Texture3D(np.zeros((1, 1, 1, 4), np.uint8))
        self.shared_program["u_ranges"] = Texture3D(
            np.zeros((1, 1, 1, 2), np.float32), format="rg", internalformat="rg32f"
        )
        self._ranges: dict[BrickKey, tuple[float, float]] = {}
        self.shared_program["u_table_shape"] = (1.0, 1.0, 1.0)
        self._rows = Texture2D(
            np.zeros((MAX_ROWS, 4, 4), np.float32),
            interpolation="nearest",
            internalformat="rgba32f",
        )
        self.shared_program["u_rows"] = self._rows
        self.shared_program["u_n_rows"] = 0.0
        self.shared_program["u_nudge"] = 1e-3
        self.shared_program["u_outline"] = OUTLINE_PX
        self.overlay = False
        self.shared_program["u_unit"] = 1.0
        self.relative_step_size = 0.8
        self.coarse_steps = 1.0
        self.threshold = 0.5
        self.attenuation = 0.05
        self.set_cutoffs(None)
        self.set_clipping_planes(())
        self.set_slicing_plane(None)
        self.method = "mip"

    # -- state set by the owner (no GL work here; draw time does it) ----------

    def set_displayed(self, levels: Sequence[Level], displayed: tuple[int, int, int]) -> None:
        """Show the level-0 box of ``levels`` along ``displayed`` (depth, rows, columns)."""
        shape = np.asarray([levels[0].shape[a] for a in displayed], dtype=float)
        self._box = (np.full(3, -0.5), shape - 0.5)  # level-0 voxel edges, displayed order
        self._displayed = displayed
        self._set_origin(self._origin)

    def set_plan(self, plan: VolumePlan, failed: Collection[BrickKey] = ()) -> None:
        """What the current view needs; staged bricks it no longer needs are dropped.

        Where a planned brick of ``failed`` lies, the render is hatched in the
        failure colour (over its coarser fallback, if one is resident).
        """
        self._plan = plan
        keys = plan.keys
        self._failed = frozenset(k for k in failed if k in keys)
        self._atlas.set_needed(plan.gpu_keys)
        px = plan.view.data_per_screen_px
        self._set_origin(snapped_origin(np.asarray(plan.view.centre), px))
        finest = min((b.key.level for b in plan.bricks), default=0)
        axes = list(self._displayed)
        self.shared_program["u_unit"] = float(np.min(self._mappings[finest].factor[axes]))
        self.shared_program["u_outline"] = OUTLINE_PX * float(px)
        self._table_dirty = True
        self.update()

    def clear_plan(self) -> None:
        """Draw nothing; resident bricks stay until the budget needs their slots."""
        self._plan = None
        self._atlas.set_needed(())
        self._drawn = []
        self._shows_any = False
        self.update()

    def stage(self, key: BrickKey, brick: np.ndarray, values: tuple[float, float] | None) -> None:
        """Queue ``brick`` (``BRICK_TEXELS`` a side, texture dtype) for upload at a coming draw.

        ``values`` is the brick's value range, computed by the worker that
        made it (``core.page_table.value_range``); None: unknown, never skipped.
        """
        if self._plan is not None and key in self._plan.gpu_keys:
            self._atlas.stage(key, brick)
            self._ranges[key] = UNKNOWN_RANGE if values is None else values

    def forget_tiles(self, fmt: TextureFormat) -> None:
        """Drop every brick (their texture values changed); hold ``fmt`` now."""
        self._atlas.reset(fmt)
        self._ranges = {}
        self._use_format(fmt)
        self._table_dirty = True
        self.update()

    def release(self) -> None:
        """Give every page back to the budget (the visual is going away)."""
        self._atlas.release()

    def set_colour(self, clim: tuple[float, float], gamma: float, lut: np.ndarray) -> None:
        """Contrast limits (data units), gamma and a (256, 4) RGBA colour table."""
        set_colour(self.shared_program, clim, gamma, lut)
        self.update()

    def set_label_colours(self, table: np.ndarray) -> None:
        """Show texture values as labels: value ``i`` is drawn in ``table[i]`` (RGBA)."""
        set_label_colours(self.shared_program, table)
        self.update()

    def set_cutoffs(self, clim: tuple[float, float] | None) -> None:
        """Discard rays whose mip (minip) stays below (above) ``clim`` (None: keep all)."""
        low, high = (-3e38, 3e38) if clim is None else (float(clim[0]), float(clim[1]))
        self.shared_program["u_mip_cutoff"] = low
        self.shared_program["u_minip_cutoff"] = high
        self.update()

    def set_slicing_plane(self, plane: SlicingPlane | None) -> None:
        """Show only the slab of ``plane`` (napari's plane depiction), or the volume (None)."""
        self._slicing_plane = plane
        self.shared_program["u_plane_on"] = 0.0 if plane is None else 1.0
        position = self._origin if plane is None else np.asarray(plane.position, dtype=float)
        normal = (1.0, 0.0, 0.0) if plane is None else plane.normal
        thickness = 0.0 if plane is None else float(plane.thickness)
        local = position - self._origin
        self.shared_program["u_plane_pos"] = tuple(float(v) for v in local[::-1])
        self.shared_program["u_plane_normal"] = tuple(float(v) for v in normal[::-1])
        self.shared_program["u_plane_half"] = max(thickness / 2, PLANE_MIN_HALF)
        self.update()

    def set_clipping_planes(self, planes: Sequence[ClipPlane]) -> None:
        """Clip to the kept side of each plane (level-0 data coordinates, displayed order)."""
        planes = tuple(planes)[:MAX_CLIPPING_PLANES]
        self._clipping_planes = planes
        if len(planes) != self._n_clip:  # the shader is rebuilt on a change
            self._n_clip = len(planes)
            self.shared_program.frag["clip_tests"] = clip_tests(len(planes))
        for i in range(MAX_CLIPPING_PLANES):
            pos, normal = planes[i] if i < len(planes) else ((0.0,) * 3, (0.0, 0.0, 1.0))
            local = np.asarray(pos, dtype=float) - self._origin
            self.shared_program[f"u_clip_pos{i}"] = tuple(float(v) for v in local[::-1])
            self.shared_program[f"u_clip_normal{i}"] = tuple(float(v) for v in normal[::-1])
        self.update()

    @property
    def method(self) -> str:
        """The rendering mode: one of ``MODES`` (napari's ``rendering``)."""
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"rendering {value!r} is not one of {sorted(MODES)}")
        self._method = value
        for name, code in MODES[value].items():
            self.shared_program.frag[name] = code
        self.update()

    @property
    def relative_step_size(self) -> float:
        """The ray's step in voxels of the level it samples."""
        return self._relative_step_size

    @relative_step_size.setter
    def relative_step_size(self, value: float) -> None:
        self._relative_step_size = max(float(value), 0.1)
        self.shared_program["u_relative_step_size"] = self._relative_step_size
        self.update()

    @property
    def threshold(self) -> float:
        """The iso surface's value (data units)."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = float(value)
        self.shared_program["u_threshold"] = self._threshold
        self.update()

    @property
    def attenuation(self) -> float:
        """How fast attenuated mip fades with depth."""
        return self._attenuation

    @attenuation.setter
    def attenuation(self, value: float) -> None:
        self._attenuation = float(value)
        self.shared_program["u_attenuation"] = self._attenuation
        self.update()

    @property
    def interpolation(self) -> str:
        """'nearest' or 'linear' sampling of the bricks."""
        return self._atlas.interpolation

    @interpolation.setter
    def interpolation(self, value: str) -> None:
        self._atlas.interpolation = value
        self.update()

    @property
    def overlay(self) -> bool:
        """Whether bricks are tinted and outlined in their level's colour (scale-debug overlay)."""
        return bool(self._overlay)

    @overlay.setter
    def overlay(self, on: bool) -> None:
        self._overlay = bool(on)
        self.shared_program["u_overlay"] = 1.0 if on else 0.0
        self.update()

    # -- what the owner reads ---------------------------------------------------

    @property
    def residency(self) -> TexturePool:
        """The bricks on the GPU now, shared with the loader."""
        return self._atlas.pool

    @property
    def needs_redraw(self) -> bool:
        """Whether what was drawn lags behind the plan, the uploads or full quality."""
        behind = self._table_dirty or self._atlas.pending > 0 or self._coarse_drawn
        return self._plan is not None and behind

    @property
    def coarse_steps(self) -> float:
        """How many times longer the ray steps are than ``relative_step_size`` (1: full quality).

        A cheaper frame while the camera moves; a frame drawn with longer steps
        leaves ``needs_redraw`` set until one is drawn at full quality.
        """
        return self._coarse_steps

    @coarse_steps.setter
    def coarse_steps(self, value: float) -> None:
        self._coarse_steps = max(1.0, float(value))
        self.shared_program["u_coarse_steps"] = self._coarse_steps
        self.update()

    @property
    def pending_uploads(self) -> int:
        """Staged bricks not yet uploaded."""
        return self._atlas.pending

    def drawn(self) -> list[PlannedBrick]:
        """The planned bricks the latest frame could sample, coarse first."""
        return list(self._drawn)

    def gpu_stats(self) -> dict[str, int]:
        """Texture bytes, slots and evictions of this visual, and the shared budget's use."""
        return self._atlas.gpu_stats()

    @property
    def capacity(self) -> int:
        """Bricks this visual may plan: the whole pages of its share of the budget.

        Layers drawing at once share the budget equally (``GpuBudget.share_bytes``),
        so that each plans what it can hold and completes, rather than all
        planning the whole budget and each holding a part of its plan.
        """
        pool = self._atlas.pool
        pages = min(pool.max_pages, max(1, self._budget.share_bytes(pool) // pool.page_bytes))
        return pages * pool.slots_per_page

    # -- vispy hooks --------------------------------------------------------------

    def _prepare_transforms(self, view: Visual) -> None:
        view.view_program.vert["transform"] = self._to_render
        view.view_program.vert["viewtransformf"] = self._to_document
        view.view_program.vert["viewtransformi"] = self._from_document
        view.view_program.frag["viewtransformf"] = self._to_document

    def _compute_bounds(self, axis: int, view: Visual) -> tuple[float, float]:
        lo, hi = self._box
        return float(lo[::-1][axis] - self._origin[::-1][axis]), float(
            hi[::-1][axis] - self._origin[::-1][axis]
        )

    def _prepare_draw(self, view: Visual) -> bool:
        plan = self._plan
        if plan is None:
            return False
        if self._atlas.pending:
            # every page in use costs every sample on a software rasteriser
            self._atlas.reuse_first = software_gl()
            self._atlas.upload_bytes_per_frame = self._upload_cap()
            if self._atlas.upload(b.key for b in plan.pieces):
                self._table_dirty = True
            if self._atlas.pending:
                self.update()
        if self._table_dirty:
            self._bake()
        self._coarse_drawn = self._coarse_steps > 1.0
        self._use_pages(max(self._atlas.pool.pages, default=0) + 1)
        origin = self._origin[::-1]
        transforms = view.transforms
        self._to_render.matrix = folded_matrix(transforms.get_transform(), origin)
        to_document = folded_matrix(transforms.get_transform("visual", "document"), origin)
        self._to_document.matrix = to_document
        self._from_document.matrix = np.linalg.inv(to_document)
        return self._shows_any

    # -- internals ----------------------------------------------------------------

    def _set_origin(self, origin: np.ndarray) -> None:
        """Positions are relative to ``origin`` (level-0 data, displayed order) from now on."""
        self._origin = np.asarray(origin, dtype=float)
        lo, hi = self._box
        corners = lo + _CORNERS[:, ::-1] * (hi - lo) - self._origin  # displayed order
        self._vertices.set_data(np.ascontiguousarray(corners[:, ::-1], dtype=np.float32))
        self.shared_program["u_box_lo"] = tuple(float(v) for v in (lo - self._origin)[::-1])
        self.shared_program["u_box_hi"] = tuple(float(v) for v in (hi - self._origin)[::-1])
        if hasattr(self, "_clipping_planes"):
            self.set_clipping_planes(self._clipping_planes)
        if hasattr(self, "_slicing_plane"):
            self.set_slicing_plane(self._slicing_plane)

    def _use_format(self, fmt: TextureFormat) -> None:
        self.shared_program["u_page_shape"] = tuple(float(n) for n in self._atlas.page_shape[::-1])
        self.shared_program["u_slot_grid"] = tuple(float(n) for n in self._atlas.grid[::-1])
        self.shared_program["u_value_scale"] = fmt.value_scale

    def _upload_cap(self) -> int:
        """Bytes to upload now: the base cap per 30th of a second since the last upload.

        A software-GL frame of a second uploads 30 times the base, so slow
        frames do not hold the view back (at most ``MAX_UPLOAD_BYTES``).
        """
        now = time.perf_counter()
        since, self._last_upload = now - self._last_upload, now
        return int(min(MAX_UPLOAD_BYTES, self._upload_base * max(1.0, since * 30.0)))

    def _use_pages(self, pages: int) -> None:
        """Sample from the first ``pages`` pages (the shader is rebuilt when that changes)."""
        if pages != self._pages:
            self._pages = pages
            self.shared_program.frag["page_lookup"] = page_lookup(3, pages)

    def _bind_page(self, page: int, texture: BaseTexture) -> None:
        self.shared_program[f"u_page{page}"] = texture

    def _page_dropped(self) -> None:
        self._table_dirty = True
        self.update()

    def _bake(self) -> None:
        """Rebuild the page table from the plan and the bricks on the GPU."""
        assert self._plan is not None
        pool = self._atlas.pool
        slots: dict[BrickKey, tuple[int, int]] = {
            key: divmod(pool.slot(key), pool.slots_per_page)  # type: ignore[misc]
            for key in pool.keys()  # noqa: SIM118 - a pool is not a mapping
        }
        kept = self._plan.gpu_keys
        self._ranges = {k: r for k, r in self._ranges.items() if k in slots or k in kept}
        table = bake_page_table(
            self._plan,
            self._mappings,
            slots,
            self._origin,
            level_colour,
            self._failed,
            self._ranges,
        )
        self.shared_program["u_table"] = Texture3D(table.cells, interpolation="nearest")
        self.shared_program["u_ranges"] = Texture3D(
            table.ranges, interpolation="nearest", format="rg", internalformat="rg32f"
        )
        d, r, c = table.shape
        self.shared_program["u_table_shape"] = (float(c), float(r), float(d))
        rows = np.zeros((MAX_ROWS, 4, 4), np.float32)
        rows[: len(table.rows)] = table.rows[:MAX_ROWS]
        self._rows.set_data(rows)
        self.shared_program["u_n_rows"] = float(min(len(table.rows), MAX_ROWS))
        self._drawn = [b for b in self._plan.bricks if b.key in pool]
        # another slice's bricks (the previous time point) show until this slice's land
        self._shows_any = bool(table.cells[..., 3].any())
        self._table_dirty = False


#: Half the slab of a plane of thickness 0, in level-0 voxels (it still shows a plane).
PLANE_MIN_HALF = 0.5
#: Bytes uploaded in one frame at most, however slow the frames.
MAX_UPLOAD_BYTES = 64 * 2**20
#: Bytes of one brick page at most: pages come and go whole under the budget.
MAX_PAGE_BYTES = 64 * 2**20


def _slots_per_page(fmt: TextureFormat, budget: GpuBudget, max_bricks: int | None) -> int:
    """Bricks on one page: within ``MAX_PAGE_BYTES``, a quarter of the budget, 2^16."""
    brick_bytes = BRICK_TEXELS**3 * fmt.bytes_per_texel
    fit = min(MAX_PAGE_BYTES, budget.budget_bytes // 4) // brick_bytes
    return int(max(1, min(fit, max_bricks or MAX_SLOTS_PER_PAGE, MAX_SLOTS_PER_PAGE)))


BrickVolume = create_visual_node(BrickVolumeVisual)
