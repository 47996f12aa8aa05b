"""Pictures of samples: image grids, and scatter plots or histograms for vectors."""

import io
import math
import os

import numpy as np
from PIL import Image


def save_grid(images, path, ncols=None, padding=2):
    """Writes images in [-1, 1] as one PNG grid.

    Example:

    ```python
    kgan.images.save_grid(gan.generate(64, seed=0), "grid.png")
    ```

    Args:
        images: `[N, H, W, C]` (C = 1 or 3) or `[N, H, W]` array in [-1, 1].
        path: the PNG file to write.
        ncols: images per row; defaults to a square-ish grid.
        padding: pixels of black between images.

    Returns:
        The grid as a `[rows, cols, C]` uint8 array.
    """
    grid = make_grid(images, ncols, padding)
    _write_png(grid, path)
    return grid


def make_grid(images, ncols=None, padding=2):
    """The uint8 grid array that `save_grid` writes."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"save_grid needs images of shape [N, H, W, 1 or 3], got {images.shape}."
        )
    count, height, width, channels = images.shape
    ncols = ncols or math.ceil(math.sqrt(count))
    nrows = math.ceil(count / ncols)
    pixels = np.clip((images + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    grid = np.zeros(
        (nrows * (height + padding) + padding, ncols * (width + padding) + padding, channels),
        np.uint8,
    )
    for index, image in enumerate(pixels):
        top = padding + (index // ncols) * (height + padding)
        left = padding + (index % ncols) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_samples(samples, path, modes=None):
    """Writes a picture of `samples`: a grid of images, or a plot of vectors.

    1-D samples become a histogram, 2-D samples a scatter plot; `modes`, the
    true mode centres of a toy distribution, are marked when given.

    Returns:
        The picture as a `[rows, cols, C]` uint8 array.
    """
    samples = np.asarray(samples)
    if samples.ndim >= 3:
        return save_grid(samples, path)
    return _save_plot(samples.reshape(len(samples), -1), path, modes)


def new_figure(nrows=1, ncols=1, figsize=None, dpi=90, squeeze=True, sharey=False):
    """`(figure, axes)` like `pyplot.subplots`, without pyplot: kgan's pictures never change
    matplotlib's global backend or figure list, so plots in a notebook still show."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=dpi)
    return figure, figure.subplots(nrows, ncols, squeeze=squeeze, sharey=sharey)


def _save_plot(samples, path, modes):
    figure, axes = new_figure(figsize=(4, 4), dpi=80)
    if samples.shape[1] == 1:
        axes.hist(samples[:, 0], bins=50, density=True, color="tab:blue", alpha=0.8)
        for mode in np.ravel(modes) if modes is not None else ():
            axes.axvline(mode, color="tab:red", linestyle="--")
    else:
        axes.scatter(samples[:, 0], samples[:, 1], s=4, alpha=0.6, label="generated")
        if modes is not None:
            modes = np.asarray(modes).reshape(-1, samples.shape[1])
            axes.scatter(modes[:, 0], modes[:, 1], marker="x", color="tab:red", label="modes")
        axes.set_aspect("equal", adjustable="datalim")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    picture = np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    _write_png(picture, path)
    return picture


def _write_png(pixels, path):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(path)
