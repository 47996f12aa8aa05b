"""Conditional GANs (cgan, acgan): labels steer G, D reads them, and every tool passes them on.

The papers' claims at small scale: on three well-separated 2-D Gaussians, a
short training makes the samples of label c land on class c's mean, for the
conditional GAN (Mirza & Osindero 2014, here with a projection discriminator)
and for AC-GAN (Odena et al. 2017), whose auxiliary classifier learns to
classify real data. An unconditional generator would put a third of each
label's samples on each mean.
"""

import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from PIL import Image

import kgan
from kgan import cli
from kgan import config
from kgan import errors
from kgan import exported
from kgan import evaluator as evaluator_lib
from kgan import export
from kgan import images
from kgan import layers as kgan_layers
from kgan import runs

ROOT = pathlib.Path(__file__).resolve().parents[1]
PREPARED_TFDS = ROOT.parent / "shared" / "tensorflow_datasets"
MEANS = np.array([[0.0, 2.0], [-1.732, -1.0], [1.732, -1.0]], np.float32)
TOY_STD = 0.1
TOY_STEPS = 200
LATENT_DIM = 4


def toy_data(num_examples, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(MEANS), num_examples).astype(np.int32)
    x = MEANS[labels] + TOY_STD * rng.standard_normal((num_examples, 2))
    return x.astype(np.float32), labels


def toy_gan(architecture):
    keras.utils.set_random_seed(0)
    generator = kgan.generator(
        architecture, LATENT_DIM, (2,), num_classes=3, hidden_units=(32, 32),
        output_activation="linear", embedding_dim=8,
    )
    discriminator = kgan.discriminator(architecture, (2,), num_classes=3, hidden_units=(32, 32))
    gan = kgan.GAN(generator, discriminator, latent_dim=LATENT_DIM, num_classes=3, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(5e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(5e-3, beta_1=0.5),
        jit_compile=False,
        steps_per_execution=25,
    )
    return gan


_TRAINED = {}


def trained(architecture):
    """A toy GAN trained for TOY_STEPS steps of 64 on the three Gaussians (once per module)."""
    if architecture not in _TRAINED:
        gan = toy_gan(architecture)
        x, labels = toy_data(64 * TOY_STEPS, seed=0)
        gan.fit(x, labels, batch_size=64, epochs=1, verbose=0)
        _TRAINED[architecture] = gan
    return _TRAINED[architecture]


@pytest.fixture(params=["cgan", "acgan"])
def trained_toy(request):
    """(architecture, its trained toy GAN)."""
    return request.param, trained(request.param)


@pytest.fixture(scope="module")
def tfds_data_dir():
    if "TFDS_DATA_DIR" not in os.environ and PREPARED_TFDS.is_dir():
        os.environ["TFDS_DATA_DIR"] = str(PREPARED_TFDS)
        yield
        del os.environ["TFDS_DATA_DIR"]
    else:
        yield


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory, tfds_data_dir):
    """The main job (recipes/mnist.yaml, a conditional GAN): two steps with tiny networks,
    trained through the CLI."""
    run_dir = tmp_path_factory.mktemp("cgan") / "run"
    result = CliRunner().invoke(cli.main, [
        "train", str(ROOT / "recipes" / "mnist.yaml"), "--run-dir", str(run_dir),
        "--quiet", "--set", "data.split=train[:64]", "--set", "train.epochs=1",
        "--set", "train.steps_per_epoch=2", "--set", "train.batch_size=8",
        "--set", "samples.num=20", "--set", "train.jit_compile=false",
        "--set", "model.generator.base_filters=4", "--set", "model.discriminator.base_filters=4",
        "--set", "model.latent_dim=8", "--set", "eval.final_num_samples=200",
    ])
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="module")
def unconditional_run(tmp_path_factory):
    """A run directory holding an unconditional GAN (no training needed)."""
    recipe = config.resolve(str(ROOT / "recipes" / "ring2d.yaml"))
    run_dir = runs.create(recipe, str(tmp_path_factory.mktemp("plain") / "run"))
    generator = kgan.generator("mlp", 16, (2,), hidden_units=(4,), output_activation="linear")
    discriminator = kgan.discriminator("mlp", (2,), hidden_units=(4,))
    gan = kgan.GAN(generator, discriminator, latent_dim=16, seed=0)
    gan.compile(d_optimizer="adam", g_optimizer="adam")
    gan.d_optimizer.build(discriminator.trainable_variables)
    gan.g_optimizer.build(generator.trainable_variables)
    runs.save_final(gan, run_dir)
    return run_dir


