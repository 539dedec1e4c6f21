"""Numpy networks: layers, activations, norms, losses, the training loop, sweeps and graph blocks."""
