"""Training from a resolved recipe, in one pass: data, model, run directory, fit, outputs.

Everything that can fail on bad input (the dataset, the networks) is built
before the run directory is made, so a mistake leaves nothing on disk.

Example:

```python
recipe = kgan.config.resolve("recipes/ring2d.yaml", ["train.epochs=2"])
run_dir = kgan.train.train(recipe)
kgan.train.resume(run_dir)          # after an interruption
```
"""

import contextlib
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from kgan import architectures
from kgan import callbacks as callbacks_lib
from kgan import config
from kgan import data
from kgan import direct
from kgan import distribute
from kgan import errors
from kgan import gan as gan_lib
from kgan import health
from kgan import noise
from kgan import optimizers
from kgan import plots
from kgan import quality
from kgan import report
from kgan import runs
from kgan import timing


def train(recipe, run_dir=None, verbose=1, echo=print, started=None):
    """Trains a GAN as `recipe` says, in a new run directory; returns its path.

    Args:
        recipe: a resolved recipe (`kgan.config.resolve`).
        run_dir: the new run directory; default `runs/<name>-<time>/`.
        verbose: 0 prints nothing but warnings and the summary, 1 adds a
            progress bar over the whole run, 2 also Keras' bar of each epoch.
        echo: prints kgan's lines (warnings, the summary).
        started: when the run started, for the summary's time split (seconds
            since the epoch); default now. `kgan train` passes its process's
            start, so that start-up counts the imports.

    Under `train.strategy: multi_worker` only the chief writes `run_dir`; the
    other workers train alike in a temporary directory, removed at the end,
    and return None.
    """
    split = timing.TimeSplit(started or time.time())
    with _session(recipe, echo) as (distribution, source, measurement):
        with distribution.scope():
            gan = build_gan(recipe, source.sample_shape, source.num_classes)
        probe = health.probe(source)
        with config.at("model.generator"):
            health.check_data(gan.generator, probe[0])
        stream = _pipeline(recipe, gan, source, 0)  # e.g. too little data for one step
        context = (source, measurement, probe, stream, verbose, echo, split)
        if not distribute.is_chief(recipe["train"]["strategy"]):
            with distribute.scratch_dir() as scratch:
                echo(f"{distribute.task_name()}: training beside the chief, which writes the "
                     "run directory; this worker's files go to a temporary directory, "
                     "removed at the end.")
                _fit(recipe, gan, runs.create(recipe, os.path.join(scratch, "run")), *context)
            return None
        run_dir = runs.create(recipe, run_dir)
        echo(f"Run directory: {run_dir}")
        with runs.lock(run_dir):
            _fit(recipe, gan, run_dir, *context)
    return run_dir


def resume(run_dir, verbose=1, echo=print, started=None):
    """Continues the run in `run_dir` from its last checkpoint, at the same step.

    `started` is as `train`'s: when the resumed run started (default now).
    """
    recipe = runs.read_recipe(run_dir)
    if os.path.exists(os.path.join(run_dir, runs.FINAL_GAN)):
        echo(f"Run {run_dir} has already finished; nothing to resume.")
        return run_dir
    runs.latest_checkpoint(run_dir)  # a damaged run directory is refused before it is touched
    chief = distribute.is_chief(recipe["train"]["strategy"])
    with runs.lock(run_dir) if chief else contextlib.nullcontext():
        return _resume(recipe, run_dir, chief, verbose, echo, started)


def _resume(recipe, run_dir, chief, verbose, echo, started):
    split = timing.TimeSplit(started or time.time())
    checkpoint = runs.latest_checkpoint(run_dir, echo)
    with _session(recipe, echo) as (distribution, source, measurement):
        with distribution.scope():
            if checkpoint is None:
                gan = build_gan(recipe, source.sample_shape, source.num_classes)
            else:
                gan = runs.restore_checkpoint(checkpoint)
                echo(f"Resuming from {checkpoint['path']} at step {checkpoint['step']}.")
        stream = _pipeline(recipe, gan, source, callbacks_lib.global_step(gan))
        context = (source, measurement, health.probe(source), stream, verbose, echo, split)
        if not chief:
            # A non-chief worker restores the chief's checkpoint (a shared or
            # copied run directory) and writes to a copy of it.
            with distribute.scratch_dir() as scratch:
                _fit(recipe, gan, shutil.copytree(run_dir, os.path.join(scratch, "run")),
                     *context)
            return None
        _fit(recipe, gan, run_dir, *context)
    return run_dir


