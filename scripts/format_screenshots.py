"""Write one small dataset per format and screenshot it with ``napari-progressive view``.

Run from the repository root under a display (``xvfb-run -a``):
``python scripts/format_screenshots.py docs/images``. The datasets come from
the test-suite's writers (ome-zarr-py, tensorstore, the codecs' encoders).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import datasets as ds


def main(out: Path) -> None:
    """Write the datasets to a temporary folder and save one screenshot each in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = ds.smooth_image((2, 1500, 2000))
        labels = ds.segmentation((1500, 2000), dtype=np.uint32)
        ds.write_omezarr(root / "cells.zarr", image, "0.4", "cyx", (1, 256, 256), labels, rois=True)
        ds.write_omezarr(
            root / "volume.zarr", ds.smooth_image((8, 1200, 1600)), "0.5", "zyx", (1, 256, 256)
        )
        ds.write_ts_pyramid(
            root / "plain.zarr", [ds.smooth_image((1024, 1536), np.uint8)], "zarr3", [256, 256]
        )
        em = ds.smooth_image((768, 640, 4, 1), np.uint8)
        ds.write_precomputed(root / "em", [em, em[::2, ::2]], "jpeg", True, chunk=(128, 128, 4))
        seg = ds.segmentation((768, 640, 4))[..., None]
        ds.write_precomputed_codec(
            root / "seg", [seg, seg[::2, ::2]], "crackle", True, "segmentation", (128, 128, 4)
        )
        aff = ds.smooth_image((768, 640, 4, 1), np.float32)
        ds.write_precomputed_codec(
            root / "aff", [aff, aff[::2, ::2]], "fpzip", False, "image", (128, 128, 4)
        )
        cases = {
            "format-omezarr-04-channels-labels-rois": str(root / "cells.zarr"),
            "format-omezarr-05-volume": str(root / "volume.zarr"),
            "format-zarr3-single-array": str(root / "plain.zarr/0"),
            "format-precomputed-jpeg-sharded": f"precomputed://file://{root}/em",
            "format-precomputed-crackle-sharded": f"precomputed://file://{root}/seg",
            "format-precomputed-fpzip": f"precomputed://file://{root}/aff",
        }
        for name, uri in cases.items():
            cmd = [sys.executable, "-m", "napari_progressive.cli", "view", uri, "--screenshot"]
            subprocess.run([*cmd, str(out / f"{name}.png"), "--size", "640", "480"], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
