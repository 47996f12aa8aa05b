"""`kgan sample`, `kgan interpolate` and `kgan arithmetic`: pictures of a run's samples."""

import os

import click
import numpy as np

from kgan.cli.base import CHECKPOINT_HELP
from kgan.cli.base import UserError


@click.command()
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("-n", "--num", default=64, show_default=True, metavar="N",
              type=click.IntRange(min=1), help="Number of samples.")
@click.option("--seed", default=0, show_default=True, metavar="SEED", type=int,
              help="Noise seed; the same seed gives the same samples.")
@click.option("-o", "--output", default="samples.png", show_default=True, metavar="FILE",
              help="A picture (.png), or a numpy file (.npy) that N samples stream into "
              "a batch at a time, for any N.")
@click.option("--checkpoint", default="last", show_default=True, metavar="WHICH",
              help=CHECKPOINT_HELP)
@click.option("--label", type=int, default=None, metavar="CLASS",
              help="Conditional GANs: draw this class only (default: a column per class).")
def sample(run_dir, num, seed, output, checkpoint, label):
    """Write N samples from the generator of RUN_DIR (or of a SavedModel): a picture or .npy.

    A picture holds every sample at once, so a size that would not fit in
    memory is refused with the estimate; a .npy file is written a batch at a
    time and needs only its size on disk.
    """
    from kgan import exported
    from kgan import images
    from kgan import runs

    streaming = output.lower().endswith(".npy")
    if not streaming and not output.lower().endswith(".png"):
        raise UserError(f"-o {output}: write a picture (.png) or a numpy file (.npy).")
    if exported.is_saved_model(run_dir):  # the output of `kgan export`
        generator, source = exported.load_sampler(run_dir), run_dir
    else:
        run = runs.load_run(run_dir, checkpoint=checkpoint)
        generator, source = run.gan, run.checkpoint_path
    num_classes = getattr(generator, "num_classes", None)
    if label is not None and not num_classes:
        raise UserError(
            f"--label {label}: {source} is an unconditional GAN, which draws no chosen "
            "class. Leave out --label, or train a conditional one (model.conditional: true)."
        )
    if label is not None and not 0 <= label < num_classes:
        raise UserError(
            f"--label {label} is out of range: {source} has {num_classes} classes, "
            f"labels 0 to {num_classes - 1}."
        )
    sample_bytes = 4 * int(np.prod(generator.sample_shape))
    _check_room(num, sample_bytes, output, streaming)
    if streaming:
        _stream(generator, num, seed, label, output)
    else:
        samples = generator.generate(num, seed=seed, labels=label)
        if num_classes and label is None and samples.ndim >= 3:
            # Labels cycle 0, 1, ..., so each column of the grid is one class.
            images.save_grid(samples, output, ncols=num_classes)
        else:
            images.save_samples(samples, output)
    drawn = "" if label is None else f" of class {label}"
    click.echo(f"Wrote {num} samples{drawn} of {source} to {output}")


MAX_PICTURED = 100_000
"""The most samples one picture (-o .png) takes; a .npy file takes any number."""


def _check_room(num, sample_bytes, output, streaming):
    """Refuses, with the estimate, a size the memory (a picture) or the disk (.npy) lacks."""
    import shutil

    needed = num * sample_bytes
    if streaming:
        folder = os.path.dirname(os.path.abspath(output))
        free = shutil.disk_usage(folder if os.path.isdir(folder) else ".").free
        if needed > free:
            raise UserError(
                f"-n {num}: the samples would take {_size(needed)} in {output}, but the disk "
                f"has {_size(free)} free. Ask for fewer, or write elsewhere."
            )
        return
    if num > MAX_PICTURED:
        raise UserError(
            f"-n {num}: a picture shows at most {MAX_PICTURED:,} samples. Write them to a "
            "numpy file instead (-o samples.npy), which streams a batch at a time."
        )
    # A picture holds the float samples and the grid of bytes beside them.
    needed = needed + needed // 4
    available = _available_memory()
    if available is not None and needed > available // 2:
        raise UserError(
            f"-n {num}: a picture of {num} samples needs about {_size(needed)} of memory, and "
            f"{_size(available)} is available. Ask for fewer, or write them to a numpy file "
            f"(-o samples.npy), which streams a batch at a time."
        )


