"""Measuring sample quality during training, and keeping the best checkpoint.

A GAN's losses do not say when its samples are best, and published runs show
FID getting worse late in training. With `eval.every_epochs: N` in a recipe,
the `Evaluation` callback measures the generator every N epochs with
`kgan.evaluator.evaluate_generator`, logs the figures to TensorBoard
(`eval/fid`, ...) and to `metrics.csv` (its `fid`, `kid`, ... columns), and
saves `checkpoints/best.keras` whenever FID improves:

```python
run = kgan.runs.load_run("runs/mnist-dcgan-20250101-120000", checkpoint="best")
```

Image datasets need their evaluator cached (`kgan evaluator train mnist`);
without one, training warns once and skips evaluation rather than spending
minutes training a classifier unasked. The toys (`ring2d`, `grid2d`,
`gaussian1d`) are measured in their own coordinates and need none.
"""

import math
import os

import keras
import tensorflow as tf

from kgan import evaluator as evaluator_lib
from kgan import runs

FIELDS = [
    "fid", "kid", "kid_std_error", "precision", "recall",
    "classes_covered", "class_kl", "modes_covered", "high_quality_share",
]
"""The evaluation columns of `metrics.csv` (those that do not apply stay empty)."""


class Evaluation(keras.callbacks.Callback):
    """Every `every_epochs` epochs: FID and friends to `logs`, TensorBoard, best checkpoint.

    Put it before `MetricsLog` (which then writes the figures it adds to the
    epoch's `logs` into `metrics.csv`) and the `Checkpointer`.

    Args:
        run_dir: the run directory (`checkpoints/best.keras` goes there).
        source: the run's `kgan.data.DataSource`.
        data_config: the recipe's `data:` section (names the tfds dataset).
        every_epochs: evaluate after every this many epochs.
        num_samples: generated samples per evaluation.
        seed: their noise seed.
        writer: a `tf.summary` writer, or None.
        echo: prints the one-line summary of each evaluation (and warnings).
    """

    def __init__(self, run_dir, source, data_config, every_epochs, num_samples, seed=0,
                 writer=None, echo=print):
        super().__init__()
        self.run_dir = run_dir
        self.source = source
        self.data_config = dict(data_config)
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.seed = seed
        self.writer = writer
        self.echo = echo
        self._target = None  # what evaluate_generator measures against; None: skip
        self._evaluator = None
        self._warned = False
        self.best_fid = math.inf

    def on_train_begin(self, logs=None):
        best = runs.best_checkpoint(self.run_dir)
        self.best_fid = best["fid"] if best and "fid" in best else math.inf
        if self._target is None and not self._warned:
            self._target = self._find_target()

    def on_epoch_end(self, epoch, logs=None):
        if self._target is None or (epoch + 1) % self.every_epochs:
            return
        results = evaluator_lib.evaluate_generator(
            self.model, self._target, num_samples=self.num_samples, seed=self.seed,
            evaluator=self._evaluator,
        )
        scores = {name: float(results[name]) for name in FIELDS if name in results}
        if logs is not None:
            logs.update(scores)
        step = int(self.model.g_optimizer.iterations.numpy())
        if self.writer is not None:
            with self.writer.as_default():
                for name, value in scores.items():
                    if math.isfinite(value):
                        tf.summary.scalar(f"eval/{name}", value, step=step)
            self.writer.flush()
        fid = scores["fid"]
        improved = math.isfinite(fid) and fid < self.best_fid
        if improved:
            self.best_fid = fid
            runs.save_best(self.model, self.run_dir, step, {"fid": fid, "epoch": epoch + 1})
        self.echo(f"Epoch {epoch + 1} evaluation: " + ", ".join(
            f"{name} {value:.4g}" for name, value in scores.items())
            + (" (best so far: checkpoints/best.keras)" if improved else ""))

    def _find_target(self):
        if getattr(self.source, "modes", None) is not None:
            return self.source
        name = self.data_config.get("dataset") if self.data_config.get("name") == "tfds" else None
        if name is not None and os.path.isfile(evaluator_lib.cache_path(name)):
            self._evaluator = evaluator_lib.load_evaluator(name)
            return name
        self._warned = True
        if name is None:
            why = (f'kgan has no evaluator for dataset "{self.data_config.get("name")}" '
                   "(evaluators exist for labelled tfds datasets and the toys)")
        else:
            why = (f'no evaluator for "{name}" is cached at {evaluator_lib.cache_path(name)}; '
                   f"train one first with `kgan evaluator train {name}`")
        self.echo(f"Warning: eval.every_epochs is {self.every_epochs} but {why}. "
                  "Training goes on without evaluation.")
        return None
