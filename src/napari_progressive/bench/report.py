"""The benchmark command: run scenarios, write JSON and a markdown table."""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari_progressive.bench.disk_restart import disk_restart
from napari_progressive.bench.planning import planning_cost
from napari_progressive.bench.plot import plot
from napari_progressive.bench.runner import MODES, run_mode
from napari_progressive.bench.scenarios import SCENARIOS

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Every scenario the command knows; "planning" needs no viewer, "disk-restart"
#: runs progressive layers only (a cold session against one after a restart).
ALL = (*SCENARIOS, "disk-restart", "planning")


def run_bench(names: Sequence[str], quick: bool) -> dict[str, Any]:
    """Run each named scenario once per mode, modes alternating, in this process."""
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; choose from {list(ALL)}")
    results: dict[str, Any] = {"machine": _machine(), "quick": quick, "scenarios": {}}
    renderers = set()
    for name in names or ALL:
        if name == "planning":
            results["planning"] = planning_cost(repeats=10 if quick else 50)
            continue
        if name == "disk-restart":
            results["disk-restart"] = disk_restart(quick)
            continue
        scenario = SCENARIOS[name]
        modes = {mode: run_mode(scenario, mode, quick) for mode in MODES if mode in scenario.modes}
        renderers |= {m["renderer"] for m in modes.values()}
        results["scenarios"][name] = {"description": scenario.description, "modes": modes}
    if renderers:
        results["machine"] += ", GL: " + ", ".join(sorted(renderers))
    return results


def markdown(results: dict[str, Any]) -> str:
    """A table per scenario: one row per mode, medians over camera steps."""
    lines = [f"Machine: {results['machine']}", ""]
    for name, sc in results["scenarios"].items():
        lines += [
            f"### {name}",
            "",
            sc["description"],
            "",
            "| mode | longest block median (ms) | max (ms) | first frame (ms) | frame (ms) | "
            "full resolution (s) | x floor | chunks read | wasted | timeouts |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for mode, r in sc["modes"].items():
            lines.append(
                f"| {mode} | {_f(r['longest_block_ms_median'])} | {_f(r['longest_block_ms_max'])} "
                f"| {_f(r['first_frame_ms_median'])} | {_f(r.get('frame_ms_median'))} "
                f"| {_f(r['full_resolution_s_median'], 2)} "
                f"| {_f(r.get('floor_ratio_median'), 1)} | {r['chunks_read']} "
                f"| {_wasted(r)} | {r['timeouts']} |"
            )
        floor = next(
            (r["floor_s_median"] for r in sc["modes"].values() if r.get("floor_s_median")), None
        )
        if floor is not None:
            lines += ["", f"Fetch floor (median per step): {floor:.3f} s."]
        lines += _volume_steps(sc["modes"])
        lines += _roi_jumps(sc["modes"])
        drags = {m: r["steps"][0] for m, r in sc["modes"].items() if "move_s" in r["steps"][0]}
        if drags:
            cells = "; ".join(
                f"{m}: {d['moves']} moves took {d['move_s']:.1f} s, "
                f"{d['frames_while_moving']} frames drawn{_blank(d)}"
                for m, d in drags.items()
            )
            lines += ["", f"While dragging: {cells}."]
        lines.append("")
    if "disk-restart" in results:
        d = results["disk-restart"]
        lines += [
            "### disk-restart",
            "",
            d["description"],
            "",
            "| session | full resolution median (s) | total (s) | chunks read from the source "
            "| disk hits | longest block median (ms) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for session, r in d["sessions"].items():
            total = sum(s["full_resolution_s"] or 0.0 for s in r["steps"])
            lines.append(
                f"| {session} | {_f(r['full_resolution_s_median'], 2)} | {total:.2f} "
                f"| {r['chunks_read']} | {r['disk'].get('disk_hits', 0)} "
                f"| {_f(r['longest_block_ms_median'])} |"
            )
        lines.append("")
    if "planning" in results:
        p = results["planning"]
        cells = " | ".join(f"{k}: {v:.2f} ms" for k, v in p["median_ms_by_levels"].items())
        lines += [
            "### planning",
            "",
            f"Median plan time by number of levels: {cells}; ratio {p['ratio_last_to_first']:.2f}.",
            "",
        ]
    return "\n".join(lines)


def write(
    results: dict[str, Any],
    json_path: str | None,
    md_path: str | None,
    plot_path: str | None = None,
) -> str:
    """Write the requested files; return the markdown."""
    md = markdown(results)
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1))
    if md_path:
        Path(md_path).write_text(md + "\n")
    if plot_path:
        plot(results, plot_path)
    return md


