"""The `mmd` loss (generative moment-matching networks) and a GAN without a discriminator."""

import csv
import math
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import kgan
from kgan import cli
from kgan import config
from kgan import export
from kgan import exported
from kgan import plots
from kgan import runs
from kgan_plugins import gmmn

RECIPES = pathlib.Path(__file__).resolve().parents[1] / "recipes"


def _normal(shape, seed, loc=0.0):
    return np.random.default_rng(seed).normal(loc, 1.0, shape).astype(np.float32)


# ------------------------------------------------------------------ the estimate


def test_biased_mmd_of_identical_sets_is_exactly_zero():
    x = _normal((30, 4, 4, 1), seed=0)
    assert gmmn.mmd2(x, x).numpy() == 0.0
    loss = kgan.get_loss("mmd")
    # sqrt(0 + epsilon): the epsilon that keeps the gradient finite, no more.
    assert 0.0 < float(loss.direct_loss(x, x)) < 1e-3


def test_unbiased_mmd_of_two_samples_of_one_distribution_is_near_zero():
    x, y = _normal((400, 2), seed=1), _normal((400, 2), seed=2)
    unbiased = float(gmmn.mmd2(x, y, [1.0], "unbiased"))
    biased = float(gmmn.mmd2(x, y, [1.0], "biased"))
    shifted = float(gmmn.mmd2(x, y + 1.0, [1.0], "unbiased"))
    assert abs(unbiased) < 0.01
    # The biased estimate adds the within-set diagonals: about (2/n) (1 - E k).
    assert biased > unbiased + 0.002
    assert shifted > 20 * abs(unbiased)


