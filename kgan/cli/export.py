"""`kgan export`: a run's GAN as a SavedModel (or ONNX, LiteRT) that serves without kgan."""

import click

from kgan import export as export_lib
from kgan import exported


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="RUN_DIR OUT_DIR")
@click.option("--checkpoint", default="last", show_default=True, metavar="last|best|PATH",
              help="Which checkpoint of the run to export.")
@click.option("--format", "export_format", type=click.Choice(export_lib.FORMATS),
              default="saved_model", show_default=True,
              help="saved_model is the full export; onnx and litert hold the generator alone.")
@click.option("--max-samples", type=click.IntRange(min=1), default=1024, show_default=True,
              metavar="N", help="Most images one serving_default request may ask for.")
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it exists.")
@click.option("--describe", "describe_only", is_flag=True,
              help="Print what an exported model holds: `kgan export --describe OUT_DIR`.")
def export(paths, checkpoint, export_format, max_samples, overwrite, describe_only):
    """Export a run's GAN as a SavedModel that serves without kgan.

    `kgan export runs/mnist-20250101-120000 exported/mnist` writes a
    TensorFlow SavedModel with the signatures serving_default (num_samples,
    seed -> uint8 images), generate (z -> images in [-1, 1]), discriminate
    (images -> score) and metadata. `kgan export --describe exported/mnist`
    prints its recipe, latent size, image shape and kgan version.
    """
    if describe_only:
        if len(paths) != 1:
            raise click.UsageError("--describe takes one path: kgan export --describe OUT_DIR")
        click.echo(exported.format_description(exported.describe(paths[0])))
        return
    if len(paths) != 2:
        raise click.UsageError(
            "export takes RUN_DIR and OUT_DIR: kgan export RUN_DIR OUT_DIR "
            "(or kgan export --describe OUT_DIR)."
        )
    from kgan import runs

    run_dir, out_dir = paths
    run = runs.load_run(run_dir, checkpoint=checkpoint)
    metadata = export_lib.export(
        run.gan, out_dir, format=export_format, recipe=run.recipe,
        max_samples=max_samples, overwrite=overwrite,
    )
    click.echo(f"Exported {run.checkpoint_path} to {out_dir} ({export_format}).")
    click.echo(exported.format_description(metadata))
