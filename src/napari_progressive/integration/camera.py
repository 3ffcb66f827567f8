"""napari's camera, as vispy holds it, turned into what a canvas shows of a layer.

One place reads the camera: ``canvas_rect`` for a 2D (pan-zoom) canvas, the
visible rectangle in level-0 data coordinates and its pixel size;
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
    """What a pan-zoom canvas shows of ``node``: (lo, hi, data per px, (h, w)).

    ``lo``/``hi`` bound the view in the node's visual coordinates as
    (rows, cols); None when the node is not on a 2D canvas.
    """
    canvas = node.canvas
    if canvas is None or not isinstance(viewbox_camera(node), PanZoomCamera):
        return None
    w, h = canvas.size
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
    data_per_px = float(step) / float(getattr(canvas, "pixel_scale", 1.0) or 1.0)
    return corners.min(axis=0), corners.max(axis=0), data_per_px, (int(h), int(w))


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
