"""`kgan evaluate` and `kgan evaluator`: measuring a run's samples, and the evaluators."""

import json
import math
import os

import click

from kgan.cli.base import CHECKPOINT_HELP
from kgan.cli.base import UserError


@click.group()
def evaluator():
    """Train and inspect the per-dataset evaluator classifiers."""


@evaluator.command("train")
@click.argument("dataset", metavar="DATASET")
@click.option("--epochs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Passes over the train split (default 4; 8 for fashion_mnist).")
@click.option("--seed", type=int, default=0, show_default=True, metavar="SEED")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(dataset, epochs, seed, quiet):
    """Train the evaluator of DATASET (a tfds name, e.g. mnist) and cache it."""
    from kgan import evaluator as evaluator_lib

    trained = evaluator_lib.train_evaluator(dataset, epochs=epochs, seed=seed,
                                            verbose=0 if quiet else 2)
    info = trained.info
    click.echo(
        f"{dataset}: test accuracy {info['test_accuracy']:.4f} after {info['epochs']} epochs "
        f"({info['train_seconds']:.0f} s); saved to {evaluator_lib.cache_path(dataset)}"
    )


@evaluator.command("show")
@click.argument("dataset", metavar="DATASET")
def show_command(dataset):
    """Print what was measured when DATASET's evaluator was trained."""
    from kgan import evaluator as evaluator_lib

    path = evaluator_lib.cache_path(dataset)
    loaded = evaluator_lib.load_evaluator(dataset, path)
    click.echo(f"{path}")
    for key, value in loaded.info.items():
        click.echo(f"  {key}: {value}")


@click.command()
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("-n", "--num-samples", default=10_000, show_default=True, metavar="N",
              type=click.IntRange(min=20), help="Generated samples to measure.")
@click.option("--seed", default=0, show_default=True, metavar="SEED", type=int)
@click.option("--checkpoint", default="last", show_default=True, metavar="WHICH",
              help=CHECKPOINT_HELP)
@click.option("-o", "--output", default=None, metavar="JSON",
              help="Where to write the results (default RUN_DIR/evaluation.json).")
@click.option("--parzen", is_flag=True,
              help="Add the Parzen-window log-likelihood of the 2014 paper's Table 1 "
              "(MNIST; 10,000 samples; a few minutes).")
def evaluate(run_dir, num_samples, seed, checkpoint, output, parzen):
    """Measure the samples of RUN_DIR's generator: FID, KID, precision/recall, modes."""
    from kgan import quality
    from kgan import runs

    run = runs.load_run(run_dir, checkpoint=checkpoint)
    results = quality.evaluate_generator(run.gan, run.recipe["data"], num_samples, seed)
    results = {"checkpoint": run.checkpoint_path, **results}
    if parzen:
        data = run.recipe["data"]
        if data.get("name") != "tfds":
            raise UserError(
                f"--parzen measures against a tensorflow-datasets image dataset (the "
                f"paper's MNIST); this run's data is {data.get('name')!r}."
            )
        results.update(quality.parzen_estimate(run.gan, data["dataset"], seed=seed,
                                               data_dir=data.get("data_dir")))
    width = max(len(key) for key in results)
    for key, value in results.items():
        shown = f"{value:.4f}" if isinstance(value, float) and math.isfinite(value) else value
        click.echo(f"{key:<{width}}  {shown}")
    output = output or os.path.join(run_dir, "evaluation.json")
    with open(output, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    click.echo(f"Wrote {output}")
