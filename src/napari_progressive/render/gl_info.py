"""What the current OpenGL context runs on."""

from __future__ import annotations

from functools import cache

from vispy.gloo import gl

#: Renderer names (``GL_RENDERER``) of rasterisers that run on the CPU.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader")


@cache
def software_gl() -> bool:
    """Whether the current GL context renders on the CPU (asked once per process)."""
    renderer = str(gl.glGetParameter(gl.GL_RENDERER)).lower()
    return any(name in renderer for name in SOFTWARE_RENDERERS)
