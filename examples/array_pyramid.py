"""Any pyramid of numpy, dask or zarr arrays (finest first) loads progressively."""

import dask.array as da
import napari
import numpy as np

import napari_progressive as npg

rng = np.random.default_rng(0)
base = da.from_array(rng.integers(0, 4096, (8192, 8192), dtype=np.uint16), chunks=512)
# block-averaged levels line up with level 0 (see docs/architecture.md)
pyramid = [base]
for _ in range(4):
    prev = pyramid[-1]
    pyramid.append(da.coarsen(np.mean, prev, {0: 2, 1: 2}, trim_excess=True).astype(np.uint16))

viewer = napari.Viewer()
npg.add_progressive_image(viewer, pyramid, contrast_limits=(0, 4095), name="random uint16")

if __name__ == "__main__":
    napari.run()
