"""Browse the 18-level, 134,217,728 px Mandelbrot pyramid progressively."""

import napari

import napari_progressive as npg

viewer = napari.Viewer()
layer = npg.add_progressive_image(
    viewer, npg.datasets.mandelbrot(), colormap="twilight_shifted", contrast_limits=(0, 255)
)
npg.set_debug_overlay(layer, True)  # tint and outline each tile by its pyramid level

if __name__ == "__main__":
    napari.run()