def test_mmd_grows_with_a_mean_shift():
    x, y = _normal((200, 3), seed=3), _normal((200, 3), seed=4)
    values = [float(gmmn.mmd2(x, y + shift)) for shift in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_mmd_matches_a_closed_form_worked_by_hand():
    # x = {0, 1}, y = {2, 4} on the line, one kernel of bandwidth 1:
    # k(a, b) = exp(-(a - b)^2 / 2).
    x, y = np.array([[0.0], [1.0]], np.float32), np.array([[2.0], [4.0]], np.float32)
    e = math.exp
    k_xx = (2 + 2 * e(-0.5)) / 4
    k_yy = (2 + 2 * e(-2.0)) / 4
    k_xy = (e(-2.0) + e(-8.0) + e(-0.5) + e(-4.5)) / 4
    assert float(gmmn.mmd2(x, y, [1.0])) == pytest.approx(k_xx + k_yy - 2 * k_xy, rel=1e-5)
    unbiased = e(-0.5) + e(-2.0) - 2 * k_xy
    assert float(gmmn.mmd2(x, y, [1.0], "unbiased")) == pytest.approx(unbiased, rel=1e-5)
    # A mixture sums its kernels, so its MMD^2 is the sum of each kernel's.
    mixture = float(gmmn.mmd2(x, y, [1.0, 3.0]))
    parts = float(gmmn.mmd2(x, y, [1.0])) + float(gmmn.mmd2(x, y, [3.0]))
    assert mixture == pytest.approx(parts, rel=1e-5)
    loss = kgan.get_loss({"name": "mmd", "sigmas": [1.0]})
    assert float(loss.direct_loss(y, x)) == pytest.approx(
        math.sqrt(k_xx + k_yy - 2 * k_xy), rel=1e-4
    )


def test_kernel_mixture_sums_gaussians_of_the_given_bandwidths():
    squared = np.array([[0.0, 1.0], [4.0, 100.0]], np.float32)
    sigmas = [0.5, 2.0, 10.0]
    expected = sum(np.exp(-squared / (2 * s * s)) for s in sigmas)
    np.testing.assert_allclose(gmmn.kernel_mixture(squared, sigmas).numpy(), expected,
                               rtol=1e-6)
    assert gmmn.kernel_mixture(np.zeros((1, 1), np.float32), sigmas).numpy()[0, 0] == 3.0


def test_squared_distances_are_never_negative_for_large_coincident_points():
    # |x|^2 + |x|^2 - 2 x.x rounds to tiny negatives for large x; they are clipped.
    x = 1000.0 + _normal((20, 50), seed=5)
    assert gmmn.squared_distances(x, x).numpy().min() >= 0.0


def test_mmd_keeps_its_precision_far_from_the_origin():
    # Raw |x|^2 + |y|^2 - 2 x.y at |x|^2 ~ 5e7 is off by tens in float32;
    # mmd2 measures from the samples' mean, so a shift changes nothing.
    x, y = _normal((50, 50), seed=5), _normal((50, 50), seed=6, loc=0.3)
    near = float(gmmn.mmd2(x, y, [2.0, 8.0]))
    far = float(gmmn.mmd2(x + 1000.0, y + 1000.0, [2.0, 8.0]))
    assert far == pytest.approx(near, rel=1e-3)


def test_samples_of_any_shape_are_flattened():
    x, y = _normal((10, 2, 3), seed=6), _normal((12, 2, 3), seed=7, loc=0.5)
    assert float(gmmn.mmd2(x, y)) == pytest.approx(
        float(gmmn.mmd2(x.reshape(10, 6), y.reshape(12, 6))), rel=1e-6
    )


@pytest.mark.parametrize("params", [
    {}, {"sqrt": False}, {"estimator": "unbiased", "sqrt": False},
], ids=["sqrt-biased", "biased", "unbiased"])
def test_gradient_is_finite_at_coincident_points(params):
    loss = kgan.get_loss({"name": "mmd", "sigmas": [1.0, 2.0], **params})
    real = _normal((8, 3), seed=8)
    partly = np.concatenate([real[:4], _normal((4, 3), seed=9)])  # 4 rows coincide
    gradients = []
    for fake in (real.copy(), partly):
        fake = tf.Variable(fake)
        with tf.GradientTape() as tape:
            value = loss.direct_loss(real, fake)
        gradients.append(tape.gradient(value, fake).numpy())
        assert np.all(np.isfinite(gradients[-1])) and np.isfinite(float(value))
    if params.get("estimator") != "unbiased":
        # At identical sets the biased estimate is at its minimum: no pull
        # anywhere, but for rounding (which sqrt's 1/(2 sqrt(epsilon)) enlarges).
        same, partly = np.abs(gradients[0]).max(), np.abs(gradients[1]).max()
        assert same < 1e-3 * partly


# ------------------------------------------------------------- the plugin


def test_mmd_is_a_registered_direct_loss_with_a_description():
    entry = kgan.LOSSES.entry("mmd")
    assert "MMD" in entry.description and "\n" not in entry.description
    loss = kgan.get_loss("mmd")
    assert loss.adversarial is False
    assert loss.sigmas == gmmn.DEFAULT_SIGMAS
    # Li et al.'s s in exp(-d^2 / (2 s)) on [0, 1] pixels is (sigma / 2)^2 on [-1, 1].
    np.testing.assert_allclose([(s / 2) ** 2 for s in loss.sigmas],
                               gmmn.LI_ET_AL_MNIST_SCALES, rtol=1e-4)
    config = kgan.losses.serialize_loss(loss)
    assert kgan.get_loss(config).get_config() == loss.get_config()


@pytest.mark.parametrize("params, words", [
    ({"sigmas": []}, "sigmas"),
    ({"sigmas": [1.0, -2.0]}, "positive"),
    ({"estimator": "unbaised"}, "unbiased"),
    ({"estimator": "unbiased"}, "sqrt: false"),
    ({"sqrt": "yes"}, "true or false"),
    ({"bandwidths": [1.0]}, "sigmas"),
])
def test_bad_parameters_are_errors_that_say_what_to_give(params, words):
    with pytest.raises(kgan.KganError, match=words):
        kgan.get_loss({"name": "mmd", **params})


# ------------------------------------------------- training without a discriminator


def _gmmn(latent_dim=2, sample_shape=(1,), sigmas=(0.5, 1.0, 2.0, 4.0), learning_rate=0.01,
          output_activation="linear"):
    keras.utils.set_random_seed(0)
    generator = kgan.generator("mlp", latent_dim, sample_shape, hidden_units=(16,),
                               output_activation=output_activation)
    gan = kgan.DirectModel(generator, latent_dim=latent_dim, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(learning_rate),
                loss={"name": "mmd", "sigmas": list(sigmas)}, jit_compile=False)
    return gan


def test_gmmn_moves_a_toy_gaussian_toward_the_data():
    # Li et al.'s claim at toy scale: matching moments under a Gaussian kernel
    # mixture pulls the generated distribution onto N(3, 0.5^2), no adversary.
    data = np.random.default_rng(0).normal(3.0, 0.5, (4096, 1)).astype(np.float32)
    gan = _gmmn()
    before = gan.generate(2000, seed=1)
    history = gan.fit(data, batch_size=128, epochs=5, verbose=0)  # 160 steps
    after = gan.generate(2000, seed=1)
    assert abs(after.mean() - 3.0) < 0.15 < abs(before.mean() - 3.0)
    assert abs(after.std() - 0.5) < 0.15
    losses = history.history["g_loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_a_model_without_a_discriminator_trains_saves_loads_and_resumes(tmp_path):
    gan = _gmmn(sample_shape=(4, 4, 1), output_activation="tanh")
    data = np.tanh(_normal((64, 4, 4, 1), seed=0))
    history = gan.fit(data, batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"g_loss"}  # no d_loss, real_score, fake_score
    assert not hasattr(gan, "d_optimizer")
    path = str(tmp_path / "gmmn.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.discriminator is None
    assert loaded.loss_fn.get_config() == gan.loss_fn.get_config()
    np.testing.assert_array_equal(loaded.generate(8, seed=3), gan.generate(8, seed=3))
    assert int(loaded.g_optimizer.iterations.numpy()) == 4
    # Same optimizer state and noise: one more step on each stays identical.
    gan.fit(data[:16], batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(data[:16], batch_size=16, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(loaded.generate(8, seed=3), gan.generate(8, seed=3),
                               rtol=1e-5, atol=1e-6)


def test_a_model_without_a_discriminator_exports_without_a_discriminate_signature(tmp_path):
    gan = _gmmn(sample_shape=(4, 4, 1), output_activation="tanh")
    metadata = export.export_saved_model(gan, tmp_path / "exported")
    assert "discriminate" not in metadata["signatures"]
    assert metadata["discriminator_output"] == "none"
    assert metadata["loss"] == "mmd"
    saved = tf.saved_model.load(str(tmp_path / "exported"))
    assert "discriminate" not in saved.signatures
    sampler = exported.load_sampler(str(tmp_path / "exported"))
    np.testing.assert_allclose(sampler.generate(5, seed=2), gan.generate(5, seed=2),
                               atol=1e-6)
    assert exported.describe(str(tmp_path / "exported"))["discriminator_output"] == "none"


def test_loss_plot_of_a_run_without_a_discriminator_draws_the_loss_alone(tmp_path):
    metrics_csv = tmp_path / "metrics.csv"
    metrics_csv.write_text("epoch,step,g_loss,seconds\n1,10,0.9,1.0\n2,20,0.5,1.0\n")
    columns = plots.plot_losses(str(metrics_csv), str(tmp_path / "losses.png"))
    assert (tmp_path / "losses.png").exists()
    np.testing.assert_array_equal(columns["g_loss"], [0.9, 0.5])
    assert "real_score" not in columns and "d_loss" not in columns


# ------------------------------------------------------------ a run directory

TOY_RECIPE = """
name: gmmn-toy
data: {name: gaussian1d, mean: 3.0, std: 0.5, num_examples: 512}
model:
  latent_dim: 1
  generator: {name: mlp, hidden_units: [8], output_activation: linear}
  discriminator: null
loss: {name: mmd, sigmas: [0.5, 1.0, 2.0]}
train: {epochs: 2, steps_per_epoch: 2, batch_size: 16, jit_compile: false}
samples: {num: 64}
eval: {every_epochs: 2, num_samples: 100}
"""


def test_a_run_without_a_discriminator_logs_plots_and_evaluates_what_exists(tmp_path,
                                                                            bin_script):
    recipe, run_dir = tmp_path / "gmmn_toy.yaml", tmp_path / "run"
    recipe.write_text(TOY_RECIPE)
    result = CliRunner().invoke(cli.main, [
        "train", str(recipe), "--run-dir", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert "g_loss" in rows[0]
    assert not {"d_loss", "real_score", "fake_score"} & set(rows[0])
    assert float(rows[1]["fid"]) >= 0.0  # evaluated after epoch 2, as recipes/mnist_unconditional.yaml is
    for picture in ("samples/epoch-0002.png", "plots/losses.png", "plots/gaussian1d.png"):
        assert (run_dir / picture).exists(), picture
    run = runs.load_run(str(run_dir))
    assert run.gan.discriminator is None and run.recipe["model"]["discriminator"] is None
    curves = plots.gaussian1d_curves(run.gan, lambda x: np.zeros(len(x)), 0.0, 6.0,
                                     num_samples=100)
    assert np.all(np.isnan(curves["d"])) and np.all(np.isfinite(curves["d_star"]))
    # bin/compare_direct_adversarial.py measures it as it measures a GAN.
    compare = bin_script("compare_direct_adversarial")
    [row] = compare.compare([str(run_dir)], num_samples=100)
    assert (row["loss"], row["d_params"], row["steps"]) == ("mmd", None, 4)
    assert row["fid"] >= 0.0 and row["modes_covered"] in (0, 1)
    table = compare.markdown_table([row])
    assert "| gmmn-toy | mmd |" in table and "| none |" in table


def test_gmmn_recipe_is_measured_like_the_unconditional_mnist_gan_recipe():
    # recipes/gmmn_mnist.yaml trains two steps in test_recipes.py, as every recipe does.
    gmmn_recipe = config.resolve(str(RECIPES / "gmmn_mnist.yaml"))
    gan_recipe = config.resolve(str(RECIPES / "mnist_unconditional.yaml"))
    assert gmmn_recipe["model"]["discriminator"] is None
    assert gmmn_recipe["loss"] == {"name": "mmd"}
    assert gmmn_recipe["train"]["batch_size"] >= 500
    for section in ("data", "eval", "samples"):
        assert gmmn_recipe[section] == gan_recipe[section], section