# ------------------------------------------------------------- architectures


@pytest.mark.parametrize("architecture", ["cgan", "acgan"])
def test_generator_output_depends_on_the_label(architecture):
    generator = kgan.generator(architecture, 8, (12, 12, 1), num_classes=4, base_filters=4)
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    as_0 = generator([z, np.zeros(3, np.int32)]).numpy()
    as_0_again = generator([z, np.zeros(3, np.int32)]).numpy()
    as_1 = generator([z, np.ones(3, np.int32)]).numpy()
    np.testing.assert_array_equal(as_0, as_0_again)
    assert np.abs(as_0 - as_1).mean() > 1e-3


def test_projection_discriminator_output_depends_on_the_label():
    discriminator = kgan.discriminator("cgan", (12, 12, 1), num_classes=4, base_filters=4)
    assert len(discriminator.inputs) == 2 and discriminator.output_shape == (None, 1)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 12, 12, 1)).astype(np.float32)
    logits = [discriminator([x, np.full(3, c, np.int32)]).numpy() for c in range(4)]
    for c in range(1, 4):
        assert np.abs(logits[c] - logits[0]).min() > 1e-6


def test_acgan_discriminator_sees_the_sample_alone_and_returns_class_logits():
    discriminator = kgan.discriminator("acgan", (12, 12, 1), num_classes=4, base_filters=4)
    assert len(discriminator.inputs) == 1
    logit, class_logits = discriminator(np.zeros((3, 12, 12, 1), np.float32))
    assert logit.shape == (3, 1) and class_logits.shape == (3, 4)


def test_a_spectrally_normalised_body_keeps_its_normalisation_in_the_heads():
    projection = kgan.discriminator("cgan", (2,), num_classes=3, spectral_norm=True)
    auxiliary = kgan.discriminator("acgan", (2,), num_classes=3, spectral_norm=True)
    for model in (projection, auxiliary):
        heads = [layer for layer in model.layers if isinstance(layer, kgan_layers.SpectralNorm)]
        assert len(heads) == (1 if model is projection else 2)


@pytest.mark.parametrize("role", ["generator", "discriminator"])
def test_conditional_architecture_without_num_classes_says_how_to_get_them(role):
    build = getattr(kgan, role)
    with pytest.raises(errors.KganError, match=r"model\.conditional: true"):
        build("cgan", **({"latent_dim": 4, "output_shape": (2,)} if role == "generator"
                         else {"input_shape": (2,)}))


def test_a_wrong_body_option_names_the_body():
    with pytest.raises(errors.PluginParameterError, match=r'body architecture, mlp.*"units"'):
        kgan.generator("cgan", 4, (2,), num_classes=3, units=8)


def test_kgan_plugins_describes_both_in_one_line():
    output = CliRunner().invoke(cli.main, ["plugins"]).output
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")
             and line.split()[0] in ("cgan", "acgan")}
    assert "Mirza & Osindero 2014" in lines["cgan"] and "projection" in lines["cgan"]
    assert "Odena et al. 2017" in lines["acgan"]


# ---------------------------------------------------- the papers' claims, small


