"""A second session over the same slow data: the persistent disk tier's benchmark."""

from __future__ import annotations

import tempfile
from typing import Any

from napari_progressive.bench.runner import run_mode
from napari_progressive.bench.scenarios import SCENARIOS
from napari_progressive.core.cache import HostCache
from napari_progressive.core.disk_cache import DiskCache
from napari_progressive.integration import shared

#: The scenario whose camera path is walked twice.
SCENARIO = "zarr-latency"


def disk_restart(quick: bool) -> dict[str, Any]:
    """Walk the slow-storage path in a cold session, then again as after a restart.

    Both sessions have a fresh host cache and a fresh disk-tier object over
    one folder (as two napari processes would); the first starts with the
    folder empty. The process-wide disk tier is restored afterwards.
    """
    scenario = SCENARIOS[SCENARIO]
    data = scenario.build(quick)
    previous = shared.shared_disk_cache()
    sessions: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="np-disk-tier-") as folder:
            for session in ("cold", "after restart"):
                disk = shared.install_disk_cache(DiskCache(folder))
                host = HostCache(shared.shared_host_cache().budget_bytes)
                run = run_mode(scenario, "progressive", quick, data, {"host_cache": host})
                run["disk"] = disk.stats() if disk is not None else {}
                sessions[session] = run
    finally:
        shared.install_disk_cache(previous)
    return {"description": f"{SCENARIO} walked twice with a disk tier", "sessions": sessions}
