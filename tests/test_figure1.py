"""The paper's Figure 1, from the shipped recipe: `kgan train recipes/gaussian1d.yaml`.

The recipe trains through the `kgan train` command, as a user runs it, and the
test asserts what the figure claims: p_g ends on N(4, 0.5^2) (mean, std and
Kolmogorov-Smirnov distance within 0.05 on 20,000 samples), and D tends to
1/2 only as p_g meets p_data -- at the first epoch it still tells them apart.
"""

import glob
import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kgan import metrics
from kgan import runs
from kgan import theory
from kgan.cli import main

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "gaussian1d.yaml")


@pytest.fixture(scope="module")
def figure1_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("figure1") / "run"
    result = CliRunner().invoke(main, ["train", RECIPE, "--run-dir", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    return str(run_dir), result.output


def test_the_generator_learns_the_target_gaussian(figure1_run):
    run_dir, _ = figure1_run
    samples = runs.load_run(run_dir).gan.generate(20_000, seed=123).reshape(-1)
    assert abs(samples.mean() - 4.0) <= 0.05
    assert abs(samples.std() - 0.5) <= 0.05
    assert metrics.ks_distance(samples, lambda x: theory.gaussian_cdf(x, 4.0, 0.5)) <= 0.05


def test_d_tends_to_one_half_only_as_p_g_meets_p_data(figure1_run):
    run_dir, output = figure1_run
    snapshots = sorted(glob.glob(os.path.join(run_dir, "plots", "gaussian1d", "epoch-*.npz")))
    first, last = (dict(np.load(path)) for path in (snapshots[0], snapshots[-1]))
    on_data = lambda curves: (curves["x"] > 3.0) & (curves["x"] < 5.0)  # noqa: E731
    # After one epoch p_g is still off, and D, near D*, tells real from fake ...
    assert np.abs(first["p_g"] - first["p_data"]).max() > 0.3
    assert np.abs(first["d"][on_data(first)] - 0.5).max() > 0.2
    # ... at the end p_g lies on p_data, and D is 1/2 where the data are (the -log 4
    # equilibrium): within 0.1 inside 1.5 std of the mean, 0.05 on average under p_data.
    # (In the tails, where a few samples set D*, D follows D* away from 1/2.)
    assert np.abs(last["p_g"] - last["p_data"]).max() < 0.15
    central = (last["x"] > 3.25) & (last["x"] < 4.75)
    assert np.abs(last["d"][central] - 0.5).max() < 0.1
    assert np.average(np.abs(last["d"] - 0.5), weights=last["p_data"]) < 0.05
    assert "dead discriminator" not in output


def test_the_panels_and_the_gif_are_drawn(figure1_run):
    run_dir, _ = figure1_run
    with Image.open(os.path.join(run_dir, "plots", "gaussian1d.gif")) as gif:
        assert gif.n_frames == 10  # one frame per epoch
    assert os.path.getsize(os.path.join(run_dir, "plots", "gaussian1d.png")) > 10_000
