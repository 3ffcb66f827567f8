"""The 2D visual: a pyramid's tiles drawn from one texture atlas (``render.atlas``).

* Tiles are drawn in one call, coarse first, so finer data covers coarser
  data and the view is never blank; tiles hidden entirely under finer ones
  are not drawn at all. Tiles whose chunks failed are hatched.
* Tiles are staged by the loader and uploaded at draw time within the
  atlas's per-frame byte cap.
* Colour, labels and the scale-debug overlay are the shared snippets of
  ``render.shaders``.
* Vertex positions are relative to a local origin and the data-to-render
  transform is folded on the CPU in float64, so tiles stay exact at
  coordinates far beyond float32's 24-bit mantissa.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from vispy.gloo import VertexBuffer
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual
from vispy.visuals.transforms import MatrixTransform

from napari_progressive.core.coverage import draw_list
from napari_progressive.render.atlas import TextureAtlas
from napari_progressive.render.folding import folded_matrix, snapped_origin
from napari_progressive.render.palette import level_colour
from napari_progressive.render.shaders import (
    COLOUR,
    FAILED_HATCH,
    LEVEL_OVERLAY,
    init_colour,
    page_sampling,
    set_colour,
    set_label_colours,
)

if TYPE_CHECKING:
    from collections.abc import Collection

    from napari_progressive.core.formats import TextureFormat
    from napari_progressive.core.planner import Plan, PlannedTile, TileKey
    from napari_progressive.core.residency import GpuBudget, TexturePool
    from napari_progressive.render.atlas import Texture

_VERTEX = """
attribute vec2 a_position;
attribute vec2 a_texcoord;
attribute vec4 a_slot;
attribute float a_page;
attribute vec2 a_local;
attribute vec3 a_colour;
attribute float a_failed;
varying vec2 v_texcoord;
varying vec4 v_slot;
varying float v_page;
varying vec2 v_local;
varying vec3 v_colour;
varying float v_failed;
void main() {
    v_texcoord = a_texcoord;
    v_slot = a_slot;
    v_page = a_page;
    v_local = a_local;
    v_colour = a_colour;
    v_failed = a_failed;
    gl_Position = $transform(vec4(a_position, 0.0, 1.0));
}
"""

_FRAGMENT = (
    page_sampling(2)
    + COLOUR
    + LEVEL_OVERLAY
    + FAILED_HATCH
    + """
