"""Scaling out: `train.strategy` mirrored and multi_worker train like one device.

The global batch is split across replicas, each replica takes its slice of
one global noise draw, and gradients are summed of losses scaled by
1/replicas, so the weights after a few steps match a one-device run. The
multi-worker run starts two worker processes on 127.0.0.1 (ports picked at
run time), each running tests/multi_worker_script.py.
"""

import csv
import importlib.util
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from kgan import cli
from kgan import config
from kgan import distribute
from kgan import errors
from kgan import runs
from kgan import train as train_lib

SCRIPT = pathlib.Path(__file__).with_name("multi_worker_script.py")
WORKER_TIMEOUT_S = 150
ATOL = 1e-5


def _import_script():
    spec = importlib.util.spec_from_file_location("multi_worker_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # AutoGraph looks functions up by module
    spec.loader.exec_module(module)
    return module


script = _import_script()


def _train(recipe, run_dir):
    return train_lib.train(recipe, run_dir=str(run_dir), verbose=0, echo=lambda *_: None)


def _final_weights(run_dir):
    gan = keras.models.load_model(os.path.join(run_dir, runs.FINAL_GAN))
    return [w.numpy() for w in gan.weights]


def _assert_close(expected, actual):
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        np.testing.assert_allclose(b, a, rtol=0, atol=ATOL)


@pytest.fixture(scope="module")
def one_device_weights(tmp_path_factory):
    """Final weights of the tiny recipe trained on one device."""
    run_dir = _train(script.tiny_recipe("default"), tmp_path_factory.mktemp("default") / "run")
    return _final_weights(run_dir)


# --- mirrored ----------------------------------------------------------------


def test_mirrored_recipe_trains_like_one_device(one_device_weights, tmp_path):
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) < 2 or tf.config.list_logical_devices("GPU"):
        pytest.skip("needs the two logical CPUs of conftest and no GPU")
    # Without a GPU, `mirrored` mirrors over every logical CPU: two replicas here.
    assert train_lib.strategy("mirrored").num_replicas_in_sync == 2
    run_dir = _train(script.tiny_recipe("mirrored"), tmp_path / "run")
    _assert_close(one_device_weights, _final_weights(run_dir))


def test_batch_size_must_split_evenly_across_replicas(tmp_path):
    if len(tf.config.list_logical_devices("CPU")) < 2:
        pytest.skip("needs the two logical CPUs of conftest")
    with pytest.raises(errors.KganError, match=r"train.batch_size.*2 replicas.*2 or 4"):
        _train(script.tiny_recipe("mirrored", batch_size=3), tmp_path / "run")


# --- precision ---------------------------------------------------------------


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_float32_variables(precision, tmp_path):
    run_dir = _train(script.tiny_recipe("default", precision=precision), tmp_path / "run")
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert rows and all(np.isfinite(float(row[k])) for row in rows for k in ("d_loss", "g_loss"))
    gan = keras.models.load_model(os.path.join(run_dir, runs.FINAL_GAN))
    for network in (gan.generator, gan.discriminator):
        assert network.layers[-1].dtype_policy.name == precision
    assert {v.dtype for v in gan.weights} == {"float32"}
    scaled = precision == "mixed_float16"  # float16 gradients would underflow unscaled
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) is scaled
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after training


# --- multi_worker: TF_CONFIG -------------------------------------------------


@pytest.mark.parametrize("tf_config, problem", [
    (None, "is not set"),
    ("{cluster: }", "not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', 'no "cluster"'),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}}', 'needs a "task"'),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}',
     "index is 0 to 0"),
    ('{"cluster": {"worker": ["host-without-port"]}, "task": {"type": "worker"}}',
     '"host:port"'),
    ('{"cluster": {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}, '
     '"task": {"type": "worker", "index": 0}}', 'a "ps" job'),
])
def test_bad_tf_config_is_one_clear_error(monkeypatch, tf_config, problem):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(errors.KganError) as caught:
        train_lib.strategy("multi_worker")
    message = str(caught.value)
    assert problem in message
    assert "TF_CONFIG" in message and '"index": 1 on the second' in message
    assert "\n" not in message


