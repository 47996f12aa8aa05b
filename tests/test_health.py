"""Training health: each failure made to happen on purpose, through `kgan train`, and reported.

A dead discriminator (the 1-D recipe as it used to be), a saturated one (a
generator that cannot move), mode collapse (a generator stuck between the
ring's modes) and a NaN loss (a regularizer that returns one) each give a
warning naming it, a `health` entry in metrics.csv and a TensorBoard scalar;
a NaN stops the run and keeps the last finite checkpoint.
"""

import csv
import os
import textwrap

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from kgan import health
from kgan import runs
from kgan.cli import main

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")


def _train(recipe, run_dir, *overrides):
    args = ["train", os.path.join(RECIPES, recipe), "--run-dir", str(run_dir), "--quiet"]
    for override in overrides:
        args += ["--set", override]
    return CliRunner().invoke(main, args)


def _health_column(run_dir):
    with open(os.path.join(run_dir, "metrics.csv"), newline="", encoding="utf-8") as file:
        return [row["health"] for row in csv.DictReader(file)]


def _tensorboard_scalars(run_dir, tag):
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(os.path.join(run_dir, "tensorboard"))
    accumulator.Reload()
    return [float(tf.make_ndarray(event.tensor_proto)) for event in accumulator.Tensors(tag)]


def test_a_dead_discriminator_is_reported_not_mistaken_for_the_equilibrium(tmp_path):
    # The 1-D recipe without input normalisation: D's units bend far from the
    # data, D goes flat once G's mean is right, and d_loss sits at log 4.
    run_dir = tmp_path / "dead"
    result = _train("gaussian1d.yaml", run_dir, "model.discriminator.normalize_input=false",
                    "train.d_steps=1", "model.ema_decay=null", "train.epochs=3")
    assert result.exit_code == 0, result.output
    assert "Warning (epoch 2): dead discriminator" in result.output
    assert "normalize_input: true" in result.output  # what to try
    assert _health_column(run_dir)[1:] == ["dead_discriminator"] * 2
    assert _tensorboard_scalars(run_dir, "health/dead_discriminator")[1:] == [1.0, 1.0]


def test_the_equilibrium_of_the_shipped_recipe_is_not_called_dead(tmp_path):
    run_dir = tmp_path / "alive"
    result = _train("gaussian1d.yaml", run_dir, "train.epochs=4")
    assert result.exit_code == 0, result.output
    assert "dead discriminator" not in result.output
    assert _health_column(run_dir) == [""] * 4


def test_a_saturated_discriminator_is_reported(tmp_path):
    # G barely moves (learning rate 1e-9) while D, at 1e-2, rejects its fakes outright.
    run_dir = tmp_path / "saturated"
    result = _train("gaussian1d.yaml", run_dir, "train.g_optimizer.learning_rate=1e-9",
                    "train.d_optimizer.learning_rate=1e-2", "train.epochs=2",
                    "train.steps_per_epoch=100", "model.ema_decay=null")
    assert result.exit_code == 0, result.output
    assert "saturated discriminator: D(x) = " in result.output
    assert "non_saturating loss" in result.output
    assert "saturated_discriminator" in _health_column(run_dir)[-1]


def test_mode_collapse_is_reported_from_the_modes_covered(tmp_path):
    # A generator that cannot move leaves its samples between the ring's modes.
    run_dir = tmp_path / "collapsed"
    result = _train("ring2d.yaml", run_dir, "train.g_optimizer.learning_rate=1e-9",
                    "train.epochs=2", "train.steps_per_epoch=20", "eval.every_epochs=1",
                    "eval.num_samples=200")
    assert result.exit_code == 0, result.output
    assert "mode collapse: 0 of 8 classes or modes covered" in result.output
    assert all("mode_collapse" in entry for entry in _health_column(run_dir))


def test_a_nan_loss_stops_the_run_and_keeps_the_last_finite_checkpoint(tmp_path):
    plugin = tmp_path / "nan_after_six.py"
    plugin.write_text(textwrap.dedent('''
        import tensorflow as tf
        import kgan

        @kgan.register_regularizer("test_nan_after_six")
        class NanAfterSix(kgan.Regularizer):
            """A penalty that turns NaN, and D's gradient with it, at step 6."""
            def discriminator_penalty(self, ctx):
                poison = tf.where(ctx.step >= 6, float("nan"), 0.0)
                return poison * tf.reduce_mean(ctx.real_logits)
    '''))
    recipe = tmp_path / "nan.yaml"
    recipe.write_text(textwrap.dedent(f"""
        plugins: [{plugin.name}]
        data: {{name: ring2d, num_examples: 2048}}
        model:
          latent_dim: 2
          generator: {{name: mlp, hidden_units: [8], output_activation: linear}}
          discriminator: {{name: mlp, hidden_units: [8]}}
        regularizers: [test_nan_after_six]
        train: {{epochs: 2, steps_per_epoch: 5, batch_size: 32}}
        checkpoint: {{every_steps: 5}}
    """))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", str(recipe), "--run-dir", str(run_dir),
                                       "--quiet"])
    assert result.exit_code == 2, result.output
    assert "Warning (training): non finite: at step 7, d_loss = nan" in result.output
    assert "Training stopped at step 7: d_loss = nan" in result.output
    assert "Traceback" not in result.output
    latest = runs.latest_checkpoint(str(run_dir))
    assert latest["step"] == 5 and not os.path.exists(run_dir / runs.FINAL_GAN)
    assert health.finite_weights(keras.models.load_model(latest["path"]))
    assert not os.path.exists(run_dir / "samples" / "epoch-0002.png")


def test_finite_weights_sees_one_nan():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    assert health.finite_weights(model)
    kernel = model.get_weights()[0]
    kernel[1, 2] = np.nan
    model.set_weights([kernel, model.get_weights()[1]])
    assert not health.finite_weights(model)


@pytest.mark.parametrize("name", health.CHECKS)
def test_every_check_has_advice_or_stops(name):
    assert name == "non_finite" or name in health._ADVICE
