#!/usr/bin/env python
"""Times a recipe's own training step under variations of it, side by side in one process.

Each variation is the recipe with some `--set`-style overrides (the first is usually none,
the recipe as it is). Every variation builds its GAN and input stream as `kgan train` does
and trains in one long `GAN.fit`, paused between rounds (`PausedFit` of
`bin/benchmark_step.py`); the rounds interleave, the order rotating, so load from other
processes hits all alike, and with `--interleave steps` the variations take turns a step at a
time within each round (`timed_round` of `bin/benchmark_step.py`), which pairs them far more
tightly on a shared machine. Printed per variation: the median steps/s with its spread, and the
ratio to the first variation within each round (median, spread, and the median's 95%
bootstrap interval, `median_interval` of `bin/benchmark_step.py`).

`--keras-layers` adds one more variation: the recipe as it is, its networks built with Keras'
own `BatchNormalization` and `Dot` where kgan's architectures use `kgan.layers.BatchNormalization`
(the fused kernel) and `kgan.layers.RowDot`: what those layers buy the recipe's step.
`--keras-adam` likewise adds the recipe with Keras' own Adam where its `adam` builds
`kgan.optimizers.Adam` (one fused kernel a variable): what that optimizer buys.

`--processes` times each variation as `kgan train` instead, a fresh process per variation per
round (evaluation off; steps/s from the run's own time split, its training seconds), for
variations that differ in what is set once a process: kgan turns Grappler's dependency
optimizer off while a loop of several steps per call is instantiated (`kgan.repeatable`), an
option of the whole process, so in one process a one-step variation would share it.

Example:

```
python bin/benchmark_recipe.py recipes/mnist.yaml "" "train.steps_per_execution=4" \\
    "train.jit_compile=true" --steps 120 --rounds 6
python bin/benchmark_recipe.py recipes/mnist.yaml "" \\
    "'regularizers=[{name: mode_seeking, weight: 0.5}]'" --steps 100
python bin/benchmark_recipe.py recipes/grid2d.yaml "" "train.steps_per_execution=1" \\
    --processes --steps 5000 --rounds 6
python bin/benchmark_recipe.py recipes/mnist.yaml "" --keras-layers --steps 100 --rounds 12
python bin/benchmark_recipe.py recipes/mnist.yaml "" --keras-adam --steps 50 --rounds 30
python bin/benchmark_recipe.py recipes/mnist.yaml "" "train.jit_compile=true" --steps 100 \\
    --rounds 10 --interleave steps
```
"""

import argparse
import contextlib
import importlib.util
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kgan  # noqa: E402, F401 - before TensorFlow: kgan picks its CPU kernels
from kgan import config  # noqa: E402
from kgan import data  # noqa: E402
from kgan import errors  # noqa: E402
from kgan import layers  # noqa: E402
from kgan import optimizers  # noqa: E402
from kgan import train  # noqa: E402
import keras  # noqa: E402

_BIN = pathlib.Path(__file__).resolve().parent
KERAS_LAYERS = "(Keras' layers)"  # the --keras-layers variation's name
KERAS_ADAM = "(Keras' Adam)"  # the --keras-adam variation's name