def test_samples_of_label_c_land_on_class_c(trained_toy):
    _, gan = trained_toy
    for label, mean in enumerate(MEANS):
        samples = gan.generate(300, seed=1, labels=label)
        distance = np.linalg.norm(samples - mean, axis=1)
        # The other means are 3.5 away; an unconditional G would put two
        # thirds of each label's samples there.
        assert np.mean(distance < 1.0) > 0.9, (label, samples.mean(axis=0))


def test_acgan_auxiliary_classifier_learns_to_classify_real_data():
    x, labels = toy_data(600, seed=5)  # fresh real data
    _, class_logits = trained("acgan").discriminator.predict(x, verbose=0)
    assert np.mean(class_logits.argmax(axis=1) == labels) > 0.95


# --------------------------------------------------------- kgan sample, grids


def test_the_main_job_trains_with_the_mode_seeking_term(mnist_run):
    # recipes/mnist.yaml's `regularizers:` reach the trained GAN, saved and loaded with it.
    recipe = config.resolve(str(ROOT / "recipes" / "mnist.yaml"))
    gan = runs.load_run(str(mnist_run)).gan
    saved = [kgan.regularizers.serialize_regularizer(r) for r in gan.regularizers]
    assert [spec["name"] for spec in saved] == ["mode_seeking"]
    assert saved == [kgan.regularizers.serialize_regularizer(
        kgan.regularizers.get_regularizer(spec)) for spec in recipe["regularizers"]]


def test_epoch_grid_has_a_row_per_class(mnist_run):
    grid = np.asarray(Image.open(mnist_run / "samples" / "epoch-0001.png"))
    # 20 samples, 10 classes: 10 rows of 2 images of 28 pixels, 2 pixels apart.
    assert grid.shape[:2] == (10 * 30 + 2, 2 * 30 + 2)


def test_sample_label_draws_that_class(mnist_run, tmp_path):
    output = tmp_path / "sevens.png"
    result = CliRunner().invoke(
        cli.main, ["sample", str(mnist_run), "--label", "7", "-n", "6", "-o", str(output)])
    assert result.exit_code == 0, result.output
    gan = runs.load_run(str(mnist_run)).gan
    expected = images.make_grid(gan.generate(6, seed=0, labels=7))
    other = images.make_grid(gan.generate(6, seed=0, labels=3))
    written = np.asarray(Image.open(output))
    np.testing.assert_array_equal(written, expected[..., 0])
    assert not np.array_equal(written, other[..., 0])


def test_sample_without_label_gives_a_column_per_class(mnist_run, tmp_path):
    output = tmp_path / "all.png"
    result = CliRunner().invoke(cli.main, ["sample", str(mnist_run), "-n", "20", "-o",
                                           str(output)])
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(output)).shape == (2 * 30 + 2, 10 * 30 + 2)


