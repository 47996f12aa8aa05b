"""Run directories and exports made by kgan 0.1.0 still resume, sample and export.

The fixtures under tests/fixtures/v0_1/ were written by kgan 0.1.0, before the
engine's redesign (tests/fixtures/make_v0_1_fixtures.sh): an interrupted
WGAN-GP run with a generator average and k = 2, a finished conditional GAN
with R1, a finished moment-matching network, and the conditional GAN's
SavedModel export.
"""

import os
import shutil

import keras
import numpy as np
import pytest
from click.testing import CliRunner

import kgan
from kgan import runs
from kgan.cli import main

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "v0_1")


def _copy(name, tmp_path):
    return shutil.copytree(os.path.join(FIXTURES, name), tmp_path / name)


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_interrupted_run_resumes_to_the_uninterrupted_runs_weights(tmp_path):
    run_dir = _copy("wgan-gp-interrupted", tmp_path)
    _invoke("train", "--resume", run_dir, "--quiet")
    resumed = keras.models.load_model(os.path.join(run_dir, runs.FINAL_GAN))
    uninterrupted = keras.models.load_model(
        os.path.join(FIXTURES, "wgan-gp-uninterrupted.keras")
    )
    assert int(resumed.g_optimizer.iterations.numpy()) == 8
    assert int(resumed.d_optimizer.iterations.numpy()) == 16  # k = 2
    for mine, theirs in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    # The loss's own gradient penalty survived the round trip.
    assert kgan.losses.serialize_loss(resumed.loss_fn) == {
        "name": "wasserstein_gp", "gp_weight": 5.0,
    }


@pytest.mark.parametrize("name", ["cgan-r1", "gmmn"])
def test_finished_runs_sample_and_export(name, tmp_path):
    run_dir = _copy(name, tmp_path)
    grid = tmp_path / "grid.png"
    _invoke("sample", run_dir, "-n", 8, "-o", grid)
    assert grid.stat().st_size > 0
    out_dir = tmp_path / "export"
    _invoke("export", run_dir, out_dir)
    run = runs.load_run(str(run_dir))
    exported = kgan.exported.load_sampler(str(out_dir))
    np.testing.assert_allclose(
        exported.generate(8, seed=3), run.gan.generate(8, seed=3), rtol=1e-5, atol=1e-6
    )


def test_old_export_still_samples_like_its_run(tmp_path):
    run = runs.load_run(os.path.join(FIXTURES, "cgan-r1"))
    exported = kgan.exported.load_sampler(os.path.join(FIXTURES, "cgan-r1-export"))
    np.testing.assert_allclose(
        exported.generate(6, seed=1, labels=2), run.gan.generate(6, seed=1, labels=2),
        rtol=1e-5, atol=1e-6,
    )
    grid = tmp_path / "export.png"
    _invoke("sample", os.path.join(FIXTURES, "cgan-r1-export"), "-n", 8, "-o", grid)
    assert grid.stat().st_size > 0
