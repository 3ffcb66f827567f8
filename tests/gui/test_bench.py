"""`napari-progressive bench --quick` keeps working (no timing asserts)."""

import json

import pytest

from napari_progressive.cli import main

pytestmark = pytest.mark.smoke


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


@pytest.mark.usefixtures("make_napari_viewer")
def test_bench_quick_multi_layer_drag_and_3d_with_floor_and_plot(tmp_path, qtbot):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    args = ["bench", "--quick", "multi-layer", "zarr-pan", "volume-orbit"]
    assert main([*args, "--json", str(out_json), "--plot", str(out_png)]) == 0
    scenarios = json.loads(out_json.read_text())["scenarios"]

    multi = scenarios["multi-layer"]["modes"]
    assert {r["layers"] for r in multi.values()} == {4}
    for step in multi["progressive"]["steps"]:
        assert step["floor_chunks"] > 0 and step["floor_s"] > 0  # a view's target chunks
        assert step["floor_upload_s"] > 0 and step["floor_ratio"] > 0
        assert step["host_bytes"] <= step["host_budget_bytes"]

    prog = multi["progressive"]
    assert 0 <= prog["tiles_wasted"] <= prog["tiles_fetched"]
    assert prog["tiles_shown"] == prog["tiles_fetched"] - prog["tiles_wasted"]

    drag = scenarios["zarr-pan"]["modes"]
    for run in drag.values():
        (step,) = run["steps"]  # one record for the whole drag
        assert step["moves"] == 30 and step["frames_while_moving"] > 0
    assert drag["progressive"]["steps"][0]["tiles_fetched"] > 0

    orbit = scenarios["volume-orbit"]["modes"]
    assert set(orbit) == {"napari-sync", "napari-async", "progressive"}
    assert all(r["timeouts"] == 0 and len(r["steps"]) == 3 for r in orbit.values())
    n_levels = 3
    for mode, run in orbit.items():
        assert run["open"]["first_content_s"] > 0 and run["open"]["complete_s"] > 0
        for step in run["steps"]:
            # napari draws its coarsest level in 3D; progressive the level the view needs
            assert 0 <= step["one_px_level"] < n_levels and step["centre_voxel_px"] > 0
            if mode != "progressive":
                assert step["centre_level"] == n_levels - 1
    for step in orbit["progressive"]["steps"]:
        assert step["centre_level"] <= step["one_px_level"] + 1
        assert step["gpu_used_bytes"] <= step["gpu_budget_bytes"]

    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.usefixtures("make_napari_viewer")
def test_plane_and_time_scenarios_record_the_first_frame_and_the_3d_floor(qtbot):
    import dataclasses

    from napari_progressive.bench.runner import run_mode
    from napari_progressive.bench.scenarios import SCENARIOS, axial_plane
    from napari_progressive.datasets import mandelbulb

    small = {  # 512^3 and 6 x 256^3 instead of 4096^3 and 24 x 1024^3
        "plane-tilt": (mandelbulb(levels=4), {"plane": axial_plane(512)}),
        "time-step": (mandelbulb(levels=3, times=6), {}),
    }
    for name, (source, kwargs) in small.items():
        scenario = dataclasses.replace(
            SCENARIOS[name],
            build=lambda quick, source=source: [source],
            layer_kwargs={**SCENARIOS[name].layer_kwargs, **kwargs},
            canvas=(240, 240),
        )
        run = run_mode(scenario, "progressive", quick=True)
        assert run["timeouts"] == 0 and len(run["steps"]) == 3
        for step in run["steps"]:
            assert step["first_new_frame_ms"] > 0  # the picture changed after the move
            assert 0.5 < step["first_frame_coverage"] <= 1.0  # the first frame showed data
            assert step["floor_chunks"] > 0 and step["floor_ratio"] > 0  # the finest bricks


@pytest.mark.usefixtures("make_napari_viewer")
def test_bench_quick_roi_jumps_choose_rois_from_the_navigator(tmp_path, qtbot):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    args = ["bench", "--quick", "roi-jump", "--json", str(out_json), "--markdown", str(out_md)]
    assert main(args) == 0
    modes = json.loads(out_json.read_text())["scenarios"]["roi-jump"]["modes"]
    for r in modes.values():
        assert r["roi_steps"] and len(r["steps"]) == 4 and r["timeouts"] == 0
        assert r["chunks_read"] > 0  # each field of view is new to napari's layers
    assert modes["progressive"]["tiles_fetched"] > 0
    assert "ROI jumps to full resolution: napari-sync: first" in out_md.read_text()