@pytest.mark.parametrize("label", ["10", "-1"])
def test_sample_label_out_of_range_exits_2(mnist_run, tmp_path, label):
    result = CliRunner().invoke(
        cli.main, ["sample", str(mnist_run), "--label", label, "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert f"--label {label} is out of range" in result.output
    assert "labels 0 to 9" in result.output
    assert not (tmp_path / "x.png").exists()


def test_sample_label_of_an_unconditional_run_exits_2(unconditional_run, tmp_path):
    result = CliRunner().invoke(cli.main, [
        "sample", unconditional_run, "--label", "1", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "unconditional GAN" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------- export


def test_exported_savedmodel_takes_labels_and_draws_the_requested_class(trained_toy, tmp_path):
    architecture, gan = trained_toy
    out_dir = tmp_path / "exported"
    metadata = export.export_saved_model(gan, str(out_dir), max_samples=64)
    assert metadata["num_classes"] == 3
    model = tf.saved_model.load(str(out_dir))
    assert set(model.signatures["generate"].structured_input_signature[1]) == {"z", "labels"}
    assert "labels" in model.signatures["serving_default"].structured_input_signature[1]
    d_inputs = set(model.signatures["discriminate"].structured_input_signature[1])
    assert d_inputs == ({"images", "labels"} if architecture == "cgan" else {"images"})
    sampler = exported.load_sampler(str(out_dir))
    for label, mean in enumerate(MEANS):
        drawn = sampler.generate(100, seed=4, labels=label)
        np.testing.assert_allclose(drawn, gan.generate(100, seed=4, labels=label),
                                   atol=1e-5)
        assert np.mean(np.linalg.norm(drawn - mean, axis=1) < 1.0) > 0.9
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be in \[0, 3\)"):
        model.signatures["serving_default"](
            num_samples=tf.constant(2), seed=tf.constant(0, tf.int64), labels=tf.constant(3))
    with pytest.raises(errors.KganError, match="out of range"):
        sampler.generate(2, labels=3)


def test_sample_label_from_an_exported_run(mnist_run, tmp_path):
    out_dir = tmp_path / "exported"
    result = CliRunner().invoke(cli.main, ["export", str(mnist_run), str(out_dir)])
    assert result.exit_code == 0, result.output
    assert "num_classes:          10" in result.output
    from_run, from_export = tmp_path / "run.png", tmp_path / "export.png"
    for source, output in ((mnist_run, from_run), (out_dir, from_export)):
        result = CliRunner().invoke(
            cli.main, ["sample", str(source), "--label", "7", "-n", "4", "-o", str(output)])
        assert result.exit_code == 0, result.output
    difference = np.abs(np.asarray(Image.open(from_run), np.int16)
                        - np.asarray(Image.open(from_export), np.int16))
    assert difference.max() <= 1  # float rounding at a pixel boundary at most
    result = CliRunner().invoke(cli.main, ["sample", str(out_dir), "--label", "12", "-o",
                                           str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "labels 0 to 9" in result.output


# ---------------------------------------------------- bin/conditional_accuracy


class _NearestMean:
    """A stand-in evaluator for the toy: the class of the nearest mean, or a shifted one."""

    num_classes = 3

    def __init__(self, shift=0):
        self.shift = shift

    def predict_classes(self, samples):
        nearest = np.argmin(np.linalg.norm(samples[:, None] - MEANS[None], axis=2), axis=1)
        return (nearest + self.shift) % 3


def test_conditional_accuracy_counts_samples_classified_as_their_label(trained_toy,
                                                                         bin_script):
    script = bin_script("conditional_accuracy")
    _, gan = trained_toy
    right = script.conditional_accuracy(gan, _NearestMean(), num_per_class=50)
    wrong = script.conditional_accuracy(gan, _NearestMean(shift=1), num_per_class=50)
    assert right["overall"] > 0.9 and min(right["per_class"]) > 0.9
    assert wrong["overall"] < 0.1
    assert np.sum(right["confusion"], axis=1).tolist() == [50, 50, 50]


def test_conditional_accuracy_script_reports_per_class(mnist_run, tmp_path, capsys,
                                                       monkeypatch, bin_script):
    path = str(tmp_path / "tiny.keras")
    evaluator_lib.Evaluator(evaluator_lib.build_classifier((28, 28, 1), 10, 8)).save(path)
    monkeypatch.setattr("sys.argv", ["conditional_accuracy.py", str(mnist_run),
                                     "--num-per-class", "5", "--evaluator", path])
    bin_script("conditional_accuracy").main()
    output = capsys.readouterr().out
    assert sum(line.startswith("  class ") for line in output.splitlines()) == 10
    assert "overall:" in output and "classified as the requested class" in output


def test_conditional_accuracy_of_an_unconditional_gan_is_a_clear_error(unconditional_run,
                                                                        bin_script):
    gan = runs.load_run(unconditional_run).gan
    with pytest.raises(errors.KganError, match="not conditional"):
        bin_script("conditional_accuracy").conditional_accuracy(gan, _NearestMean())
