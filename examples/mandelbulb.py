"""Browse the 15-level, 1,048,576**3 voxel Mandelbulb (it opens in 3D)."""

import napari

import napari_progressive as npg

viewer = napari.Viewer()
npg.add_progressive_layers(viewer, "mandelbulb://levels=15")

if __name__ == "__main__":
    napari.run()
