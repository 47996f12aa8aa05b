"""Trains (or loads) a dataset's evaluator and prints the figures that vouch for it.

    TFDS_DATA_DIR=... python bin/train_evaluator.py mnist [--retrain] [--package]

`--package` works on kgan/evaluators/ (the evaluators that ship with kgan:
mnist and fashion_mnist) instead of the cache: with `--retrain` it trains one
from seed 0, recording the test accuracy and the file's SHA-256 in the JSON
beside it. Either way the test split's features and neighbour radii
(`kgan.evaluator.Reference`) are written beside the evaluator where they are
missing, and ship with it. Without `--package` the evaluator goes to the
cache (`kgan evaluator train` does the same).

Prints the test accuracy and training time, then sanity figures in the
evaluator's feature space: FID/KID/precision/recall of 10,000 train images
against the test split (should be small: same distribution), of uniform noise
(should be huge), and the class coverage of the train images.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from kgan import evaluator as evaluator_lib  # noqa: E402
from kgan import metrics  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default="mnist")
    parser.add_argument("--retrain", action="store_true", help="Train even if cached.")
    parser.add_argument("--package", action="store_true",
                        help="Use kgan/evaluators/ (package data), not the cache.")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--num", type=int, default=10_000, help="Images per comparison.")
    args = parser.parse_args()

    path = (evaluator_lib.packaged_path(args.dataset) if args.package
            else evaluator_lib.cache_path(args.dataset))
    if args.retrain or not os.path.isfile(path):
        evaluator = evaluator_lib.train_evaluator(args.dataset, epochs=args.epochs, seed=0,
                                                  path=path, verbose=2)
    else:
        evaluator = evaluator_lib.load_evaluator(args.dataset, path)
    info = evaluator.info
    print(f"evaluator {path}")
    print(f"  test accuracy {info['test_accuracy']:.4f}, {info['epochs']} epochs, "
          f"trained in {info['train_seconds']:.0f} s, sha256 {info.get('sha256')}")

    started = time.time()
    test_features, test_labels, test_radii = evaluator_lib.reference_set(
        evaluator, args.dataset, path,
        save_dir=evaluator_lib.PACKAGED_DIR if args.package else None)
    train_x, _, _ = evaluator_lib.read_split(args.dataset, "train", None)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(train_x), args.num, replace=False)
    train_features, train_logits = evaluator.features_and_logits(train_x[pick])
    noise = rng.uniform(-1, 1, (args.num, *evaluator.input_shape)).astype(np.float32)
    noise_features = evaluator.features(noise)
    for name, features in (("train subset", train_features), ("uniform noise", noise_features)):
        kid = metrics.kernel_inception_distance(test_features, features)
        pr = metrics.precision_recall(test_features, features, real_radii=test_radii)
        print(f"  {name:<14} vs test: FID {metrics.frechet_distance(test_features, features):9.3f}"
              f"  KID {kid.mean:8.4f} +- {kid.std_error:.4f}"
              f"  precision {pr['precision']:.3f}  recall {pr['recall']:.3f}")
    coverage = metrics.class_coverage(
        train_logits, evaluator.num_classes, np.bincount(test_labels)
    )
    print(f"  train subset classes covered {coverage['classes_covered']}/"
          f"{coverage['num_classes']}, class KL {coverage['class_kl']:.5f}")
    print(f"  measured in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
