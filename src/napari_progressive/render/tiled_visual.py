"""A vispy visual that draws a pyramid's tiles from one texture atlas.

* Tiles live in slots on up to ``MAX_PAGES`` single-channel textures
  (r8/r16/r32f pages). Pages are granted by one ``GpuBudget`` shared by all
  layers (``core.residency``): slots are recycled least-recently-used first,
  never while the current plan needs them, and a page no view needs can be
  taken over by another layer.
* Tiles are drawn in one call, coarse first, so finer data covers coarser
  data and the view is never blank; tiles hidden entirely under finer ones
  are not drawn at all.
* Uploads are staged by the caller and sent at draw time, at most
  ``upload_bytes_per_frame`` per frame, all in the same frame's batch.
* Vertex positions are relative to a local origin and the data-to-render
  transform is folded on the CPU in float64, so tiles stay exact at
  coordinates far beyond float32's 24-bit mantissa.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from vispy.gloo import Texture2D, VertexBuffer
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual
from vispy.visuals.transforms import MatrixTransform

from napari_progressive.core.coverage import draw_list
from napari_progressive.core.residency import TexturePool
from napari_progressive.render.palette import level_colour

if TYPE_CHECKING:
    from collections.abc import Collection

    from napari_progressive.core.formats import TextureFormat
    from napari_progressive.core.planner import Plan, PlannedTile, TileKey
    from napari_progressive.core.residency import GpuBudget

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

#: Texture pages one visual may hold (each is a sampler: keep pages + 2 <= 16 units).
MAX_PAGES = 12
#: Side of a page in texels, unless tiles are larger.
PAGE_SIDE = 2048

_PAGE_SAMPLERS = "\n".join(f"uniform sampler2D u_page{i};" for i in range(MAX_PAGES))
_PAGE_LOOKUP = "\n".join(
    f"    {'else ' if i else ''}if (page < {i}.5) return texture2D(u_page{i}, tc);"
    for i in range(MAX_PAGES)
)

_FRAGMENT = (
    _PAGE_SAMPLERS
    + """
