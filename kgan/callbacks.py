"""Keras callbacks that fill a run directory while `GAN.fit` trains.

Each callback reads the global step from the generator optimizer's iteration
count (one generator update per step), which checkpoints restore, so logs of a
resumed run continue where the killed one stopped.
"""

import csv
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from kgan import images
from kgan import noise
from kgan import runs

METRICS_CSV = "metrics.csv"
_CSV_FIELDS = [
    "epoch", "step", "d_loss", "g_loss", "real_score", "fake_score", "seconds", "rss_mb",
    "peak_rss_mb",
]
_DISCRIMINATOR_FIELDS = ("d_loss", "real_score", "fake_score")


def global_step(gan):
    """Training steps taken so far: the generator optimizer's update count."""
    return int(gan.g_optimizer.iterations.numpy())


def memory_mb():
    """This process's resident memory now and at its peak, in MB (empty where unknown).

    Logged with every epoch, so that a run shows whether its memory grows.
    """
    usage = {}
    try:
        with open("/proc/self/statm", encoding="ascii") as file:
            usage["rss_mb"] = int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        pass  # not Linux
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # KiB on Linux, bytes on macOS.
        peak_mb = peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6
        # The kernel updates its high-water mark lazily; the peak is at least now.
        usage["peak_rss_mb"] = max(peak_mb, usage.get("rss_mb", 0.0))
    except (ImportError, OSError):
        pass  # Windows
    return usage


class Checkpointer(keras.callbacks.Callback):
    """Saves the whole GAN every `every_steps` steps and at every epoch end."""

    def __init__(self, run_dir, every_steps, keep):
        super().__init__()
        self.run_dir = run_dir
        self.every_steps = every_steps
        self.keep = keep
        self._saved_step = None

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every_steps == 0:
            self._save(step)

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        if step != self._saved_step:
            self._save(step)

    def _save(self, step):
        runs.save_checkpoint(self.model, self.run_dir, step, self.keep)
        self._saved_step = step


class SampleGrids(keras.callbacks.Callback):
    """After each epoch, pictures samples of one fixed noise batch.

    Writes `samples/epoch-<NNNN>.png` (an image grid, or a scatter plot or
    histogram for vector data) and the same picture to TensorBoard. A
    conditional GAN's grid has a row per class, the columns sharing noise.
    """

    def __init__(self, run_dir, num_samples, latent_dim, seed, writer=None, modes=None):
        super().__init__()
        self.directory = os.path.join(run_dir, "samples")
        self.noise = noise.sample(num_samples, latent_dim, seed)
        self.writer = writer
        self.modes = modes

    def on_epoch_end(self, epoch, logs=None):
        path = os.path.join(self.directory, f"epoch-{epoch + 1:04d}.png")
        num_classes = getattr(self.model, "num_classes", None)
        if num_classes:
            columns = max(1, len(self.noise) // num_classes)
            z = np.tile(np.asarray(self.noise)[:columns], (num_classes, 1))
            labels = np.repeat(np.arange(num_classes, dtype=np.int32), columns)
            samples = self.model.sampler.predict([z, labels], verbose=0)
        else:
            samples = self.model.sampler.predict(self.noise, verbose=0)
        if num_classes and samples.ndim >= 3:
            picture = images.save_grid(samples, path, ncols=columns)
        else:
            picture = images.save_samples(samples, path, modes=self.modes)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("samples", picture[None], step=global_step(self.model))


class MetricsLog(keras.callbacks.Callback):
    """Epoch means to `metrics.csv`; running means to TensorBoard every few steps.

    On a resumed run, rows past the resumed step (written after the last
    checkpoint of the killed run) are dropped before new rows are appended.
    `extra_fields` are further `logs` keys given their own columns (empty in
    rows without them), e.g. the metrics of `kgan.evaluation.Evaluation`,
    which writes them to TensorBoard itself.
    """

    def __init__(self, run_dir, every_steps, writer=None, extra_fields=()):
        super().__init__()
        self.path = os.path.join(run_dir, METRICS_CSV)
        self.fields = _CSV_FIELDS + [f for f in extra_fields if f not in _CSV_FIELDS]
        self.extra_fields = set(self.fields) - set(_CSV_FIELDS)
        self.every_steps = every_steps
        self.writer = writer
        self._epoch_start = None

    def on_train_begin(self, logs=None):
        if getattr(self.model, "discriminator", True) is None:
            # A direct loss (e.g. mmd) trains no discriminator: no columns for one.
            self.fields = [f for f in self.fields if f not in _DISCRIMINATOR_FIELDS]
        _truncate_rows_after(self.path, global_step(self.model), self.fields)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if self.writer is not None and step % self.every_steps == 0:
            self._write_scalars("train", logs, step)

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        row = {"epoch": epoch + 1, "step": step, "seconds": time.time() - self._epoch_start}
        row.update(memory_mb())
        row.update({k: float(v) for k, v in (logs or {}).items() if k in self.fields})
        is_new = not os.path.exists(self.path)
        with open(self.path, "a", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, self.fields, extrasaction="ignore")
            if is_new:
                writer.writeheader()
            writer.writerow(row)
        if self.writer is not None:
            self._write_scalars("epoch", logs, step)

    def _write_scalars(self, prefix, logs, step):
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                if name in self.extra_fields:
                    continue
                tf.summary.scalar(f"{prefix}/{name}", float(np.asarray(value)), step=step)
        self.writer.flush()


def _truncate_rows_after(path, step, fields=_CSV_FIELDS):
    if not os.path.exists(path):
        return
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
        header = reader.fieldnames
    kept = [row for row in rows if int(row["step"]) <= step]
    if len(kept) == len(rows) and header == fields:
        return

    def write(tmp_path):
        with open(tmp_path, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)

    runs.atomic_write(path, write)
