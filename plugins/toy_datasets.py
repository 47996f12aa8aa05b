"""Built-in toy datasets: the 1-D Gaussian of the paper's Figure 1 and the 2-D mixtures of
the mode-collapse literature (a ring of 8, a grid of 25).

They come out in their natural units, with their true density (`GaussianMixture`) for
measuring what a generator has learned.
"""

import zlib

import numpy as np
import tensorflow as tf

import kgan
from kgan import data
from kgan import validation


@kgan.register_dataset("gaussian1d")
def gaussian1d(mean=4.0, std=1.25, num_examples=100_000, seed=0):
    """One-dimensional N(mean, std^2): the simplest thing a GAN can learn."""
    mean = validation.number(mean, "data.mean")
    modes = np.array([[mean]], np.float64)
    return _mixture("gaussian1d", modes, std, num_examples, seed, labelled=False)


@kgan.register_dataset("ring2d")
def ring2d(num_modes=8, radius=2.0, std=0.02, num_examples=100_000, seed=0):
    """Equal mixture of Gaussians on a circle (8 by default), for mode collapse."""
    num_modes = validation.integer(num_modes, "data.num_modes", minimum=1)
    radius = validation.number(radius, "data.radius", above=0)
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    modes = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture("ring2d", modes, std, num_examples, seed)


@kgan.register_dataset("grid2d")
def grid2d(grid_size=5, spacing=2.0, std=0.05, num_examples=100_000, seed=0):
    """Equal mixture of Gaussians on a square grid (5 x 5 = 25 by default)."""
    grid_size = validation.integer(grid_size, "data.grid_size", minimum=1)
    spacing = validation.number(spacing, "data.spacing", above=0)
    ticks = (np.arange(grid_size) - (grid_size - 1) / 2) * spacing
    modes = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
    return _mixture("grid2d", modes, std, num_examples, seed)


class GaussianMixture:
    """An equal-weight mixture of isotropic Gaussians: the toys' true density."""

    def __init__(self, modes, std):
        self.modes = np.asarray(modes, np.float64)
        self.std = float(std)

    def log_density(self, x):
        """Log density of samples `x`, `[n, dim]` (or `[n]` in one dimension)."""
        x = np.asarray(x, np.float64)
        dim = self.modes.shape[1]
        x = x.reshape(-1, dim) if dim == 1 else x
        squared = ((x[:, None, :] - self.modes[None, :, :]) ** 2).sum(-1)
        log_kernel = -squared / (2 * self.std**2)
        peak = log_kernel.max(axis=1, keepdims=True)
        log_sum = peak[:, 0] + np.log(np.exp(log_kernel - peak).sum(axis=1))
        normaliser = 0.5 * dim * np.log(2 * np.pi * self.std**2) + np.log(len(self.modes))
        return log_sum - normaliser

    def sample(self, num_examples, rng):
        """`(x, mode index)` for `num_examples` draws from numpy Generator `rng`."""
        mode = rng.integers(len(self.modes), size=num_examples)
        noise = rng.standard_normal((num_examples, self.modes.shape[1]))
        return self.modes[mode] + self.std * noise, mode

    def __repr__(self):
        return f"GaussianMixture({len(self.modes)} modes, std={self.std})"


def _mixture(name, modes, std, num_examples, seed, labelled=True):
    std = validation.number(std, "data.std", above=0)
    num_examples = validation.integer(num_examples, "data.num_examples", minimum=1)
    seed = validation.integer(seed, "data.seed", minimum=0)
    mixture = GaussianMixture(modes, std)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    x, mode = mixture.sample(num_examples, rng)
    y = mode.astype(np.int32) if labelled else np.full(num_examples, -1, np.int32)
    return data.DataSource(
        dataset=tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y)),
        sample_shape=(modes.shape[1],),
        num_examples=num_examples,
        num_classes=len(modes) if labelled else None,
        name=name,
        modes=mixture.modes,
        std=std,
        log_density=mixture.log_density,
    )
