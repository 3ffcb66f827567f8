"""A PNG of time to full resolution per camera step, one panel per scenario."""

from __future__ import annotations

import math
from typing import Any

#: Line colour per mode (the floor is drawn dashed in grey).
COLOURS = {"napari-sync": "tab:red", "napari-async": "tab:orange", "progressive": "tab:blue"}


def plot(results: dict[str, Any], path: str) -> None:
    """Write the plot to ``path`` (needs matplotlib: the ``bench`` extra)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never touch the GUI event loop
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    if not scenarios:
        return
    cols = min(3, len(scenarios))
    rows = math.ceil(len(scenarios) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, sc) in zip(axes.flat, scenarios.items(), strict=False):
        for mode, run in sc["modes"].items():
            times = [s["full_resolution_s"] for s in run["steps"]]
            ax.plot(range(1, len(times) + 1), times, "o-", label=mode, color=COLOURS.get(mode))
            floors = [s.get("floor_s") for s in run["steps"]]
            if any(f is not None for f in floors):
                ax.plot(range(1, len(floors) + 1), floors, "--", color="grey", label="fetch floor")
        ax.set_title(name)
        ax.set_xlabel("camera step")
        ax.set_ylabel("time to full resolution (s)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(scenarios) :]:
        ax.set_visible(False)
    fig.suptitle(f"napari-progressive bench: {results['machine']}", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
