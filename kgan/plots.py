"""Pictures of a run: loss curves, the 2014 paper's 1-D figure, toy scatters, a GIF.

`kgan train` writes them into `RUN_DIR/plots/` at the end of training, and
`kgan plot RUN_DIR` (re)draws them at any time, also for a run in progress:

```
plots/losses.png       d_loss, g_loss and D(x), D(G(z)) over training (metrics.csv)
plots/quality.png      FID, KID and the classes or modes covered, against steps and seconds
plots/samples.gif      the fixed-noise samples/epoch-*.png, one frame per epoch
plots/modes.png        2-D toys: final samples over the true modes (3-std circles)
plots/gaussian1d.png   gaussian1d: p_data, p_g, D(x) and D* dashed, a panel per epoch
plots/gaussian1d.gif   the same, one frame per epoch
```

Every plotting function returns the arrays it drew, so tests (and users) can
check what is on the figure.
"""

import csv
import glob
import math
import os
import tempfile

import keras
import numpy as np
from matplotlib import patches
from PIL import Image

from kgan import data as data_lib
from kgan import health
from kgan import images
from kgan import inference
from kgan import runs
from kgan import theory

PLOTS = "plots"
THEORY_SNAPSHOTS = "gaussian1d"  # plots/gaussian1d/epoch-<NNNN>.npz, one per epoch


