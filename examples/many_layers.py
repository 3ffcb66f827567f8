"""Eight progressive layers (images and labels, 2D and a time series) under one set of budgets.

All layers share one host cache, one GPU texture budget and one work queue; the
dock widget ("napari-progressive" in the Plugins menu) lists each layer's share.
Run with ``--disk-cache DIR`` to keep the Mandelbrot tiles on disk across runs.
"""

import sys

import napari
import numpy as np

import napari_progressive as npg

if "--disk-cache" in sys.argv:
    npg.set_disk_cache(sys.argv[sys.argv.index("--disk-cache") + 1])
npg.set_gpu_budget(256 * 2**20)

rng = np.random.default_rng(0)
time_series = rng.integers(0, 255, (8, 4096, 4096), dtype=np.uint8)
blobs = (np.indices((4096, 4096)).sum(axis=0) // 37 % 50).astype(np.uint32)
label_series = np.stack([np.roll(blobs, 40 * t, axis=1) for t in range(8)])

viewer = napari.Viewer()
mandelbrot = npg.datasets.mandelbrot(levels=10, tile=512)
npg.add_progressive_image(viewer, mandelbrot, name="mandelbrot", colormap="twilight_shifted")
npg.add_progressive_image(
    viewer,
    mandelbrot,
    name="mandelbrot again (shares its tiles)",
    colormap="magenta",
    blending="additive",
    opacity=0.3,
)
npg.add_progressive_image(viewer, time_series, name="time series", opacity=0.3)
npg.add_progressive_image(viewer, time_series[0], name="first frame", visible=False)
npg.add_progressive_image(
    viewer, [time_series[0], time_series[0][::2, ::2]], name="two levels", visible=False
)
npg.add_progressive_labels(viewer, blobs, name="labels", opacity=0.4)
npg.add_progressive_labels(viewer, label_series, name="label series", opacity=0.4)
npg.add_progressive_labels(viewer, blobs[:2048, :2048], name="labels crop", opacity=0.4)
viewer.window.add_plugin_dock_widget("napari-progressive")

if __name__ == "__main__":
    napari.run()
