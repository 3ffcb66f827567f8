"""A PNG of time to full resolution per camera step, one panel per scenario."""

from __future__ import annotations

import math
from typing import Any

from napari_progressive.bench.runner import CONTINUOUS_HZ

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
        if all("move_s" in run["steps"][0] for run in sc["modes"].values()):
            _drag(ax, name, sc)
            continue
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


def _drag(ax: Any, name: str, scenario: dict[str, Any]) -> None:
    """A continuous path: how long each mode took to follow the drag, against its pace."""
    modes = list(scenario["modes"])
    steps = [scenario["modes"][m]["steps"][0] for m in modes]
    ax.bar(modes, [s["move_s"] for s in steps], color=[COLOURS.get(m) for m in modes])
    paced = steps[0]["moves"] / CONTINUOUS_HZ
    ax.axhline(paced, ls="--", color="grey", label=f"the drag's own pace ({paced:.1f} s)")
    ax.set_title(f"{name} (continuous drag)")
    ax.set_ylabel("time to follow the drag (s)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
