"""Measuring a generator's sample quality, after training and during it.

`evaluate_generator` measures a generator's samples: FID, KID and
precision/recall in the feature space of the dataset's evaluator
(`kgan.evaluator`; the formulas are in `kgan.metrics`), and the classes or
modes it covers.

A GAN's losses do not say when its samples are best, and published runs show
FID getting worse late in training. With `eval.every_epochs: N` in a recipe,
the `Evaluation` callback measures the generator every N epochs with
`evaluate_generator`, logs the figures to TensorBoard
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

import collections.abc
import math

import keras
import numpy as np
import tensorflow as tf

from kgan import data as data_lib
from kgan import errors
from kgan import evaluator as evaluator_lib
from kgan import health
from kgan import inference
from kgan import metrics
from kgan import noise
from kgan import runs
from kgan import theory

FIELDS = [
    "fid", "kid", "kid_std_error", "precision", "recall",
    "classes_covered", "class_kl", "modes_covered", "high_quality_share",
]
"""The evaluation columns of `metrics.csv` (those that do not apply stay empty)."""


def evaluate_generator(generator, dataset, num_samples=10_000, seed=0, *, evaluator=None,
                       reference=None, num_kid_subsets=10, k=3, batch_size=500):
    """Measures a generator's samples: FID, KID, precision/recall and mode coverage.

    For image datasets the features come from the dataset's evaluator and are
    compared with the test split; mode coverage uses its predicted classes.
    For the toys `ring2d` / `grid2d` the samples are compared in their own
    coordinates with fresh data, and modes covered and the high-quality share
    are added.

    Example:

    ```python
    results = kgan.quality.evaluate_generator(gan, "mnist", num_samples=10_000)
    ```

    Args:
        generator: a `kgan.GAN`, or a generator `keras.Model` from
            `[batch, latent_dim]` noise.
        dataset: a tfds name ("mnist"), a recipe's `data:` section, or a
            `kgan.data.DataSource`.
        num_samples: generated samples to measure (10,000 as for the test
            split; fewer give noisier, and for FID larger, figures).
        seed: noise seed of the samples.
        evaluator: an `Evaluator`; defaults to the cached one of `dataset`.
        reference: `(images, labels)` to compare against instead of the test
            split (labels may be None).
        num_kid_subsets: disjoint subsets of the KID estimate.
        k: neighbour of precision/recall's k-NN balls.

    Returns:
        A flat dict of floats and ints: `fid`, `kid`, `kid_std_error`,
        `precision`, `recall`, and `classes_covered`, `num_classes`,
        `class_kl` (labelled images) or `modes_covered`, `num_modes`,
        `high_quality_share` (toys); plus `num_samples`.
    """
    samples = generate(generator, num_samples, seed, batch_size=batch_size)
    source = dataset if isinstance(dataset, data_lib.DataSource) else None
    if source is None and isinstance(dataset, collections.abc.Mapping):
        if dataset.get("name") == "tfds":
            dataset = dataset.get("dataset")
        else:
            source = data_lib.load(dataset, seed=seed)
    if source is not None and source.modes is not None:
        return _evaluate_toy(samples, source, seed, num_kid_subsets, k)
    if source is not None and reference is None:
        raise errors.KganError(
            f"kgan has no evaluator for dataset {source.name}: evaluators exist for "
            "labelled tensorflow-datasets (data: {name: tfds, dataset: ...}). Pass "
            "reference=(images, labels) and an evaluator, or measure Inception-v3 FID "
            "with kgan.evaluator.InceptionFeatures."
        )
    if evaluator is None:
        evaluator = evaluator_lib.load_evaluator(dataset)
    real_radii = None
    if reference is None:
        real_features, real_labels, radii = evaluator_lib.reference_set(evaluator, dataset)
        real_radii = radii if k == evaluator_lib.REFERENCE_K else None
    else:
        images, labels = reference
        real_features = evaluator.features(images, batch_size)
        real_labels = None if labels is None else np.asarray(labels)
    fake_features, fake_logits = evaluator.features_and_logits(samples, batch_size)
    results = {"num_samples": int(num_samples)}
    results.update(_distances(real_features, fake_features, num_kid_subsets, k, seed,
                              real_radii))
    data_histogram = None
    if real_labels is not None and np.all(real_labels >= 0):
        data_histogram = np.bincount(real_labels, minlength=evaluator.num_classes)
    coverage = metrics.class_coverage(fake_logits, evaluator.num_classes, data_histogram)
    results.update(
        classes_covered=coverage["classes_covered"],
        num_classes=coverage["num_classes"],
        class_kl=coverage["class_kl"],
    )
    return results


def generate(generator, num_samples, seed=0, batch_size=500):
    """`num_samples` samples of a `kgan.GAN` or a generator model, from `kgan.noise` noise."""
    if hasattr(generator, "generate") and hasattr(generator, "latent_dim"):
        return generator.generate(num_samples, seed=seed, batch_size=batch_size)
    if not isinstance(generator, keras.Model):
        raise errors.KganError(
            f"Expected a kgan.GAN or a generator keras.Model, got {type(generator).__name__}."
        )
    z = noise.sample(num_samples, generator.input_shape[-1], seed)
    return inference.predict(generator, z, batch_size=batch_size)


PARZEN_SIGMAS = tuple(float(s) for s in np.logspace(-1.0, 0.0, 10))
"""The bandwidths the paper's code tries (0.1 to 1, ten log-spaced): `parzen_ll.py`."""


