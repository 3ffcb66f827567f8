"""Side-by-side benchmarks: napari's own multiscale display vs progressive layers."""
