#!/usr/bin/env python
"""Trains for a wall-clock budget and reports sample quality (FID) against training time.

Two ways of training, measured the same way:

  --recipe PATH [--set KEY=VALUE ...]   kgan: the recipe's GAN, optimisers and
                                        input pipeline (`kgan train`'s pieces),
                                        trained with `GAN.fit`;
  --loop tutorial                       the TensorFlow DCGAN tutorial: its
                                        networks, its simultaneous
                                        `train_step`, Adam(1e-4) twice, batch
                                        256, `shuffle(60000).batch(256)`.

Every `--eval-every` seconds of *training* time (the clock stops while
measuring) and at the end, `--eval-samples` samples (fixed noise) are
measured with kgan's cached evaluator of the dataset (`kgan evaluator train
mnist`): FID in the evaluator's feature space against the test split, and the
classes covered. The clock starts with the first training step and includes
tracing. Written to `--output` (default `runs/budget-<name>-<time>/`):

  fid_curve.csv   seconds, steps, images (real images consumed), fid,
                  classes_covered, eval_seconds
  fid_curve.png   FID against training seconds (and classes covered)
  samples.png     the final generator's samples (100, seed 0)
  summary.json    the command, the settings and the last row

`--compare A.csv B.csv ... --output plot.png` draws several curves on one plot.

Example:

```
python bin/train_budget.py --recipe recipes/mnist.yaml --budget 600 --output /tmp/kgan600
python bin/train_budget.py --loop tutorial --budget 600 --output /tmp/tutorial600
python bin/train_budget.py --compare /tmp/kgan600/fid_curve.csv \\
    /tmp/tutorial600/fid_curve.csv --output /tmp/fid_600s.png
```
"""

import argparse
import csv
import datetime
import json
import math
import os
import shlex
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# kgan before TensorFlow, as `kgan train` runs: it picks TensorFlow's CPU kernels
# (oneDNN unless TF_ENABLE_ONEDNN_OPTS says otherwise) for every loop measured here.
import kgan  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgan import config  # noqa: E402
from kgan import data as data_lib  # noqa: E402
from kgan import evaluator as evaluator_lib  # noqa: E402
from kgan import quality  # noqa: E402
from kgan import images  # noqa: E402
from kgan import metrics  # noqa: E402
from kgan import train as train_lib  # noqa: E402
from kgan_plugins import tutorial  # noqa: E402

FIELDS = ["seconds", "steps", "images", "fid", "classes_covered", "eval_seconds"]
NOISE_DIM = 100  # the tutorial's noise_dim


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--recipe", metavar="PATH", help="train a kgan recipe")
    mode.add_argument("--loop", choices=("tutorial",),
                      help="train the TensorFlow DCGAN tutorial's loop")
    mode.add_argument("--compare", nargs="+", metavar="CSV",
                      help="only draw these fid_curve.csv files on one plot (--output PNG)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="recipe override (repeatable)")
    parser.add_argument("--budget", type=float, default=600.0, metavar="SECONDS",
                        help="training time (wall clock, evaluations excluded)")
    parser.add_argument("--eval-every", type=float, default=60.0, metavar="SECONDS",
                        help="training seconds between evaluations")
    parser.add_argument("--eval-samples", type=int, default=2000, metavar="N",
                        help="generated samples per evaluation")
    parser.add_argument("--dataset", default="mnist",
                        help="tfds dataset of the tutorial loop (the evaluator's too)")
    parser.add_argument("--split", default="train", help="training split of the tutorial loop")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="batch size of the tutorial loop (its BATCH_SIZE)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the tutorial loop (a recipe has its own)")
    parser.add_argument("--evaluator", metavar="PATH",
                        help="evaluator .keras file (default: the cached one of the dataset)")
    parser.add_argument("--reference-samples", type=int, metavar="N",
                        help="compare with the first N test images only (default: all, "
                        "with the features cached beside the evaluator)")
    parser.add_argument("--output", metavar="PATH",
                        help="output directory (a PNG file with --compare)")
    args = parser.parse_args(argv)
    if args.overrides and not args.recipe:
        parser.error("--set applies to --recipe only")
    if args.compare:
        if not args.output:
            parser.error("--compare needs --output PNG")
        return args
    if not args.budget > 0 or not args.eval_every > 0:
        parser.error("--budget and --eval-every must be > 0 seconds")
    for name in ("eval_samples", "batch_size", "reference_samples"):
        value = getattr(args, name)
        if value is not None and value < 2:
            parser.error(f"--{name.replace('_', '-')} must be >= 2")
    return args