def parzen_estimate(generator, dataset="mnist", num_samples=10_000, seed=0,
                    sigmas=PARZEN_SIGMAS, num_validation=1_000, data_dir=None):
    """The Parzen-window log-likelihood of Goodfellow et al. (2014), Table 1, as they ran it.

    A Gaussian Parzen window is fitted to `num_samples` generated images; its
    bandwidth is the one of `sigmas` under which the first `num_validation`
    images of the validation split (train examples 50,000 to 59,999, which
    the paper's code sets aside) are likeliest; the result is the mean log
    likelihood of the test split's images under that window, with its
    standard error. Pixels are in [0, 1], as in the paper.

    The estimate says little about sample quality: in high dimensions Parzen
    windows need far more samples than 10,000, a model of blurry or few
    distinct images can score well, and good samples can score badly (Theis,
    van den Oord & Bethge 2016). kgan reports it to compare with the paper.

    Returns:
        `{"parzen_log_likelihood", "parzen_std_error", "parzen_sigma",
        "parzen_num_samples"}`, in nats per image.
    """
    config = {"name": "tfds", "dataset": dataset}
    if data_dir is not None:
        config["data_dir"] = data_dir
    source = data_lib.load(config)
    if source.sample_shape[-1:] != (1,) or len(source.sample_shape) != 3:
        raise errors.KganError(
            f"The Parzen estimate is the paper's for grayscale images (MNIST); dataset "
            f"{dataset!r} has samples of shape {source.sample_shape}."
        )
    samples = (generate(generator, num_samples, seed) + 1.0) / 2.0
    validation, _ = data_lib.arrays(
        data_lib.load({**config, "split": "train[50000:60000]"}), limit=num_validation
    )
    test, _ = data_lib.arrays(data_lib.load({**config, "split": "test"}))
    sigma, _ = metrics.parzen_sigma(samples, (validation + 1.0) / 2.0, sigmas)
    log_likelihoods = metrics.parzen_log_likelihoods(samples, (test + 1.0) / 2.0, sigma)
    return {
        "parzen_log_likelihood": float(log_likelihoods.mean()),
        "parzen_std_error": float(log_likelihoods.std() / np.sqrt(len(log_likelihoods))),
        "parzen_sigma": sigma,
        "parzen_num_samples": int(num_samples),
    }


def _distances(real_features, fake_features, num_kid_subsets, k, seed, real_radii=None):
    kid = metrics.kernel_inception_distance(
        real_features, fake_features, num_subsets=num_kid_subsets, seed=seed
    )
    pr = metrics.precision_recall(real_features, fake_features, k=k, real_radii=real_radii)
    return {
        "fid": metrics.frechet_distance(real_features, fake_features),
        "kid": kid.mean,
        "kid_std_error": kid.std_error,
        "precision": pr["precision"],
        "recall": pr["recall"],
    }


def _evaluate_toy(samples, source, seed, num_kid_subsets, k):
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    real, _ = data_lib.arrays(source, limit=len(samples))
    results = {"num_samples": len(samples)}
    results.update(_distances(real.astype(np.float64).reshape(len(real), -1), samples,
                              num_kid_subsets, k, seed))
    toy = metrics.toy_mode_metrics(samples, source.modes, source.std)
    results.update(
        modes_covered=toy["modes_covered"],
        num_modes=toy["num_modes"],
        high_quality_share=toy["high_quality_share"],
    )
    return results


