"""`kgan plot`: (re)draw a run's pictures."""

import click


@click.command()
@click.argument("run_dir", metavar="RUN_DIR")
def plot(run_dir):
    """Draw RUN_DIR's pictures into RUN_DIR/plots/: losses, sample GIF, toy figures."""
    from kgan import plots

    for path in plots.plot_run(run_dir):
        click.echo(f"Wrote {path}")
