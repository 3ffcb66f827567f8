"""`napari-progressive bench --quick` keeps working (no timing asserts)."""

import json

import pytest

from napari_progressive.cli import main


# napari-owned viewers need the plugin registry isolation that this fixture sets up
@pytest.mark.usefixtures("make_napari_viewer")
def test_bench_quick_writes_json_and_markdown(tmp_path, qtbot, capsys):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    code = main(
        [
            "bench",
            "--quick",
            "mandelbrot-zoom",
            "disk-restart",
            "planning",
            "--json",
            str(out_json),
            "--markdown",
            str(out_md),
        ]
    )
    assert code == 0
    results = json.loads(out_json.read_text())
    modes = results["scenarios"]["mandelbrot-zoom"]["modes"]
    assert set(modes) == {"napari-sync", "napari-async", "progressive"}
    for r in modes.values():
        assert len(r["steps"]) == 3
        assert r["timeouts"] == 0
        assert r["chunks_read"] > 0
        assert r["longest_block_ms_median"] >= 0
    prog = modes["progressive"]["steps"][-1]
    assert prog["host_bytes"] <= prog["host_budget_bytes"]
    assert prog["gpu_bytes"] <= prog["gpu_budget_bytes"]
    assert set(results["planning"]["median_ms_by_levels"]) == {"10", "20", "30", "40"}
    cold, warm = results["disk-restart"]["sessions"].values()
    assert warm["disk"]["disk_hits"] > 0 and cold["disk"]["disk_writes"] > 0
    assert warm["chunks_read"] < cold["chunks_read"]
    md = out_md.read_text()
    assert "| progressive |" in md and "### planning" in md
    assert "| napari-sync |" in capsys.readouterr().out
