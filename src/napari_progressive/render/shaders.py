"""GLSL snippets every progressive visual shares, and the uniforms they read.

* ``page_sampling``: one sampler per atlas page and ``page_texel(page, tc)``;
  ``page_lookup`` its body over the pages a visual holds.
* ``COLOUR``: ``colour_of(texel)``: the texture value in data units, through
  contrast limits, gamma and a LUT, or through a label colour table.
* ``LEVEL_OVERLAY``: the scale-debug tint and outline in a level's colour.
* ``FAILED_HATCH``: the hatch drawn where a piece failed to load.

The Python functions set the uniforms a snippet declares on a program.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from vispy.gloo import Texture2D

from napari_progressive.render.atlas import MAX_PAGES
from napari_progressive.render.palette import FAILED_COLOUR


class Uniforms(Protocol):
    """A vispy program (or a visual's ``shared_program``): uniforms set by name."""

    def __setitem__(self, name: str, value: Any) -> None: ...


def page_sampling(ndim: int, body: str | None = None) -> str:
    """Samplers ``u_page0..`` and ``vec4 page_texel(float page, vecN tc)`` for ``ndim``-D pages.

    ``body`` is the function's body: by default ``page_lookup(ndim, MAX_PAGES)``;
    a visual that knows how many pages it holds passes a template variable
    (``"$page_lookup"``) and fills it with fewer branches.
    """
    sampler, vec = ("sampler2D", "vec2") if ndim == 2 else ("sampler3D", "vec3")
    samplers = "\n".join(f"uniform {sampler} u_page{i};" for i in range(MAX_PAGES))
    body = page_lookup(ndim, MAX_PAGES) if body is None else body
    return f"{samplers}\nvec4 page_texel(float page, {vec} tc) {{\n{body}\n}}\n"


def page_lookup(ndim: int, pages: int) -> str:
    """The body of ``page_texel`` over the first ``pages`` pages: a branch per page.

    Software GL runs every branch's texture fetch for every sample, so fewer
    branches make a cheaper sample.
    """
    lookup = "texture2D" if ndim == 2 else "texture3D"
    branches = "\n".join(
        f"    {'else ' if i else ''}if (page < {i}.5) return {lookup}(u_page{i}, tc);"
        for i in range(max(1, pages))
    )
    return f"{branches}\n    return vec4(0.0);"


COLOUR = """
uniform float u_value_scale;
uniform float u_labels;
uniform vec2 u_clim;
uniform float u_gamma;
uniform sampler2D u_lut;
uniform sampler2D u_label_table;
uniform float u_table_rows;
// The data value of a texel (NaN stays NaN).
float data_value(vec4 texel) {
    return texel.r * u_value_scale;
}
// The colour of data value v: a label's colour, or the LUT at contrast and gamma.
vec4 colour_of(float v) {
    if (u_labels > 0.5) {
        float idx = floor(v + 0.5);
        vec2 cell = vec2(mod(idx, 256.0), floor(idx / 256.0)) + 0.5;
        return texture2D(u_label_table, cell / vec2(256.0, u_table_rows));
    }
    float span = u_clim.y - u_clim.x;
    float t = span != 0.0 ? clamp((v - u_clim.x) / span, 0.0, 1.0) : step(u_clim.x, v);
    t = pow(t, u_gamma);
    return texture2D(u_lut, vec2(t * (255.0 / 256.0) + 0.5 / 256.0, 0.5));
}
"""

LEVEL_OVERLAY = """
uniform float u_overlay;
// c tinted with a level's colour, outlined where local (0..1 across the piece) nears an edge.
vec4 level_overlay(vec4 c, vec3 level_colour, vec2 local) {
    if (u_overlay < 0.5) return c;
    c.rgb = mix(c.rgb, level_colour, 0.35);
    vec2 d = min(local, 1.0 - local) / max(fwidth(local), vec2(1e-12));
    if (min(d.x, d.y) < 2.0) c = vec4(level_colour, 1.0);
    return c;
}
"""

_FAILED_RGB = ", ".join(f"{c:.3f}" for c in FAILED_COLOUR)
FAILED_HATCH = f"""
// Diagonal stripes in the failure colour; the gaps between them are discarded.
vec4 failed_hatch() {{
    if (mod(gl_FragCoord.x + gl_FragCoord.y, 12.0) > 5.0) discard;
    return vec4({_FAILED_RGB}, 0.75);
}}
"""


def init_colour(program: Uniforms, value_scale: float) -> None:
    """Defaults for ``COLOUR``: a grey ramp over [0, value_scale], no label table."""
    program["u_value_scale"] = float(value_scale)
    program["u_label_table"] = Texture2D(np.zeros((1, 256, 4), np.float32))
    program["u_table_rows"] = 1.0
    set_colour(program, clim=(0.0, value_scale), gamma=1.0, lut=_grey_lut())


def set_colour(program: Uniforms, clim: tuple[float, float], gamma: float, lut: np.ndarray) -> None:
    """Contrast limits (data units), gamma and a (256, 4) RGBA colour table."""
    program["u_labels"] = 0.0
    program["u_clim"] = (float(clim[0]), float(clim[1]))
    program["u_gamma"] = float(gamma)
    table = np.ascontiguousarray(lut, dtype=np.float32).reshape(1, -1, 4)
    program["u_lut"] = Texture2D(table, interpolation="linear", wrapping="clamp_to_edge")


def set_label_colours(program: Uniforms, table: np.ndarray) -> None:
    """Show data values as labels: value ``i`` in ``table[i]`` (RGBA).

    ``table`` has 256 (r8) or 65536 (r16) rows; no contrast limits or gamma apply.
    """
    rows = max(1, len(table) // 256)
    grid = np.ascontiguousarray(table, dtype=np.float32).reshape(rows, 256, 4)
    program["u_label_table"] = Texture2D(grid, interpolation="nearest", wrapping="clamp_to_edge")
    program["u_table_rows"] = float(rows)
    program["u_labels"] = 1.0


def _grey_lut() -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    return np.stack([ramp, ramp, ramp, np.ones_like(ramp)], axis=1)
