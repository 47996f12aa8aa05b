"""bin/train_budget.py: a FID curve against training time, for kgan and the tutorial's loop."""

import csv
import os
import pathlib

import pytest

from kgan import evaluator

ROOT = pathlib.Path(__file__).resolve().parents[1]
PREPARED_TFDS = ROOT.parent / "shared" / "tensorflow_datasets"


@pytest.fixture(scope="module")
def script(bin_script):
    return bin_script("train_budget")


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """Prepared MNIST and an untrained (so cheap) evaluator: the plumbing, not the figures."""
    if not PREPARED_TFDS.is_dir() and "TFDS_DATA_DIR" not in os.environ:
        pytest.skip("needs the prepared MNIST tensorflow-datasets data")
    os.environ.setdefault("TFDS_DATA_DIR", str(PREPARED_TFDS))
    path = str(tmp_path_factory.mktemp("evaluator") / "mnist.keras")
    evaluator.Evaluator(evaluator.build_classifier((28, 28, 1), 10), "mnist").save(path)
    return ["--budget", "2", "--eval-every", "0.5", "--eval-samples", "40",
            "--evaluator", path, "--reference-samples", "60"]


def _read(path):
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, list(reader)


def _check_run(output, rows, batch_size):
    fields, written = _read(output / "fid_curve.csv")
    assert fields == ["seconds", "steps", "images", "fid", "classes_covered", "eval_seconds"]
    assert len(written) == len(rows) >= 2
    seconds = [float(row["seconds"]) for row in written]
    steps = [int(row["steps"]) for row in written]
    assert seconds[0] == 0 and steps[0] == 0  # the initial generator is measured first
    assert seconds == sorted(seconds) and seconds[-1] >= 2  # ... and the last at the budget
    assert steps == sorted(steps) and steps[-1] >= 1
    for row in written:
        assert int(row["images"]) == int(row["steps"]) * batch_size
        assert float(row["fid"]) >= 0
        assert 0 <= int(row["classes_covered"]) <= 10
    for name in ("fid_curve.png", "samples.png", "summary.json"):
        assert (output / name).stat().st_size > 0


@pytest.fixture(scope="module")
def tutorial_run(script, mnist, tmp_path_factory):
    output = tmp_path_factory.mktemp("tutorial")
    rows = script.main(["--loop", "tutorial", "--split", "train[:320]", "--batch-size", "32",
                        "--output", str(output), *mnist])
    return output, rows


@pytest.fixture(scope="module")
def kgan_run(script, mnist, tmp_path_factory):
    output = tmp_path_factory.mktemp("kgan")
    overrides = ["data.split=train[:256]", "model.generator.base_filters=8",
                 "model.discriminator.base_filters=8", "train.batch_size=16",
                 "train.reuse_fakes=true", "train.steps_per_execution=2"]
    rows = script.main(["--recipe", str(ROOT / "recipes" / "mnist.yaml"), "--output",
                        str(output), *(arg for o in overrides for arg in ("--set", o)), *mnist])
    return output, rows


def test_the_tutorial_loop_reports_fid_against_training_time(tutorial_run):
    _check_run(*tutorial_run, batch_size=32)


def test_a_kgan_recipe_reports_fid_against_training_time(kgan_run):
    output, rows = kgan_run
    _check_run(output, rows, batch_size=16)
    # steps_per_execution=2: the clock ticks after every second step.
    assert all(int(row["steps"]) % 2 == 0 for row in rows)


def test_compare_draws_both_curves(script, tutorial_run, kgan_run, tmp_path):
    png = tmp_path / "both.png"
    script.main(["--compare", str(tutorial_run[0] / "fid_curve.csv"),
                 str(kgan_run[0] / "fid_curve.csv"), "--output", str(png)])
    assert png.stat().st_size > 0


def test_the_clock_stops_while_evaluating(script):
    now = [0.0]
    measured = []

    def evaluate(seconds, steps, images):
        measured.append((seconds, steps))
        now[0] += 100.0  # evaluation time must not count as training time

    clock = script.BudgetClock(budget=10.0, eval_every=3.0, evaluate=evaluate,
                               timer=lambda: now[0])
    clock.start()
    steps = 0
    while True:
        now[0] += 2.0  # one training step
        steps += 1
        if clock.tick(steps, steps * 8):
            break
    # Evaluations at 0, then after the steps that pass 3, 6, 9 s, and the budget (10 s).
    assert measured == [(0.0, 0), (4.0, 2), (6.0, 3), (10.0, 5)]
    assert clock.done and clock.elapsed == 10.0


def test_a_recipe_without_a_tfds_dataset_is_refused(script):
    with pytest.raises(Exception, match="tfds dataset's evaluator"):
        script.main(["--recipe", str(ROOT / "recipes" / "ring2d.yaml"), "--budget", "1"])
