"""Compares trained runs on the same sample-quality figures: direct (GMMN) against adversarial.

The direct method that the GAN paper is contrasted with, a generative
moment-matching network (recipes/gmmn_mnist.yaml), and the adversarial one
(the unconditional DCGAN, recipes/mnist_unconditional.yaml) are measured alike: the same evaluator, test
split, number of samples and noise seed.

    export TFDS_DATA_DIR=/work/shared/tensorflow_datasets
    kgan train recipes/gmmn_mnist.yaml --run-dir runs/gmmn-mnist --quiet
    kgan train recipes/mnist_unconditional.yaml --run-dir runs/dcgan-mnist --quiet
    python bin/compare_direct_adversarial.py runs/gmmn-mnist runs/dcgan-mnist

Prints a Markdown table, a row per run: its loss, the networks' sizes, the
minibatch size, the measured checkpoint's step, the run's training minutes
(the sum of metrics.csv's epoch times, in-training evaluations included),
then FID, KID, precision, recall,
classes covered and class KL of `--num-samples` samples against the test
split (10,000, as `kgan evaluate` measures by default). `--checkpoint best`
measures each run's best checkpoint by in-training FID instead of its last.
`kgan evaluate RUN_DIR -n 10000` gives the same figures for one run.
"""

import argparse
import csv
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgan import quality  # noqa: E402
from kgan import runs  # noqa: E402

COLUMNS = (
    ("run", "{}"), ("loss", "{}"), ("G params", "{:,}"), ("D params", "{}"),
    ("batch", "{}"), ("steps", "{:,}"), ("train min", "{:.1f}"), ("FID", "{:.2f}"),
    ("KID", "{}"), ("precision", "{:.3f}"), ("recall", "{:.3f}"),
    ("classes", "{}"), ("class KL", "{:.3f}"),
)


def compare(run_dirs, num_samples=10_000, seed=0, checkpoint="last"):
    """One dict of figures per run, every run measured with the same samples and seed."""
    return [measure(run_dir, num_samples, seed, checkpoint) for run_dir in run_dirs]


def measure(run_dir, num_samples=10_000, seed=0, checkpoint="last"):
    """The run's description and `evaluate_generator`'s figures for its generator."""
    run = runs.load_run(run_dir, checkpoint=checkpoint)
    gan = run.gan
    results = quality.evaluate_generator(gan, run.recipe["data"], num_samples, seed)
    steps, seconds = _training_time(run_dir)
    if checkpoint == "best":
        steps = runs.best_checkpoint(run_dir)["step"]
    return {
        "run": run.recipe["name"],
        "run_dir": run_dir,
        "checkpoint": run.checkpoint_path,
        "loss": run.recipe["loss"]["name"],
        "g_params": gan.generator.count_params(),
        "d_params": None if gan.discriminator is None else gan.discriminator.count_params(),
        "batch_size": run.recipe["train"]["batch_size"],
        "steps": steps,
        "train_minutes": seconds / 60.0,
        **results,
    }


def markdown_table(rows):
    """The figures of `compare` as a Markdown table."""
    lines = ["| " + " | ".join(name for name, _ in COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        kid = f"{row['kid']:.4f} ± {row['kid_std_error']:.4f}"
        coverage = (f"{row['classes_covered']}/{row['num_classes']}" if "classes_covered" in row
                    else f"{row.get('modes_covered', '?')}/{row.get('num_modes', '?')} modes")
        values = (
            row["run"], row["loss"], row["g_params"],
            "none" if row["d_params"] is None else f"{row['d_params']:,}",
            row["batch_size"], row["steps"], row["train_minutes"], row["fid"], kid,
            row["precision"], row["recall"], coverage, row.get("class_kl", math.nan),
        )
        lines.append("| " + " | ".join(
            _format(spec, value) for (_, spec), value in zip(COLUMNS, values)) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("-n", "--num-samples", type=int, default=10_000,
                        help="Generated samples per run (default 10,000).")
    parser.add_argument("--seed", type=int, default=0, help="Noise seed of the samples.")
    parser.add_argument("--checkpoint", default="last", choices=("last", "best"),
                        help="Which checkpoint of each run to measure.")
    parser.add_argument("--json", metavar="PATH", help="Also write the figures as JSON.")
    args = parser.parse_args(argv)
    rows = compare(args.run_dirs, args.num_samples, args.seed, args.checkpoint)
    print(f"{args.num_samples:,} samples per run (seed {args.seed}), {args.checkpoint} "
          "checkpoints, against the test split in the evaluator's feature space:\n")
    print(markdown_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(rows, file, indent=1)
        print(f"\nWrote {args.json}")
    return rows


def _training_time(run_dir):
    """(steps, seconds) from metrics.csv: the last step and the sum of epoch times."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.isfile(path):
        return 0, math.nan
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        return 0, math.nan
    return int(rows[-1]["step"]), sum(float(row["seconds"]) for row in rows)


def _format(spec, value):
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


if __name__ == "__main__":
    main(sys.argv[1:])
