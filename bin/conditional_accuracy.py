"""How often a conditional GAN draws the class it is asked for, as the evaluator reads it.

    TFDS_DATA_DIR=... python bin/conditional_accuracy.py RUN_DIR [--num-per-class 1000]

For each class c of a conditional run (cgan, acgan), draws N samples with
label c (the same N noise vectors for every class) and classifies them with
the dataset's cached evaluator (`kgan evaluator train mnist`). Prints, per
class, the share classified as c and the most common other class, then the
overall share. The evaluator's own test accuracy is printed beside it: a
sample-accuracy above that figure is as good as the evaluator can tell.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from kgan import errors  # noqa: E402
from kgan import evaluator as evaluator_lib  # noqa: E402
from kgan import runs  # noqa: E402


def conditional_accuracy(gan, evaluator, num_per_class=1000, seed=0):
    """Per-class and overall share of samples that `evaluator` classifies as their label.

    Returns:
        `{"per_class": [num_classes floats], "overall": float,
        "confusion": [num_classes, num_classes] counts (rows: requested
        class, columns: predicted class)}`.
    """
    num_classes = getattr(gan, "num_classes", None)
    if not num_classes:
        raise errors.KganError(
            "This GAN is not conditional (no num_classes): there is no requested class "
            "to check. Train a recipe with model.conditional: true, e.g. "
            "recipes/mnist.yaml."
        )
    if evaluator.num_classes != num_classes:
        raise errors.KganError(
            f"The GAN has {num_classes} classes but the evaluator predicts "
            f"{evaluator.num_classes}; use the evaluator of the GAN's dataset."
        )
    confusion = np.zeros((num_classes, num_classes), np.int64)
    for label in range(num_classes):
        samples = gan.generate(num_per_class, seed=seed, labels=label)
        predicted = evaluator.predict_classes(samples)
        confusion[label] = np.bincount(predicted, minlength=num_classes)
    per_class = np.diag(confusion) / confusion.sum(axis=1)
    return {
        "per_class": per_class.tolist(),
        "overall": float(np.trace(confusion) / confusion.sum()),
        "confusion": confusion.tolist(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--num-per-class", type=int, default=1000, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default="last", help='"last", "best" or a .keras file.')
    parser.add_argument("--evaluator", default=None, metavar="PATH",
                        help="An evaluator .keras file (default: the dataset's cached one).")
    args = parser.parse_args()
    if args.num_per_class < 1:
        parser.error("--num-per-class must be at least 1")
    try:
        report(args)
    except errors.KganError as exc:
        parser.exit(2, f"error: {exc}\n")


def report(args):
    started = time.time()
    run = runs.load_run(args.run_dir, checkpoint=args.checkpoint)
    data = run.recipe["data"]
    dataset = data.get("dataset") if data.get("name") == "tfds" else data.get("name")
    evaluator = evaluator_lib.load_evaluator(dataset, path=args.evaluator)
    results = conditional_accuracy(run.gan, evaluator, args.num_per_class, args.seed)
    names = evaluator.info.get("class_names") or []
    print(f"{run.checkpoint_path}: {args.num_per_class} samples per class, seed {args.seed}")
    print(f"evaluator: {dataset}, test accuracy "
          f"{_percent(evaluator.info.get('test_accuracy'))} on real images")
    for label, (share, row) in enumerate(zip(results["per_class"], results["confusion"])):
        row = np.asarray(row)
        row[label] = -1
        other = int(row.argmax())
        name = f" ({names[label]})" if label < len(names) and names[label] != str(label) else ""
        print(f"  class {label}{name}: {100 * share:6.2f}% classified as {label}; "
              f"most common other: {other} ({100 * row[other] / args.num_per_class:.2f}%)")
    print(f"overall: {100 * results['overall']:.2f}% of samples classified as the "
          f"requested class ({time.time() - started:.0f} s)")


def _percent(value):
    return "unknown" if value is None else f"{100 * value:.2f}%"


if __name__ == "__main__":
    main()
