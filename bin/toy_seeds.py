#!/usr/bin/env python
"""Trains a toy recipe for several seeds and measures what each run learned.

    python bin/toy_seeds.py recipes/gaussian1d.yaml [--seeds 0 1 2 3 4] [--set KEY=VALUE ...]
    python bin/toy_seeds.py recipes/ring2d.yaml --seeds 0 1 2

Each seed trains as `kgan train RECIPE --set seed=S` does (the same code
path), into a temporary run directory (or `--keep DIR`). Then the final
generator is measured against the recipe's known distribution:

- gaussian1d: the mean, standard deviation and Kolmogorov-Smirnov distance of
  20,000 samples against N(mean, std^2);
- ring2d, grid2d: of 2,500 samples (as VEEGAN and PacGAN count), the modes
  covered and the share of high-quality samples (`kgan.metrics.toy_mode_metrics`).

Prints a row per seed, the seconds each run took (TensorFlow's start-up
excluded), and a last line with the worst seed's figures.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kgan  # noqa: E402  (before keras: it picks TensorFlow's CPU kernels)

from kgan import config  # noqa: E402
from kgan import quality  # noqa: E402


def measure(run_dir):
    """The figures of a toy run's final generator (see the module docstring), for the table."""
    figures = quality.toy_run_figures(run_dir)
    if "ks" in figures:
        return {"mean": figures["mean"], "std": figures["std"], "KS": figures["ks"]}
    return {"modes": figures["modes_covered"], "HQ %": 100 * figures["high_quality_share"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE")
    parser.add_argument("--keep", metavar="DIR", help="keep the run directories in DIR")
    args = parser.parse_args(argv)
    print(f"command: python bin/toy_seeds.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            recipe = config.resolve(args.recipe, [*args.overrides, f"seed={seed}"])
            run_dir = os.path.join(args.keep or scratch, f"{recipe['name']}-seed-{seed}")
            started = time.perf_counter()
            kgan.train.train(recipe, run_dir, verbose=0, echo=lambda *_: None)
            row = {"seed": seed, **measure(run_dir), "seconds": time.perf_counter() - started}
            if not rows:
                print("  ".join(f"{name:>7}" for name in row))
            rows.append(row)
            print("  ".join(f"{value:7.4g}" for value in row.values()), flush=True)
    target = config.resolve(args.recipe, args.overrides)["data"]
    if "mean" in rows[0]:
        worst = {"|mean - target|": max(abs(r["mean"] - target["mean"]) for r in rows),
                 "|std - target|": max(abs(r["std"] - target["std"]) for r in rows),
                 "KS": max(r["KS"] for r in rows)}
    else:
        worst = {"modes": min(r["modes"] for r in rows), "HQ %": min(r["HQ %"] for r in rows)}
    worst["seconds"] = max(r["seconds"] for r in rows)
    print("worst: " + ", ".join(f"{name} {value:.4g}" for name, value in worst.items()))
    return rows


if __name__ == "__main__":
    main()