def _volume_steps(modes: dict[str, Any]) -> list[str]:
    """3D scenarios: opening, then each step's level at the centre against the 1 px level."""
    if not any("centre_level" in s for r in modes.values() for s in r["steps"]):
        return []
    lines = [
        "",
        "| mode | step | first frame (ms) | first frame coverage | first new frame (ms) "
        "| complete (s) | x floor | longest block (ms) | frame (ms) "
        "| centre level (1 px level) | centre voxel (px) | pieces fetched | GPU MiB (budget) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, r in modes.items():
        o = r.get("open", {})
        lines.append(
            f"| {mode} | open | {_f(_ms(o.get('first_content_s')))} | - | - "
            f"| {_f(o.get('complete_s'), 1)} | - "
            f"| - | - | {_level(o)} | {_f(o.get('centre_voxel_px'), 2)} | - | - |"
        )
        for i, st in enumerate(r["steps"], 1):
            gpu = st.get("gpu_used_bytes")
            budget = st.get("gpu_budget_bytes")
            memory = f"{gpu / 2**20:.0f} ({budget / 2**20:.0f})" if gpu is not None else "-"
            lines.append(
                f"| {mode} | {i} | {_f(st.get('first_frame_ms'))} "
                f"| {_percent(st.get('first_frame_coverage'))} "
                f"| {_f(st.get('first_new_frame_ms'))} "
                f"| {_f(st.get('full_resolution_s'), 1)} | {_f(st.get('floor_ratio'), 1)} "
                f"| {_f(st.get('longest_block_ms'))} "
                f"| {_f(st.get('frame_ms'))} | {_level(st)} | {_f(st.get('centre_voxel_px'), 2)} "
                f"| {st.get('tiles_fetched', '-')} | {memory} |"
            )
    return lines


def _roi_jumps(modes: dict[str, Any]) -> list[str]:
    """ROI scenarios: the first jump (nothing read ahead) against the later ones."""
    if not all(r.get("roi_steps") for r in modes.values()):
        return []
    cells = []
    for mode, r in modes.items():
        first, *later = r["steps"]
        times = [s["full_resolution_s"] for s in later if s["full_resolution_s"] is not None]
        reads = [s["chunks_read"] for s in later]
        cells.append(
            f"{mode}: first {_f(first['full_resolution_s'], 2)} s ({first['chunks_read']} chunks "
            f"read), later median {_f(statistics.median(times) if times else None, 2)} s "
            f"({_f(statistics.median(reads) if reads else None)} chunks read)"
        )
    return ["", f"ROI jumps to full resolution: {'; '.join(cells)}."]


def _blank(drag: dict[str, Any]) -> str:
    """How many frames drawn while moving showed nothing (when frames were read back)."""
    blank = drag.get("blank_frames_while_moving")
    return "" if blank is None else f", {blank} of them blank"


def _level(record: dict[str, Any]) -> str:
    if "centre_level" not in record:
        return "-"
    return f"{record['centre_level']} ({record['one_px_level']})"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _wasted(run: dict[str, Any]) -> str:
    """Tiles fetched along the path and never shown, as a share of those fetched."""
    fetched = run.get("tiles_fetched")
    if not fetched:
        return "-"
    return f"{100 * run['tiles_wasted'] / fetched:.0f}%"


def _f(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