def _stream(generator, num, seed, label, output):
    from kgan import runs

    def write(tmp_path):
        array = np.lib.format.open_memmap(tmp_path, mode="w+", dtype=np.float32,
                                          shape=(num, *generator.sample_shape))
        filled = 0
        for batch in generator.generate_batches(num, seed=seed, labels=label):
            array[filled:filled + len(batch)] = batch
            filled += len(batch)
        array.flush()
        del array

    runs.atomic_write(output, write)


def _available_memory():
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _size(num_bytes):
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if num_bytes < 1000 or unit == "PB":
            return f"{num_bytes:.3g} {unit}" if unit != "bytes" else f"{num_bytes} bytes"
        num_bytes /= 1000


@click.command()
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--seeds", nargs=2, type=int, default=(1, 2), show_default=True,
              metavar="SEED_A SEED_B", help="Seeds of the two end points' noise.")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True, metavar="N",
              help="Images along the path, end points included.")
@click.option("--slerp", "spherical", is_flag=True,
              help="Follow the great circle instead of the straight line.")
@click.option("--checkpoint", default="last", show_default=True, metavar="WHICH",
              help=CHECKPOINT_HELP)
@click.option("-o", "--output", default="interpolation.png", show_default=True, metavar="PNG")
def interpolate(run_dir, seeds, steps, spherical, checkpoint, output):
    """Render a strip of RUN_DIR's samples between two latent points."""
    from kgan import images
    from kgan import latent_space
    from kgan import runs

    gan = runs.load_run(run_dir, checkpoint).gan
    _, samples = latent_space.interpolate(gan, seeds[0], seeds[1], steps, spherical)
    latent_space.check_images(samples, "interpolate")
    images.save_grid(samples, output, ncols=steps)
    click.echo(f"Wrote {output} ({'slerp' if spherical else 'lerp'}, {steps} steps, "
               f"seeds {seeds[0]} and {seeds[1]})")


@click.command()
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--a", "class_a", type=int, required=True, metavar="CLASS")
@click.option("--b", "class_b", type=int, required=True, metavar="CLASS")
@click.option("--c", "class_c", type=int, required=True, metavar="CLASS")
@click.option("-n", "--num-samples", type=click.IntRange(min=10), default=2000,
              show_default=True, metavar="N", help="Samples to classify and choose from.")
@click.option("--per-class", type=click.IntRange(min=1), default=16, show_default=True,
              metavar="N", help="Latent vectors averaged per class.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              metavar="P", help="Least evaluator probability of a chosen sample's class.")
@click.option("--evaluator", "dataset", default=None, metavar="DATASET",
              help="Whose cached evaluator classifies (default: the run's tfds dataset).")
@click.option("--seed", type=int, default=0, show_default=True, metavar="SEED")
@click.option("--checkpoint", default="last", show_default=True, metavar="WHICH")
@click.option("-o", "--output", default="arithmetic.png", show_default=True, metavar="PNG")
def arithmetic(run_dir, class_a, class_b, class_c, num_samples, per_class,
                       min_confidence, dataset, seed, checkpoint, output):
    """Render A - B + C of class-averaged latent vectors (DCGAN paper, Section 6.3.2).

    The picture shows, left to right: the mean latents of A, B and C, then A - B + C.
    """
    from kgan import errors
    from kgan import evaluator as evaluator_lib
    from kgan import images
    from kgan import latent_space
    from kgan import runs

    run = runs.load_run(run_dir, checkpoint)
    if dataset is None:
        data = run.recipe["data"]
        if data.get("name") != "tfds":
            raise errors.KganError(
                f'The run\'s dataset "{data.get("name")}" has no evaluator to classify '
                "samples; name a cached one with --evaluator DATASET."
            )
        dataset = data["dataset"]
    evaluator = evaluator_lib.load_evaluator(dataset)
    result = latent_space.arithmetic(run.gan, evaluator, class_a, class_b, class_c, num_samples,
                        per_class, min_confidence, seed)
    latent_space.check_images(result["samples"], "arithmetic")
    images.save_grid(result["samples"], output, ncols=4)
    shown = ", ".join(str(int(c)) for c in result["predicted"])
    click.echo(f"Wrote {output}: {class_a}, {class_b}, {class_c} and {class_a} - {class_b} + "
               f"{class_c}; the evaluator reads them as {shown}")
