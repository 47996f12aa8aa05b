"""The evaluation callback: metrics rows, TensorBoard, the best checkpoint by FID."""

import csv
import json
import math
import os
import pathlib

import numpy as np
import pytest

from kgan import config
from kgan import evaluator
from kgan import metrics
from kgan import quality
from kgan import runs
from kgan import train
from kgan.errors import KganError

PREPARED_TFDS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tensorflow_datasets"


def tiny_recipe(data, every_epochs=1, epochs=3):
    return config.validate({
        "name": "tiny",
        "data": data,
        "model": {"latent_dim": 3,
                  "generator": {"name": "mlp", "hidden_units": [16],
                                "output_activation": "linear"},
                  "discriminator": {"name": "mlp", "hidden_units": [16]}},
        "train": {"epochs": epochs, "steps_per_epoch": 4, "batch_size": 32,
                  "jit_compile": False,
                  "d_optimizer": {"name": "adam", "learning_rate": 0.01},
                  "g_optimizer": {"name": "adam", "learning_rate": 0.01}},
        "samples": {"num": 50},
        "eval": {"every_epochs": every_epochs, "num_samples": 200},
    })


def read_rows(run_dir):
    with open(os.path.join(run_dir, "metrics.csv"), newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("ring") / "run")
    lines = []
    train.train(tiny_recipe({"name": "ring2d", "num_examples": 512}), run_dir, verbose=0,
                echo=lines.append)
    return run_dir, lines


def test_every_evaluation_adds_its_metrics_to_the_epoch_row(ring_run):
    run_dir, lines = ring_run
    rows = read_rows(run_dir)
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    for row in rows:
        assert float(row["fid"]) >= 0 and math.isfinite(float(row["fid"]))
        assert 0 <= float(row["high_quality_share"]) <= 1
        assert 0 <= int(float(row["modes_covered"])) <= 8
        assert row["classes_covered"] == ""  # a toy: no classes
        assert float(row["d_loss"]) > 0  # the training columns are still there
    assert sum("evaluation: fid" in line for line in lines) == 3


def test_best_checkpoint_is_the_epoch_with_the_lowest_fid(ring_run):
    run_dir, _ = ring_run
    rows = read_rows(run_dir)
    best_row = min(rows, key=lambda row: float(row["fid"]))
    with open(os.path.join(run_dir, "checkpoints", "state.json"), encoding="utf-8") as file:
        best = json.load(file)["best"]
    assert best["step"] == int(best_row["step"])
    assert best["fid"] == pytest.approx(float(best_row["fid"]))
    assert os.path.isfile(os.path.join(run_dir, "checkpoints", "best.keras"))
    # The newest checkpoints are kept beside it, untouched.
    assert runs.latest_checkpoint(run_dir)["step"] == 12


def test_load_run_best_loads_the_scored_generator(ring_run):
    run_dir, _ = ring_run
    run = runs.load_run(run_dir, "best")
    assert run.checkpoint_path.endswith(os.path.join("checkpoints", "best.keras"))
    assert int(run.gan.g_optimizer.iterations.numpy()) == runs.best_checkpoint(run_dir)["step"]
    # Re-measuring the best checkpoint with the same noise reproduces its FID.
    again = quality.evaluate_generator(run.gan, run.recipe["data"], num_samples=200, seed=0)
    assert again["fid"] == pytest.approx(runs.best_checkpoint(run_dir)["fid"], rel=1e-4)


