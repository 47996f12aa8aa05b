"""Nothing lost: kills, a full disk, a read-only run directory and a second writer.

Each `kgan train` here is a real process. After every fault the run either
resumes to the weights of the same run left alone (compared weight by
weight) or is refused with a clear message and nothing changed.
"""

import contextlib
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import keras
import numpy as np
import pytest

from kgan import runs

# k = 2 and dropout in D: the random state a resume restores is more than the noise's.
TINY = """
    name: faults
    seed: 5
    deterministic: true
    plugins: [{plugin}]
    data: {{name: ring2d, num_examples: 1024}}
    model:
      latent_dim: 2
      generator: {{name: mlp, hidden_units: [8], output_activation: linear}}
      discriminator: {{name: mlp, hidden_units: [8], dropout: 0.2}}
    train: {{epochs: 3, steps_per_epoch: 4, batch_size: 32, d_steps: 2}}
    checkpoint: {{every_steps: 2, keep: 2}}
    samples: {{num: 16}}
    eval: {{every_epochs: 1, num_samples: 100}}
"""

# A plugin that kills its own process in the middle of one write, chosen by
# KGAN_FAULT=<file name>:<n> (the n-th write of that file): the file's
# temporary copy is written, then SIGKILL, before it replaces the old one.
# Without KGAN_FAULT it does nothing, so the resumed runs train undisturbed.
FAULT_PLUGIN = '''
import os, signal
from kgan import callbacks, plots, runs

_name, _, _nth = os.environ.get("KGAN_FAULT", "").partition(":")
_count = {"n": 0}


def _hit(path):
    if _name and _name in os.path.basename(str(path)):
        _count["n"] += 1
        return _count["n"] == int(_nth or 1)
    return False


_atomic_write = runs.atomic_write


def atomic_write(path, write, verify=None):
    if os.environ.get("KGAN_SLOW") and "ckpt-" in os.path.basename(str(path)):
        import time
        time.sleep(float(os.environ["KGAN_SLOW"]))  # a slow disk: keeps the run busy
    if _hit(path):
        directory, name = os.path.split(os.path.abspath(path))
        write(os.path.join(directory, ".partial-" + name))
        os.kill(os.getpid(), signal.SIGKILL)
    return _atomic_write(path, write, verify)


runs.atomic_write = atomic_write

_on_epoch_end = callbacks.MetricsLog.on_epoch_end


def on_epoch_end(self, epoch, logs=None):
    if _hit(self.path):
        with open(self.path, "a", encoding="utf-8") as file:
            file.write("3,1")  # half a row
        os.kill(os.getpid(), signal.SIGKILL)
    return _on_epoch_end(self, epoch, logs)


callbacks.MetricsLog.on_epoch_end = on_epoch_end

_save = plots._save


def save(figure, path):
    if os.environ.get("KGAN_FULL") and os.environ["KGAN_FULL"] in os.path.basename(str(path)):
        import errno
        raise OSError(errno.ENOSPC, "No space left on device", str(path))  # a full disk
    if _hit(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as file:
            file.write(b"\\x89PNG half")
        os.kill(os.getpid(), signal.SIGKILL)
    return _save(figure, path)


plots._save = save
'''


@pytest.fixture(scope="module")
def setup():
    root = pathlib.Path(tempfile.mkdtemp(prefix="kgan-faults-"))
    (root / "fault_plugin.py").write_text(FAULT_PLUGIN)
    recipe = root / "faults.yaml"
    recipe.write_text(textwrap.dedent(TINY).format(plugin=root / "fault_plugin.py"))
    reference = root / "reference"
    result = _kgan("train", recipe, "--run-dir", reference, "--quiet")
    assert result.returncode == 0, result.stderr
    (root / "reference.stderr").write_text(result.stderr)
    yield root, recipe, _weights(reference)
    shutil.rmtree(root, ignore_errors=True)


