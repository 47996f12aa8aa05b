"""The `kgan` command line: one group, one command per verb.

The library (`kgan.*`) knows nothing of the command line; each module here is
a thin layer over it:

- `train.py`: `kgan train`, `kgan recipe show`, `kgan plugins`;
- `sample.py`: `kgan sample`, `kgan interpolate`, `kgan arithmetic`;
- `evaluate.py`: `kgan evaluate`, `kgan evaluator train|show`;
- `export.py`: `kgan export`; `plot.py`: `kgan plot`; `report.py`: `kgan report`.
"""

import os

# Before TensorFlow is first imported (by `kgan`): keep its C++ start-up chatter quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click  # noqa: E402

from kgan._version import __version__  # noqa: E402
from kgan.cli import evaluate  # noqa: E402
from kgan.cli import export  # noqa: E402
from kgan.cli import plot  # noqa: E402
from kgan.cli import report  # noqa: E402
from kgan.cli import sample  # noqa: E402
from kgan.cli import train  # noqa: E402
from kgan.cli.base import KganGroup  # noqa: E402
from kgan.cli.base import UserError  # noqa: E402,F401 - part of the package's API


@click.group(cls=KganGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="kgan",
                      message="%(prog)s %(version)s")
def main():
    """kgan: generative adversarial networks in Keras 3.

    Shell completion (Click's): add `eval "$(_KGAN_COMPLETE=bash_source kgan)"`
    to ~/.bashrc (zsh: zsh_source; fish: fish_source).
    """


for command in (
    train.train, train.recipe, train.plugins,
    sample.sample, sample.interpolate, sample.arithmetic,
    evaluate.evaluate, evaluate.evaluator,
    export.export, plot.plot, report.report,
):
    main.add_command(command)
