#!/usr/bin/env python
"""Times precision/recall, kgan's against plain float64 distances, side by side in one process.

kgan's `kgan.metrics.precision_recall` and `kth_neighbour_radii` find which distances lie in
which k-NN ball from float32 distance bounds and compute only the undecided pairs exactly
(`kgan.metrics._Float32Distances`). The baseline here is the same definition with every
distance in float64, `|a|^2 + |b|^2 - 2 a.b` a block of 1,000 rows at a time and
`tf.math.top_k` for the radii (kgan's code before the float32 bounds). Both measure the same
features: the shipped MNIST evaluator's test-split reference (real, with its radii, as every
MNIST evaluation uses it) against "fake" features, by default the features of a random
permutation of the test split scaled by 1.05 with noise on the non-zero ones (`--run RUN_DIR`
takes a trained run's generator through the evaluator instead). Rounds interleave, the order
alternating; printed per sample size: each one's median seconds with min..max, the paired
ratio (baseline over kgan) with its median's 95% bootstrap interval, and whether the two
give the same precision and recall in every round (they must).

Example:

```
python bin/benchmark_evaluation.py --samples 2000,10000 --rounds 7
python bin/benchmark_evaluation.py --run runs/mnist-cgan-20261206-225119 --rounds 5
```
"""

import argparse
import importlib.util
import os
import pathlib
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kgan  # noqa: E402, F401 - before TensorFlow: kgan picks its CPU kernels
from kgan import evaluator as evaluator_lib  # noqa: E402
from kgan import metrics  # noqa: E402
from kgan import quality  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

_BIN = pathlib.Path(__file__).resolve().parent


def _benchmark_step():
    spec = importlib.util.spec_from_file_location("benchmark_step", _BIN / "benchmark_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", default="2000,10000",
                        help="fake sample counts, comma-separated (default 2000,10000)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--run", help="a run directory: measure its generator's samples")
    parser.add_argument("--dataset", default="mnist", help="the shipped evaluator (default mnist)")
    args = parser.parse_args(argv)
    try:
        args.samples = [int(n) for n in args.samples.split(",")]
    except ValueError:
        parser.error(f"--samples must be integers separated by commas, got {args.samples!r}")
    if min(args.samples) <= evaluator_lib.REFERENCE_K or args.rounds < 1:
        parser.error(f"--samples must exceed {evaluator_lib.REFERENCE_K} and --rounds be >= 1")
    return args


def float64_precision_recall(real, fake, real_radii, k=evaluator_lib.REFERENCE_K,
                             batch_size=1000):
    """Precision and recall with every distance in float64 (the baseline)."""
    fake_radii = float64_radii(fake, k, batch_size)
    realistic, covered = 0, np.zeros(len(real), bool)
    for start in range(0, len(fake), batch_size):
        squared = metrics._squared_distances(fake[start:start + batch_size], real)
        realistic += int(np.sum(np.any(squared <= real_radii[None, :], axis=1)))
        covered |= np.any(squared <= fake_radii[start:start + batch_size, None], axis=0)
    return {"precision": realistic / len(fake), "recall": int(covered.sum()) / len(real)}


def float64_radii(features, k, batch_size=1000):
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        squared = metrics._squared_distances(features[start:start + batch_size], features)
        smallest = tf.math.top_k(tf.negative(squared), k + 1, sorted=True).values
        radii[start:start + batch_size] = -smallest[:, k].numpy()
    return radii


def fake_features(args, reference, evaluator, num_samples):
    if args.run:
        gan = kgan.runs.load_run(args.run).gan
        samples = quality.generate(gan, num_samples, seed=0)
        return evaluator.features(samples).astype(np.float64)
    rng = np.random.default_rng(0)
    real = reference.features
    picks = rng.choice(len(real), num_samples, replace=num_samples > len(real))
    chosen = real[picks]
    return chosen * 1.05 + rng.normal(0.0, 0.2, chosen.shape) * (chosen > 0)


def main(argv=None):
    args = parse_args(argv)
    bench = _benchmark_step()
    evaluator = evaluator_lib.load_evaluator(args.dataset)
    reference = evaluator_lib.reference_set(evaluator, args.dataset)
    real, radii = reference.features, reference.radii
    print(f"CPU: {bench._cpu_model()}; real: the {args.dataset} test split's {len(real)} "
          f"features ({real.shape[1]}), fake: "
          f"{'run ' + args.run if args.run else 'perturbed test features'}; "
          f"{args.rounds} interleaved rounds")
    print(f"{'samples':>8} {'kgan s':>20} {'float64 s':>20} {'float64/kgan':>28} {'same':>5}")
    for num_samples in args.samples:
        fake = fake_features(args, reference, evaluator, num_samples)
        candidates = {
            "kgan": lambda: metrics.precision_recall(real, fake, real_radii=radii),
            "float64": lambda: float64_precision_recall(real, fake, radii),
        }
        for run in candidates.values():  # traces and warms both
            run()
        seconds = {name: [] for name in candidates}
        same = True
        for round_ in range(args.rounds):
            order = list(candidates) if round_ % 2 == 0 else list(candidates)[::-1]
            figures = {}
            for name in order:
                start = time.perf_counter()
                figures[name] = candidates[name]()
                seconds[name].append(time.perf_counter() - start)
            same &= figures["kgan"] == figures["float64"]
        ratios = np.array(seconds["float64"]) / np.array(seconds["kgan"])
        low, high = bench.median_interval(ratios)
        print(f"{num_samples:>8} {_spread(seconds['kgan']):>20} "
              f"{_spread(seconds['float64']):>20} "
              f"{statistics.median(ratios):>8.2f}x ({low:.2f}..{high:.2f})"
              f" {'yes' if same else 'NO':>11}")
        print(f"{'':>8} precision {figures['kgan']['precision']:.4f}, "
              f"recall {figures['kgan']['recall']:.4f}")
    return 0


def _spread(values):
    return f"{statistics.median(values):.3f} ({min(values):.3f}..{max(values):.3f})"


if __name__ == "__main__":
    raise SystemExit(main())