uniform vec2 u_page_size;
varying vec2 v_texcoord;
varying vec4 v_slot;
varying float v_page;
varying vec2 v_local;
varying vec3 v_colour;
varying float v_failed;
void main() {
    if (v_failed > 0.5) {
        gl_FragColor = failed_hatch();
        return;
    }
    vec2 tc = clamp(v_texcoord, v_slot.xy + 0.5, v_slot.zw - 0.5) / u_page_size;
    float v = data_value(page_texel(v_page, tc));
    if (v != v) discard;
    gl_FragColor = level_overlay(colour_of(v), v_colour, v_local);
}
"""
)

_VERTEX_DTYPE = np.dtype(
    [
        ("a_position", np.float32, 2),
        ("a_texcoord", np.float32, 2),
        ("a_slot", np.float32, 4),
        ("a_page", np.float32),
        ("a_local", np.float32, 2),
        ("a_colour", np.float32, 3),
        ("a_failed", np.float32),
    ]
)
# Two triangles per quad, as (x, y) corner fractions.
_QUAD = np.array([(0, 0), (1, 0), (1, 1), (0, 0), (1, 1), (0, 1)], dtype=np.float32)


class TiledImageVisual(Visual):
    """Draws the resident tiles of a ``Plan`` from a budgeted texture atlas."""

    def __init__(
        self,
        tile_shape: tuple[int, int],
        fmt: TextureFormat,
        gpu_budget: GpuBudget,
        max_bytes: int | None = None,
        max_tiles: int | None = None,
        max_texture_size: int = 8192,
        upload_bytes_per_frame: int = 2 * 2**20,
    ) -> None:
        self._local_transform = MatrixTransform()
        super().__init__(vcode=_VERTEX, fcode=_FRAGMENT)
        self._draw_mode = "triangles"
        self.set_gl_state("translucent", depth_test=False, cull_face=False)
        self._plan: Plan | None = None
        self._failed: frozenset[TileKey] = frozenset()
        self._drawn: list[PlannedTile] = []
        self._underlay: list[PlannedTile] = []
        self._origin = np.zeros(2)
        self._geometry_dirty = True
        self._vbo = VertexBuffer(np.zeros(0, _VERTEX_DTYPE))
        self._n_vertices = 0
        self._atlas = TextureAtlas(
            (int(tile_shape[0]), int(tile_shape[1])),
            fmt,
            gpu_budget,
            bind=self._bind_page,
            on_page_dropped=self._page_dropped,
            max_bytes=max_bytes,
            max_slots=max_tiles,
            max_texture_size=max_texture_size,
            upload_bytes_per_frame=upload_bytes_per_frame,
        )
        self._use_format(fmt)
        init_colour(self.shared_program, fmt.value_scale)
        self.overlay = False

    def release(self) -> None:
        """Give every page back to the budget (the visual is going away)."""
        self._atlas.release()

    # -- state set by the owner (no GL work here; draw time does it) ----------

    def set_plan(self, plan: Plan, failed: Collection[TileKey] = ()) -> None:
        """What the current view needs; drops staged tiles it no longer needs.

        What the previous view drew stays beneath the new plan's tiles until
        they cover it (a moved slider keeps showing the last plane, never black).
        """
        if self._plan is not None and plan.view.displayed == self._plan.view.displayed:
            self._underlay = [t for t in self._drawn if t.key not in plan.keys]
        else:
            self._underlay = []
        self._plan = plan
        self._failed = frozenset(failed) & plan.keys
        self._atlas.set_needed(plan.keys)
        self._geometry_dirty = True
        self.update()

    def clear_plan(self) -> None:
        """Draw nothing (e.g. the canvas shows 3D); resident tiles stay cached."""
        self._plan = None
        self._atlas.set_needed(())
        self._drawn = []
        self._underlay = []
        self._n_vertices = 0
        self._geometry_dirty = True
        self.update()

    def stage(self, key: TileKey, tile: np.ndarray, values: tuple[float, float] | None) -> None:
        """Queue ``tile`` (2D, texture dtype) for upload at a coming draw (``values``: unused)."""
        if self._plan is not None and key in self._plan.keys:
            self._atlas.stage(key, tile)

    def forget_tiles(self, fmt: TextureFormat) -> None:
        """Drop every resident and staged tile (their texture values changed); hold ``fmt`` now."""
        self._atlas.reset(fmt)
        self._use_format(fmt)
        self._geometry_dirty = True
        self.update()

    def set_label_colours(self, table: np.ndarray) -> None:
        """Show texture values as labels: value ``i`` is drawn in ``table[i]`` (RGBA)."""
        set_label_colours(self.shared_program, table)
        self.update()

    def set_colour(self, clim: tuple[float, float], gamma: float, lut: np.ndarray) -> None:
        """Contrast limits (data units), gamma and a (256, 4) RGBA colour table."""
        set_colour(self.shared_program, clim, gamma, lut)
        self.update()

    @property
    def interpolation(self) -> str:
        """'nearest' or 'linear' sampling of the data."""
        return self._atlas.interpolation

    @interpolation.setter
    def interpolation(self, value: str) -> None:
        self._atlas.interpolation = value
        self.update()

    @property
    def overlay(self) -> bool:
        """Whether the scale-debug overlay (tint + outlines per level) is drawn."""
        return self._overlay

    @overlay.setter
    def overlay(self, on: bool) -> None:
        self._overlay = bool(on)
        self.shared_program["u_overlay"] = 1.0 if on else 0.0
        self.update()

    # -- what the owner reads ---------------------------------------------------

    @property
    def residency(self) -> TexturePool:
        """The tiles on the GPU now (``key in residency``), shared with the loader."""
        return self._atlas.pool

    @property
    def needs_redraw(self) -> bool:
        """Whether the tiles drawn lag behind the plan or the uploads."""
        return self._plan is not None and (self._geometry_dirty or self._atlas.pending > 0)

    @property
    def pending_uploads(self) -> int:
        """Staged tiles not yet uploaded."""
        return self._atlas.pending

    def gpu_stats(self) -> dict[str, int]:
        """Texture bytes, slots and evictions of this visual, and the shared budget's use."""
        return self._atlas.gpu_stats()

    def drawn(self) -> list[PlannedTile]:
        """Tiles drawn by the latest frame, coarse first."""
        return list(self._drawn)

    # -- vispy hooks --------------------------------------------------------------

    def _prepare_transforms(self, view: Visual) -> None:
        view.view_program.vert["transform"] = self._local_transform

    def _compute_bounds(self, axis: int, view: Visual) -> None:
        return None

    def _prepare_draw(self, view: Visual) -> bool:
        if self._plan is None:
            return False
        if self._atlas.pending:
            if self._atlas.upload(t.key for t in self._plan.tiles):
                self._geometry_dirty = True
            if self._atlas.pending:
                self.update()
        if self._geometry_dirty:
            self._build_geometry()
        if self._n_vertices == 0:
            return False
        self._local_transform.matrix = folded_matrix(view.transforms.get_transform(), self._origin)
        return True

    # -- internals ----------------------------------------------------------------

    def _use_format(self, fmt: TextureFormat) -> None:
        h, w = self._atlas.page_shape
        self.shared_program["u_page_size"] = (float(w), float(h))
        self.shared_program["u_value_scale"] = fmt.value_scale

    def _bind_page(self, page: int, texture: Texture) -> None:
        self.shared_program[f"u_page{page}"] = texture

    def _page_dropped(self) -> None:
        """The budget took a page back: stop drawing its tiles."""
        self._geometry_dirty = True
        self.update()

    def _build_geometry(self) -> None:
        assert self._plan is not None
        plan = self._plan
        self._origin = snapped_origin(
            np.asarray(plan.view.centre[::-1]), plan.view.data_per_screen_px
        )
        tiles = draw_list(plan, self._atlas.pool, self._underlay)
        failed = [t for t in plan.tiles if t.key in self._failed]
        self._drawn = tiles
        verts = np.zeros((len(tiles) + len(failed)) * 6, _VERTEX_DTYPE)
        for i, t in enumerate(tiles + failed):
            self._fill_quad(verts[i * 6 : (i + 1) * 6], t, t.key in self._failed)
        self._vbo.set_data(verts)
        for name in _VERTEX_DTYPE.names or ():  # views record the buffer's size
            self.shared_program[name] = self._vbo[name]
        self._n_vertices = len(verts)
        self._geometry_dirty = False

    def _fill_quad(self, out: np.ndarray, t: PlannedTile, failed: bool) -> None:
        lo = np.array([t.lo[1], t.lo[0]]) - self._origin
        hi = np.array([t.hi[1], t.hi[0]]) - self._origin
        out["a_position"] = lo + _QUAD * (hi - lo)
        out["a_local"] = _QUAD
        out["a_colour"] = level_colour(t.key.level)
        out["a_failed"] = 1.0 if failed else 0.0
        if failed:
            return
        slot = self._atlas.slot(t.key)
        (y0, x0), (h, w) = slot.origin, slot.shape
        out["a_page"] = slot.page
        out["a_texcoord"] = np.array([x0, y0]) + _QUAD * np.array([w, h])
        out["a_slot"] = (x0, y0, x0 + w, y0 + h)


TiledImage = create_visual_node(TiledImageVisual)
