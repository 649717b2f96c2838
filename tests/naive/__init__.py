"""Plain-Python twins of the numba kernels (stumpy's habit): same inputs, same outputs, obvious code."""
