"""The `kgan` command line, in-process with click's CliRunner."""

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from kgan import cli
from kgan import config

# A tiny ring2d run: a few milliseconds a step.
TINY = """
    name: tiny-ring
    seed: 1
    data: {name: ring2d, num_examples: 512}
    model:
      latent_dim: 4
      generator: {name: mlp, hidden_units: [16], output_activation: linear}
      discriminator: {name: mlp, hidden_units: [16]}
    train: {epochs: 2, steps_per_epoch: 5, batch_size: 16, jit_compile: false}
    checkpoint: {every_steps: 3, keep: 2}
    samples: {num: 32}
    log: {every_steps: 2}
"""


def write(tmp_path, text, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def assert_user_error(result, *expected):
    """Exit status 2 and one paragraph naming the problem, without a traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("Error: ")
    for text in expected:
        assert text in message, message


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cli")
    run_dir = tmp_path / "run"
    result = invoke("train", write(tmp_path, TINY), "--run-dir", run_dir, "--quiet")
    assert result.exit_code == 0, result.output
    return run_dir, result


@pytest.mark.parametrize("text, overrides, expected", [
    ("train:\n  epochs: 3\n   batch_size: 64\n", [], ["line 3, column 14"]),
    ("train: {d_optimzer: {name: adam}}", [], ["`train.d_optimzer`", 'Did you mean "d_optimizer"']),
    ("", ["train.d_steps=0"], ["`train.d_steps`: d_steps (k, discriminator updates", ">= 1"]),
    ("", ["train.batch_size=0"], ["`train.batch_size`: batch_size (m, the minibatch size)", ">= 1"]),
    ("", ["train.d_optimizer.learning_rate=-0.1"], ["learning_rate` must be positive"]),
    ("", ["train.epochs=many"], ["`train.epochs` must be int, got 'many'"]),
    ("loss: {name: hinje}", [], ['Unknown loss "hinje"', "least_squares, minimax"]),
    ("plugins: [missing_plugin.py]", [], ['Plugin file "missing_plugin.py" does not exist']),
])
def test_bad_recipes_exit_2_with_the_key_path(tmp_path, text, overrides, expected):
    sets = [arg for override in overrides for arg in ("--set", override)]
    for command in (["recipe", "show"], ["train"]):
        result = invoke(*command, write(tmp_path, text), *sets)
        assert_user_error(result, *expected)
    assert not (tmp_path / "runs").exists()


def test_missing_recipe_file_exits_2(tmp_path):
    assert_user_error(invoke("train", tmp_path / "nope.yaml"), "does not exist")


def test_missing_data_file_exits_2(tmp_path):
    recipe = write(tmp_path, f"data: {{name: arrays, path: {tmp_path / 'none.npy'}}}")
    assert_user_error(invoke("train", recipe, "--run-dir", tmp_path / "run"),
                      "data.path", "does not exist")


def test_unprepared_tfds_dataset_exits_2_and_says_where_data_go(tmp_path):
    recipe = write(tmp_path, f"""
        data: {{name: tfds, dataset: mnist, data_dir: {tmp_path / 'empty'}, download: false}}
    """)
    result = invoke("train", recipe, "--run-dir", tmp_path / "run")
    assert_user_error(result, "mnist")
    assert "TFDS_DATA_DIR" in result.output or "data_dir" in result.output


def test_image_size_the_architecture_cannot_make_exits_2(tmp_path):
    np.save(tmp_path / "tiny.npy", np.zeros((8, 9, 9, 1), np.float32))
    recipe = write(tmp_path, f"data: {{name: arrays, path: {tmp_path / 'tiny.npy'}}}")
    result = invoke("train", recipe, "--run-dir", tmp_path / "run", "--set", "train.batch_size=2")
    assert_user_error(result, "Recipe key `model.generator`", "dcgan cannot make images of size 9x9")


def test_unknown_architecture_option_exits_2(tmp_path):
    recipe = write(tmp_path, TINY)
    result = invoke("train", recipe, "--run-dir", tmp_path / "run",
                    "--set", "model.discriminator.hiden_units=[8]")
    assert_user_error(result, "`model.discriminator`", '"hiden_units"', 'Did you mean "hidden_units"')


def test_recipe_show_prints_the_resolved_recipe_and_the_overrides(tmp_path):
    path = write(tmp_path, TINY)
    result = invoke("recipe", "show", path, "--set", "train.epochs=9")
    assert result.exit_code == 0, result.output
    assert "override: train.epochs = 9" in result.stderr
    assert yaml.safe_load(result.stdout) == config.resolve(path, ["train.epochs=9"])


def test_plugins_lists_every_kind_with_origin_and_description():
    result = invoke("plugins")
    assert result.exit_code == 0, result.output
    for heading in ("architectures:", "losses:", "datasets:"):
        assert heading in result.output
    for name in ("dcgan", "mlp", "non_saturating", "wasserstein_gp", "tfds", "ring2d"):
        assert f"  {name} " in result.output
    assert "from built-in 'dcgan'" in result.output
    assert "Strided (transposed) convolutions" in result.output


def test_train_fills_the_run_directory(tiny_run):
    run_dir, result = tiny_run
    assert "Epoch 1/2" not in result.output  # --quiet
    assert sorted(os.listdir(run_dir / "samples")) == ["epoch-0001.png", "epoch-0002.png"]
    # Checkpoints at steps 3, 5 (epoch end), 6, 9, 10; the last two are kept.
    assert sorted(os.listdir(run_dir / "checkpoints")) == [
        "ckpt-00000009.keras", "ckpt-00000010.keras", "state.json", "state.json.previous"]
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,d_loss,g_loss,real_score,fake_score")
    assert [row.split(",")[:2] for row in rows[1:]] == [["1", "5"], ["2", "10"]]
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as file:
        logged = list(csv.DictReader(file))
    # Memory per epoch, so that growth across epochs shows: the peak bounds the current.
    for row in logged:
        assert 0 < float(row["rss_mb"]) <= float(row["peak_rss_mb"])
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(run_dir / "tensorboard"))
    assert yaml.safe_load((run_dir / "recipe.yaml").read_text())["name"] == "tiny-ring"
    for final in ("generator.keras", "gan.keras"):
        assert (run_dir / final).stat().st_size > 0


def test_train_splits_its_wall_time_by_phase(tiny_run):
    run_dir, result = tiny_run
    summary = json.loads((run_dir / "summary.json").read_text())
    split = summary["time_split"]
    assert list(split)[:2] == ["start-up", "training"]
    # Ten steps, two grids, five checkpoints, and the end's work: each has its phase.
    for phase in ("sample grids", "checkpoints", "logs", "final weights", "plots"):
        assert split[phase] > 0, split
    assert all(seconds >= 0 for seconds in split.values())
    # The phases cover the run: together no more than its wall time (each is
    # rounded to 10 ms), and most of it.
    total = sum(split.values())
    assert 0.8 * summary["wall_seconds"] < total <= summary["wall_seconds"] + 0.005 * len(split)
    assert re.search(r"\n  time split +start-up \d+ s \(\d+%\), training ", result.output)


def test_train_refuses_to_overwrite_a_run(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    result = invoke("train", write(tmp_path, TINY), "--run-dir", run_dir)
    assert_user_error(result, "already holds a run", f"--resume {run_dir}")


def test_resume_of_a_finished_run_does_nothing(tiny_run):
    run_dir, _ = tiny_run
    result = invoke("train", "--resume", run_dir)
    assert result.exit_code == 0, result.output
    assert "already finished" in result.output


def test_resume_needs_a_run_directory(tmp_path):
    assert_user_error(invoke("train", "--resume", tmp_path), "is not a kgan run directory")


def test_sample_is_reproducible_by_seed(tiny_run, tmp_path):
    run_dir, _ = tiny_run

    def sample(seed, name):
        result = invoke("sample", run_dir, "-n", 64, "--seed", seed, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        return np.asarray(Image.open(tmp_path / name))

    first, again, other = sample(0, "a.png"), sample(0, "b.png"), sample(1, "c.png")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_sample_without_a_best_checkpoint_exits_2(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    result = invoke("sample", run_dir, "--checkpoint", "best", "-o", tmp_path / "x.png")
    assert_user_error(result, "records no best checkpoint")


def test_version_prints_kgans_version():
    import kgan

    for flag in ("--version", "-V"):
        result = CliRunner().invoke(cli.main, [flag])
        assert result.exit_code == 0 and result.output == f"kgan {kgan.__version__}\n"


def test_quiet_and_verbose_together_are_refused(tmp_path):
    result = invoke("train", write(tmp_path, TINY), "--quiet", "--verbose",
                    "--run-dir", tmp_path / "run")
    assert_user_error(result, "--quiet or --verbose, not both")
    assert not (tmp_path / "run").exists()


def test_the_run_progress_bar_shows_steps_speed_and_eta():
    from kgan import callbacks

    bar = callbacks.RunProgress(total_steps=200, width=10)
    bar._start, bar._first_step = 100.0, 0
    bar.on_epoch_end(0, {"d_loss": 0.5, "g_loss": 1.25, "fid": 42.0})
    assert bar.line(50, now=110.0) == (
        "[##--------] 50/200  25%   5.0 steps/s ETA 0:30  "
        "epoch 1: d_loss 0.5, g_loss 1.25, FID 42"
    )


def test_start_up_counts_from_kgans_load_not_from_what_a_shell_ran_before(tmp_path):
    # `pip install -e . && kgan train ...`: the shell execs kgan in the process
    # that ran pip, so that process's start is the install's, not kgan's.
    probe = "import time, kgan.timing as t; print(time.time() - t.load_start_time())"
    began = time.time()
    out = subprocess.run(
        ["bash", "-c", f"sleep 2 && exec {sys.executable} -c '{probe}'"],
        capture_output=True, text=True, check=True).stdout
    python_seconds = time.time() - began - 2.0  # the sleep is not kgan's start-up
    counted = float(out.split()[-1])
    assert 0 < counted <= python_seconds + 0.2, (counted, python_seconds)
