"""Runs the README's Python snippet on MNIST and writes a grid of its samples.

    python bin/readme_example.py --epochs 1 --output readme_samples.png

The snippet is the README's, unchanged but for `epochs` (the README says 5;
one epoch of full-width DCGAN is about 5 minutes on 2 CPU cores).
"""

import argparse
import time

import kgan  # first, as in the README: it picks TensorFlow's CPU kernels
import keras
import numpy as np
import tensorflow_datasets as tfds

from kgan import images as images_lib


def load_mnist():
    """MNIST train images as float32 in [-1, 1], shape [60000, 28, 28, 1]."""
    data = tfds.as_numpy(tfds.load("mnist", split="train", batch_size=-1))
    return data["image"].astype("float32") / 127.5 - 1.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--output", default="readme_samples.png")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    images = load_mnist()
    start = time.perf_counter()

    # --- the README's snippet ---
    generator = kgan.generator("dcgan", latent_dim=100, output_shape=(28, 28, 1))
    discriminator = kgan.discriminator("dcgan", input_shape=(28, 28, 1))
    gan = kgan.GAN(generator, discriminator, latent_dim=100, d_steps=1)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss="non_saturating")
    gan.fit(images, batch_size=64, epochs=args.epochs)
    samples = gan.generate(16, seed=0)
    # --- end of the snippet ---

    assert np.array_equal(samples, gan.generate(16, seed=0)), "same seed, same samples"
    images_lib.save_grid(gan.generate(64, seed=0), args.output)
    print(f"{args.epochs} epoch(s) in {time.perf_counter() - start:.0f} s; "
          f"64 samples written to {args.output}")


if __name__ == "__main__":
    main()