def plot_losses(metrics_csv, path):
    """Loss curves and discriminator scores per epoch, from a run's `metrics.csv`.

    A run without a discriminator (a direct loss such as `mmd`) has no
    `d_loss`, `real_score` and `fake_score` columns: its plot is the
    generator's loss alone, and those keys are absent from the result.

    Returns:
        `{"step": [...], "d_loss": [...], "g_loss": [...], "real_score": [...],
        "fake_score": [...]}` as drawn (numpy arrays).
    """
    with open(metrics_csv, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
        header = reader.fieldnames or []
    columns = {name: np.array([_float(row.get(name)) for row in rows])
               for name in ("step", "d_loss", "g_loss", "real_score", "fake_score")
               if name in header or name in ("step", "g_loss")}
    has_discriminator = "d_loss" in columns
    figure, panels = images.new_figure(1, 2 if has_discriminator else 1, squeeze=False,
                                       figsize=(10, 4) if has_discriminator else (6, 4))
    loss_axes = panels[0, 0]
    if has_discriminator:
        loss_axes.plot(columns["step"], columns["d_loss"], "o-", label="discriminator loss")
    loss_axes.plot(columns["step"], columns["g_loss"], "o-", label="generator loss")
    loss_axes.set(xlabel="step", ylabel="loss (epoch mean)", title="Losses")
    if has_discriminator:
        score_axes = panels[0, 1]
        score_axes.plot(columns["step"], columns["real_score"], "o-", label="D(x), real")
        score_axes.plot(columns["step"], columns["fake_score"], "o-",
                        label="D(G(z)), generated")
        score_axes.axhline(0.5, color="gray", linestyle=":", label="1/2 at equilibrium")
        score_axes.set(xlabel="step", ylabel="discriminator score",
                       title="Discriminator scores")
    for axes in panels.flat:
        axes.legend()
        axes.grid(alpha=0.3)
    _save(figure, path)
    return columns


def plot_quality(metrics_csv, path):
    """FID and KID (log scale) and the classes or modes covered, against steps and seconds.

    Uses the evaluated epochs of a run's `metrics.csv`; returns None when it
    has none, else the columns drawn (`step`, `seconds` cumulative, `fid`,
    `kid`, `covered`). KID is an unbiased estimate, which falls below zero
    when the samples are as close to the data as the estimate can tell; where
    it does, the axes are linear between -1 and 1 and logarithmic beyond
    (matplotlib's "symlog"), so that every point is drawn.
    """
    with open(metrics_csv, newline="", encoding="utf-8") as file:
        every = list(csv.DictReader(file))
    elapsed = np.cumsum([np.nan_to_num(_float(row.get("seconds"))) for row in every])
    rows = [(row, seconds) for row, seconds in zip(every, elapsed)
            if math.isfinite(_float(row.get("fid")))]
    if not rows:
        return None
    seconds = np.array([seconds for _, seconds in rows])
    rows = [row for row, _ in rows]
    columns = {
        "step": np.array([_float(row["step"]) for row in rows]),
        "seconds": seconds,
        "fid": np.array([_float(row.get("fid")) for row in rows]),
        "kid": np.array([_float(row.get("kid")) for row in rows]),
        "covered": np.array([_float(row.get("classes_covered") or row.get("modes_covered"))
                             for row in rows]),
    }
    figure, panels = images.new_figure(1, 3, figsize=(14, 4))
    for axes, x, label in ((panels[0], columns["step"], "step"),
                           (panels[1], columns["seconds"], "seconds of training")):
        axes.plot(x, columns["fid"], "o-", label="FID")
        if np.isfinite(columns["kid"]).any():
            axes.plot(x, columns["kid"], "s-", label="KID")
        axes.set(xlabel=label, ylabel="distance to the data (lower is better)",
                 title=f"Sample quality against {label.split()[0]}")
        if np.nanmin([columns["fid"], columns["kid"]]) > 0:
            axes.set_yscale("log")
        else:
            axes.set_yscale("symlog", linthresh=1.0)
            axes.axhline(0.0, color="grey", linewidth=0.8)
        axes.legend()
        axes.grid(alpha=0.3, which="both")
    panels[2].plot(columns["step"], columns["covered"], "o-", color="tab:green")
    panels[2].set(xlabel="step", ylabel="covered", title="Classes or modes covered")
    if np.isfinite(columns["covered"]).any():  # from 0, so that a flat 10 of 10 reads as such
        panels[2].set_ylim(0, np.nanmax(columns["covered"]) * 1.1 + 0.5)
    panels[2].grid(alpha=0.3)
    _save(figure, path)
    return columns


def gaussian1d_curves(gan, log_density, low, high, num_samples=5000, num_points=400, seed=0):
    """The curves of the 2014 paper's Figure 1 for a 1-D GAN, on a grid of `num_points`.

    The grid spans [low, high], widened to cover the generator's samples.

    `p_g` is a Gaussian kernel density estimate of `num_samples` samples
    (Scott's bandwidth); `d` is D's sigmoid(logit), NaN without D; `d_star`
    is `theory.optimal_discriminator(p_data, p_g)`, the best discriminator for
    this generator (Proposition 1).

    Returns:
        `{"x", "p_data", "p_g", "d", "d_star"}` numpy arrays.
    """
    samples = np.asarray(gan.generate(num_samples, seed=seed), np.float64).reshape(-1)
    # Widened to hold the generator's mass too, wherever it has wandered.
    spread = max(samples.std(), 1e-3)
    low = min(low, float(np.percentile(samples, 0.5)) - spread)
    high = max(high, float(np.percentile(samples, 99.5)) + spread)
    x = theory.grid(low, high, num_points)
    p_data = np.exp(np.asarray(log_density(x[:, None]), np.float64).reshape(-1))
    p_g = gaussian_kde(samples, x)
    if gan.discriminator is None:  # a direct loss; D* still shows how far p_g is
        d = np.full_like(x, np.nan)
    else:
        logits = inference.predict(gan.discriminator, x[:, None].astype(np.float32))
        d = 1.0 / (1.0 + np.exp(-logits.reshape(-1).astype(np.float64)))
    return {"x": x, "p_data": p_data, "p_g": p_g, "d": d,
            "d_star": theory.optimal_discriminator(p_data, p_g)}


def plot_gaussian1d(panels, path, titles=None, ylim=None):
    """Draws `gaussian1d_curves` results side by side, as in Goodfellow et al. (2014).

    Data density black dotted, generator density green, D(x) blue, D* dashed.

    Returns:
        `panels`, as drawn.
    """
    columns = min(len(panels), 5)
    rows = math.ceil(len(panels) / columns)
    figure, axes = images.new_figure(rows, columns, figsize=(3.2 * columns, 2.8 * rows),
                                     squeeze=False, sharey=True)
    for index, (axis, curves) in enumerate(zip(axes.flat, panels)):
        axis.plot(curves["x"], curves["p_data"], "k:", label="p_data")
        axis.plot(curves["x"], curves["p_g"], "g-", label="p_g")
        if not np.all(np.isnan(curves["d"])):
            axis.plot(curves["x"], curves["d"], "b-", label="D(x)")
        axis.plot(curves["x"], curves["d_star"], "b--", alpha=0.6, label="D*(x)")
        if titles:
            axis.set_title(titles[index])
        if ylim is not None:
            axis.set_ylim(*ylim)
    for axis in list(axes.flat)[len(panels):]:
        axis.axis("off")
    axes.flat[0].legend(fontsize="small")
    _save(figure, path)
    return panels


def gaussian1d_gif(panels, titles, path, seconds_per_frame=0.6):
    """An animated GIF of `gaussian1d_curves` panels, one frame each, on shared axes.

    Returns:
        The number of frames written.
    """
    top = max(max(np.nanmax(c["p_data"]), np.nanmax(c["p_g"]), 1.0) for c in panels)
    with tempfile.TemporaryDirectory() as scratch:
        frames = []
        for index, (curves, title) in enumerate(zip(panels, titles)):
            frame = os.path.join(scratch, f"frame-{index:04d}.png")
            plot_gaussian1d([curves], frame, [title], ylim=(0.0, 1.05 * top))
            frames.append(frame)
        return samples_gif(frames, path, seconds_per_frame)


def plot_modes(samples, modes, std, path, num_std=3.0):
    """2-D samples scattered over the true modes, each ringed at `num_std` std.

    Returns:
        `{"samples", "modes"}` as drawn.
    """
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)[:, :2]
    modes = np.asarray(modes, np.float64).reshape(-1, 2)
    figure, axes = images.new_figure(figsize=(5, 5))
    axes.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.5, label="generated")
    for centre in modes:
        axes.add_patch(patches.Circle(centre, num_std * std, fill=False, color="tab:red"))
    axes.scatter(modes[:, 0], modes[:, 1], marker="x", color="tab:red",
                 label=f"true modes ({num_std:g} std)")
    axes.set_aspect("equal", adjustable="datalim")
    axes.legend(loc="upper right", fontsize="small")
    _save(figure, path)
    return {"samples": samples, "modes": modes}


