"""Shared test set-up: quiet TensorFlow, two logical CPUs, tiny GANs.

The CPU is split into two logical devices here, at import time, because
TensorFlow fixes its devices when it first runs an op; the
`tf.distribute.MirroredStrategy` tests then run two replicas on any machine.
Single-device code still runs on the first CPU as usual.
"""

import importlib.util
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# kgan first, as users' code does: it picks TensorFlow's CPU kernels (oneDNN)
# before TensorFlow loads, so the suite runs the kernels that users get.
import kgan  # noqa: E402, F401
import tensorflow as tf  # noqa: E402

try:
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
    )
except RuntimeError:  # TensorFlow was initialised before pytest loaded this file.
    pass

import keras  # noqa: E402
import pytest  # noqa: E402


BIN = pathlib.Path(__file__).resolve().parents[1] / "bin"


@pytest.fixture(scope="session")
def bin_script():
    """Loads a script of `bin/` as a module: `bin_script("benchmark_step").main([...])`."""

    def load(name):
        spec = importlib.util.spec_from_file_location(name, BIN / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def restore_registries():
    """Undoes the registrations a test makes in kgan's registries (all kinds)."""
    from kgan import registry

    kgan.LOSSES.names()  # load the plugins first, so they are part of what is kept
    saved = {r: dict(r._entries) for r in list(registry._REGISTRIES)}
    yield
    for kind, entries in saved.items():
        kind._entries.clear()
        kind._entries.update(entries)


@pytest.fixture
def two_replica_strategy():
    """A MirroredStrategy over two logical CPUs (skips if they could not be made)."""
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) < 2:
        pytest.skip("TensorFlow was initialised before conftest could split the CPU.")
    # kgan's shared strategy for these devices: a second MirroredStrategy over
    # the same devices in one process would reuse its collective keys.
    return kgan.distribute.strategy("mirrored", [cpus[0].name, cpus[1].name])


@pytest.fixture
def make_gan():
    """Builds a tiny, seeded MLP GAN on 3-D vectors: `make_gan(loss=..., d_steps=...)`."""

    def make(
        loss="non_saturating",
        d_steps=1,
        latent_dim=2,
        sample_shape=(3,),
        d_optimizer=None,
        g_optimizer=None,
        seed=7,
        **compile_kwargs,
    ):
        keras.utils.set_random_seed(1)
        generator = kgan.generator(
            "mlp", latent_dim, sample_shape, hidden_units=(8,), output_activation="linear"
        )
        discriminator = kgan.discriminator("mlp", sample_shape, hidden_units=(8,))
        gan = kgan.GAN(generator, discriminator, latent_dim=latent_dim, d_steps=d_steps, seed=seed)
        gan.compile(
            d_optimizer=d_optimizer or keras.optimizers.SGD(0.05),
            g_optimizer=g_optimizer or keras.optimizers.SGD(0.05),
            loss=loss,
            **compile_kwargs,
        )
        return gan

    return make
