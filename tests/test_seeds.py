"""The same seed gives the same weights: from Python with `kgan.set_seed`, and from a recipe."""

import platform
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

import kgan
from kgan import config
from kgan import repeatable
from kgan import runs
from kgan import train as train_lib

TINY = {
    "data": {"name": "ring2d", "num_examples": 512},
    "model": {
        "latent_dim": 2,
        "generator": {"name": "mlp", "hidden_units": [8], "output_activation": "linear"},
        "discriminator": {"name": "mlp", "hidden_units": [8], "dropout": 0.2},
    },
    "train": {"epochs": 2, "steps_per_epoch": 4, "batch_size": 32},
    "samples": {"num": 16},
}


def _python_run(seed):
    """The README's Python route: build, compile, fit on shuffled numpy arrays."""
    kgan.set_seed(seed)
    generator = kgan.generator("mlp", latent_dim=2, output_shape=(2,), hidden_units=(8,),
                               output_activation="linear")
    discriminator = kgan.discriminator("mlp", input_shape=(2,), hidden_units=(8,),
                                       dropout=0.2)
    gan = kgan.GAN(generator, discriminator, latent_dim=2, seed=seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    data = np.random.default_rng(7).normal(size=(256, 2)).astype("float32")
    gan.fit(data, batch_size=32, epochs=2, shuffle=True, verbose=0)
    return gan.get_weights()


def test_set_seed_makes_a_python_run_repeat_exactly():
    first, again, other = _python_run(0), _python_run(0), _python_run(1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_a_recipe_seed_makes_a_run_repeat_exactly(tmp_path):
    weights = []
    for name in ("first", "again"):
        run_dir = train_lib.train(config.validate(TINY), run_dir=str(tmp_path / name),
                                  verbose=0, echo=lambda *_: None)
        weights.append(runs.load_run(run_dir).gan.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_repeat_runs_script_trains_in_processes_side_by_side_and_compares_weights(
        tmp_path, capsys, bin_script):
    # bin/repeat_runs.py is how docs/python.md measured reproducibility on a busy CPU.
    script = bin_script("repeat_runs")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(TINY))
    assert script.main([str(recipe), "--runs", "2", "--at-once", "2", "--busy", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 runs have the first run's weights" in out
    first = out.split("run 0: weights ")[1].split()[0]
    other = train_lib.train(config.validate({**TINY, "seed": 1}), run_dir=str(tmp_path / "s1"),
                            verbose=0, echo=lambda *_: None)
    assert script.weights_digest(other) != first


def test_datasets_train_on_tensorflows_own_threads():
    dataset = tf.data.Dataset.range(4)
    assert repeatable.with_repeatable_threads(
        dataset).options().threading.private_threadpool_size >= 1
    named = dataset.with_options(_threadpool(3))
    assert repeatable.with_repeatable_threads(named).options().threading.private_threadpool_size == 3
    stream, _ = kgan.data.pipeline(kgan.data.load({"name": "ring2d", "num_examples": 64}),
                                   batch_size=8, d_steps=1, seed=0)
    assert stream.options().threading.private_threadpool_size >= 1


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
                    reason="sets the x86-64 MXCSR")
def test_training_flushes_subnormals_like_tensorflows_threads_and_restores_the_mode():
    subnormal = np.float32(1e-39)
    with repeatable.flush_subnormals():
        assert subnormal * np.float32(1.0) == 0.0
    assert subnormal * np.float32(1.0) == subnormal


class _GrapplerOptions(keras.callbacks.Callback):
    """Records Grappler's options as the training step sees them."""

    def on_train_batch_end(self, batch, logs=None):
        self.seen = tf.config.optimizer.get_experimental_options()


def test_a_loop_of_steps_keeps_control_dependencies_then_grapplers_default_returns():
    # Grappler's dependency optimizer gave some fresh processes another graph
    # for R1 steps in Keras' loop of steps (kgan.repeatable): fit instantiates
    # that loop without it, and a single step with it.
    gan = kgan.GAN(kgan.generator("mlp", latent_dim=2, output_shape=(2,), hidden_units=(4,)),
                   kgan.discriminator("mlp", input_shape=(2,), hidden_units=(4,)), latent_dim=2)
    data = np.zeros((64, 2), "float32")
    options = _GrapplerOptions()
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    gan.fit(data, batch_size=32, epochs=1, verbose=0, callbacks=[options])
    assert "dependency_optimization" not in options.seen  # one step per call
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                steps_per_execution=2)
    gan.fit(data, batch_size=16, epochs=1, verbose=0, callbacks=[options])
    assert options.seen.get("dependency_optimization") is False
    assert "dependency_optimization" not in tf.config.optimizer.get_experimental_options()
    with repeatable.keep_control_dependencies():  # overlapping blocks (fits in threads)
        with repeatable.keep_control_dependencies():
            pass
        assert tf.config.optimizer.get_experimental_options()["dependency_optimization"] is False
    assert "dependency_optimization" not in tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"dependency_optimization": True})
    try:
        gan.fit(data, batch_size=16, epochs=1, verbose=0, callbacks=[options])
        assert options.seen.get("dependency_optimization") is True  # the caller's choice
    finally:
        tf.config.optimizer.set_experimental_options({"dependency_optimization": None})


def _threadpool(size):
    options = tf.data.Options()
    options.threading.private_threadpool_size = size
    return options
