"""Export a progressive layer's levels to OME-Zarr from napari, in the background.

napari's own Save writes a layer's data as one array in memory, which a
progressive layer does not have. "Export progressive layer to OME-Zarr..."
(File > IO Utilities, Layers > Data) asks for the finest level to keep and a
path, then copies those levels chunk by chunk on a worker thread, with
progress and a Cancel button in napari's activity panel.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_error, show_info
from napari.utils.progress import cancelable_progress
from superqt.utils import ensure_main_thread

from napari_progressive.integration.progressive_base import ProgressiveLayerBase, layer_units
from napari_progressive.sources.export import (
    ExportProgress,
    export_bytes,
    export_chunks,
    export_omezarr,
)

if TYPE_CHECKING:
    import os

    import napari


class BackgroundExport:
    """Levels ``first_level..`` of ``layer`` being written to ``path`` on a worker thread."""

    def __init__(
        self, layer: ProgressiveLayerBase, path: str | os.PathLike[str], first_level: int = 0
    ) -> None:
        self.path = str(path)
        self.done = threading.Event()
        self.completed = False
        self.error: BaseException | None = None
        source = layer.loader.source
        self.progress = cancelable_progress(
            total=export_chunks(source, first_level), desc=f"Exporting {layer.name}"
        )
        self._shown = 0
        self._thread = threading.Thread(
            target=self._run,
            args=(source, first_level, list(layer.axis_labels), layer_units(layer)),
            name="napari-progressive-export",
            daemon=True,
        )
        self._thread.start()

    def _run(self, source: Any, first_level: int, names: list[str], units: list[Any]) -> None:
        try:
            self.completed = export_omezarr(
                source,
                self.path,
                first_level=first_level,
                axis_names=names,
                units=units,
                on_progress=self._on_progress,
                cancelled=lambda: bool(self.progress.is_canceled),
            )
        except Exception as e:  # reported on the main thread
            self.error = e
        self._finish()

    def _on_progress(self, p: ExportProgress) -> None:
        if p.written == p.total or p.written - self._shown >= max(1, p.total // 100):
            self._shown = p.written
            self._show(p.written)

    @ensure_main_thread
    def _show(self, written: int) -> None:
        self.progress.update(written - self.progress.n)

    @ensure_main_thread
    def _finish(self) -> None:
        self.progress.close()
        if self.error is not None:
            show_error(f"napari-progressive: export to {self.path} failed: {self.error}")
        elif self.completed:
            show_info(f"napari-progressive: exported to {self.path}")
        self.done.set()


def export_layer_dialog(viewer: napari.Viewer) -> BackgroundExport | None:
    """Ask which levels to keep and where, then export the selected progressive layer."""
    from qtpy.QtWidgets import QFileDialog, QInputDialog

    layer = viewer.layers.selection.active
    if not isinstance(layer, ProgressiveLayerBase):
        show_info("Select a progressive layer to export it to OME-Zarr.")
        return None
    source = layer.loader.source
    choices = [
        f"from level {i} ({' x '.join(map(str, lv.shape))}, {_size(export_bytes(source, i))})"
        for i, lv in enumerate(source.levels)
    ]
    choice, ok = QInputDialog.getItem(
        None, "Export to OME-Zarr", "Levels to write:", choices, len(choices) - 1, False
    )
    if not ok:
        return None
    path, _ = QFileDialog.getSaveFileName(
        None, "Export to OME-Zarr", f"{layer.name}.ome.zarr", "OME-Zarr (*.ome.zarr *.zarr)"
    )
    if not path:
        return None
    return BackgroundExport(layer, path, choices.index(choice))


def _size(nbytes: int) -> str:
    size, unit = float(nbytes), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:.1f} {unit}"
