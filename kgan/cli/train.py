"""`kgan train`, `kgan recipe show` and `kgan plugins`."""

import os

import click

from kgan.cli.base import SET_HELP
from kgan.cli.base import UserError


@click.command()
@click.argument("recipe", required=False, metavar="RECIPE")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--run-dir", metavar="DIR", help="Run directory (default runs/<name>-<time>/).")
@click.option("--resume", "resume_dir", metavar="RUN_DIR",
              help="Continue the run in RUN_DIR from its last checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar: warnings and the summary only.")
@click.option("--verbose", is_flag=True, help="Also Keras' progress bar of each epoch.")
def train(recipe, overrides, run_dir, resume_dir, quiet, verbose):
    """Train a GAN as RECIPE (a YAML file) says, or resume a run.

    Shows one progress bar over the whole run with its ETA, and ends with a
    summary of the results (FID, coverage, best epoch, time, memory) and the
    paths of the samples, RUN_DIR/report.html and the generator.
    """
    from kgan import runs
    from kgan import timing
    from kgan import train as train_lib

    # First of all: a multi-worker strategy must start before any TensorFlow work.
    _start_multi_worker_early(
        os.path.join(resume_dir, runs.RECIPE) if resume_dir else recipe, overrides
    )
    if quiet and verbose:
        raise UserError("Give --quiet or --verbose, not both.")
    verbose = 0 if quiet else 2 if verbose else 1
    if resume_dir is not None:
        if recipe or overrides or run_dir:
            raise UserError(
                "--resume continues a run with the recipe saved in its directory; "
                "give no RECIPE, --set or --run-dir with it."
            )
        train_lib.resume(resume_dir, verbose=verbose, echo=click.echo,
                         started=timing.load_start_time())
        return
    if recipe is None:
        raise UserError("Give a RECIPE file (e.g. recipes/mnist.yaml) or --resume RUN_DIR.")
    resolved = resolve(recipe, overrides)
    train_lib.train(resolved, run_dir=run_dir, verbose=verbose, echo=click.echo,
                    started=timing.load_start_time())


@click.group()
def recipe():
    """Inspect recipes."""


@recipe.command("show")
@click.argument("recipe_path", metavar="RECIPE")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def show(recipe_path, overrides):
    """Print the fully resolved RECIPE: defaults, recipe and overrides merged."""
    from kgan import config

    click.echo(config.dump(resolve(recipe_path, overrides)), nl=False)


@click.command()
def plugins():
    """List every registered plugin by kind, with its origin and description."""
    import kgan
    from kgan import plugins as plugins_lib

    for registry in (kgan.ARCHITECTURES, kgan.LOSSES, kgan.REGULARIZERS, kgan.DATASETS):
        click.echo(f"{registry.plural}:")
        for entry in registry.entries():
            click.echo(f"  {entry.name:<16} {entry.description}")
            click.echo(f"  {'':<16} from {entry.origin}")
    for failure in plugins_lib.failures():
        click.echo(f"failed to load: {failure.source}: {failure.error}")


def resolve(recipe_path, overrides):
    """The resolved recipe, each override echoed to stderr."""
    from kgan import config

    resolved = config.resolve(recipe_path, overrides)
    for key_path, value in config.parse_overrides(overrides):
        click.echo(f"override: {key_path} = {value!r}", err=True)
    return resolved


def _start_multi_worker_early(recipe_path, overrides=()):
    """Starts the multi-worker strategy now if the recipe (with overrides) asks for it.

    TensorFlow sets up a worker's collective operations only before its first
    operation, and resolving a recipe runs some (it builds the optimizers to
    check them), so `kgan train` calls this before anything else. The raw
    YAML is read; mistakes in it are left for `kgan.config.resolve` to report.
    """
    from kgan import config
    from kgan import distribute
    from kgan import errors

    if not recipe_path or not os.path.isfile(recipe_path):
        return
    try:
        recipe = config.read(recipe_path)
        for key_path, value in config.parse_overrides(overrides):
            config.set_path(recipe, key_path, value)
    except errors.KganError:
        return
    section = recipe.get("train")
    if isinstance(section, dict) and section.get("strategy") == "multi_worker":
        distribute.strategy("multi_worker")
