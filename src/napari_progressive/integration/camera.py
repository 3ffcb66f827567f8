"""napari's camera, as vispy holds it, turned into what a canvas shows of a layer.

One place reads the camera: ``canvas_rect`` for a 2D (pan-zoom) canvas, the
visible rectangle in level-0 data coordinates and its pixel size (on a 3D
canvas, a 2D layer's plane: where the canvas corners' rays meet it);
``volume_view`` for a 3D (arcball or turntable) canvas, the float64 view and
projection matrices of level-0 data coordinates. The layer freezes them into
its ``SliceView`` or ``VolumeView``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from vispy.scene import PanZoomCamera, ViewBox
from vispy.scene.cameras.perspective import PerspectiveCamera

from napari_progressive.core.view import VolumeView

#: Half the side of the rectangle a 2D layer's plane gets when the canvas
#: shows it to the horizon (the planner keeps what lies in the data), and its
#: pixel size when the canvas centre misses the plane.
UNBOUNDED = 1e15
#: Sine of the on-screen angle between a plane's axes below which it is seen edge-on.
EDGE_ON = 1e-6

if TYPE_CHECKING:
    from napari_progressive.core.view import Matrix4


def viewbox_camera(node: Any) -> Any:
    """The camera of the view box that holds ``node``, if any."""
    while node is not None:
        if isinstance(node, ViewBox):
            return node.camera
        node = node.parent
    return None


def canvas_rect(node: Any) -> tuple[np.ndarray, np.ndarray, float, tuple[int, int]] | None:
    """What a canvas shows of ``node``'s plane: (lo, hi, data per px, (h, w)).

    ``lo``/``hi`` bound the view in the node's visual coordinates as
    (rows, cols); None when the node is on no canvas.
    """
    canvas = node.canvas
    camera = viewbox_camera(node)
    if canvas is None:
        return None
    w, h = canvas.size
    scale = float(getattr(canvas, "pixel_scale", 1.0) or 1.0)
    if isinstance(camera, PanZoomCamera):
        lo, hi, step = _pan_zoom_rect(node, w, h)
    elif isinstance(camera, PerspectiveCamera):
        lo, hi, step = _plane_rect(node, w, h)
    else:
        return None
    return lo, hi, step / scale, (int(h), int(w))


def _pan_zoom_rect(node: Any, w: int, h: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The visible rectangle (rows, cols) and visual units per px of a 2D canvas."""
    # The 2D visual-to-canvas map is affine: evaluate it forward at three
    # points (cheap, float64) and invert the 2x2 instead of the chain.
    to_canvas = node.get_transform("visual", "canvas")
    ref = np.asarray(
        to_canvas.map(np.array([[0, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1]], dtype=float)),
        dtype=float,
    )
    ref = ref[:, :2] / ref[:, 3:4]
    a = np.stack([ref[1] - ref[0], ref[2] - ref[0]], axis=1)  # canvas px per visual unit
    inv = np.linalg.inv(a)
    px = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=float)
    corners = ((px - ref[0]) @ inv.T)[:, ::-1]  # visual (x, y) = data (cols, rows)
    step = max(np.hypot(*inv[:, 0]), np.hypot(*inv[:, 1]))  # visual units per px
    return corners.min(axis=0), corners.max(axis=0), float(step)


