"""Run directories: sample grids, atomic checkpoints, load_run (kills and resumes: test_faults.py)."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

from kgan import config
from kgan import images
from kgan import runs
from kgan import train
from kgan.callbacks import memory_mb
from kgan.errors import KganError

TINY = {
    "name": "tiny",
    "data": {"name": "ring2d", "num_examples": 256},
    "model": {"latent_dim": 3,
              "generator": {"name": "mlp", "hidden_units": [8], "output_activation": "linear"},
              "discriminator": {"name": "mlp", "hidden_units": [8]}},
    "train": {"jit_compile": False},
}


def tiny_gan():
    return train.build_gan(config.validate(TINY), sample_shape=(2,))


def test_save_grid_lays_images_out_in_rows(tmp_path):
    batch = np.stack([np.full((4, 3, 1), value, np.float32) for value in (-1, 0, 1, 1, -1)])
    grid = images.save_grid(batch, tmp_path / "grid.png", padding=1)
    # ceil(sqrt(5)) = 3 columns, 2 rows, 1 pixel of padding around each image.
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1, 1)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "grid.png")), grid[..., 0])
    assert grid[1, 1, 0] == 0 and grid[1, 5, 0] == 128 and grid[1, 9, 0] == 255
    assert grid[0, :, 0].max() == 0  # padding


def test_save_grid_refuses_non_images(tmp_path):
    with pytest.raises(ValueError, match=r"\[N, H, W, 1 or 3\]"):
        images.save_grid(np.zeros((4, 5, 5, 2)), tmp_path / "x.png")


def test_checkpoints_keep_the_newest_and_restore_the_noise_state(tmp_path):
    gan = tiny_gan()
    run_dir = str(tmp_path)
    (tmp_path / runs.CHECKPOINTS).mkdir()
    partial = tmp_path / runs.CHECKPOINTS / ".partial-ckpt-00000099.keras"
    partial.write_bytes(b"half a file from a killed run")
    for step in (1, 2, 3):
        gan.seed_generator.state.assign([7, step * 10])
        runs.save_checkpoint(gan, run_dir, step, keep=2)
    assert sorted(os.listdir(tmp_path / runs.CHECKPOINTS)) == [
        "ckpt-00000002.keras", "ckpt-00000003.keras", "state.json", "state.json.previous"]
    latest = runs.latest_checkpoint(run_dir)
    assert latest["step"] == 3
    restored = runs.restore_checkpoint(latest)
    np.testing.assert_array_equal(restored.seed_generator.state.numpy(), [7, 30])
    for mine, theirs in zip(gan.weights, restored.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    # A checkpoint listed in state.json but gone from disk is skipped.
    os.remove(latest["path"])
    assert runs.latest_checkpoint(run_dir)["step"] == 2


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "recipe.yaml"
    runs.atomic_write_text(path, "old")

    def broken(tmp):
        with open(tmp, "w") as file:
            file.write("new but incomplete")
        raise OSError("disk full")

    with pytest.raises(OSError):
        runs.atomic_write(path, broken)
    assert path.read_text() == "old"


def test_load_run_picks_final_then_newest_checkpoint(tmp_path):
    recipe = config.validate(TINY)
    run_dir = runs.create(recipe, str(tmp_path / "run"))
    with pytest.raises(KganError, match="has no checkpoint yet"):
        runs.load_run(run_dir)
    gan = train.build_gan(recipe, sample_shape=(2,))
    checkpoint = runs.save_checkpoint(gan, run_dir, 4, keep=3)
    assert runs.load_run(run_dir).checkpoint_path == checkpoint
    runs.save_final(gan, run_dir)
    run = runs.load_run(run_dir)
    assert run.checkpoint_path == os.path.join(run_dir, runs.FINAL_GAN)
    assert run.recipe == recipe
    assert runs.load_run(run_dir, checkpoint=checkpoint).checkpoint_path == checkpoint
    with pytest.raises(KganError, match="records no best checkpoint"):
        runs.load_run(run_dir, checkpoint="best")
    assert keras.models.load_model(os.path.join(run_dir, runs.FINAL_GENERATOR)).output_shape == (None, 2)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's /proc")
def test_memory_is_logged_in_megabytes_and_the_peak_bounds_the_current():
    ballast = np.ones(50_000_000 // 8)  # 50 MB resident, so the figures are not all noise
    usage = memory_mb()
    status = dict(
        line.split(":", 1) for line in open("/proc/self/status", encoding="ascii") if ":" in line
    )
    vm_rss_mb = int(status["VmRSS"].split()[0]) * 1024 / 1e6  # the kernel's kB are KiB
    vm_hwm_mb = int(status["VmHWM"].split()[0]) * 1024 / 1e6
    assert usage["rss_mb"] == pytest.approx(vm_rss_mb, rel=0.02)
    assert usage["peak_rss_mb"] >= usage["rss_mb"]
    assert usage["peak_rss_mb"] == pytest.approx(max(vm_hwm_mb, usage["rss_mb"]), rel=0.02)
    del ballast
