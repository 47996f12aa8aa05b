"""Keras callbacks that fill a run directory while `GAN.fit` trains.

Each callback reads the global step from the generator optimizer's iteration
count (one generator update per step), which checkpoints restore, so logs of a
resumed run continue where the killed one stopped. Those that act between steps
(`StepCallback`) read it once an epoch and count on from there.
"""

import csv
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from kgan import health
from kgan import images
from kgan import inference
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


class StepCallback(keras.callbacks.Callback):
    """A callback that knows the global step at each batch's end without asking for it.

    Reading the optimizer's counter (`global_step`) runs an operation and waits
    for it: about a millisecond a read on 2 CPU cores, which three callbacks
    paid at every step of the main job (10 s of its 10 minutes). The counter is
    read when each epoch begins; the `batch` Keras passes to
    `on_train_batch_end` (the last step of the call it just ran, with
    `steps_per_execution` too) counts on from there. Subclasses that define
    `on_epoch_begin` call this one.
    """

    _epoch_first_step = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_first_step = global_step(self.model)

    def step_at_batch_end(self, batch):
        """The global step after the batch that `on_train_batch_end(batch)` reports."""
        return self._epoch_first_step + batch + 1


class Checkpointer(StepCallback):
    """Saves the whole GAN every `every_steps` steps and at every epoch end.

    A step that ends an epoch is saved at the epoch's end, after the epoch's
    samples, evaluation and metrics (put this callback last): a checkpoint
    then never stands for an epoch whose end a kill cut short, so a resumed
    run redoes that end instead of losing its row of metrics.csv.
    """

    def __init__(self, run_dir, every_steps, keep):
        super().__init__()
        self.run_dir = run_dir
        self.every_steps = every_steps
        self.keep = keep
        self._saved_step = None
        self._stopped = False

    def on_train_batch_end(self, batch, logs=None):
        steps = (self.params or {}).get("steps")
        if steps is not None and batch + 1 >= steps:
            return  # the epoch's last step: saved by on_epoch_end
        step = self.step_at_batch_end(batch)
        if step % self.every_steps == 0:
            self._save(step, logs)

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        if step != self._saved_step:
            self._save(step, logs)

    def _save(self, step, logs):
        # Once a loss or a weight is NaN or infinite nothing more is saved: the
        # last finite checkpoint stays the newest (`kgan.health` stops the run).
        if self._stopped or not (health.finite_losses(logs)
                                 and health.finite_weights(self.model)):
            self._stopped = True
            return
        with runs.writing(self.run_dir, f"the checkpoint of step {step}"):
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
        if not health.finite_weights(self.model.sampler):
            return  # a run stopping on NaN; `kgan.health` reports it
        path = os.path.join(self.directory, f"epoch-{epoch + 1:04d}.png")
        num_classes = getattr(self.model, "num_classes", None)
        if num_classes:
            columns = max(1, len(self.noise) // num_classes)
            z = np.tile(np.asarray(self.noise)[:columns], (num_classes, 1))
            labels = np.repeat(np.arange(num_classes, dtype=np.int32), columns)
            samples = inference.predict(self.model.sampler, [z, labels])
        else:
            samples = inference.predict(self.model.sampler, self.noise)
        if num_classes and samples.ndim >= 3:
            picture = images.save_grid(samples, path, ncols=columns)
        else:
            picture = images.save_samples(samples, path, modes=self.modes)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("samples", picture[None], step=global_step(self.model))


class MetricsLog(StepCallback):
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
        super().on_epoch_begin(epoch, logs)
        self._epoch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        step = self.step_at_batch_end(batch)
        if self.writer is not None and step % self.every_steps == 0:
            self._write_scalars("train", logs, step)

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        row = {"epoch": epoch + 1, "step": step, "seconds": time.time() - self._epoch_start}
        row.update(memory_mb())
        row.update({k: v if isinstance(v, str) else float(v)
                    for k, v in (logs or {}).items() if k in self.fields})
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
    # A row cut short by a kill mid-append has no step (or no last fields): drop it.
    kept = [row for row in rows
            if (row.get("step") or "").isdigit() and int(row["step"]) <= step
            and None not in row.values()]
    if len(kept) == len(rows) and header == fields:
        return

    def write(tmp_path):
        with open(tmp_path, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)

    runs.atomic_write(path, write)


class RunProgress(StepCallback):
    """One progress bar over the whole run: steps done, speed, ETA and the latest figures.

    On a terminal the bar redraws in place (at most a few times a second);
    elsewhere (a CI log, a file) it prints a line every `log_every` of the
    run. The figures shown are the last epoch's losses and, when evaluated,
    its FID or modes covered.

    Args:
        total_steps: the run's last step.
        stream: where to write (default stderr).
    """

    def __init__(self, total_steps, stream=None, log_every=0.1, width=24):
        super().__init__()
        self.total_steps = int(total_steps)
        self.stream = stream or sys.stderr
        self.log_every = log_every
        self.width = width
        self._start = None
        self._first_step = 0
        self._last_draw = 0.0
        self._next_log = 0.0
        self._figures = ""

    def on_train_begin(self, logs=None):
        if self._start is None:  # a resumed run's two fits share one bar
            self._start = time.time()
            self._first_step = global_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        now = time.time()
        step = self.step_at_batch_end(batch)
        interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        if interactive and now - self._last_draw < 0.25 and step < self.total_steps:
            return
        if not interactive and step / self.total_steps < self._next_log:
            return
        self._last_draw = now
        self._next_log = (int(step / self.total_steps / self.log_every) + 1) * self.log_every
        self.stream.write(("\r" if interactive else "") + self.line(step, now)
                          + ("" if interactive else "\n"))
        self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        shown = [f"{name} {float(logs[name]):.3g}" for name in ("d_loss", "g_loss")
                 if name in logs]
        for name, label in (("fid", "FID"), ("modes_covered", "modes")):
            if name in logs and np.isfinite(float(logs[name])):
                shown.append(f"{label} {float(logs[name]):.4g}")
        self._figures = f"epoch {epoch + 1}: " + ", ".join(shown)

    def on_train_end(self, logs=None):
        if hasattr(self.stream, "isatty") and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()

    def line(self, step, now):
        """The bar's text at `step`: e.g. `[#####-----] 5400/10800 50% 18.2 steps/s ETA 4:56`."""
        done = min(step / max(self.total_steps, 1), 1.0)
        filled = int(done * self.width)
        seconds = max(now - (self._start or now), 1e-9)
        rate = (step - self._first_step) / seconds
        eta = (self.total_steps - step) / rate if rate > 0 else float("nan")
        text = (f"[{'#' * filled}{'-' * (self.width - filled)}] {step}/{self.total_steps} "
                f"{100 * done:3.0f}% {rate:5.1f} steps/s ETA {_clock(eta)}")
        return f"{text}  {self._figures}" if self._figures else text


def _clock(seconds):
    if not np.isfinite(seconds):
        return "--:--"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
