"""The `kgan` command line: train from recipes, inspect them, sample from runs.

Other modules add their commands with one line at the end of this file:
`main.add_command(<command>)`.
"""

import os

# Before TensorFlow is first imported (by `kgan`): keep its C++ start-up chatter quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click  # noqa: E402

from kgan.errors import KganError  # noqa: E402

SET_HELP = "Override a recipe value, e.g. --set train.epochs=5 (repeatable)."


class UserError(click.ClickException):
    """Bad input from the user: printed as one paragraph, exit status 2."""

    exit_code = 2


class _Group(click.Group):
    # The one place where kgan's errors become command-line errors.
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KganError as exc:
            raise UserError(str(exc)) from None


@click.group(cls=_Group)
def main():
    """kgan: generative adversarial networks in Keras 3."""


@main.command()
@click.argument("recipe", required=False, metavar="RECIPE")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--run-dir", metavar="DIR", help="Run directory (default runs/<name>-<time>/).")
@click.option("--resume", "resume_dir", metavar="RUN_DIR",
              help="Continue the run in RUN_DIR from its last checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(recipe, overrides, run_dir, resume_dir, quiet):
    """Train a GAN as RECIPE (a YAML file) says, or resume a run."""
    from kgan import distribute
    from kgan import runs
    from kgan import train as train_lib

    # First of all: a multi-worker strategy must start before any TensorFlow work.
    distribute.start_early(
        os.path.join(resume_dir, runs.RECIPE) if resume_dir else recipe, overrides
    )
    verbose = 0 if quiet else 1
    if resume_dir is not None:
        if recipe or overrides or run_dir:
            raise UserError(
                "--resume continues a run with the recipe saved in its directory; "
                "give no RECIPE, --set or --run-dir with it."
            )
        train_lib.resume(resume_dir, verbose=verbose, echo=click.echo)
        return
    if recipe is None:
        raise UserError("Give a RECIPE file (e.g. recipes/mnist.yaml) or --resume RUN_DIR.")
    resolved = _resolve(recipe, overrides)
    train_lib.train(resolved, run_dir=run_dir, verbose=verbose, echo=click.echo)


@main.group()
def recipe():
    """Inspect recipes."""


@recipe.command("show")
@click.argument("recipe_path", metavar="RECIPE")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def show(recipe_path, overrides):
    """Print the fully resolved RECIPE: defaults, recipe and overrides merged."""
    click.echo(_config().dump(_resolve(recipe_path, overrides)), nl=False)


@main.command()
def plugins():
    """List every registered plugin by kind, with its origin and description."""
    for registry in _registries():
        click.echo(f"{registry.kind}{'es' if registry.kind.endswith('s') else 's'}:")
        for entry in registry.entries():
            click.echo(f"  {entry.name:<16} {entry.description}")
            click.echo(f"  {'':<16} from {entry.origin}")
    from kgan import plugins as plugins_lib

    for failure in plugins_lib.failures():
        click.echo(f"failed to load: {failure.source}: {failure.error}")


@main.command()
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("-n", "--num", default=64, show_default=True, metavar="N",
              type=click.IntRange(min=1), help="Number of samples.")
@click.option("--seed", default=0, show_default=True, metavar="SEED", type=int,
              help="Noise seed; the same seed gives the same samples.")
@click.option("-o", "--output", default="samples.png", show_default=True, metavar="PNG",
              help="Picture to write.")
@click.option("--checkpoint", default="last", show_default=True, metavar="WHICH",
              help='"last", "best" or a .keras file of the run.')
@click.option("--label", type=int, default=None, metavar="CLASS",
              help="Conditional GANs: draw this class only (default: a column per class).")
def sample(run_dir, num, seed, output, checkpoint, label):
    """Write a picture of N samples from the generator of RUN_DIR (or of a SavedModel)."""
    from kgan import export
    from kgan import images
    from kgan import runs

    if export.is_saved_model(run_dir):  # the output of `kgan export`
        generator, source = export.load_sampler(run_dir), run_dir
    else:
        run = runs.load_run(run_dir, checkpoint=checkpoint)
        generator, source = run.gan, run.checkpoint_path
    num_classes = getattr(generator, "num_classes", None)
    if label is None:
        samples = generator.generate(num, seed=seed)
    elif not num_classes:
        raise UserError(
            f"--label {label}: {source} is an unconditional GAN, which draws no chosen "
            "class. Leave out --label, or train a conditional one (model.conditional: true)."
        )
    elif not 0 <= label < num_classes:
        raise UserError(
            f"--label {label} is out of range: {source} has {num_classes} classes, "
            f"labels 0 to {num_classes - 1}."
        )
    else:
        samples = generator.generate(num, seed=seed, labels=label)
    if num_classes and label is None and samples.ndim >= 3:
        # Labels cycle 0, 1, ..., so each column of the grid is one class.
        images.save_grid(samples, output, ncols=num_classes)
    else:
        images.save_samples(samples, output)
    drawn = "" if label is None else f" of class {label}"
    click.echo(f"Wrote {num} samples{drawn} of {source} to {output}")


def _config():
    from kgan import config

    return config


def _resolve(recipe_path, overrides):
    config = _config()
    resolved = config.resolve(recipe_path, overrides)
    for key_path, value in config.parse_overrides(overrides):
        click.echo(f"override: {key_path} = {value!r}", err=True)
    return resolved


def _registries():
    import kgan
    from kgan import data

    return [kgan.ARCHITECTURES, kgan.LOSSES, kgan.REGULARIZERS, data.DATASETS]


from kgan.export import export_command  # noqa: E402

main.add_command(export_command)

from kgan.evaluator import evaluate_command, evaluator_command  # noqa: E402

main.add_command(evaluator_command)
main.add_command(evaluate_command)

from kgan.plots import plot_command  # noqa: E402

main.add_command(plot_command)

from kgan.latent_space import arithmetic_command, interpolate_command  # noqa: E402

main.add_command(interpolate_command)
main.add_command(arithmetic_command)