def _plane_rect(node: Any, w: int, h: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Where a 3D canvas's pixels meet the node's plane ``z = 0`` (rows, cols; units per px).

    The plane maps to the canvas by a homography; its inverse takes each
    corner pixel to the plane. A corner whose ray misses the plane (beyond a
    perspective horizon, or a plane seen edge-on) opens the rectangle to
    ``UNBOUNDED``; the pixel size is the plane's at the canvas centre
    (``UNBOUNDED`` where the centre misses it: the coarsest level).
    """
    full = _matrix(node.get_transform("visual", "canvas"))
    homography = full[np.ix_([0, 1, 3], [0, 1, 3])]
    axes = homography[:2, :2]  # where the plane's two axes point on screen
    spread = float(np.linalg.norm(axes[:, 0]) * np.linalg.norm(axes[:, 1]))
    if abs(np.linalg.det(axes)) <= EDGE_ON * spread:  # the axes line up: seen edge-on
        return np.full(2, -UNBOUNDED), np.full(2, UNBOUNDED), UNBOUNDED
    inverse = np.linalg.inv(homography)

    def on_plane(px: np.ndarray) -> np.ndarray:
        hit = np.column_stack([px, np.ones(len(px))]) @ inverse.T
        out = np.full((len(px), 2), np.nan)
        ahead = hit[:, 2] > 0
        out[ahead] = hit[ahead, 1::-1] / hit[ahead, 2:3]  # visual (x, y) = data (cols, rows)
        return out

    corners = on_plane(np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=float))
    if np.isnan(corners).any():
        lo, hi = np.full(2, -UNBOUNDED), np.full(2, UNBOUNDED)
    else:
        lo, hi = corners.min(axis=0), corners.max(axis=0)
    centre = on_plane(np.array([[w / 2, h / 2], [w / 2 + 1, h / 2], [w / 2, h / 2 + 1]]))
    if np.isnan(centre).any():
        return lo, hi, UNBOUNDED
    step = max(np.hypot(*(centre[1] - centre[0])), np.hypot(*(centre[2] - centre[0])))
    return lo, hi, float(step)


def volume_view(
    node: Any,
    visual_from_data: np.ndarray,
    displayed: tuple[int, ...],
    point: tuple[float, ...],
) -> VolumeView | None:
    """What a 3D canvas shows: ``VolumeView`` of level-0 data along ``displayed``.

    ``visual_from_data`` (4x4, column vectors) maps level-0 data coordinates
    along ``displayed`` (in that order) to the node's visual coordinates.
    None when the node is not on a 3D canvas.
    """
    canvas = node.canvas
    camera = viewbox_camera(node)
    if canvas is None or not isinstance(camera, PerspectiveCamera):
        return None
    scene_from_visual = _matrix(node.get_transform("visual", "scene"))
    eye_from_scene = _matrix(camera.parent.node_transform(camera))
    scene_from_data = scene_from_visual @ visual_from_data
    view = eye_from_scene @ scene_from_data
    projection = np.asarray(camera._projection.matrix, dtype=float).T
    w, h = (int(v) for v in canvas.size)
    centre = np.linalg.solve(scene_from_data, np.append(np.asarray(camera.center, float), 1.0))
    centre = centre[:3] / centre[3]
    return VolumeView(
        displayed=displayed,
        point=point,
        view=_frozen(view),
        projection=_frozen(projection),
        canvas=(h, w),
        centre=(float(centre[0]), float(centre[1]), float(centre[2])),
        data_per_screen_px=_data_per_px(projection @ view, centre, (h, w)),
    )


def _matrix(transform: Any) -> np.ndarray:
    """The 4x4 column-vector matrix of a linear vispy transform (chains included)."""
    rows = np.asarray(transform.map(np.eye(4)), dtype=float)  # vispy maps row vectors
    return rows.T


def _frozen(m: np.ndarray) -> Matrix4:
    return tuple((float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in np.asarray(m, float))


def _data_per_px(to_clip: np.ndarray, centre: np.ndarray, canvas: tuple[int, int]) -> float:
    """Level-0 units per screen pixel at ``centre``: the longest data axis on screen."""
    h, w = canvas

    def on_screen(p: np.ndarray) -> np.ndarray:
        clip = to_clip @ np.append(p, 1.0)
        return clip[:2] / clip[3] * np.array([w / 2, h / 2])

    at = on_screen(centre)
    px = max(float(np.hypot(*(on_screen(centre + e) - at))) for e in np.eye(3))
    return 1.0 / px if px > 0 else float("inf")
