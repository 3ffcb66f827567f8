"""Dock widget: per-layer loading statistics, the shared budgets, the overlay and its legend.

In 3D the statistics list the brick plan per level and the brick atlas's use.
When the viewer holds an OME-Zarr's ROI tables, a list moves the camera to one.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QComboBox, QLabel, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from napari_progressive.integration.progressive_base import ProgressiveLayerBase
from napari_progressive.integration.roi_navigator import RoiNavigator
from napari_progressive.render.palette import level_colour_hex

if TYPE_CHECKING:
    import napari

    from napari_progressive.core.pieces import BrickStats

#: Least time between two refreshes while tiles land (ms).
REFRESH_INTERVAL_MS = 100


class ProgressiveWidget(QWidget):
    """Shows what the selected progressive layer needs, has and draws."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.layer_box = QComboBox()
        self.overlay_box = QCheckBox("Scale-debug overlay")
        self.stats_label = QLabel()
        self.legend = QLabel()
        self.budget_label = QLabel()
        self.budget_label.setTextFormat(Qt.TextFormat.RichText)
        self.roi_box = RoiNavigator(napari_viewer)
        layout = QVBoxLayout(self)
        for w in (
            self.roi_box,
            self.layer_box,
            self.overlay_box,
            self.stats_label,
            self.legend,
            self.budget_label,
        ):
            layout.addWidget(w)
        layout.addStretch(1)
        self.overlay_box.toggled.connect(self._set_overlay)
        self.layer_box.currentIndexChanged.connect(self._refresh)
        for event in (napari_viewer.layers.events.inserted, napari_viewer.layers.events.removed):
            event.connect(self._refill)
        self._timer = QTimer(self)  # budgets change with other viewers' layers too
        self._timer.timeout.connect(self._refresh)
        self._timer.start(1000)
        self._refresh_soon = qthrottled(self._refresh, timeout=REFRESH_INTERVAL_MS)
        self._refill()

    def layer(self) -> ProgressiveLayerBase | None:
        """The selected progressive layer."""
        name = self.layer_box.currentText()
        found = [lyr for lyr in self._layers() if lyr.name == name]
        return found[0] if found else None

    def _layers(self) -> list[ProgressiveLayerBase]:
        return [lyr for lyr in self.viewer.layers if isinstance(lyr, ProgressiveLayerBase)]

    def _refill(self, *_: object) -> None:
        for layer in self._layers():  # follow every layer's progress as it happens
            layer.loading.connect(self._on_loading)
        current = self.layer_box.currentText()
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        self.layer_box.addItems([lyr.name for lyr in self._layers()])
        self.layer_box.setCurrentText(current)
        self.layer_box.blockSignals(False)
        self._refresh()

    def _on_loading(self, event: object = None) -> None:
        self._refresh_soon()

    def _set_overlay(self, on: bool) -> None:
        layer = self.layer()
        if layer is not None:
            layer.debug_overlay = on

    def _refresh(self, *_: object) -> None:
        self.budget_label.setText(budget_table(self._layers()))
        layer = self.layer()
        if layer is None:
            self.stats_label.setText("No progressive layer.")
            self.legend.setText("")
            return
        self.overlay_box.blockSignals(True)
        self.overlay_box.setChecked(layer.debug_overlay)
        self.overlay_box.blockSignals(False)
        s = layer.loader.stats()
        bricks = layer.loader.brick_stats()
        work = f"{s.queued} queued, {s.in_flight} loading, {s.failed} failed"
        shown = (
            f"tiles: {s.available}/{s.needed} shown, {work}"
            if bricks is None
            else f"{brick_lines(bricks)}\n{work}"
        )
        self.stats_label.setText(
            f"target level {s.target_level} of {s.n_levels}\n{shown}\n"
            f"host cache {s.host_bytes / 2**20:.1f} MiB, GPU {s.gpu_bytes / 2**20:.1f} MiB"
        )
        swatch = '<span style="background:{};color:black">&nbsp;{}&nbsp;</span>'
        self.legend.setText(
            "levels drawn: " + " ".join(swatch.format(level_colour_hex(lv), lv) for lv in s.levels)
        )


def brick_lines(bricks: BrickStats) -> str:
    """A 3D plan's bricks per level (on the GPU / planned) and the atlas's use, as text."""
    lines = ["bricks on the GPU / planned:"]
    for lv in bricks.levels:
        extra = [
            f"{n} {what}" for n, what in ((lv.in_flight, "loading"), (lv.failed, "failed")) if n
        ]
        more = f" ({', '.join(extra)})" if extra else ""
        lines.append(f"  level {lv.level}: {lv.resident}/{lv.planned}{more}")
    lines.append(
        f"atlas: {bricks.resident} bricks in {bricks.slots} of {bricks.capacity} slots, "
        f"{_mib(bricks.gpu_bytes)} MiB"
    )
    return "\n".join(lines)


def budget_table(layers: list[ProgressiveLayerBase]) -> str:
    """Each layer's share of the host and GPU budgets (and the disk tier), as HTML."""
    if not layers:
        return ""
    stats = [(lyr.name, lyr.loader.stats()) for lyr in layers]
    first = stats[0][1]
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td align=right>{_mib(s.host_bytes)}</td>"
        f"<td align=right>{_mib(s.gpu_bytes)}</td></tr>"
        for name, s in stats
    )
    lines = [
        "<b>Budgets</b> (MiB)",
        f"<table><tr><th align=left>layer</th><th>host</th><th>GPU</th></tr>{rows}</table>",
        f"host cache budget {_mib(first.host_budget_bytes)}, "
        f"fair share {_mib(first.host_share_bytes)}",
    ]
    if first.gpu_budget_bytes:
        lines.append(f"GPU {_mib(first.gpu_used_bytes)} of {_mib(first.gpu_budget_bytes)} used")
    disk = first.disk
    if disk:
        lines.append(
            f"disk tier {_mib(disk['disk_bytes'])} of {_mib(disk['disk_budget_bytes'])}, "
            f"{disk['disk_hits']} hits"
        )
    return "<br>".join(lines)


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f}"
