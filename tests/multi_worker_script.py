"""One worker of tests/test_distributed.py's two-worker run (and its references).

`python tests/multi_worker_script.py DIR`, with `TF_CONFIG` naming this
worker, trains under `train.strategy: multi_worker`:

1. `kgan train DIR/tiny.yaml --run-dir DIR/run`: a tiny recipe through the
   command line, the same run directory on every worker;
2. the engine: a tiny GAN fitted through `kgan.data.pipeline` on the CSV
   files in DIR (two files, streamed, so that sharding by file would show),
   its weights written to `DIR/engine-<index>.npz`.

The test imports `train_engine` and `tiny_recipe` to make the same runs on one
device and on two mirrored replicas.
"""

import os
import sys

import numpy as np

SAMPLE_SHAPE = (3,)
LATENT_DIM = 2
CSV_FILES = ("part-0.csv", "part-1.csv")
RECIPE = "tiny.yaml"  # `tiny_recipe("multi_worker")`, written by the test


def write_csv_files(directory, rows_per_file=24):
    """The engine run's data: points in two CSV files, read as an endless stream."""
    rng = np.random.default_rng(0)
    for name in CSV_FILES:
        points = rng.normal(size=(rows_per_file, *SAMPLE_SHAPE))
        np.savetxt(os.path.join(directory, name), points, delimiter=",", fmt="%.6f")


def train_engine(distribution, directory, steps=3, epochs=2):
    """Fits a tiny seeded GAN under `distribution` on the CSV files in `directory`.

    Returns:
        `(weights, history)`: the GAN's weights as numpy arrays, and `fit`'s history.
    """
    import keras
    import tensorflow as tf

    import kgan

    keras.utils.set_random_seed(1)
    lines = tf.data.TextLineDataset([os.path.join(directory, name) for name in CSV_FILES])
    points = lines.map(
        lambda line: (tf.strings.to_number(tf.strings.split(line, ",")), tf.constant(-1))
    ).repeat()
    source = kgan.data.DataSource(
        points, sample_shape=SAMPLE_SHAPE, num_examples=None, name="csv"
    )
    dataset, _ = kgan.data.pipeline(
        source, batch_size=4, d_steps=2, seed=5, steps_per_epoch=steps, shuffle_buffer=16
    )
    with distribution.scope():
        generator = kgan.generator(
            "mlp", LATENT_DIM, SAMPLE_SHAPE, hidden_units=(8,), output_activation="linear"
        )
        discriminator = kgan.discriminator("mlp", SAMPLE_SHAPE, hidden_units=(8,))
        gan = kgan.GAN(generator, discriminator, latent_dim=LATENT_DIM, d_steps=2, seed=7)
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.05),
            g_optimizer=keras.optimizers.SGD(0.05),
            jit_compile=False,
        )
    history = gan.fit(dataset, steps_per_epoch=steps, epochs=epochs, verbose=0)
    return [w.numpy() for w in gan.weights], history.history


def tiny_recipe(strategy, **train):
    """A resolved recipe for a few steps of a tiny MLP GAN on ring2d."""
    from kgan import config

    sgd = {"name": "sgd", "learning_rate": 0.05}
    return config.validate({
        "name": "tiny",
        "seed": 3,
        "data": {"name": "ring2d", "num_examples": 64},
        "model": {
            "latent_dim": LATENT_DIM,
            "generator": {"name": "mlp", "hidden_units": [8], "output_activation": "linear"},
            "discriminator": {"name": "mlp", "hidden_units": [8]},
        },
        "train": {
            "epochs": 1, "steps_per_epoch": 3, "batch_size": 4, "d_steps": 2,
            "d_optimizer": sgd, "g_optimizer": sgd, "jit_compile": False,
            "strategy": strategy, **train,
        },
        "checkpoint": {"every_steps": 3},
        "samples": {"num": 8},
    })


def main(directory):
    from kgan import cli

    # 1. The recipe, as users run it: `kgan train` starts the strategy before
    # any TensorFlow work, and every worker is given the same run directory.
    cli.main(["train", os.path.join(directory, RECIPE), "--run-dir",
              os.path.join(directory, "run"), "--quiet"], standalone_mode=False)
    # 2. The engine, under the strategy that `kgan train` started.
    import kgan

    index = kgan.distribute.tf_config()["task"]["index"]
    weights, _ = train_engine(kgan.train.strategy("multi_worker"), directory)
    np.savez(os.path.join(directory, f"engine-{index}.npz"), *weights)


if __name__ == "__main__":
    main(sys.argv[1])
