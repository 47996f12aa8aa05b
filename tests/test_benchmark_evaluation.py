"""bin/benchmark_evaluation.py times like against like: its float64 baseline is the definition."""

import numpy as np
import pytest

from kgan import metrics

@pytest.fixture(scope="module")
def bench(bin_script):
    return bin_script("benchmark_evaluation")


def test_the_float64_baseline_is_precision_recall_written_out(bench):
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((300, 5)), 0.8 * rng.standard_normal((200, 5)) + 0.5
    squared = ((fake[:, None] - real[None]) ** 2).sum(axis=2)
    real_radii = np.sort(((real[:, None] - real[None]) ** 2).sum(axis=2), axis=1)[:, 3]
    fake_radii = np.sort(((fake[:, None] - fake[None]) ** 2).sum(axis=2), axis=1)[:, 3]
    got = bench.float64_precision_recall(real, fake, real_radii, k=3, batch_size=64)
    assert 0.05 < got["precision"] < 0.95 and 0.05 < got["recall"] < 0.95
    assert got == {"precision": np.mean(np.any(squared <= real_radii[None], axis=1)),
                   "recall": np.mean(np.any(squared <= fake_radii[:, None], axis=0))}
    assert got == metrics.precision_recall(real, fake, k=3, real_radii=real_radii)


def test_main_prints_a_row_per_sample_size_with_both_giving_the_same_figures(bench, capsys):
    assert bench.main(["--samples", "150,300", "--rounds", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("CPU: ") and "10000 features (128)" in lines[0]
    rows = [line.split() for line in lines[2:] if line.split()[0].isdigit()]
    assert [row[0] for row in rows] == ["150", "300"]
    assert all(row[-1] == "yes" for row in rows)
    assert all(float(row[5].rstrip("x")) > 0 for row in rows)


def test_bad_sample_counts_are_refused(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--samples", "2000,many"])
    assert "--samples must be integers" in capsys.readouterr().err
