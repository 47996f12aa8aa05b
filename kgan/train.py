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

import keras
import tensorflow as tf

from kgan import architectures
from kgan import callbacks as callbacks_lib
from kgan import config
from kgan import data
from kgan import direct
from kgan import distribute
from kgan import errors
from kgan import gan as gan_lib
from kgan import plots
from kgan import quality
from kgan import runs


def train(recipe, run_dir=None, verbose=1, echo=print):
    """Trains a GAN as `recipe` says, in a new run directory; returns its path.

    Under `train.strategy: multi_worker` only the chief writes `run_dir`; the
    other workers train alike in a temporary directory, removed at the end,
    and return None.
    """
    with _session(recipe) as (distribution, source):
        with distribution.scope():
            gan = build_gan(recipe, source.sample_shape, source.num_classes)
        if not distribute.is_chief(recipe["train"]["strategy"]):
            with distribute.scratch_dir() as scratch:
                echo(f"{distribute.task_name()}: training beside the chief, which writes the "
                     "run directory; this worker's files go to a temporary directory, "
                     "removed at the end.")
                _fit(recipe, gan, source, runs.create(recipe, os.path.join(scratch, "run")),
                     verbose, echo)
            return None
        run_dir = runs.create(recipe, run_dir)
        echo(f"Run directory: {run_dir}")
        _fit(recipe, gan, source, run_dir, verbose, echo)
    return run_dir


def resume(run_dir, verbose=1, echo=print):
    """Continues the run in `run_dir` from its last checkpoint, at the same step."""
    recipe = runs.read_recipe(run_dir)
    if os.path.exists(os.path.join(run_dir, runs.FINAL_GAN)):
        echo(f"Run {run_dir} has already finished; nothing to resume.")
        return run_dir
    checkpoint = runs.latest_checkpoint(run_dir)
    with _session(recipe) as (distribution, source):
        with distribution.scope():
            if checkpoint is None:
                gan = build_gan(recipe, source.sample_shape, source.num_classes)
            else:
                gan = runs.restore_checkpoint(checkpoint)
                echo(f"Resuming from {checkpoint['path']} at step {checkpoint['step']}.")
        if not distribute.is_chief(recipe["train"]["strategy"]):
            # A non-chief worker restores the chief's checkpoint (a shared or
            # copied run directory) and writes to a copy of it.
            with distribute.scratch_dir() as scratch:
                copy = shutil.copytree(run_dir, os.path.join(scratch, "run"))
                _fit(recipe, gan, source, copy, verbose, echo)
            return None
        _fit(recipe, gan, source, run_dir, verbose, echo)
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
    options = config.optimizers(recipe)
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
def _session(recipe):
    """The recipe's precision policy, strategy, seeds and data, for the block."""
    # The precision policy applies to the layers built while it is set; the
    # caller's policy is restored afterwards.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(recipe["train"]["precision"])
    try:
        # First: a multi-worker strategy sets up its collective ops before other TF work.
        distribution = strategy(recipe["train"]["strategy"])
        distribute.check_batch_size(distribution, recipe["train"]["batch_size"])
        keras.utils.set_random_seed(recipe["seed"])
        if recipe["deterministic"]:
            tf.config.experimental.enable_op_determinism()
        with config.at("data"):
            source = data.load(recipe["data"], seed=recipe["seed"])
        yield distribution, source
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
        except (TypeError, ValueError) as exc:
            if isinstance(exc, errors.KganError):
                raise
            raise errors.KganError(
                f"building the {name} {role} for samples of shape {tuple(sample_shape)} "
                f"failed: {exc}. Check its options: "
                f"{', '.join(architectures.parameters(name, role)) or 'none'}."
            ) from None


def _fit(recipe, gan, source, run_dir, verbose, echo):
    train_cfg = recipe["train"]
    step = callbacks_lib.global_step(gan)

    def pipeline(start_step):
        with config.at("data"):
            return data.pipeline(
                source, batch_size=train_cfg["batch_size"],
                d_steps=getattr(gan, "d_steps", 1), seed=recipe["seed"],
                start_step=start_step, steps_per_epoch=train_cfg["steps_per_epoch"],
            )

    dataset, steps_per_epoch = pipeline(step)
    epochs = train_cfg["epochs"]
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))
    fit_callbacks = _callbacks(recipe, source, run_dir, writer, echo)
    epoch, step_in_epoch = divmod(step, steps_per_epoch)
    if step_in_epoch and epoch < epochs:
        # Finish the interrupted epoch first, then continue with whole epochs.
        gan.fit(dataset, epochs=epoch + 1, initial_epoch=epoch,
                steps_per_epoch=steps_per_epoch - step_in_epoch,
                callbacks=fit_callbacks, verbose=verbose, shuffle=False)
        epoch += 1
        dataset, _ = pipeline(epoch * steps_per_epoch)
    if epoch < epochs:
        gan.fit(dataset, epochs=epochs, initial_epoch=epoch, steps_per_epoch=steps_per_epoch,
                callbacks=fit_callbacks, verbose=verbose, shuffle=False)
    writer.close()
    runs.save_final(gan, run_dir)
    plots.plot_run(run_dir, gan, source)
    echo(f"Done: {epochs * steps_per_epoch} steps. Final generator: "
         f"{os.path.join(run_dir, runs.FINAL_GENERATOR)}")


def _callbacks(recipe, source, run_dir, writer, echo):
    eval_cfg = recipe["eval"]
    fit_callbacks = [
        callbacks_lib.SampleGrids(
            run_dir, recipe["samples"]["num"], recipe["model"]["latent_dim"],
            recipe["samples"]["seed"], writer=writer, modes=source.modes,
        ),
    ]
    if eval_cfg["every_epochs"]:
        # Before MetricsLog, which writes the figures it adds to the epoch's logs.
        fit_callbacks.append(quality.Evaluation(
            run_dir, source, recipe["data"], eval_cfg["every_epochs"],
            eval_cfg["num_samples"], eval_cfg["seed"], writer=writer, echo=echo,
        ))
    if plots.wants_gaussian1d_snapshots(source):
        fit_callbacks.append(plots.Gaussian1dSnapshots(run_dir, source))
    return fit_callbacks + [
        callbacks_lib.MetricsLog(
            run_dir, recipe["log"]["every_steps"], writer=writer,
            extra_fields=quality.FIELDS if eval_cfg["every_epochs"] else (),
        ),
        # Last, so that a checkpoint at an epoch's end follows its samples and metrics.
        callbacks_lib.Checkpointer(
            run_dir, recipe["checkpoint"]["every_steps"], recipe["checkpoint"]["keep"]
        ),
    ]
