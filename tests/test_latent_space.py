"""Latent space: lerp/slerp, interpolation strips, class-averaged vector arithmetic."""

import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kgan import cli
from kgan import config
from kgan import evaluator as evaluator_lib
from kgan import noise
from kgan import latent_space
from kgan import train
from kgan.errors import KganError


def test_lerp_and_slerp_start_and_end_at_the_end_points():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    for path in (latent_space.lerp(a, b, np.linspace(0, 1, 7)),
                 latent_space.slerp(a, b, np.linspace(0, 1, 7))):
        assert path.shape == (7, 16)
        np.testing.assert_allclose(path[0], a, atol=1e-12)
        np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(latent_space.lerp(a, b, [0.5])[0], (a + b) / 2)


def test_slerp_keeps_the_norm_of_equal_norm_end_points_and_lerp_does_not():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=100), rng.normal(size=100)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    t = np.linspace(0, 1, 11)
    np.testing.assert_allclose(np.linalg.norm(latent_space.slerp(a, b, t), axis=1),
                               np.linalg.norm(a), rtol=1e-10)
    # Nearly orthogonal in 100-D: the straight line's midpoint is ~1/sqrt(2) as long.
    assert np.linalg.norm(latent_space.lerp(a, b, [0.5])) < 0.8 * np.linalg.norm(a)
    # Unit vectors at 90 degrees: the midpoint is at 45 degrees.
    mid = latent_space.slerp([1.0, 0.0], [0.0, 1.0], [0.5])[0]
    np.testing.assert_allclose(mid, [np.sqrt(0.5), np.sqrt(0.5)])
    # Parallel end points have no great circle: lerp.
    np.testing.assert_allclose(latent_space.slerp([1.0, 0.0], [2.0, 0.0], [0.5]), [[1.5, 0.0]])


def test_class_means_average_the_most_confident_latents_of_each_class():
    latents = np.arange(12, dtype=float).reshape(6, 2)
    probabilities = np.array([
        [0.95, 0.05], [0.99, 0.01], [0.6, 0.4],   # class 0; the 0.6 one is not confident
        [0.02, 0.98], [0.05, 0.95], [0.08, 0.92],  # class 1
    ])
    means = latent_space.class_means(latents, probabilities, [0, 1], per_class=2,
                                     min_confidence=0.9)
    np.testing.assert_allclose(means[0], latents[[0, 1]].mean(axis=0))
    np.testing.assert_allclose(means[1], latents[[3, 4]].mean(axis=0))  # the two most confident
    with pytest.raises(KganError, match="class 1 with probability >= 0.99"):
        latent_space.class_means(latents, probabilities, [1], min_confidence=0.99)
    with pytest.raises(KganError, match="classes 0 to 1"):
        latent_space.class_means(latents, probabilities, [2])


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    pixels = np.random.default_rng(0).integers(0, 256, size=(64, 8, 8), dtype=np.uint8)
    np.savez(root / "tiny.npz", x=pixels)
    run_dir = str(root / "run")
    recipe = config.validate({
        "name": "tiny-images",
        "data": {"name": "arrays", "path": str(root / "tiny.npz"), "key": "x"},
        "model": {"latent_dim": 4, "generator": {"name": "mlp", "hidden_units": [8]},
                  "discriminator": {"name": "mlp", "hidden_units": [8]}},
        "train": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "jit_compile": False},
        "samples": {"num": 4},
    })
    train.train(recipe, run_dir, verbose=0, echo=lambda line: None)
    return run_dir


def test_kgan_interpolate_writes_a_strip_whose_ends_are_the_seeds_samples(image_run, tmp_path):
    output = str(tmp_path / "strip.png")
    result = CliRunner().invoke(cli.main, ["interpolate", image_run, "--seeds", "3", "5",
                                           "--steps", "6", "--slerp", "-o", output])
    assert result.exit_code == 0, result.output
    strip = np.asarray(Image.open(output))
    assert strip.shape == (8 + 4, 6 * (8 + 2) + 2)  # one row of six 8x8 images, 2 px padding
    from kgan import runs

    gan = runs.load_run(image_run).gan
    latents, samples = latent_space.interpolate(gan, 3, 5, steps=6, spherical=True)
    np.testing.assert_allclose(latents[0], noise.sample(1, 4, 3).numpy()[0], rtol=1e-6)
    np.testing.assert_allclose(latents[-1], noise.sample(1, 4, 5).numpy()[0], rtol=1e-6)
    first = np.clip((samples[0, ..., 0] + 1) * 127.5, 0, 255).round()
    np.testing.assert_allclose(strip[2:10, 2:10], first, atol=1)


def test_kgan_arithmetic_renders_a_minus_b_plus_c(image_run, tmp_path, monkeypatch):
    # An untrained evaluator stands in for a trained one: the sums are checked, not the digits.
    monkeypatch.setenv(evaluator_lib.CACHE_ENV, str(tmp_path / "cache"))
    classifier = evaluator_lib.build_classifier((8, 8, 1), 3, feature_units=8)
    evaluator = evaluator_lib.Evaluator(classifier, "tiny")
    evaluator.save(evaluator_lib.cache_path("tiny"))
    from kgan import runs

    gan = runs.load_run(image_run).gan
    z = noise.sample(200, 4, 0).numpy()
    predicted = evaluator.predict_classes(gan.generator.predict(z, verbose=0))
    present = np.flatnonzero(np.bincount(predicted, minlength=3))
    a, b, c = int(present[0]), int(present[-1]), int(present[0])
    result = latent_space.arithmetic(gan, evaluator, a, b, a, num_samples=200, per_class=5,
                                     min_confidence=0.0)
    np.testing.assert_allclose(result["latents"][3], result["latents"][0] * 2
                               - result["latents"][1], rtol=1e-5, atol=1e-6)
    output = str(tmp_path / "sum.png")
    cli_result = CliRunner().invoke(cli.main, [
        "arithmetic", image_run, "--a", str(a), "--b", str(b), "--c", str(c),
        "--evaluator", "tiny", "-n", "200", "--per-class", "5", "--min-confidence", "0",
        "-o", output])
    assert cli_result.exit_code == 0, cli_result.output
    assert "the evaluator reads them as" in cli_result.output
    assert np.asarray(Image.open(output)).shape == (12, 4 * 10 + 2)


def test_arithmetic_without_an_evaluator_says_how_to_get_one(image_run, tmp_path, monkeypatch):
    monkeypatch.setenv(evaluator_lib.CACHE_ENV, str(tmp_path / "empty"))
    result = CliRunner().invoke(cli.main, ["arithmetic", image_run, "--a", "1", "--b", "2",
                                           "--c", "3"])
    assert result.exit_code == 2
    assert "--evaluator DATASET" in result.output
    # kgan ships MNIST's evaluator, not CIFAR-10's.
    result = CliRunner().invoke(cli.main, ["arithmetic", image_run, "--a", "1", "--b", "2",
                                           "--c", "3", "--evaluator", "cifar10"])
    assert result.exit_code == 2 and "kgan evaluator train cifar10" in result.output
    assert not os.path.exists(tmp_path / "empty")