def build_gan(recipe, sample_shape, num_classes=None):
    """The compiled `kgan.GAN` (or `kgan.DirectModel`) of a recipe, for data of `sample_shape`.

    `num_classes` is the dataset's number of classes, which a conditional
    recipe (`model.conditional: true`) needs.
    """
    model = recipe["model"]
    if model["conditional"] and not num_classes:
        raise errors.KganError(
            "Recipe key `model.conditional`: a conditional GAN needs labelled data, but "
            f"the dataset {recipe['data'].get('name')!r} has no classes. Use a labelled "
            "dataset (e.g. tfds mnist) or set model.conditional: false."
        )
    num_classes = num_classes if model["conditional"] else None
    networks = {role: _network(recipe, role, sample_shape, num_classes)
                for role in ("generator", "discriminator") if model[role] is not None}
    train_cfg = recipe["train"]
    common = dict(latent_dim=model["latent_dim"], seed=recipe["seed"],
                  num_classes=num_classes, ema_decay=model["ema_decay"])
    options = optimizers.build(recipe)
    compile_options = dict(
        jit_compile=False if recipe["deterministic"] else train_cfg["jit_compile"],
        steps_per_execution=train_cfg["steps_per_execution"],
    )
    if "discriminator" not in networks:
        gan = direct.DirectModel(networks["generator"], **common)
        gan.compile(options["g_optimizer"], loss=recipe["loss"], **compile_options)
        return gan
    gan = gan_lib.GAN(networks["generator"], networks["discriminator"],
                   d_steps=train_cfg["d_steps"], reuse_fakes=train_cfg["reuse_fakes"],
                   **common)
    gan.compile(
        options["d_optimizer"], options["g_optimizer"], loss=recipe["loss"],
        regularizers=recipe["regularizers"],
        class_loss_weight=train_cfg["class_loss_weight"],
        class_loss_on_fakes=train_cfg["class_loss_on_fakes"],
        **compile_options,
    )
    return gan


def strategy(name, devices=None):
    """The `tf.distribute` strategy that `train.strategy` names.

    "default" is one device, "mirrored" every local GPU (every logical CPU
    without one) or the given `devices`, "multi_worker" the workers listed in
    the `TF_CONFIG` environment variable; see `kgan.distribute.strategy`.
    """
    return distribute.strategy(name, devices)


@contextlib.contextmanager
def _session(recipe, echo):
    """The recipe's precision policy, strategy, seeds, data and evaluator, for the block.

    Yields `(strategy, source, measurement)`, `measurement` being what
    `kgan.quality.measurement_target` finds when evaluation is on, else None.
    """
    # The precision policy applies to the layers built while it is set; the
    # caller's policy is restored afterwards.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(recipe["train"]["precision"])
    try:
        # First: a multi-worker strategy sets up its collective ops before other TF work.
        distribution = strategy(recipe["train"]["strategy"])
        distribute.check_batch_size(distribution, recipe["train"]["batch_size"])
        noise.set_seed(recipe["seed"], deterministic=recipe["deterministic"])
        with config.at("data"):
            source = data.load(recipe["data"], seed=recipe["seed"])
        for note in source.notes:
            echo(f"Warning: {note}")
        measurement = None
        if recipe["eval"]["every_epochs"]:
            measurement = quality.measurement_target(source, recipe["data"], echo)
        yield distribution, source, measurement
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _network(recipe, role, sample_shape, num_classes):
    params = dict(recipe["model"][role])
    name = params.pop("name")
    shape = {"output_shape" if role == "generator" else "input_shape": sample_shape}
    if role == "generator":
        shape["latent_dim"] = recipe["model"]["latent_dim"]
    if num_classes:
        shape["num_classes"] = num_classes
    with config.at(f"model.{role}"):
        try:
            return getattr(architectures, role)(name, **shape, **params)
        except (tf.errors.ResourceExhaustedError, MemoryError) as exc:
            raise errors.KganError(
                f"building the {name} {role} needs more memory than this machine has: "
                f"{_allocation(exc)}. Check the sizes in the recipe (model.latent_dim is "
                f"{recipe['model']['latent_dim']}; the {role}'s options: {params or 'none'})."
            ) from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, errors.KganError):
                raise
            raise errors.KganError(
                f"building the {name} {role} for samples of shape {tuple(sample_shape)} "
                f"failed: {exc}. Check its options: "
                f"{', '.join(architectures.parameters(name, role)) or 'none'}."
            ) from None


