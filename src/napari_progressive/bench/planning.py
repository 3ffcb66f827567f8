"""Planning cost against the number of pyramid levels (no GUI)."""

from __future__ import annotations

import statistics
import time

import numpy as np

from napari_progressive.core.geometry import block_pyramid, level_mappings
from napari_progressive.core.planner import plan_view
from napari_progressive.core.view import SliceView


def planning_cost(level_counts: tuple[int, ...] = (10, 20, 30, 40), repeats: int = 50) -> dict:
    """Median time to plan a 1280x800 view at level 0, per number of levels.

    The view sits at full resolution, so every coarser level contributes its
    fallback tiles: the cost grows with the levels actually needed, not with
    the dataset's size.
    """
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for n in level_counts:
        levels = block_pyramid((512 * 2**n,) * 2, (512, 512), np.uint8, n)
        maps = level_mappings(levels)
        times = []
        for _ in range(repeats):
            c = rng.uniform(0, 512 * 2**n, 2)
            half = np.array([400.0, 640.0])
            view = SliceView((0, 1), tuple(c - half), tuple(c + half), 1.0, (0.0, 0.0), (800, 1280))
            t = time.perf_counter()
            plan_view(levels, view, maps)
            times.append(time.perf_counter() - t)
        out[str(n)] = statistics.median(times) * 1000
    first, last = str(level_counts[0]), str(level_counts[-1])
    return {
        "median_ms_by_levels": out,
        "per_level_us": {k: v * 1000 / int(k) for k, v in out.items()},
        "ratio_last_to_first": out[last] / out[first],
    }