vec4 page_texel(float page, vec2 tc) {
"""
    + _PAGE_LOOKUP
    + """
    return vec4(0.0);
}
uniform sampler2D u_lut;
uniform vec2 u_page_size;
uniform vec2 u_clim;
uniform float u_value_scale;
uniform float u_gamma;
uniform float u_overlay;
uniform float u_labels;
uniform sampler2D u_label_table;
uniform float u_table_rows;
varying vec2 v_texcoord;
varying vec4 v_slot;
varying float v_page;
varying vec2 v_local;
varying vec3 v_colour;
varying float v_failed;
void main() {
    if (v_failed > 0.5) {
        if (mod(gl_FragCoord.x + gl_FragCoord.y, 12.0) > 5.0) discard;
        gl_FragColor = vec4(1.0, 0.0, 0.0, 0.75);
        return;
    }
    vec2 tc = clamp(v_texcoord, v_slot.xy + 0.5, v_slot.zw - 0.5) / u_page_size;
    float v = page_texel(v_page, tc).r * u_value_scale;
    if (v != v) discard;
    vec4 c;
    if (u_labels > 0.5) {
        float idx = floor(v + 0.5);
        vec2 cell = vec2(mod(idx, 256.0), floor(idx / 256.0)) + 0.5;
        c = texture2D(u_label_table, cell / vec2(256.0, u_table_rows));
    } else {
        float span = u_clim.y - u_clim.x;
        float t = span != 0.0 ? clamp((v - u_clim.x) / span, 0.0, 1.0) : step(u_clim.x, v);
        t = pow(t, u_gamma);
        c = texture2D(u_lut, vec2(t * (255.0 / 256.0) + 0.5 / 256.0, 0.5));
    }
    if (u_overlay > 0.5) {
        c.rgb = mix(c.rgb, v_colour, 0.35);
        vec2 d = min(v_local, 1.0 - v_local) / max(fwidth(v_local), vec2(1e-12));
        if (min(d.x, d.y) < 2.0) c = vec4(v_colour, 1.0);
    }
    gl_FragColor = c;
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
        self._tile = (int(tile_shape[0]), int(tile_shape[1]))
        self._budget = gpu_budget
        self._max_bytes = max_bytes
        self._max_tiles = max_tiles
        self._max_texture_size = int(max_texture_size)
        self._textures: dict[int, Texture2D] = {}
        self._empty_page = Texture2D(np.zeros((1, 1, 1), np.float32), format="red")
        self._interpolation = "nearest"
        self.upload_bytes_per_frame = upload_bytes_per_frame
        self._staged: dict[TileKey, np.ndarray] = {}
        self._sizes: dict[TileKey, tuple[int, int]] = {}
        self._evicted_before = 0
        self._start_atlas(fmt)
        self._plan: Plan | None = None
        self._failed: frozenset[TileKey] = frozenset()
        self._drawn: list[PlannedTile] = []
        self._underlay: list[PlannedTile] = []
        self._origin = np.zeros(2)
        self._geometry_dirty = True
        self._vbo = VertexBuffer(np.zeros(0, _VERTEX_DTYPE))
        self._n_vertices = 0
        self.set_colour(clim=(0.0, fmt.value_scale), gamma=1.0, lut=_grey_lut())
        self.shared_program["u_label_table"] = Texture2D(np.zeros((1, 256, 4), np.float32))
        self.shared_program["u_table_rows"] = 1.0
        self.overlay = False

    def _start_atlas(self, fmt: TextureFormat) -> None:
        """No pages yet, for tiles of ``fmt`` (pages are granted at upload)."""
        previous: TexturePool | None = getattr(self, "_pool", None)
        if previous is not None:
            self._evicted_before += previous.evictions
            previous.clear()
        self._fmt = fmt
        self._cols, self._rows = _page_grid(
            self._tile, fmt, self._max_tiles, self._max_bytes, self._max_texture_size
        )
        page_bytes = self._rows * self._tile[0] * self._cols * self._tile[1] * fmt.bytes_per_texel
        max_pages = MAX_PAGES if self._max_bytes is None else self._max_bytes // page_bytes
        self._pool = TexturePool(
            self._cols * self._rows,
            page_bytes,
            self._budget,
            max(1, min(MAX_PAGES, max_pages)),
            on_page_dropped=self._drop_page,
        )
        for page in range(MAX_PAGES):
            self.shared_program[f"u_page{page}"] = self._empty_page
        h, w = self._page_shape()
        self.shared_program["u_page_size"] = (float(w), float(h))
        self._staged.clear()
        self._sizes.clear()
        self.shared_program["u_value_scale"] = fmt.value_scale

    def _drop_page(self, page: int) -> None:
        """The budget took ``page`` back: free its texture, stop drawing its tiles."""
        texture = self._textures.pop(page, None)
        if texture is not None:
            self.shared_program[f"u_page{page}"] = self._empty_page
            texture.delete()
        self._geometry_dirty = True
        self.update()

    def release(self) -> None:
        """Give every page back to the budget (the visual is going away)."""
        self._pool.clear()

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
        keys = plan.keys
        self._staged = {k: v for k, v in self._staged.items() if k in keys}
        self._pool.set_needed(keys)
        self._geometry_dirty = True
        self.update()

    def clear_plan(self) -> None:
        """Draw nothing (e.g. the canvas shows 3D); resident tiles stay cached."""
        self._plan = None
        self._pool.set_needed(())
        self._staged.clear()
        self._drawn = []
        self._underlay = []
        self._n_vertices = 0
        self._geometry_dirty = True
        self.update()

    def stage(self, key: TileKey, tile: np.ndarray) -> None:
        """Queue ``tile`` (2D, texture dtype) for upload at a coming draw."""
        if key in self._pool or self._plan is None or key not in self._plan.keys:
            return
        self._staged[key] = tile

    def forget_tiles(self, fmt: TextureFormat) -> None:
        """Drop every resident and staged tile (their texture values changed); hold ``fmt`` now."""
        self._start_atlas(fmt)
        self._geometry_dirty = True
        self.update()

    def set_label_colours(self, table: np.ndarray) -> None:
        """Show texture values as labels: value ``i`` is drawn in ``table[i]`` (RGBA).

        ``table`` has 256 (r8) or 65536 (r16) rows; no contrast limits or gamma apply.
        """
        rows = max(1, len(table) // 256)
        grid = np.ascontiguousarray(table, dtype=np.float32).reshape(rows, 256, 4)
        self.shared_program["u_label_table"] = Texture2D(
            grid, interpolation="nearest", wrapping="clamp_to_edge"
        )
        self.shared_program["u_table_rows"] = float(rows)
        self.shared_program["u_labels"] = 1.0
        self.update()

    def set_colour(self, clim: tuple[float, float], gamma: float, lut: np.ndarray) -> None:
        """Contrast limits (data units), gamma and a (256, 4) RGBA colour table."""
        self.shared_program["u_labels"] = 0.0
        self.shared_program["u_clim"] = (float(clim[0]), float(clim[1]))
        self.shared_program["u_gamma"] = float(gamma)
        lut = np.ascontiguousarray(lut, dtype=np.float32).reshape(1, -1, 4)
        self.shared_program["u_lut"] = Texture2D(
            lut, interpolation="linear", wrapping="clamp_to_edge"
        )
        self.update()

    @property
    def interpolation(self) -> str:
        """'nearest' or 'linear' sampling of the data."""
        return self._interpolation

    @interpolation.setter
    def interpolation(self, value: str) -> None:
        self._interpolation = "nearest" if value == "nearest" else "linear"
        for texture in self._textures.values():
            texture.interpolation = self._interpolation
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
        return self._pool

    def resident(self) -> frozenset[TileKey]:
        """Keys whose tiles are on the GPU now."""
        return self._pool.keys()  # type: ignore[return-value]

    @property
    def needs_redraw(self) -> bool:
        """Whether the tiles drawn lag behind the plan or the uploads."""
        return self._plan is not None and (self._geometry_dirty or bool(self._staged))

    @property
    def pending_uploads(self) -> int:
        """Staged tiles not yet uploaded."""
        return len(self._staged)

    def gpu_stats(self) -> dict[str, int]:
        """Texture bytes, slots and evictions of this visual, and the shared budget's use."""
        return {
            "gpu_bytes": self._pool.nbytes,
            "gpu_slots": self._pool.n_slots,
            "gpu_evictions": self._evicted_before + self._pool.evictions,
            "gpu_budget_bytes": self._budget.budget_bytes,
            "gpu_used_bytes": self._budget.used_bytes,
        }

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
        if self._staged:
            self._upload()
        if self._geometry_dirty:
            self._build_geometry()
        if self._n_vertices == 0:
            return False
        self._local_transform.matrix = _folded_matrix(view.transforms.get_transform(), self._origin)
        return True

    # -- internals ----------------------------------------------------------------

    def _page_shape(self) -> tuple[int, int]:
        return self._rows * self._tile[0], self._cols * self._tile[1]

    def _page_texture(self, page: int) -> Texture2D:
        texture = self._textures.get(page)
        if texture is None:
            h, w = self._page_shape()
            texture = Texture2D(
                shape=(h, w, 1),
                format="red",
                internalformat=self._fmt.internalformat,
                interpolation=self._interpolation,
                wrapping="clamp_to_edge",
            )
            self._textures[page] = texture
            self.shared_program[f"u_page{page}"] = texture
        return texture

    def _upload(self) -> None:
        assert self._plan is not None
        budget = self.upload_bytes_per_frame
        per_page = self._pool.slots_per_page
        new_pages = 0
        for key in [t.key for t in self._plan.tiles if t.key in self._staged]:
            tile = self._staged[key]
            if budget < tile.nbytes and budget < self.upload_bytes_per_frame:
                break  # the rest waits for the next frame
            if new_pages and not self._pool.has_free_slot:
                break  # one texture allocation per frame: the next page comes next frame
            pages_before = len(self._textures)
            slot = self._pool.acquire(key)
            if slot is None:
                self._staged.clear()  # the budget holds only tiles that views need
                break
            del self._staged[key]
            page, local = divmod(slot, per_page)
            row, col = divmod(local, self._cols)
            self._page_texture(page).set_data(
                tile[..., None], offset=(row * self._tile[0], col * self._tile[1])
            )
            new_pages += len(self._textures) - pages_before
            self._sizes[key] = tile.shape[:2]
            budget -= tile.nbytes
            self._geometry_dirty = True
        if self._staged:
            self.update()

    def _build_geometry(self) -> None:
        assert self._plan is not None
        plan = self._plan
        self._origin = _snapped_origin(plan)
        tiles = draw_list(plan, self.resident(), self._underlay)
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
        h, w = self._sizes[t.key]
        page, local = divmod(self._pool.slot(t.key), self._pool.slots_per_page)
        row, col = divmod(local, self._cols)
        x0, y0 = col * self._tile[1], row * self._tile[0]
        out["a_page"] = page
        out["a_texcoord"] = np.array([x0, y0]) + _QUAD * np.array([w, h])
        out["a_slot"] = (x0, y0, x0 + w, y0 + h)


def _snapped_origin(plan: Plan) -> np.ndarray:
    """A local origin (x, y) near the view that stays put during small pans.

    Snapped to a grid of about 4096 screen pixels: vertices within a few
    thousand screen pixels of it are exact in float32.
    """
    step = 2.0 ** np.ceil(np.log2(max(plan.view.data_per_screen_px, 1e-12) * 4096))
    return np.floor(np.asarray(plan.view.centre[::-1]) / step) * step


def _page_grid(
    tile: tuple[int, int],
    fmt: TextureFormat,
    max_tiles: int | None,
    max_bytes: int | None,
    max_size: int,
) -> tuple[int, int]:
    """Columns and rows of tile slots on one page.

    A page is about ``PAGE_SIDE`` texels square (at least two tiles across),
    no larger than the layer's whole pyramid needs (``max_tiles``) or its own
    byte cap, and within the GPU's texture size.
    """
    side = min(max_size, max(PAGE_SIDE, 2 * max(tile)))
    max_cols = max(1, side // tile[1])
    max_rows = max(1, side // tile[0])
    n = max_cols * max_rows
    if max_tiles is not None:
        n = min(n, max(1, max_tiles))
    if max_bytes is not None:
        n = min(n, max(1, max_bytes // (tile[0] * tile[1] * fmt.bytes_per_texel)))
    cols = min(max_cols, max(1, math.ceil(math.sqrt(n))))
    rows = min(max_rows, max(1, math.ceil(n / cols)))
    if max_bytes is not None:  # a last partial row must not exceed the cap
        rows = min(rows, max(1, n // cols))
    return cols, rows


def _folded_matrix(transform: object, origin: np.ndarray) -> np.ndarray:
    """The affine data-to-render matrix for positions relative to ``origin``.

    Evaluated in float64 so that no large coordinate reaches the shader.
    """
    o = np.array([origin[0], origin[1], 0.0, 1.0])
    pts = o + np.vstack([np.zeros(4), np.eye(4)[:3]])
    mapped = np.asarray(transform.map(pts), dtype=np.float64)  # type: ignore[attr-defined]
    m = np.empty((4, 4))
    m[3] = mapped[0]
    m[:3] = mapped[1:] - mapped[0]
    return m


def _grey_lut() -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    return np.stack([ramp, ramp, ramp, np.ones_like(ramp)], axis=1)


TiledImage = create_visual_node(TiledImageVisual)