def toy_run_figures(run_dir, seed=123):
    """What a toy run's final generator learned, against the data's known distribution.

    - gaussian1d: `{"mean", "std", "ks"}` of 20,000 samples, the last the
      Kolmogorov-Smirnov distance from N(mean, std^2) of the data;
    - ring2d, grid2d: `kgan.metrics.toy_mode_metrics` of 2,500 samples (as
      VEEGAN and PacGAN count): `modes_covered`, `num_modes`,
      `high_quality_share`, ...

    `bin/toy_seeds.py` and the recipe tests measure runs this way.
    """
    run = runs.load_run(run_dir)
    source = data_lib.load(run.recipe["data"], seed=run.recipe["seed"])
    if source.modes is None:
        raise errors.KganError(f"{run_dir} is not a toy run (its data have no known modes).")
    if source.modes.shape[1] == 1:
        samples = run.gan.generate(20_000, seed=seed).reshape(-1).astype(np.float64)
        mean, std = float(source.modes[0, 0]), float(source.std)
        ks = metrics.ks_distance(samples, lambda x: theory.gaussian_cdf(x, mean, std))
        return {"mean": float(samples.mean()), "std": float(samples.std()), "ks": ks}
    return metrics.toy_mode_metrics(run.gan.generate(2_500, seed=seed), source.modes,
                                    source.std)


def measurement_target(source, data_config, echo=print, train_missing=True):
    """What `evaluate_generator` measures a run against: `(target, evaluator)`.

    The toys are measured in their own coordinates (`target` is the source,
    no evaluator); labelled tfds image datasets by their evaluator
    (`kgan.evaluator.find_evaluator`: yours, kgan's, or one trained now).
    Anything else gives `(None, None)`, after a warning that says why.
    """
    if getattr(source, "modes", None) is not None:
        return source, None
    name = data_config.get("dataset") if data_config.get("name") == "tfds" else None
    if name is not None and source.num_classes:
        if evaluator_lib.evaluator_path(name) is None and train_missing:
            echo(f'No evaluator for "{name}" yet: training one '
                 f"({evaluator_lib.FIRST_USE_EPOCHS} epoch), cached for the next runs.")
        shadowed = evaluator_lib.shadowed_evaluator(name)
        if shadowed:
            echo(f"Warning: {shadowed}")
        return name, evaluator_lib.find_evaluator(name, train_missing=train_missing,
                                                  data_dir=data_config.get("data_dir"))
    if name is None:
        reason = (f'kgan has no evaluator for dataset "{data_config.get("name")}" (evaluators '
                  "exist for labelled tfds datasets and the toys)")
    else:
        reason = f'tfds dataset "{name}" has no class labels, which evaluators learn from'
    echo(f"Warning: evaluation is on (eval.every_epochs) but {reason}. Training goes on "
         "without evaluation.")
    return None, None


class Evaluation(keras.callbacks.Callback):
    """Every `every_epochs` epochs: FID and friends to `logs`, TensorBoard, best checkpoint.

    Put it before `MetricsLog` (which then writes the figures it adds to the
    epoch's `logs` into `metrics.csv`) and the `Checkpointer`.

    Args:
        run_dir: the run directory (`checkpoints/best.keras` goes there).
        target, evaluator: what `measurement_target` returns for the run.
        every_epochs: evaluate after every this many epochs.
        num_samples: generated samples per evaluation.
        seed: their noise seed.
        writer: a `tf.summary` writer, or None.
        echo: prints the one-line summary of each evaluation (and warnings).
    """

    def __init__(self, run_dir, target, evaluator, every_epochs, num_samples, seed=0,
                 writer=None, echo=print):
        super().__init__()
        self.run_dir = run_dir
        self._target = target  # what evaluate_generator measures against; None: skip
        self._evaluator = evaluator
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.seed = seed
        self.writer = writer
        self.echo = echo
        self.best_fid = math.inf

    def on_train_begin(self, logs=None):
        best = runs.best_checkpoint(self.run_dir)
        self.best_fid = best["fid"] if best and "fid" in best else math.inf

    def on_epoch_end(self, epoch, logs=None):
        if self._target is None or (epoch + 1) % self.every_epochs:
            return
        if not health.finite_weights(self.model.sampler):
            return  # a run stopping on NaN; `kgan.health` reports it
        results = evaluate_generator(
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
