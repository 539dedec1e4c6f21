"""Datasets: the 2D toy sets, MNIST and Fashion-MNIST, and the IDX format they come in."""
