"""Every run explains itself: the summary `kgan train` ends with, and RUN_DIR/report.html.

The report is opened in a real headless browser (Debian's Chromium, which
.ci/run installs): every image must decode, and its screenshot must not be blank.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kgan import report
from kgan.cli import main

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    result = CliRunner().invoke(main, [
        "train", os.path.join(RECIPES, "ring2d.yaml"), "--run-dir", str(run_dir), "--quiet",
        "--set", "train.epochs=2", "--set", "train.steps_per_epoch=20",
        "--set", "eval.every_epochs=1", "--set", "eval.num_samples=300",
    ])
    assert result.exit_code == 0, result.output
    return str(run_dir), result.output


def test_training_ends_with_a_summary_table_and_its_files(ring_run):
    run_dir, output = ring_run
    tail = output[output.index(f"Run {run_dir}: 40 steps, 2 epochs"):]
    for label in ("FID", "KID", "precision", "recall", "modes covered", "high-quality samples",
                  "best epoch", "wall time", "peak memory", "health", "report", "generator"):
        assert f"\n  {label} " in tail, label
    summary = json.loads(open(os.path.join(run_dir, report.SUMMARY)).read())
    assert summary["steps"] == 40 and summary["quality"]["num_samples"] == 300
    assert os.path.isfile(summary["files"]["samples"])
    assert summary["files"]["report"] == os.path.join(run_dir, "report.html")


def test_the_report_embeds_every_picture(ring_run):
    run_dir, _ = ring_run
    page = open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    assert page.count("<img") >= 4 and "src='data:image/png;base64," in page
    assert "<img src='http" not in page and "file://" not in page  # self-contained
    for heading in ("Summary", "Samples over training", "Sample quality",
                    "Losses and discriminator scores", "Training health", "Recipe"):
        assert f"<h2>{heading}</h2>" in page


def test_kgan_report_rewrites_the_page(ring_run):
    run_dir, _ = ring_run
    os.remove(os.path.join(run_dir, "report.html"))
    result = CliRunner().invoke(main, ["report", run_dir])
    assert result.exit_code == 0, result.output
    assert os.path.isfile(os.path.join(run_dir, "report.html"))


def test_kgan_report_of_a_directory_that_is_no_run_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "is not a kgan run directory" in result.output


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="needs Chromium (apt-get install chromium; .ci/run installs it)")
def test_the_report_renders_in_a_real_browser(ring_run, tmp_path):
    assert CHROMIUM, "CI installs Chromium (.ci/run); it is missing"
    run_dir, _ = ring_run
    url = "file://" + os.path.abspath(os.path.join(run_dir, "report.html"))
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *profile, "--virtual-time-budget=5000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120)
    body = dom.stdout[dom.stdout.index("<body"):].split(">", 1)[0]
    images = int(body.split('data-images="')[1].split('"')[0])
    loaded = int(body.split('data-images-loaded="')[1].split('"')[0])
    assert images >= 4 and loaded == images
    screenshot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *profile, "--window-size=1200,2400",
                    f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(screenshot).convert("L"), np.float64)
    assert pixels.std() > 10  # text, plots and sample grids, not a blank page