def test_tensorboard_gets_the_eval_scalars(ring_run):
    from tensorboard.backend.event_processing import event_accumulator

    run_dir, _ = ring_run
    events = event_accumulator.EventAccumulator(os.path.join(run_dir, "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])
    assert {"eval/fid", "eval/modes_covered", "epoch/d_loss"} <= tags
    assert "epoch/fid" not in tags  # written once, under eval/


@pytest.fixture
def prepared_tfds(monkeypatch):
    if not PREPARED_TFDS.is_dir() and "TFDS_DATA_DIR" not in os.environ:
        pytest.skip("needs the prepared MNIST tensorflow-datasets data")
    monkeypatch.setenv("TFDS_DATA_DIR", os.environ.get("TFDS_DATA_DIR", str(PREPARED_TFDS)))


def test_with_an_empty_cache_mnist_is_measured_by_the_evaluator_kgan_ships(
    tmp_path, monkeypatch, prepared_tfds
):
    monkeypatch.setenv(evaluator.CACHE_ENV, str(tmp_path / "empty-cache"))
    assert evaluator.evaluator_path("mnist") == evaluator.packaged_path("mnist")
    lines = []
    run_dir = str(tmp_path / "run")
    recipe = tiny_recipe({"name": "tfds", "dataset": "mnist", "split": "train[:128]"}, epochs=2)
    train.train(recipe, run_dir, verbose=0, echo=lines.append)
    # (A two-step generator collapses, and health says so; nothing about the evaluator.)
    assert not [line for line in lines if "evaluator" in line.lower() or "training one" in line]
    assert all(float(row["fid"]) > 0 for row in read_rows(run_dir))
    # Nothing was cached: no evaluator trained, and the test split's features and
    # radii came with the evaluator.
    assert not (tmp_path / "empty-cache").exists()


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_the_shipped_evaluators_ship_their_test_splits_features_and_radii(
    tmp_path, monkeypatch, prepared_tfds, dataset
):
    monkeypatch.setenv(evaluator.CACHE_ENV, str(tmp_path / "empty-cache"))
    path = evaluator.packaged_path(dataset)
    loaded = evaluator.load_evaluator(dataset, path)
    shipped = evaluator.reference_set(loaded, dataset, path)
    assert not (tmp_path / "empty-cache").exists()  # read from kgan/evaluators/
    # What the evaluator makes of the test split on this machine.
    images, labels, _ = evaluator.read_split(dataset, "test", None)
    np.testing.assert_array_equal(shipped.labels, labels)
    np.testing.assert_allclose(shipped.features, loaded.features(images), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(
        shipped.radii, metrics.kth_neighbour_radii(shipped.features, evaluator.REFERENCE_K))


def test_a_reference_of_another_evaluator_file_is_computed_again_and_cached(
    tmp_path, monkeypatch, prepared_tfds
):
    import shutil

    monkeypatch.setenv(evaluator.CACHE_ENV, str(tmp_path / "cache"))
    # Fashion-MNIST's evaluator file posing as MNIST's, beside MNIST's shipped reference.
    folder = tmp_path / "evaluators"
    folder.mkdir()
    for suffix in ("", ".json"):
        shutil.copy(evaluator.packaged_path("fashion_mnist") + suffix,
                    folder / f"mnist.keras{suffix}")
    shutil.copy(os.path.join(evaluator.PACKAGED_DIR, "mnist.reference.npz"), folder)
    path = str(folder / "mnist.keras")
    other = evaluator.load_evaluator("mnist", path)
    shipped = evaluator.reference_set(evaluator.load_evaluator("mnist"), "mnist")
    computed = evaluator.reference_set(other, "mnist", path)
    assert not np.allclose(computed.features, shipped.features)  # not the shipped one
    assert os.listdir(tmp_path / "cache" / "evaluators") == ["mnist.reference.npz"]
    again = evaluator.reference_set(other, "mnist", path)
    np.testing.assert_array_equal(again.features, computed.features)
    np.testing.assert_array_equal(again.radii, computed.radii)


def test_an_unlabelled_image_dataset_warns_once_and_trains_without_evaluation(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    from PIL import Image
    import numpy as np

    for index in range(40):
        Image.fromarray(np.full((8, 8, 3), index * 6, np.uint8)).save(folder / f"{index}.png")
    lines = []
    run_dir = str(tmp_path / "run")
    recipe = tiny_recipe({"name": "images", "path": str(folder)}, epochs=2)
    train.train(recipe, run_dir, verbose=0, echo=lines.append)
    warnings = [line for line in lines if line.startswith("Warning")]
    assert len(warnings) == 1 and 'no evaluator for dataset "images"' in warnings[0]
    assert [row["fid"] for row in read_rows(run_dir)] == ["", ""]
    with pytest.raises(KganError, match="no best checkpoint"):
        runs.load_run(run_dir, "best")


def test_eval_settings_are_checked():
    with pytest.raises(KganError, match="eval.every_epochs"):
        tiny_recipe({"name": "ring2d"}, every_epochs=-1)
    assert config.DEFAULTS["eval"]["every_epochs"] == 0


def test_metrics_csv_keeps_one_header_when_evaluation_columns_are_added(tmp_path):
    from kgan import callbacks
    from kgan import quality

    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,d_loss,g_loss,real_score,fake_score,seconds\n"
                    "1,10,0.5,0.7,0.6,0.4,1.0\n2,20,0.5,0.7,0.6,0.4,1.0\n")
    fields = callbacks._CSV_FIELDS + quality.FIELDS
    callbacks._truncate_rows_after(str(path), 10, fields)
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames == fields
    assert [row["step"] for row in rows] == ["10"] and rows[0]["fid"] == ""


def test_a_resumed_run_keeps_its_best_unless_beaten(ring_run, tmp_path):
    import shutil

    from kgan import data
    from kgan import quality

    run_dir = str(tmp_path / "copy")
    shutil.copytree(ring_run[0], run_dir)
    run = runs.load_run(run_dir)
    runs.save_best(run.gan, run_dir, 5, {"fid": 1e-9})  # as if the killed run had scored this
    lines = []
    source = data.load(run.recipe["data"])
    callback = quality.Evaluation(run_dir, *quality.measurement_target(source, run.recipe["data"]),
                                  every_epochs=1, num_samples=200, echo=lines.append)
    callback.set_model(run.gan)
    callback.on_train_begin()
    assert callback.best_fid == 1e-9
    logs = {}
    callback.on_epoch_end(3, logs)
    assert logs["fid"] > 1e-9 and "best so far" not in lines[0]
    assert runs.best_checkpoint(run_dir)["step"] == 5


def test_a_cached_evaluator_that_shadows_the_shipped_one_is_named(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv(evaluator.CACHE_ENV, str(tmp_path / "cache"))
    assert evaluator.shadowed_evaluator("mnist") is None  # nothing cached
    os.makedirs(os.path.dirname(evaluator.cache_path("mnist")))
    shutil.copy(evaluator.packaged_path("mnist"), evaluator.cache_path("mnist"))
    assert evaluator.shadowed_evaluator("mnist") is None  # the same file
    # Another evaluator in its place (here Fashion-MNIST's file, 92.01%).
    for suffix in ("", ".json"):
        shutil.copy(evaluator.packaged_path("fashion_mnist") + suffix,
                    evaluator.cache_path("mnist") + suffix)
    message = evaluator.shadowed_evaluator("mnist")
    assert evaluator.cache_path("mnist") in message
    assert "92.01% test accuracy" in message and "99.12% test accuracy" in message
    assert "Delete the cached file" in message