def samples_gif(frames, path, seconds_per_frame=0.5):
    """An animated GIF of image files (e.g. `samples/epoch-*.png`), in the given order.

    Returns:
        The number of frames written.
    """
    pictures = [Image.open(frame).convert("RGB") for frame in frames]
    if not pictures:
        raise ValueError("samples_gif needs at least one frame.")
    size = pictures[0].size
    pictures = [p if p.size == size else p.resize(size) for p in pictures]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    pictures[0].save(path, save_all=True, append_images=pictures[1:],
                     duration=int(seconds_per_frame * 1000), loop=0)
    return len(pictures)


def gaussian_kde(samples, x):
    """Gaussian kernel density estimate of 1-D `samples` at `x`, Scott's bandwidth."""
    samples = np.asarray(samples, np.float64).reshape(-1)
    bandwidth = max(samples.std() * len(samples) ** (-1 / 5), 1e-3)
    density = np.zeros_like(x, dtype=np.float64)
    for chunk in np.array_split(samples, max(1, len(samples) // 1000)):
        density += np.exp(-0.5 * ((x[:, None] - chunk[None, :]) / bandwidth) ** 2).sum(axis=1)
    return density / (len(samples) * bandwidth * math.sqrt(2 * math.pi))


class Gaussian1dSnapshots(keras.callbacks.Callback):
    """After each epoch, saves the curves of the 1-D figure (`plot_run` draws them)."""

    def __init__(self, run_dir, source):
        super().__init__()
        self.run_dir = run_dir
        self.source = source

    def on_epoch_end(self, epoch, logs=None):
        if health.finite_weights(self.model):  # else a run stopping on NaN
            save_gaussian1d_snapshot(self.run_dir, epoch + 1, self.model, self.source)


def wants_gaussian1d_snapshots(source):
    """Whether `source` is 1-D with a known density, so the 2014 figure applies."""
    modes = getattr(source, "modes", None)
    return modes is not None and modes.shape[1] == 1 and source.log_density is not None


def save_gaussian1d_snapshot(run_dir, epoch, gan, source):
    """Writes the epoch's `gaussian1d_curves` to `plots/gaussian1d/epoch-<NNNN>.npz`."""
    low, high = _plot_range(source)
    curves = gaussian1d_curves(gan, source.log_density, low, high)
    directory = os.path.join(run_dir, PLOTS, THEORY_SNAPSHOTS)
    os.makedirs(directory, exist_ok=True)
    np.savez(os.path.join(directory, f"epoch-{epoch:04d}.npz"), **curves)
    return curves


def plot_run(run_dir, gan=None, source=None, max_panels=10):
    """Draws every picture that applies to the run into `RUN_DIR/plots/`.

    Args:
        run_dir: the run directory.
        gan: its GAN (default: `load_run(run_dir)`'s, loaded only if needed).
        source: its `DataSource` (default: loaded from the recipe if needed).
        max_panels: at most this many epochs in the gaussian1d figure.

    Returns:
        The paths written.
    """
    directory = os.path.join(run_dir, PLOTS)
    written = []
    metrics_csv = os.path.join(run_dir, "metrics.csv")
    if os.path.isfile(metrics_csv):
        plot_losses(metrics_csv, os.path.join(directory, "losses.png"))
        written.append(os.path.join(directory, "losses.png"))
        if plot_quality(metrics_csv, os.path.join(directory, "quality.png")) is not None:
            written.append(os.path.join(directory, "quality.png"))
    frames = sorted(glob.glob(os.path.join(run_dir, "samples", "epoch-*.png")))
    if frames:
        samples_gif(frames, os.path.join(directory, "samples.gif"))
        written.append(os.path.join(directory, "samples.gif"))
    if source is None:
        recipe = runs.read_recipe(run_dir)
        if recipe["data"].get("name") == "tfds":
            return written  # images: nothing more to draw
        source = data_lib.load(recipe["data"], seed=recipe["seed"])
    if source.modes is None:
        return written
    if gan is None:
        gan = runs.load_run(run_dir).gan
    if source.modes.shape[1] == 2:
        path = os.path.join(directory, "modes.png")
        plot_modes(gan.generate(2000, seed=0), source.modes, source.std, path)
        written.append(path)
    elif source.modes.shape[1] == 1 and source.log_density is not None:
        snapshots = sorted(glob.glob(os.path.join(directory, THEORY_SNAPSHOTS, "epoch-*.npz")))
        if snapshots:
            chosen = [snapshots[round(i)] for i in
                      np.linspace(0, len(snapshots) - 1, min(max_panels, len(snapshots)))]
            panels = [dict(np.load(s)) for s in dict.fromkeys(chosen)]
            titles = [f"epoch {int(os.path.basename(s)[6:10])}" for s in dict.fromkeys(chosen)]
        else:
            low, high = _plot_range(source)
            panels, titles = [gaussian1d_curves(gan, source.log_density, low, high)], ["final"]
        path = os.path.join(directory, "gaussian1d.png")
        plot_gaussian1d(panels, path, titles)
        written.append(path)
        if snapshots:
            every = [dict(np.load(s)) for s in snapshots]
            gif = os.path.join(directory, "gaussian1d.gif")
            gaussian1d_gif(every, [f"epoch {int(os.path.basename(s)[6:10])}" for s in snapshots],
                           gif)
            written.append(gif)
    return written


def _plot_range(source):
    centres = np.ravel(source.modes)
    return float(centres.min() - 5 * source.std), float(centres.max() + 5 * source.std)


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _save(figure, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
