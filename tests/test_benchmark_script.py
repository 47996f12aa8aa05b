"""Smoke tests of bin/benchmark_step.py: it compares like with like, and reports."""

import importlib.util
import pathlib

import keras
import numpy as np
import tensorflow as tf

import kgan

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "bin" / "benchmark_step.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("benchmark_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hand_written_step_makes_the_same_update_as_gan_train_step():
    benchmark = _load_script()
    keras.utils.set_random_seed(1)
    generator = kgan.generator("dcgan", latent_dim=4, output_shape=(8, 8, 1), base_filters=4)
    discriminator = kgan.discriminator("dcgan", input_shape=(8, 8, 1), base_filters=4)
    plain_g, plain_d = benchmark._clone(generator, discriminator)
    gan = kgan.GAN(generator, discriminator, latent_dim=4, d_steps=2, seed=3)
    gan.compile(d_optimizer=benchmark._adam(), g_optimizer=benchmark._adam())
    plain_step = benchmark.make_plain_train_step(
        plain_g, plain_d, benchmark._adam(), benchmark._adam(),
        latent_dim=4, d_steps=2, seed=3, jit_compile=False,
    )
    initial = generator.get_weights()
    real = tf.random.uniform((2 * 5, 8, 8, 1), -1.0, 1.0, seed=0)
    for _ in range(2):
        gan.train_step(real)
        plain_step(real)
    for kgan_model, plain_model in ((generator, plain_g), (discriminator, plain_d)):
        for kgan_weight, plain_weight in zip(kgan_model.get_weights(), plain_model.get_weights()):
            np.testing.assert_allclose(kgan_weight, plain_weight, rtol=1e-4, atol=1e-5)
    # Both really trained: the generator moved away from its start.
    assert not np.allclose(generator.get_weights()[0], initial[0])


def test_main_reports_images_per_second_for_every_variant(capsys):
    benchmark = _load_script()
    argv = ["--batch-size", "4", "--steps", "2", "--rounds", "2", "--warmup-steps", "1",
            "--jit", "off", "--steps-per-execution", "2", "--num-examples", "32",
            "--base-filters", "4", "--latent-dim", "8"]
    results = benchmark.main(argv)
    output = capsys.readouterr().out
    assert "command: python bin/benchmark_step.py " + " ".join(argv) in output
    variants = [row["variant"] for row in results]
    assert variants == [benchmark.PLAIN, "kgan GAN.fit", "kgan GAN.fit spe=2"]
    for row in results:
        assert row["jit"] is False
        assert row["images_per_s"] > 0 and row["ms_per_step"] > 0
        assert row["min_images_per_s"] <= row["images_per_s"] <= row["max_images_per_s"]
        assert f"{row['images_per_s']:.0f}" in output
    assert results[0]["ratio"] == 1.0
