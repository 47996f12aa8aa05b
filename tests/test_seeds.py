"""The same seed gives the same weights: from Python with `kgan.set_seed`, and from a recipe."""

import keras
import numpy as np

import kgan
from kgan import config
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