def test_kgan_train_without_tf_config_fails_before_training(monkeypatch, tmp_path):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("data: {name: ring2d, num_examples: 64}\n"
                      "model: {generator: {name: mlp}, discriminator: {name: mlp}}\n")
    result = CliRunner().invoke(cli.main, [
        "train", str(recipe), "--run-dir", str(tmp_path / "run"),
        "--set", "train.strategy=multi_worker",
    ])
    assert result.exit_code == 2, result.output
    assert "TF_CONFIG environment variable, which is not set" in result.output
    assert not (tmp_path / "run").exists()


def test_multi_worker_after_tensorflow_started_is_a_clear_error(monkeypatch):
    tf.constant(0)  # TensorFlow has run an op in this process
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]},
        "task": {"type": "worker", "index": 0},
    }))
    with pytest.raises(errors.KganError, match=r'strategy\("multi_worker"\) first'):
        train_lib.strategy("multi_worker")


@pytest.mark.parametrize("cluster, task, chief", [
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
])
def test_the_chief_is_the_chief_task_or_else_worker_0(monkeypatch, cluster, task, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert distribute.is_chief("multi_worker") is chief
    assert distribute.is_chief("mirrored") is True


# --- multi_worker: two processes ---------------------------------------------


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, request):
    """Runs tests/multi_worker_script.py as workers 0 and 1: `(directory, references)`.

    The one-device references are computed while the workers start up.
    """
    directory = tmp_path_factory.mktemp("two_workers")
    script.write_csv_files(directory)
    (directory / script.RECIPE).write_text(config.dump(script.tiny_recipe("multi_worker")))
    (directory / "tmp").mkdir()
    ports = _free_ports(2)
    workers = []
    try:
        for index in range(2):
            env = dict(
                os.environ,
                TF_CONFIG=json.dumps({
                    "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                    "task": {"type": "worker", "index": index},
                }),
                TMPDIR=str(directory / "tmp"),  # where the non-chief's scratch goes
                CUDA_VISIBLE_DEVICES="",
                TF_CPP_MIN_LOG_LEVEL="2",
            )
            log = open(directory / f"worker-{index}.log", "w", encoding="utf-8")
            workers.append(subprocess.Popen(
                [sys.executable, str(SCRIPT), str(directory)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            ))
            log.close()
        references = {
            "engine": script.train_engine(tf.distribute.get_strategy(), str(directory))[0],
            "recipe": request.getfixturevalue("one_device_weights"),
        }
        _wait(workers, directory)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return directory, references


def test_two_workers_train_like_one_device(two_workers):
    directory, references = two_workers
    for index in range(2):
        with np.load(directory / f"engine-{index}.npz") as weights:
            _assert_close(references["engine"], [weights[f"arr_{i}"] for i in range(len(weights))])


def test_two_workers_on_one_machine_fill_one_run_directory(two_workers):
    directory, references = two_workers
    logs = [(directory / f"worker-{index}.log").read_text() for index in range(2)]
    assert f"Run directory: {directory / 'run'}" in logs[0]
    assert "worker 1: training beside the chief" in logs[1]
    _assert_close(references["recipe"], _final_weights(directory / "run"))
    with open(directory / "run" / "metrics.csv", encoding="utf-8") as file:
        assert [line.split(",")[:2] for line in file][1:] == [["1", "3"]]  # one writer
    assert list((directory / "tmp").iterdir()) == []  # the non-chief cleaned up


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait(workers, directory):
    """Waits for every worker; on a failure or the timeout, kills them all and fails."""
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while any(worker.poll() is None for worker in workers):
        failed = [w for w in workers if w.returncode not in (None, 0)]
        if failed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if any(worker.returncode != 0 for worker in workers):
        logs = "\n".join(
            f"--- worker {i} (exit {worker.returncode}):\n"
            + (directory / f"worker-{i}.log").read_text()[-3000:]
            for i, worker in enumerate(workers)
        )
        pytest.fail(f"multi-worker training failed or passed {WORKER_TIMEOUT_S} s:\n{logs}")