def _script(name):
    """Another script of bin/ as a module (bin/ is no package)."""
    spec = importlib.util.spec_from_file_location(name, _BIN / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_interval():
    return _script("benchmark_step").median_interval


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", help="the recipe file")
    parser.add_argument("variations", nargs="+", metavar="OVERRIDES",
                        help='KEY=VALUE overrides per variation, split as a shell does (quote '
                        'a value with spaces); "" for none')
    parser.add_argument("--steps", type=int, default=120, help="steps per variation per round")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved timed rounds")
    parser.add_argument("--warmup-steps", type=int, default=8, help="untimed steps first")
    parser.add_argument("--interleave", choices=("rounds", "steps"), default="rounds",
                        help="within a round, each variation's steps in one go (rounds), or "
                        "the variations taking turns a step at a time (steps: finer pairing)")
    parser.add_argument("--processes", action="store_true",
                        help="each variation as `kgan train` in a fresh process, each round")
    parser.add_argument("--keras-layers", action="store_true",
                        help="also the recipe with Keras' own BatchNormalization and Dot layers")
    parser.add_argument("--keras-adam", action="store_true",
                        help="also the recipe with Keras' own Adam for its `adam` optimizers")
    args = parser.parse_args(argv)
    if args.processes and args.interleave == "steps":
        parser.error("--interleave steps takes turns within one process; leave out --processes")
    for flag in _SWAPS:
        if getattr(args, flag) and args.processes:
            parser.error(f"--{flag.replace('_', '-')} swaps a class within this process; "
                         "leave out --processes")
    shown = sys.argv[1:] if argv is None else argv
    print(f"command: python bin/benchmark_recipe.py {shlex.join(shown)}")
    recipes = {}
    for name in args.variations:  # every variation checked before any work
        try:
            recipes[name] = config.resolve(args.recipe, shlex.split(name)
                                           + (_one_epoch(args.steps) if args.processes else []))
        except errors.KganError as exc:
            parser.exit(2, f"Error: variation {name!r}: {exc}\n")
    for flag, (name, _) in _SWAPS.items():
        if getattr(args, flag):
            recipes[name] = config.resolve(args.recipe, [])
            args.variations.append(name)
    rates = _time_processes(args) if args.processes else _time_paused_fits(args, recipes)
    return _report(args, rates)


def _one_epoch(steps):
    return ["train.epochs=1", f"train.steps_per_epoch={steps}", "eval.every_epochs=0",
            f"checkpoint.every_steps={steps}"]


def _time_processes(args):
    """steps/s of each variation per round, each a `kgan train` process of its own."""
    train_command = _script("repeat_runs").train_command  # `kgan train`, with this Python
    rates = {name: [] for name in args.variations}
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(args.rounds):
            shift = index % len(args.variations)
            for name in args.variations[shift:] + args.variations[:shift]:
                run_dir = os.path.join(scratch, f"run-{index}-{args.variations.index(name)}")
                command = train_command(args.recipe, run_dir,
                                        shlex.split(name) + _one_epoch(args.steps))
                done = subprocess.run(command, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
                if done.returncode:
                    raise SystemExit(f"kgan train failed (exit status {done.returncode}):\n"
                                     f"{done.stderr}")
                with open(os.path.join(run_dir, "summary.json"), encoding="utf-8") as file:
                    summary = json.load(file)
                rates[name].append(summary["steps"] / summary["time_split"]["training"])
            print(f"  round {index + 1}/{args.rounds}: " + ", ".join(
                f"{name or '(the recipe)'} {values[-1]:.2f}" for name, values in rates.items())
                + " steps/s", flush=True)
    return rates


def _time_paused_fits(args, recipes):
    """steps/s of each variation per round, all in one long paused fit each, in this process."""
    step_script = _script("benchmark_step")
    variants = []
    for name, recipe in recipes.items():
        source = data.load(recipe["data"], seed=recipe["seed"])
        with dict(_SWAPS.values()).get(name, contextlib.nullcontext)():
            gan = train.build_gan(recipe, source.sample_shape, source.num_classes)
        dataset, _ = data.pipeline(source, recipe["train"]["batch_size"], gan.d_steps,
                                   recipe["seed"])
        steps_per_execution = recipe["train"]["steps_per_execution"]
        run = step_script.PausedFit(gan, dataset, steps_per_execution)
        variants.append(step_script.Variant(
            name, run, gan.generator, getattr(gan, "discriminator", None),
            steps_multiple=steps_per_execution))
        start = time.perf_counter()
        run(args.warmup_steps)
        print(f"  warm-up {name or '(the recipe)'}: {time.perf_counter() - start:.1f} s",
              flush=True)
    for index in range(args.rounds):
        shift = index % len(variants)
        step_script.timed_round(variants[shift:] + variants[:shift], args)
        print(f"  round {index + 1}/{args.rounds}: " + ", ".join(
            f"{v.name or '(the recipe)'} {args.steps / v.seconds[-1]:.2f}" for v in variants)
            + " steps/s", flush=True)
    for variant in variants:
        variant.run.close()
    return {variant.name: [args.steps / s for s in variant.seconds] for variant in variants}


@contextlib.contextmanager
def _keras_layers():
    """Within it, kgan's architectures build Keras' own batch norm and Dot(axes=-1)."""
    fused, row_dot = layers.BatchNormalization, layers.RowDot
    layers.BatchNormalization = keras.layers.BatchNormalization
    layers.RowDot = lambda name=None: keras.layers.Dot(axes=-1, name=name)
    try:
        yield
    finally:
        layers.BatchNormalization, layers.RowDot = fused, row_dot


@contextlib.contextmanager
def _keras_adam():
    """Within it, a recipe's `adam` builds Keras' own Adam instead of kgan.optimizers.Adam."""
    fused = optimizers.Adam
    optimizers.Adam = keras.optimizers.Adam
    try:
        yield
    finally:
        optimizers.Adam = fused


# The variations that swap one of kgan's classes for Keras' own: {flag: (name, swap)}.
_SWAPS = {"keras_layers": (KERAS_LAYERS, _keras_layers), "keras_adam": (KERAS_ADAM, _keras_adam)}


def _report(args, rates):
    results = []
    first = rates[args.variations[0]]
    median_interval = _median_interval()
    for name, values in rates.items():
        ratios = [a / b for a, b in zip(values, first)]
        low, high = median_interval(ratios)
        results.append({"variation": name, "steps_per_s": statistics.median(values),
                        "min": min(values), "max": max(values),
                        "paired": statistics.median(ratios), "paired_min": min(ratios),
                        "paired_max": max(ratios), "paired_ci": (low, high)})
        print(f"{name or '(the recipe)'}: {statistics.median(values):.2f} steps/s "
              f"({min(values):.2f}..{max(values):.2f}); paired x first "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}..{max(ratios):.3f}, "
              f"95% interval of the median {low:.3f}..{high:.3f})")
    return results


if __name__ == "__main__":
    main()