def main(argv=None):
    """Trains, measures and writes the curve; returns the rows of `fid_curve.csv`."""
    args = parse_args(argv)
    if args.compare:
        plot_curves({_curve_label(path): read_curve(path) for path in args.compare},
                    args.output)
        print(f"wrote {args.output}")
        return None
    command = shlex.join(["python", "bin/train_budget.py",
                          *(sys.argv[1:] if argv is None else argv)])
    print(f"command: {command}", flush=True)
    if args.recipe:
        recipe = config.resolve(args.recipe, args.overrides)
        name, dataset = recipe["name"] or "recipe", _tfds_name(recipe["data"])
        trainer = KganTrainer(recipe)
    else:
        trainer = TutorialTrainer(args.dataset, args.split, args.batch_size, args.seed)
        name, dataset = "tutorial", args.dataset
    output = args.output or os.path.join(
        "runs", f"budget-{name}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    os.makedirs(output, exist_ok=True)
    scorer = Scorer(dataset, args.evaluator, args.reference_samples, args.eval_samples)

    rows = []
    csv_path = os.path.join(output, "fid_curve.csv")

    def evaluate(seconds, steps, images_seen):
        start = time.perf_counter()
        fid, classes = scorer(trainer.sampler)
        rows.append({"seconds": round(seconds, 2), "steps": steps, "images": images_seen,
                     "fid": fid, "classes_covered": classes,
                     "eval_seconds": round(time.perf_counter() - start, 2)})
        _write_csv(rows, csv_path)
        print(f"  {seconds:7.1f} s  {steps:6d} steps  {images_seen:9d} images  FID {fid:8.2f}  "
              f"classes {classes}/{scorer.num_classes}", flush=True)

    print(f"training {name} for {args.budget:g} s, measuring {args.eval_samples} samples "
          f"every {args.eval_every:g} s of training", flush=True)
    clock = BudgetClock(args.budget, args.eval_every, evaluate)
    trainer.train(clock)

    images.save_grid(quality.generate(trainer.sampler, 100, seed=0),
                     os.path.join(output, "samples.png"))
    plot_curves({name: rows}, os.path.join(output, "fid_curve.png"))
    with open(os.path.join(output, "summary.json"), "w", encoding="utf-8") as file:
        json.dump({"command": command, "mode": "recipe" if args.recipe else "tutorial",
                   "name": name, "budget": args.budget, "eval_every": args.eval_every,
                   "eval_samples": args.eval_samples, "batch_size": trainer.batch_size,
                   "last": rows[-1], "best_fid": min(row["fid"] for row in rows)},
                  file, indent=1)
    print(f"wrote {output}/fid_curve.csv, fid_curve.png, samples.png, summary.json")
    return rows


class BudgetClock:
    """Training time with evaluations left out; says when to evaluate and when to stop.

    `tick(steps, images)` after every training step (or group of steps):
    evaluates when an `eval_every` mark is passed, and returns True once the
    budget is spent (after a last evaluation).
    """

    def __init__(self, budget, eval_every, evaluate, timer=time.perf_counter):
        self.budget = budget
        self.eval_every = eval_every
        self.evaluate = evaluate
        self.timer = timer
        self.elapsed = 0.0
        self._started = None
        self._next_eval = eval_every
        self.done = False

    def start(self):
        """Measures the initial generator (at 0 s), then starts the clock."""
        self.evaluate(0.0, 0, 0)
        self._started = self.timer()

    def tick(self, steps, images_seen):
        now = self.timer()
        self.elapsed += now - self._started
        if self.elapsed >= self.budget:
            self.evaluate(self.elapsed, steps, images_seen)
            self.done = True
            return True
        if self.elapsed >= self._next_eval:
            self.evaluate(self.elapsed, steps, images_seen)
            while self._next_eval <= self.elapsed:
                self._next_eval += self.eval_every
        self._started = self.timer()
        return False


class Scorer:
    """FID (evaluator features, against the test split) and classes covered of a generator."""

    def __init__(self, dataset, evaluator_path=None, reference_samples=None, num_samples=2000):
        self.evaluator = evaluator_lib.load_evaluator(dataset, evaluator_path)
        if reference_samples is None:
            features = evaluator_lib.reference_set(self.evaluator, dataset,
                                                   evaluator_path).features
        else:
            test = data_lib.load({"name": "tfds", "dataset": dataset,
                                  "split": f"test[:{reference_samples}]"})
            features = self.evaluator.features(_read_images(test))
        self.real_statistics = metrics.feature_statistics(features)
        self.num_classes = self.evaluator.num_classes
        self.num_samples = num_samples

    def __call__(self, generator):
        samples = quality.generate(generator, self.num_samples, seed=0)
        features, logits = self.evaluator.features_and_logits(samples)
        if not np.all(np.isfinite(features)):
            return math.inf, 0
        fid = metrics.frechet_distance_from_statistics(
            *self.real_statistics, *metrics.feature_statistics(features))
        coverage = metrics.class_coverage(logits, self.num_classes)
        return fid, coverage["classes_covered"]


class KganTrainer:
    """A recipe's GAN, data pipeline and optimisers, trained by `GAN.fit` until the clock stops."""

    def __init__(self, recipe):
        self.recipe = recipe
        train_cfg = recipe["train"]
        keras.mixed_precision.set_global_policy(train_cfg["precision"])
        keras.utils.set_random_seed(recipe["seed"])
        if recipe["deterministic"]:
            tf.config.experimental.enable_op_determinism()
        with config.at("data"):
            self.source = data_lib.load(recipe["data"], seed=recipe["seed"])
        self.gan = train_lib.build_gan(recipe, self.source.sample_shape, self.source.num_classes)
        self.dataset, self.steps_per_epoch = data_lib.pipeline(
            self.source, train_cfg["batch_size"], train_cfg["d_steps"], recipe["seed"],
            steps_per_epoch=train_cfg["steps_per_epoch"])
        self.batch_size = train_cfg["batch_size"]
        self.rows_per_step = train_cfg["batch_size"] * train_cfg["d_steps"]

    @property
    def sampler(self):
        return self.gan

    def train(self, clock):
        trainer = self

        class Budget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                clock.start()

            def on_train_batch_end(self, batch, logs=None):
                steps = int(trainer.gan.g_optimizer.iterations.numpy())
                if clock.tick(steps, steps * trainer.rows_per_step):
                    self.model.stop_training = True

        self.gan.fit(self.dataset, epochs=10**9, steps_per_epoch=self.steps_per_epoch,
                     callbacks=[Budget()], verbose=0)


class TutorialTrainer:
    """The TensorFlow DCGAN tutorial: its networks, step, optimisers and input, epoch by epoch."""

    def __init__(self, dataset, split, batch_size, seed):
        keras.utils.set_random_seed(seed)
        source = data_lib.load({"name": "tfds", "dataset": dataset, "split": split})
        train_images = _read_images(source)
        self.dataset = tutorial.make_dataset(train_images, batch_size,
                                             buffer_size=len(train_images))
        shape = train_images.shape[1:]
        self.generator = kgan.generator("tf_tutorial", latent_dim=NOISE_DIM, output_shape=shape)
        self.discriminator = kgan.discriminator("tf_tutorial", input_shape=shape)
        self.train_step = tutorial.make_train_step(
            self.generator, self.discriminator, keras.optimizers.Adam(1e-4),
            keras.optimizers.Adam(1e-4), batch_size, NOISE_DIM)
        self.batch_size = batch_size

    @property
    def sampler(self):
        return self.generator

    def train(self, clock):
        steps = images_seen = 0
        clock.start()
        while True:
            for image_batch in self.dataset:
                self.train_step(image_batch)
                steps += 1
                images_seen += int(image_batch.shape[0])
                if clock.tick(steps, images_seen):
                    return


# ---------------------------------------------------------------- files


def read_curve(path):
    with open(path, newline="", encoding="utf-8") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


def plot_curves(curves, path):
    """FID (log scale) and classes covered against training seconds, one line per curve."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (fid_axes, class_axes) = pyplot.subplots(1, 2, figsize=(10, 4), dpi=90)
    for label, rows in curves.items():
        seconds = [row["seconds"] for row in rows]
        fid_axes.plot(seconds, [row["fid"] for row in rows], "o-", label=label)
        class_axes.plot(seconds, [row["classes_covered"] for row in rows], "o-", label=label)
    fid_axes.set(xlabel="training seconds", ylabel="FID (evaluator features)",
                 title="FID against training time", yscale="log")
    class_axes.set(xlabel="training seconds", ylabel="classes covered",
                   title="Classes covered")
    for axes in (fid_axes, class_axes):
        axes.legend()
        axes.grid(alpha=0.3)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)


def _write_csv(rows, path):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _curve_label(path):
    directory = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return directory or path


def _read_images(source):
    batches = [x.numpy() for x, _ in source.dataset.batch(4096)]
    return np.concatenate(batches)


def _tfds_name(data_config):
    if data_config.get("name") != "tfds" or not data_config.get("dataset"):
        raise kgan.KganError(
            f"train_budget.py measures FID with a tfds dataset's evaluator, but the recipe's "
            f"data is {data_config!r}. Use a recipe with data: {{name: tfds, dataset: mnist}}."
        )
    return data_config["dataset"]


if __name__ == "__main__":
    try:
        main()
    except kgan.KganError as error:
        sys.exit(f"error: {error}")
