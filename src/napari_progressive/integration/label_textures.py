"""Label values -> GPU texture values and colour table, as napari's Labels layer does it.

napari maps label values to small texture values (``colormap._data_to_texture``:
uint8 or uint16) and colours them through a lookup table on the GPU. A
progressive labels layer does the same, except that the mapping runs on a
worker for each tile. ``LabelTextures`` is a snapshot of the colormap taken on
the main thread, so workers never touch the evented colormap; ``mapping_key``
changes only when texture values would change (not when colours or the
selected label do: those only change the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from napari.utils.colormaps.colormap import (
    CyclicLabelColormap,
    DirectLabelColormap,
    LabelColormapBase,
)

if TYPE_CHECKING:
    from collections.abc import Hashable

#: Entries of the colour table of each texture dtype.
TABLE_SIZE = {np.dtype(np.uint8): 256, np.dtype(np.uint16): 65536}


@dataclass(frozen=True)
class LabelTextures:
    """How one colormap turns label values into texture values and colours."""

    colormap: LabelColormapBase
    raw_dtype: np.dtype
    texture_dtype: np.dtype
    mapping_key: Hashable

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Texture values of label ``values`` (worker side)."""
        return np.ascontiguousarray(
            self.colormap._data_to_texture(values.astype(self.raw_dtype, copy=False)),
            dtype=self.texture_dtype,
        )


def label_textures(colormap: LabelColormapBase, raw_dtype: np.dtype) -> LabelTextures:
    """A worker-safe snapshot of ``colormap`` for labels of ``raw_dtype``.

    Raises ValueError when the colormap needs more than 65536 texture values
    (a direct colormap with that many distinct colours).
    """
    raw = np.dtype(raw_dtype)
    # Labels wider than 16 bits share texture values; napari then maps "show
    # selected label" on the CPU (every other label becomes background), so
    # the selection is part of the texture mapping. Narrower labels are their
    # own texture values: the colour table alone shows the selection.
    wide = raw.itemsize > 2
    snapshot = type(colormap)(**colormap.model_dump())
    if not wide:
        snapshot.use_selection = False
    probe = np.asarray(snapshot._data_to_texture(np.zeros(1, dtype=raw)))
    if probe.dtype not in TABLE_SIZE:
        raise ValueError(
            f"colormap {colormap.name!r} needs {probe.dtype} texture values; "
            "progressive labels support at most 65536 distinct colours"
        )
    selection = (colormap.use_selection, int(colormap.selection)) if wide else None
    return LabelTextures(snapshot, raw, probe.dtype, (_mapping_key(snapshot), selection))


def colour_table(colormap: LabelColormapBase, textures: LabelTextures) -> np.ndarray:
    """RGBA (N, 4) colour of every texture value, N = 256 or 65536.

    With ``show_selected_label`` on, only the selected label shows, as in
    napari: labels up to 16 bits are their own texture values and every other
    entry is transparent; wider labels were mapped with the selection (every
    other label became background).
    """
    size = TABLE_SIZE[textures.texture_dtype]
    snapshot = textures.colormap
    table = np.zeros((size, 4), dtype=np.float32)
    if textures.raw_dtype.itemsize <= 2:
        table[:] = snapshot._get_mapping_from_cache(textures.raw_dtype)[:size]
    elif isinstance(snapshot, CyclicLabelColormap):
        view = CyclicLabelColormap(**snapshot.model_dump())
        view.use_selection = False  # texture values, not labels, index this table
        view.background_value = view._background_as_minimum_dtype(textures.raw_dtype)
        table[:] = view._get_mapping_from_cache(textures.texture_dtype)[:size]
    else:
        for value, colour in snapshot._values_mapping_to_minimum_values_set()[1].items():
            table[value] = colour
    if colormap.use_selection and textures.raw_dtype.itemsize <= 2:  # wider: mapped already
        selected = int(snapshot._data_to_texture(textures.raw_dtype.type(colormap.selection)))
        keep = table[selected].copy()
        table[:] = 0
        table[selected] = keep
    return table


def _mapping_key(colormap: LabelColormapBase) -> Hashable:
    if isinstance(colormap, DirectLabelColormap):
        return ("direct", tuple(sorted(colormap._label_mapping_and_color_dict[0].items(), key=str)))
    return ("cyclic", len(colormap.colors), int(colormap.background_value))