def _allocation(exc):
    """What an out-of-memory error tried to allocate, e.g. 'a tensor of 12.5 TB ...'."""
    import re

    match = re.search(r"shape\[([\d,]+)\] and type (\w+)", str(exc))
    if not match:
        return "an allocation failed"
    dims = [int(d) for d in match.group(1).split(",")]
    size = {"float": 4, "double": 8, "half": 2, "bfloat16": 2}.get(match.group(2), 4)
    total = size * int(np.prod(dims, dtype=np.float64))
    return (f"one of its weights alone is a tensor of shape {dims}, {total / 1e9:,.1f} GB "
            f"as {match.group(2)}")


def _pipeline(recipe, gan, source, start_step):
    """`(dataset, steps_per_epoch)`: the stream of training steps from `start_step` on."""
    with config.at("data"):
        return data.pipeline(
            source, batch_size=recipe["train"]["batch_size"],
            d_steps=getattr(gan, "d_steps", 1), seed=recipe["seed"], start_step=start_step,
            steps_per_epoch=recipe["train"]["steps_per_epoch"],
        )


def _fit(recipe, gan, run_dir, source, measurement, probe, stream, verbose, echo, split):
    """Trains `gan` from its current step, `stream` being `_pipeline` from that step.

    `split` (a `kgan.timing.TimeSplit`) counts where the time goes.
    """
    train_cfg = recipe["train"]
    step = callbacks_lib.global_step(gan)
    dataset, steps_per_epoch = stream
    epochs = train_cfg["epochs"]
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))
    fit_callbacks = _callbacks(recipe, source, measurement, probe, run_dir, writer, echo)
    monitor = next(c for c in fit_callbacks if isinstance(c, health.TrainingHealth))
    if verbose >= 1:
        fit_callbacks.insert(0, callbacks_lib.RunProgress(epochs * steps_per_epoch))
    fit_callbacks = [split.step_timer()] + [
        split.timed(c, _PHASES.get(type(c).__name__, "logs")) for c in fit_callbacks]
    keras_verbose = 1 if verbose >= 2 else 0
    epoch, step_in_epoch = divmod(step, steps_per_epoch)
    # A write that fails (a full disk) stops the run with what was kept and how to go on.
    with runs.writing(run_dir, "the run's samples, metrics or logs"):
        if step_in_epoch and epoch < epochs:
            # Finish the interrupted epoch first, then continue with whole epochs.
            with split.fitting():
                gan.fit(dataset, epochs=epoch + 1, initial_epoch=epoch,
                        steps_per_epoch=steps_per_epoch - step_in_epoch,
                        callbacks=fit_callbacks, verbose=keras_verbose, shuffle=False)
            epoch += 1
            dataset, _ = _pipeline(recipe, gan, source, epoch * steps_per_epoch)
        if epoch < epochs:
            with split.fitting():
                gan.fit(dataset, epochs=epochs, initial_epoch=epoch,
                        steps_per_epoch=steps_per_epoch, callbacks=fit_callbacks,
                        verbose=keras_verbose, shuffle=False)
    writer.close()
    if monitor.non_finite is not None:
        raise _stopped(run_dir, *monitor.non_finite)
    with split.phase("final weights"):
        runs.save_final(gan, run_dir)
    _finish(recipe, gan, run_dir, source, measurement, echo, split)


