"""`kgan report`: (re)write a run's self-contained HTML page."""

import click


@click.command()
@click.argument("run_dir", metavar="RUN_DIR")
def report(run_dir):
    """Write RUN_DIR/report.html: summary, samples, quality, losses, health, recipe."""
    from kgan import plots
    from kgan import report as report_lib
    from kgan import runs

    runs.read_recipe(run_dir)  # a clear error unless RUN_DIR is a run
    plots.plot_run(run_dir)
    summary = report_lib.read_summary(run_dir) or report_lib.summarize(run_dir)
    click.echo(f"Wrote {report_lib.write_report(run_dir, summary)}")