def _kgan(*args, env=None, wait=True):
    command = [sys.executable, "-c", "from kgan.cli import main; main()", *map(str, args)]
    environment = {**os.environ, **(env or {})}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    if not wait:
        return process
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _weights(run_dir):
    """The final GAN's weights and both optimizers' variables (moments, step counts)."""
    gan = keras.models.load_model(os.path.join(run_dir, runs.FINAL_GAN))
    return gan.get_weights() + [v.numpy() for optimizer in (gan.d_optimizer, gan.g_optimizer)
                                for v in optimizer.variables]


def _assert_same(run_dir, reference):
    for mine, theirs in zip(_weights(run_dir), reference, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def _killed_run(recipe, folder, fault):
    """`folder/run`, a run of `recipe` killed during the write that `fault` names."""
    run_dir = folder / "run"
    killed = _kgan("train", recipe, "--run-dir", run_dir, "--quiet", env={"KGAN_FAULT": fault})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    return run_dir


def _resume(run_dir):
    """One `kgan train --resume`, which must finish the run."""
    result = _kgan("train", "--resume", run_dir, "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (run_dir / runs.FINAL_GAN).is_file()
    return result


# One kill during each kind of write a run makes, in the order the run meets
# them: each resumed process carries on from what the last one left.
KILLS = [
    "ckpt-00000002.keras:1",  # a checkpoint: none is intact yet, the run starts over
    "state.json:2",           # the checkpoints' index, at step 4: step 2 is resumed, mid-epoch
    "best.keras:1",           # the evaluation's best checkpoint
    "metrics.csv:1",          # a row of metrics.csv, half written
    "gan.keras:1",            # the final model
    "losses.png:1",           # a plot, after the final weights were saved
]


def test_a_kill_during_each_kind_of_write_loses_nothing(setup, tmp_path):
    root, recipe, reference = setup
    run_dir = tmp_path / "run"
    args = ["train", recipe, "--run-dir", run_dir, "--quiet"]
    resumed_at = []
    for fault in KILLS:
        killed = _kgan(*args, env={"KGAN_FAULT": fault})
        assert killed.returncode == -signal.SIGKILL, (fault, killed.stdout + killed.stderr)
        resumed_at += re.findall(r"Resuming from .* at step (\d+)\.", killed.stdout)
        args = ["train", "--resume", run_dir, "--quiet"]
    assert "2" in resumed_at  # a checkpoint inside an epoch was resumed
    # The kill during the plot came after the final weights: the run is finished...
    assert "already finished" in _kgan(*args).stdout
    _assert_same(run_dir, reference)
    # ... its metrics hold each epoch once, the half row gone ...
    rows = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    assert [row.split(",")[1] for row in rows] == ["4", "8", "12"]
    # ... and its pictures are drawn again.
    assert _kgan("plot", run_dir).returncode == 0
    with open(run_dir / "plots" / "losses.png", "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def test_kills_at_random_moments_lose_nothing(setup, tmp_path):
    root, recipe, reference = setup
    rng = random.Random(0)
    run_dir = tmp_path / "run"
    args = ["train", recipe, "--run-dir", run_dir, "--quiet"]
    kills = 0
    for _ in range(2):
        process = _kgan(*args, wait=False)
        deadline = time.time() + 120
        while not (run_dir / runs.RECIPE).exists() and process.poll() is None:
            time.sleep(0.05)  # TensorFlow's start-up: the run directory is made after it
            assert time.time() < deadline
        time.sleep(rng.uniform(0.0, 2.0))
        process.kill()
        process.communicate()
        kills += process.returncode == -signal.SIGKILL
        args = ["train", "--resume", run_dir, "--quiet"]
    assert kills >= 1
    _resume(run_dir)
    _assert_same(run_dir, reference)


def test_a_full_disk_stops_the_run_clearly_and_it_resumes_elsewhere(setup, tmp_path):
    root, recipe, reference = setup
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        result = _kgan("train", recipe, "--run-dir", disk / "run", "--quiet")
        assert result.returncode == 2, result.stdout + result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert "No space left on device" in message and "Traceback" not in result.stderr
        shutil.copytree(disk / "run", tmp_path / "run")
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    if "The newest intact checkpoint is" in message:
        assert "kgan train --resume" in message
    _resume(tmp_path / "run")
    _assert_same(tmp_path / "run", reference)


def test_a_read_only_run_directory_and_a_second_writer_are_refused(setup, tmp_path):
    root, recipe, reference = setup
    run_dir = _killed_run(recipe, tmp_path, "ckpt-00000006.keras:1")
    before = sorted((p, os.path.getsize(os.path.join(run_dir, p)))
                    for p in os.listdir(run_dir))
    with _read_only(run_dir):
        result = _kgan("train", "--resume", run_dir, "--quiet")
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("Permission denied" in result.stderr or "Read-only file system" in result.stderr)
    assert "Traceback" not in result.stderr
    assert sorted((p, os.path.getsize(os.path.join(run_dir, p)))
                  for p in os.listdir(run_dir)) == before
    # Writable again: one resume, slowed down, and a second one while it runs.
    first = _kgan("train", "--resume", run_dir, "--quiet", wait=False, env={"KGAN_SLOW": "2.5"})
    deadline = time.time() + 60
    while time.time() < deadline:  # until the first process holds the lock
        lock = run_dir / runs.LOCK
        if lock.exists() and f"process {first.pid} " in lock.read_text():
            break
        time.sleep(0.1)
    second = _kgan("train", "--resume", run_dir, "--quiet")
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"is being trained already, by process {first.pid} " in second.stderr
    _assert_same(run_dir, reference)


@contextlib.contextmanager
def _read_only(directory):
    """`directory` made unwritable: a read-only bind mount for root (whom file modes do not
    stop), file modes otherwise."""
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(directory), str(directory)],
                                 capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot bind-mount read-only here: {mounted.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["umount", str(directory)], check=True)
        return
    modes = {}
    for folder, dirs, files in os.walk(directory):
        for path in [folder] + [os.path.join(folder, name) for name in files]:
            modes[path] = os.stat(path).st_mode
            os.chmod(path, 0o555 if os.path.isdir(path) else 0o444)
    try:
        yield
    finally:
        for path, mode in sorted(modes.items()):
            os.chmod(path, mode)


def test_a_deterministic_run_prints_no_tensorflow_errors(setup):
    # The recipe has `deterministic: true`; Keras' predict under op determinism
    # once printed "E0000 ... use_unbounded_threadpool" lines past TF_CPP_MIN_LOG_LEVEL.
    root, _, _ = setup
    stderr = (root / "reference.stderr").read_text()
    assert "E0000" not in stderr and "use_unbounded_threadpool" not in stderr, stderr


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_newest_checkpoint_is_passed_over_for_the_one_before(setup, tmp_path, damage):
    root, _, reference = setup
    run_dir = tmp_path / "run"
    shutil.copytree(root / "reference", run_dir)
    os.remove(run_dir / runs.FINAL_GAN)  # the run stopped before its end
    newest = run_dir / runs.CHECKPOINTS / "ckpt-00000012.keras"
    size = newest.stat().st_size
    with open(newest, "r+b") as file:
        file.truncate(size // 2 if damage == "truncated" else 0)
    result = _resume(run_dir)
    why = "not a zip archive: truncated or overwritten" if damage == "truncated" else "an empty file"
    assert f"checkpoint {newest} is damaged ({why}); trying the one before." in result.stdout
    assert re.search(r"Resuming from .*ckpt-00000010\.keras at step 10\.", result.stdout)
    _assert_same(run_dir, reference)


def test_a_full_disk_while_plotting_keeps_the_finished_runs_results(setup, tmp_path):
    root, recipe, reference = setup
    run_dir = tmp_path / "run"
    result = _kgan("train", recipe, "--run-dir", run_dir, "--quiet",
                   env={"KGAN_FULL": "losses.png"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"Warning: could not write the plots of {run_dir} (No space left on device). "
            "The run's weights and metrics are saved") in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    _assert_same(run_dir, reference)
    rows = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    assert [row.split(",")[1] for row in rows] == ["4", "8", "12"]
