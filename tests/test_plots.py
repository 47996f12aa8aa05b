"""Pictures of runs: loss curves, the 2014 paper's 1-D figure, toy scatters, the GIF."""

import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kgan import cli
from kgan import config
from kgan import plots
from kgan import theory
from kgan import train


def tiny_recipe(data, epochs=2):
    return config.validate({
        "name": "tiny",
        "data": data,
        "model": {"latent_dim": 2,
                  "generator": {"name": "mlp", "hidden_units": [8],
                                "output_activation": "linear"},
                  "discriminator": {"name": "mlp", "hidden_units": [8]}},
        "train": {"epochs": epochs, "steps_per_epoch": 3, "batch_size": 16,
                  "jit_compile": False},
        "samples": {"num": 50},
    })


def open_image(path, min_width=200, min_height=150):
    with Image.open(path) as image:
        image.verify()
    image = Image.open(path)
    assert image.width >= min_width and image.height >= min_height, image.size
    return image


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("gauss") / "run")
    train.train(tiny_recipe({"name": "gaussian1d", "mean": 4.0, "std": 0.5,
                             "num_examples": 256}, epochs=3), run_dir, verbose=0,
                echo=lambda line: None)
    return run_dir


def test_training_draws_loss_curves_gif_and_the_1d_figure(gaussian_run):
    written = sorted(os.listdir(os.path.join(gaussian_run, "plots")))
    assert written == ["gaussian1d", "gaussian1d.gif", "gaussian1d.png", "losses.png",
                       "samples.gif"]
    open_image(os.path.join(gaussian_run, "plots", "losses.png"), 600, 300)
    figure = open_image(os.path.join(gaussian_run, "plots", "gaussian1d.png"), 600, 200)
    assert figure.format == "PNG"
    for name in ("samples.gif", "gaussian1d.gif"):
        gif = open_image(os.path.join(gaussian_run, "plots", name))
        assert gif.format == "GIF" and gif.n_frames == 3  # one frame per epoch


def test_the_plotted_d_star_is_theorys_optimal_discriminator(gaussian_run):
    for epoch in (1, 2, 3):
        with np.load(os.path.join(gaussian_run, "plots", "gaussian1d",
                                  f"epoch-{epoch:04d}.npz")) as curves:
            x, p_g = curves["x"], curves["p_g"]
            np.testing.assert_allclose(curves["p_data"], theory.gaussian_density(x, 4.0, 0.5),
                                       rtol=1e-9)
            np.testing.assert_allclose(
                curves["d_star"], theory.optimal_discriminator(curves["p_data"], p_g))
            assert np.all((curves["d"] > 0) & (curves["d"] < 1))
            # p_g is a density: it integrates to about 1 over the plotted range.
            assert np.trapezoid(p_g, x) == pytest.approx(1.0, abs=0.05)


def test_plot_gaussian1d_returns_the_curves_it_draws(tmp_path, make_gan):
    gan = make_gan(latent_dim=1, sample_shape=(1,))
    curves = plots.gaussian1d_curves(
        gan, lambda x: theory.gaussian_log_density(x[:, 0], 0.0, 1.0), -4, 4, num_samples=500)
    logits = gan.discriminator.predict(curves["x"][:, None].astype("float32"), verbose=0)
    np.testing.assert_allclose(curves["d"], 1 / (1 + np.exp(-logits[:, 0])), rtol=1e-5)
    drawn = plots.plot_gaussian1d([curves, curves], tmp_path / "g.png", ["a", "b"])
    assert drawn[0] is curves
    open_image(tmp_path / "g.png")


def test_kernel_density_estimate_matches_a_normal_density():
    samples = np.random.default_rng(0).normal(1.0, 2.0, size=20_000)
    x = np.linspace(-9, 11, 401)
    estimate = plots.gaussian_kde(samples, x)
    np.testing.assert_allclose(estimate, theory.gaussian_density(x, 1.0, 2.0), atol=0.01)


def test_kgan_plot_draws_a_ring_runs_samples_over_its_modes(tmp_path):
    run_dir = str(tmp_path / "run")
    train.train(tiny_recipe({"name": "ring2d", "num_examples": 256}, epochs=1), run_dir,
                verbose=0, echo=lambda line: None)
    os.remove(os.path.join(run_dir, "plots", "modes.png"))
    result = CliRunner().invoke(cli.main, ["plot", run_dir])
    assert result.exit_code == 0, result.output
    assert "modes.png" in result.output
    open_image(os.path.join(run_dir, "plots", "modes.png"), 300, 300)
    drawn = plots.plot_modes(np.zeros((10, 2)), np.ones((8, 2)), 0.02, tmp_path / "m.png")
    assert drawn["modes"].shape == (8, 2)


def test_samples_gif_keeps_frame_order(tmp_path):
    paths = []
    for value in (0, 128, 255):
        paths.append(tmp_path / f"{value}.png")
        Image.fromarray(np.full((20, 30, 3), value, np.uint8)).save(paths[-1])
    assert plots.samples_gif(paths, tmp_path / "a.gif") == 3
    gif = Image.open(tmp_path / "a.gif")
    firsts = []
    for frame in range(3):
        gif.seek(frame)
        firsts.append(np.asarray(gif.convert("L"))[0, 0])
    assert list(firsts) == [0, 128, 255]


@pytest.mark.parametrize("kids, scale", [([36.0, 4.2, 0.18, 1.7], "log"),
                                         ([36.0, 4.2, -0.57, 0.54], "symlog")])
def test_quality_plot_draws_every_kid_even_below_zero(tmp_path, monkeypatch, kids, scale):
    # KID's unbiased estimate falls below zero near the data; a log axis would drop it.
    rows = ["step,seconds,fid,kid,classes_covered"] + [
        f"{600 * (i + 1)},60,{fid},{kid},10" for i, (fid, kid) in enumerate(zip([76, 12, 5, 4], kids))]
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n")
    saved = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: saved.append(figure))
    columns = plots.plot_quality(tmp_path / "metrics.csv", tmp_path / "quality.png")
    np.testing.assert_array_equal(columns["kid"], kids)
    for axes in saved[0].axes[:2]:
        low, high = axes.get_ylim()
        assert axes.get_yscale() == scale and low < min(kids) and high > 76