# The phase of the time split that each kind of callback's work counts under.
_PHASES = {"Evaluation": "evaluation", "Checkpointer": "checkpoints",
           "SampleGrids": "sample grids", "Gaussian1dSnapshots": "sample grids"}


def _finish(recipe, gan, run_dir, source, measurement, echo, split):
    """After the final weights are saved: plots, the final evaluation, summary and report.

    The run's results are kept whatever happens to its pictures: a plot or
    report that cannot be written (a full disk, say) is a warning.
    """
    with split.phase("plots"):
        _or_warn(lambda: plots.plot_run(run_dir, gan, source), "the plots", run_dir, echo)
    eval_cfg = recipe["eval"]
    evaluation = None
    if measurement is not None and measurement[0] is not None:
        with split.phase("final evaluation"):
            evaluation = quality.evaluate_generator(
                gan, measurement[0], evaluator=measurement[1], seed=eval_cfg["seed"],
                num_samples=eval_cfg["final_num_samples"] or eval_cfg["num_samples"],
            )
    summary = _or_warn(lambda: report.summarize(
        run_dir, evaluation, wall_seconds=time.time() - split.started,
        peak_rss_mb=callbacks_lib.memory_mb().get("peak_rss_mb"),
        time_split=split.seconds()), "the summary", run_dir, echo)
    if summary is not None:
        _or_warn(lambda: report.write_report(run_dir, summary), "the report", run_dir, echo)
        echo(report.format_summary(summary))


def _or_warn(write, what, run_dir, echo):
    try:
        return write()
    except OSError as exc:
        echo(f"Warning: could not write {what} of {run_dir} ({exc.strerror or exc}). The run's "
             f"weights and metrics are saved; `kgan report {run_dir}` writes them later.")
        return None


def _callbacks(recipe, source, measurement, probe, run_dir, writer, echo):
    eval_cfg = recipe["eval"]
    fit_callbacks = [
        callbacks_lib.SampleGrids(
            run_dir, recipe["samples"]["num"], recipe["model"]["latent_dim"],
            recipe["samples"]["seed"], writer=writer, modes=source.modes,
        ),
    ]
    if measurement is not None and measurement[0] is not None:
        # Before MetricsLog, which writes the figures it adds to the epoch's logs.
        fit_callbacks.append(quality.Evaluation(
            run_dir, *measurement, eval_cfg["every_epochs"], eval_cfg["num_samples"],
            eval_cfg["seed"], writer=writer, echo=echo,
        ))
    if plots.wants_gaussian1d_snapshots(source):
        fit_callbacks.append(plots.Gaussian1dSnapshots(run_dir, source))
    num_modes = source.num_classes or (None if source.modes is None else len(source.modes))
    fit_callbacks.append(health.TrainingHealth(
        probe, log_density=source.log_density, num_modes=num_modes,
        writer=writer, echo=echo,
    ))
    extra_fields = (quality.FIELDS if eval_cfg["every_epochs"] else []) + health.FIELDS
    return fit_callbacks + [
        callbacks_lib.MetricsLog(
            run_dir, recipe["log"]["every_steps"], writer=writer, extra_fields=extra_fields,
        ),
        # Last, so that a checkpoint at an epoch's end follows its samples and metrics.
        callbacks_lib.Checkpointer(
            run_dir, recipe["checkpoint"]["every_steps"], recipe["checkpoint"]["keep"]
        ),
    ]


def _stopped(run_dir, step, values):
    shown = ", ".join(f"{name} = {value}" for name, value in values.items())
    latest = runs.latest_checkpoint(run_dir)
    kept = (f"the newest checkpoint, {latest['path']} (step {latest['step']}), is intact"
            if latest else "no checkpoint had been written yet")
    return health.NonFiniteLossError(
        f"Training stopped at step {step}: {shown}. No weights after that step were saved; "
        f"{kept}. The run is reproducible, so resuming it (kgan train --resume {run_dir}) "
        "would meet the same values: start a new run with lower learning rates (e.g. "
        "--set train.d_optimizer.learning_rate=1e-4 --set train.g_optimizer.learning_rate=1e-4), "
        "a gradient penalty (regularizers: [r1]) or gradient clipping (clipnorm in the "
        "optimizers)."
    )
