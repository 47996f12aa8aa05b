#!/usr/bin/env python
"""Times kgan's training step against the TensorFlow DCGAN tutorial's loop, in one run.

All variants train the tutorial's networks (kgan's `tf_tutorial` architecture:
generator 2.33 M parameters, discriminator 213 k), copies of the same initial
weights, with the tutorial's Adam(1e-4) optimizers and batch size (256), on
the same input stream:

  tutorial            the tutorial's `train_step` as written: one generator
                      forward pass, two tapes, both networks updated at once
                      (a *simultaneous* update: not Algorithm 1);
  alternating         Algorithm 1 (k = 1) written by hand the obvious way: a
                      D update with its own generator forward pass, then a G
                      update with fresh noise and a second forward pass;
  kgan                kgan `GAN.fit`, `reuse_fakes=False` (literal Algorithm 1);
  kgan-reuse          kgan `GAN.fit`, `reuse_fakes=True`: the G update reuses
                      the D update's noise and generator forward pass (what
                      PyTorch's DCGAN example does), against the updated D;
  kgan-reuse-speN     the same compiled with `steps_per_execution=N`;
  ...-keras-adam      a kgan variant with Keras' own Adam (kgan-keras-adam,
                      kgan-reuse-k5-keras-adam, ...): kgan variants otherwise
                      use `kgan.optimizers.Adam`, what a recipe's `adam`
                      builds (the same arithmetic, one fused kernel a
                      variable), and every other loop Keras' Adam, as the
                      tutorial and a hand-written loop do;
  alternating-reuse   the reuse written by hand;
  alternating-concat, alternating-reuse-concat  ... with one D call on
                      [real; fake] in each D update instead of two (the same
                      mathematics for a D without batch norm: what fusing the
                      calls would buy);
  ...-kN              k = N discriminator updates per step (kgan-k5,
                      alternating-k5, kgan-reuse-k5, ...), each on its own real
                      minibatch of m images.

Each kgan variant's *twin* is the hand-written loop of the identical update
(kgan-reuse-k5 and alternating-reuse-k5; kgan-reuse-keras-adam and
alternating-reuse): `x twin` says how fast `GAN.fit` runs against it, with
kgan's Adam, and with the twin's own optimizer for `-keras-adam`.

A variant may name its input: `kgan-reuse@constant` (see `--input`).
`--batch-size 64,256` measures each variant at each minibatch size, one size
after the other, in one run.

Each variant is compiled and warmed up first (untimed); then timed rounds are
interleaved, the order rotating each round (A B C D, B C D A, ...), so that
load from other processes hits all variants alike; with `--interleave steps`
the variants also take turns a step at a time within each round (A B C D A B
C D ...), so that even a change of the machine's speed within a round hits all
alike (the finer pairing that ratios near 1.0, `GAN.fit` against its twin,
need on a shared machine). Reported per variant: the
median round's images/s (real images consumed per second), its ratio to the
tutorial's and to the hand-written alternating loop's median, the same ratios
taken per round (same moment, same load) and their median with their spread
(min..max over the rounds) and the median's 95% confidence interval (a
bootstrap over the rounds: how well the run pins the median down; more rounds
narrow it), the same paired ratio to its twin, CPU ms per step,
the floating-point operations of one step (counted in its traced graph, so
the same on any machine) and the GFLOP/s reached, and whether both networks'
weights really changed. `--peak-gflops` adds the fraction of the device's
peak (e.g. on a GPU, its float32 or tensor-core figure).

Example:

```
python bin/benchmark_step.py --steps 20 --rounds 5      # batch 64 and 256, jit off, random data
python bin/benchmark_step.py --data mnist --jit both --json bench.json
python bin/benchmark_step.py --variants kgan-reuse,kgan-reuse@constant,kgan-reuse@tutorial
```
"""

import argparse
import json
import os
import re
import shlex
import statistics
import sys
import threading
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# kgan before TensorFlow, as `kgan train` runs: it picks TensorFlow's CPU kernels
# (oneDNN unless TF_ENABLE_ONEDNN_OPTS says otherwise) for every loop measured here.
import kgan  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
# The per-op FLOP statistics that tf.profiler itself reads (no public API counts
# a single op).
from tensorflow.python.framework import ops as tf_ops  # noqa: E402
# Whether TensorFlow's oneDNN CPU kernels are on (no public API says).
from tensorflow.python.util import _pywrap_util_port  # noqa: E402

from kgan import data as data_lib  # noqa: E402
from kgan_plugins import tutorial  # noqa: E402

TUTORIAL = "tutorial"
ALTERNATING = "alternating"
DEFAULT_VARIANTS = "tutorial,alternating,kgan,alternating-reuse,kgan-reuse,alternating-k5,kgan-k5"
INPUTS = ("pipeline", "tutorial", "constant")
_KGAN = re.compile(r"^kgan(?P<reuse>-reuse)?(?:-k(?P<k>\d+))?(?:-spe(?P<spe>\d+))?"
                   r"(?P<keras_adam>-keras-adam)?$")
_ALTERNATING = re.compile(r"^alternating(?P<reuse>-reuse)?(?P<concat>-concat)?(?:-k(?P<k>\d+))?$")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, metavar="LIST",
                        help="comma-separated variants, each NAME or NAME@INPUT: "
                        "tutorial, alternating[-reuse][-concat][-kN], "
                        "kgan[-reuse][-kN][-speN][-keras-adam]")
    parser.add_argument("--batch-size", dest="batch_sizes", type=_sizes, default="64,256",
                        metavar="M[,M...]",
                        help="minibatch size m (the tutorial's BATCH_SIZE); several, comma-"
                        "separated, are measured one after the other")
    parser.add_argument("--steps", type=int, default=20,
                        help="training steps per variant per timed round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed rounds per variant, interleaved across variants")
    parser.add_argument("--interleave", choices=("rounds", "steps"), default="rounds",
                        help="within a round, run each variant's steps in one go, one variant "
                        "after the other (rounds), or let the variants take turns a step at a "
                        "time (steps: finer pairing, for ratios near 1)")
    parser.add_argument("--warmup-steps", type=int, default=5,
                        help="untimed steps per variant after compiling")
    parser.add_argument("--jit", choices=("on", "off", "both"), default="off",
                        help="XLA compilation of every variant's step")
    parser.add_argument("--data", choices=("random", "mnist"), default="random",
                        help="random images in [-1, 1], or MNIST via tfds (TFDS_DATA_DIR)")
    parser.add_argument("--input", choices=INPUTS, default="pipeline",
                        help="input stream of variants without @INPUT: kgan.data.pipeline "
                        "(what `kgan train` feeds), the tutorial's shuffle().batch(), or one "
                        "constant batch (no input work at all)")
    parser.add_argument("--num-examples", type=int, default=60_000,
                        help="size of the in-memory dataset for --data random")
    parser.add_argument("--image-size", type=int, default=28,
                        help="height and width for --data random (a multiple of 4)")
    parser.add_argument("--latent-dim", type=int, default=100,
                        help="noise size (the tutorial's noise_dim)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flops", action=argparse.BooleanOptionalAction, default=True,
                        help="count each variant's floating-point operations per step (from "
                        "its traced graph) and print GFLOP/s")
    parser.add_argument("--peak-gflops", type=float, metavar="G",
                        help="the device's peak GFLOP/s (float32), to print the fraction of "
                        "peak that each variant reaches")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    for name in ("steps", "rounds", "num_examples", "image_size", "latent_dim"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup_steps < 0:
        parser.error("--warmup-steps must be >= 0")
    if args.image_size % 4:
        parser.error("--image-size must be a multiple of 4 (the tutorial's networks halve twice)")
    args.batch_size = args.batch_sizes[0]  # the size being measured; main() steps through them
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if len(set(args.variants)) != len(args.variants) or not args.variants:
        parser.error("--variants must name at least one variant, each once")
    for spec in args.variants:
        name, _, input_name = spec.partition("@")
        match = _KGAN.match(name) or _ALTERNATING.match(name)
        if name != TUTORIAL and not (match and int(match["k"] or 1) >= 1
                                     and int(match.groupdict().get("spe") or 1) >= 1):
            parser.error(f"unknown variant {name!r} in --variants; known: tutorial, "
                         "alternating[-reuse][-concat][-kN], "
                         "kgan[-reuse][-kN][-speN][-keras-adam]")
        if input_name and input_name not in INPUTS:
            parser.error(f"unknown input {input_name!r} in {spec!r}; known: {', '.join(INPUTS)}")
        if match and args.steps % int(match.groupdict().get("spe") or 1):
            parser.error(f"--steps must be a multiple of {match['spe']} for {name}")
    return args


def _sizes(text):
    try:
        sizes = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of sizes: {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be >= 1, got {text!r}")
    return sizes


def main(argv=None):
    """Runs the benchmark, prints the table and returns one dict per (jit, variant)."""
    args = parse_args(argv)
    command = shlex.join(["python", "bin/benchmark_step.py",
                          *(sys.argv[1:] if argv is None else argv)])
    print(f"command: {command}")
    print(f"cpu: {_cpu_model()}; keras {keras.__version__}, tensorflow {tf.__version__}, "
          f"devices: {[d.device_type for d in tf.config.list_physical_devices()]}, "
          f"cpus: {os.cpu_count()}, oneDNN CPU kernels: "
          f"{'on' if _pywrap_util_port.IsMklEnabled() else 'off'}, "
          f"load average before: {_load()}", flush=True)
    source = _source(args)
    results, input_checks = [], []
    for batch_size in args.batch_sizes:
        args.batch_size = batch_size
        streams = {}
        results += _measure(args, source, streams)
        input_checks += [_check_input(name, stream, source, args)
                         for (name, k), stream in streams.items() if k == 1]
    _print_table(results, args)
    for line in input_checks:
        print(line["text"])
    print(f"load average after: {_load()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"command": command, "keras": keras.__version__,
                       "tensorflow": tf.__version__, "cpus": os.cpu_count(),
                       "cpu_model": _cpu_model(), "args": vars(args), "results": results,
                       "input_checks": input_checks}, file, indent=1)
        print(f"wrote {args.json}")
    return results


def _measure(args, source, streams):
    """The rows of every variant at minibatch size `args.batch_size`."""
    results = []
    for jit in {"on": [True], "off": [False], "both": [False, True]}[args.jit]:
        variants = _make_variants(args, source, streams, jit)
        for variant in variants:
            start = time.perf_counter()
            variant.run(max(args.warmup_steps, variant.steps_multiple) if args.warmup_steps else 0)
            print(f"  batch {args.batch_size} warm-up jit={_on_off(jit)} {variant.name}: "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
        for variant in variants:
            variant.remember_weights()
        for round_index in range(args.rounds):
            shift = round_index % len(variants)
            timed_round(variants[shift:] + variants[:shift], args)
            print(f"  batch {args.batch_size} round {round_index + 1}/{args.rounds} "
                  f"jit={_on_off(jit)}: "
                  + ", ".join(f"{v.name} {v.rates(args)[-1]:.0f}" for v in variants)
                  + " images/s", flush=True)
        for variant in variants:
            getattr(variant.run, "close", lambda: None)()
        rows = _summarise(variants, args, jit)
        for row in rows:
            row["gflop_per_step"] = (
                step_flops(row["variant"].partition("@")[0], args, source.sample_shape) / 1e9
                if args.flops else None)
            row["gflop_per_s"] = (None if row["gflop_per_step"] is None else
                                  row["gflop_per_step"] * row["images_per_s"]
                                  / (args.batch_size * row["d_steps"]))
        results += rows
        args.parameters = [model.count_params() for model in variants[0].models]
    return results


# ---------------------------------------------------------------- the loops


def make_tutorial_train_step(generator, discriminator, generator_optimizer,
                             discriminator_optimizer, batch_size, noise_dim, jit_compile=False):
    """The tutorial's `train_step` as written (a simultaneous update): see kgan_plugins.tutorial."""
    return tutorial.make_train_step(generator, discriminator, generator_optimizer,
                                    discriminator_optimizer, batch_size, noise_dim, jit_compile)


def make_alternating_train_step(generator, discriminator, d_optimizer, g_optimizer,
                                latent_dim, seed, jit_compile=False, reuse_fakes=False,
                                concat=False, d_steps=1):
    """Algorithm 1 written by hand, with the tutorial's losses.

    Noise comes from `keras.random.normal` with its own `SeedGenerator(seed)`,
    the draws `kgan.GAN` makes, so the update can be checked against kgan's.

    Args:
        reuse_fakes: the G update reuses the D update's noise and generator
            forward pass (recorded on G's tape) instead of a fresh draw.
        concat: one discriminator call on `[real; fake]` in the D update
            (differs from two calls only through batch-norm statistics).
        d_steps: k; each step's batch of k*m rows holds the k minibatches,
            minibatch i being rows i, i+k, ... (as `kgan.GAN` splits it).
    """
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    seed_generator = keras.random.SeedGenerator(seed)

    def discriminator_update(real, fake):
        with tf.GradientTape() as d_tape:
            if concat:
                logits = discriminator(tf.concat([real, fake], axis=0), training=True)
                real_logits, fake_logits = tf.split(logits, 2, axis=0)
            else:
                real_logits = discriminator(real, training=True)
                fake_logits = discriminator(fake, training=True)
            d_loss = (cross_entropy(tf.ones_like(real_logits), real_logits)
                      + cross_entropy(tf.zeros_like(fake_logits), fake_logits))
        d_vars = discriminator.trainable_variables
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        return d_loss

    @tf.function(jit_compile=jit_compile)
    def train_step(real):
        if d_steps == 1:
            minibatches = [real]
        else:
            m = tf.shape(real)[0] // d_steps
            minibatches = [tf.gather(real, tf.range(m) * d_steps + i) for i in range(d_steps)]
        m = tf.shape(minibatches[0])[0]
        for real_i in minibatches[:-1] if reuse_fakes else minibatches:
            z = keras.random.normal((m, latent_dim), seed=seed_generator)
            d_loss = discriminator_update(real_i, generator(z, training=True))
        z = keras.random.normal((m, latent_dim), seed=seed_generator)
        if reuse_fakes:
            with tf.GradientTape() as g_tape:
                fake = generator(z, training=True)
                with g_tape.stop_recording():
                    d_loss = discriminator_update(minibatches[-1], fake)
                fake_logits = discriminator(fake, training=True)
                g_loss = cross_entropy(tf.ones_like(fake_logits), fake_logits)
        else:
            with tf.GradientTape() as g_tape:
                fake_logits = discriminator(generator(z, training=True), training=True)
                g_loss = cross_entropy(tf.ones_like(fake_logits), fake_logits)
        g_vars = generator.trainable_variables
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    return train_step


def step_flops(name, args, shape):
    """Floating-point operations of one training step of variant `name`, from its graph.

    Traces the variant's step on fresh copies of the networks with a static
    batch of m images and sums the operations that TensorFlow's profiler
    counts (convolutions, their gradients, matrix products, element-wise
    ops): what the step asks the device to compute, whatever the machine.
    """
    keras.utils.set_random_seed(args.seed)
    generator = kgan.generator("tf_tutorial", latent_dim=args.latent_dim, output_shape=shape)
    discriminator = kgan.discriminator("tf_tutorial", input_shape=shape)
    real = tf.TensorSpec((args.batch_size * _d_steps(name), *shape), tf.float32)
    if name == TUTORIAL:
        step = make_tutorial_train_step(generator, discriminator, _adam(), _adam(),
                                        args.batch_size, args.latent_dim)
    elif name.startswith(ALTERNATING):
        match = _ALTERNATING.match(name)
        step = make_alternating_train_step(
            generator, discriminator, _adam(), _adam(), args.latent_dim, args.seed,
            reuse_fakes=bool(match["reuse"]), concat=bool(match["concat"]),
            d_steps=_d_steps(name))
    else:
        match = _KGAN.match(name)
        gan = kgan.GAN(generator, discriminator, latent_dim=args.latent_dim, seed=args.seed,
                       reuse_fakes=bool(match["reuse"]), d_steps=_d_steps(name))
        # Keras' Adam: kgan's fused one does the same arithmetic in a kernel that the
        # profiler has no count for.
        gan.compile(d_optimizer=_adam(), g_optimizer=_adam(), loss="non_saturating")
        step = tf.function(gan.train_step)
    return live_flops(step.get_concrete_function(real).graph)


def live_flops(graph):
    """Floating-point operations of the ops in `graph` that its run executes.

    A traced step also holds ops that nothing consumes (e.g. gradients a tape
    offers but the update never reads); TensorFlow prunes them before it runs,
    and tf.profiler would count them. Only the ops that the graph's outputs and
    control outputs (the variable updates) depend on are counted here, each by
    the FLOP statistic its kernel registers (convolutions, their gradients,
    matrix products, element-wise arithmetic).
    """
    live, stack = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
    while stack:
        op = stack.pop()
        if op.name not in live:
            live.add(op.name)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    total, logger = 0, tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # The statistics call TF1 helpers that print deprecations.
    try:
        for op in graph.get_operations():
            if op.name in live:
                try:
                    total += tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0
                except ValueError:  # No FLOP statistic registered for this op type.
                    pass
    finally:
        logger.setLevel(level)
    return total


# ---------------------------------------------------------------- variants


class Variant:
    """One way of training: `run(n)` takes n steps; timing and weight checks around it."""

    def __init__(self, name, run, generator, discriminator, steps_multiple=1):
        self.name = name
        self.run = run
        self.models = (generator, discriminator)
        self.steps_multiple = steps_multiple
        self.seconds = []
        self.cpu_seconds = []
        self._initial = None

    def start_round(self):
        self.seconds.append(0.0)
        self.cpu_seconds.append(0.0)

    def timed_run(self, steps):
        """Runs `steps` steps, their wall-clock and CPU seconds counted in this round."""
        start, cpu_start = time.perf_counter(), time.process_time()
        self.run(steps)
        self.seconds[-1] += time.perf_counter() - start
        self.cpu_seconds[-1] += time.process_time() - cpu_start

    def rates(self, args):
        """Real images consumed per second, each round: k*m a step."""
        return [args.steps * args.batch_size * _d_steps(self.name) / s for s in self.seconds]

    def remember_weights(self):
        self._initial = [[w.copy() for w in model.get_weights()] for model in self.models]

    def weights_changed(self):
        """Whether both networks' weights moved during the timed rounds, and stayed finite."""
        for model, initial in zip(self.models, self._initial):
            now = model.get_weights()
            if not all(np.all(np.isfinite(w)) for w in now):
                return False
            trainable = {id(v) for v in model.trainable_variables}
            moved = [not np.array_equal(a, b) for v, a, b in zip(model.weights, now, initial)
                     if id(v) in trainable]
            if not any(moved):
                return False
        return True


def timed_round(variants, args):
    """One timed round of `args.steps` steps a variant, `variants` in this round's order.

    `--interleave rounds`: each variant's steps in one run, one variant after the
    other. `--interleave steps`: the variants take turns a step at a time (a
    variant with `steps_per_execution` N, N steps a turn), so that a change of the
    machine's speed within the round hits every variant alike.
    """
    for variant in variants:
        variant.start_round()
    if args.interleave == "rounds":
        for variant in variants:
            variant.timed_run(args.steps)
        return
    turns = {variant: args.steps // variant.steps_multiple for variant in variants}
    for turn in range(max(turns.values())):
        for variant in variants:
            if turn < turns[variant]:
                variant.timed_run(variant.steps_multiple)


def _make_variants(args, source, streams, jit):
    keras.utils.set_random_seed(args.seed)
    shape = source.sample_shape
    generator = kgan.generator("tf_tutorial", latent_dim=args.latent_dim, output_shape=shape)
    discriminator = kgan.discriminator("tf_tutorial", input_shape=shape)
    variants = []
    for spec in args.variants:
        name, _, input_name = spec.partition("@")
        input_name = input_name or args.input
        k = _d_steps(name)
        if (input_name, k) not in streams:
            streams[input_name, k] = _stream(input_name, source, args, k)
        dataset = streams[input_name, k]
        g, d = _clone(generator, discriminator)
        if name == TUTORIAL:
            step = make_tutorial_train_step(g, d, _adam(), _adam(), args.batch_size,
                                            args.latent_dim, jit)
            variants.append(Variant(spec, _python_loop(step, dataset), g, d))
        elif name.startswith(ALTERNATING):
            match = _ALTERNATING.match(name)
            step = make_alternating_train_step(
                g, d, _adam(), _adam(), args.latent_dim, args.seed, jit,
                reuse_fakes=bool(match["reuse"]), concat=bool(match["concat"]), d_steps=k)
            variants.append(Variant(spec, _python_loop(step, dataset), g, d))
        else:
            match = _KGAN.match(name)
            spe = int(match["spe"] or 1)
            run = _kgan_fit(g, d, args, dataset, jit, reuse_fakes=bool(match["reuse"]),
                            steps_per_execution=spe, d_steps=k,
                            fused_adam=not match["keras_adam"])
            variants.append(Variant(spec, run, g, d, steps_multiple=spe))
    return variants


def _kgan_fit(generator, discriminator, args, dataset, jit, reuse_fakes, steps_per_execution,
              d_steps=1, fused_adam=True):
    gan = kgan.GAN(generator, discriminator, latent_dim=args.latent_dim, seed=args.seed,
                   reuse_fakes=reuse_fakes, d_steps=d_steps)
    gan.compile(d_optimizer=_adam(fused_adam), g_optimizer=_adam(fused_adam),
                loss="non_saturating",
                jit_compile=jit, steps_per_execution=steps_per_execution)
    return PausedFit(gan, dataset, steps_per_execution)


class PausedFit:
    """One long `GAN.fit`, as `kgan train` makes, run in slices of steps.

    `fit` runs in a thread of its own, paused by a callback after each slice
    until the next is asked for, so that the variants' rounds can interleave
    while each keeps one iterator and one fit for the whole benchmark, as a
    training run does (a fresh `fit` per round would time Keras' set-up of the
    loop and the input's first batch each round). `run_steps(n)` runs the next
    n steps and returns when they are done; `close()` ends the fit.
    """

    def __init__(self, gan, dataset, steps_per_execution=1):
        self.gan = gan
        self.dataset = dataset
        self.steps_per_execution = steps_per_execution
        self._go = threading.Semaphore(0)
        self._done = threading.Semaphore(0)
        self._left = 0
        self._closing = False
        self._error = None
        self._thread = None

    def __call__(self, num_steps):
        num_steps -= num_steps % self.steps_per_execution
        if not num_steps:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._fit, daemon=True)
            self._thread.start()
        self._left = num_steps
        self._go.release()
        self._done.acquire()
        if self._error is not None:
            raise self._error

    def close(self):
        if self._thread is not None and self._thread.is_alive():
            self._closing = True
            self._go.release()
            self._thread.join()

    def _fit(self):
        runner = self

        class Pause(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                runner._go.acquire()

            def on_train_batch_end(self, batch, logs=None):
                runner._left -= runner.steps_per_execution
                if runner._left > 0:
                    return
                runner._done.release()
                runner._go.acquire()
                if runner._closing:
                    self.model.stop_training = True

        try:
            self.gan.fit(self.dataset, epochs=1, steps_per_epoch=10**9, verbose=0,
                         callbacks=[Pause()])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc
            self._done.release()


def _python_loop(train_step, dataset):
    iterator = None

    def run_steps(num_steps):
        nonlocal iterator
        # One iterator for all rounds, as a long hand-written loop would keep
        # it. (GAN.fit makes a new one per call, so kgan restarts its stream
        # every round: about 20 ms for its first batch, a handicap that these
        # figures leave in. Before kgan's pipeline turned tf.data's autotuner
        # off, each restart also cost up to ~10 s when the old iterator was
        # torn down: rounds ended on 10.24 s marks.)
        iterator = iterator or iter(dataset)
        losses = None
        for _ in range(num_steps):
            images, _ = next(iterator)
            losses = train_step(images)
        if losses is not None:
            float(losses[0])

    return run_steps


def _clone(generator, discriminator):
    copies = []
    for model in (generator, discriminator):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        copies.append(copy)
    return copies


def _adam(fused=False):
    """The tutorial's Adam(1e-4): Keras' own, or kgan's fused one (what recipes build)."""
    return (kgan.optimizers.Adam if fused else keras.optimizers.Adam)(1e-4)


# ---------------------------------------------------------------- data


def _source(args):
    if args.data == "mnist":
        return data_lib.load({"name": "tfds", "dataset": "mnist", "split": "train"})
    rng = np.random.default_rng(args.seed)
    shape = (args.image_size, args.image_size, 1)
    x = rng.uniform(-1.0, 1.0, (args.num_examples, *shape)).astype("float32")
    y = np.full(args.num_examples, -1, "int32")
    return data_lib.DataSource(tf.data.Dataset.from_tensor_slices((x, y)), shape,
                               args.num_examples, name="random")


def _d_steps(spec):
    """k of a variant: N in its `-kN`, else 1."""
    match = _KGAN.match(spec.partition("@")[0]) or _ALTERNATING.match(spec.partition("@")[0])
    return int(match["k"] or 1) if match else 1


def _twin(spec):
    """The hand-written loop of a kgan variant's update: kgan-reuse-k5 -> alternating-reuse-k5."""
    name, _, input_name = spec.partition("@")
    match = _KGAN.match(name)
    if not match:
        return None
    twin = ALTERNATING + ("-reuse" if match["reuse"] else "") + (
        f"-k{match['k']}" if match["k"] and int(match["k"]) > 1 else "")
    return f"{twin}@{input_name}" if input_name else twin


def _stream(input_name, source, args, k=1):
    """An endless stream of `(x, y)` batches of k*m images (a step's k minibatches)."""
    rows = args.batch_size * k
    if input_name == "pipeline":
        dataset, _ = data_lib.pipeline(source, args.batch_size, k, args.seed)
        return dataset
    if input_name == "tutorial":
        # tf.data.Dataset.from_tensor_slices(train_images).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)
        # with whole batches only, repeated.
        return (source.dataset.cache().shuffle(source.num_examples or 60_000, seed=args.seed)
                .batch(rows, drop_remainder=True).repeat())
    x, y = next(iter(source.dataset.batch(rows, drop_remainder=True)))
    return tf.data.Dataset.from_tensors((x, y)).repeat()


def _check_input(name, stream, source, args):
    """Does the stream alone keep up? Times each batch over one pass and a pass boundary."""
    per_pass = (source.num_examples or 60_000) // args.batch_size
    count = per_pass + 10
    start = time.perf_counter()
    iterator = iter(stream)
    next(iterator)
    first = time.perf_counter() - start
    gaps = []
    for _ in range(count - 1):
        start = time.perf_counter()
        next(iterator)
        gaps.append(time.perf_counter() - start)
    slowest = int(np.argmax(gaps))
    check = {"input": name, "first_batch_ms": 1000 * first,
             "median_batch_ms": 1000 * statistics.median(gaps),
             "max_batch_ms": 1000 * gaps[slowest], "max_at_batch": slowest + 2,
             "batches_per_pass": per_pass}
    check["text"] = (
        f"input '{name}' alone: first batch {check['first_batch_ms']:.1f} ms, then median "
        f"{check['median_batch_ms']:.2f} ms, slowest {check['max_batch_ms']:.1f} ms (batch "
        f"{check['max_at_batch']}; a pass is {per_pass} batches) over {count} batches")
    return check


# ---------------------------------------------------------------- report


def _summarise(variants, args, jit):
    by_name = {v.name: v for v in variants}
    rows = []
    for variant in variants:
        rates = variant.rates(args)
        row = {
            "batch_size": args.batch_size,
            "d_steps": _d_steps(variant.name),
            "jit": jit,
            "variant": variant.name,
            "description": _description(variant.name, args.input),
            "images_per_s": statistics.median(rates),
            "min_images_per_s": min(rates),
            "max_images_per_s": max(rates),
            "ms_per_step": 1000 * statistics.median(variant.seconds) / args.steps,
            "cpu_ms_per_step": 1000 * statistics.median(variant.cpu_seconds) / args.steps,
            "rounds_images_per_s": rates,
            "weights_changed": variant.weights_changed(),
        }
        for baseline in (TUTORIAL, ALTERNATING):
            other = by_name.get(baseline)
            if other is None:
                row[f"vs_{baseline}"] = row[f"vs_{baseline}_paired"] = None
                row[f"vs_{baseline}_cpu_paired"] = row[f"vs_{baseline}_paired_ci"] = None
                continue
            row[f"vs_{baseline}"] = row["images_per_s"] / statistics.median(other.rates(args))
            row.update(_paired(f"vs_{baseline}", variant, other, args))
        twin = by_name.get(_twin(variant.name))
        row["twin"] = None if twin is None else twin.name
        row.update(_paired("vs_twin", variant, twin, args) if twin else
                   {"vs_twin_paired": None, "vs_twin_paired_min": None,
                    "vs_twin_paired_max": None, "vs_twin_cpu_paired": None,
                    "vs_twin_paired_ci": None})
        rows.append(row)
    return rows


def _paired(key, variant, other, args):
    """The ratio of `variant`'s images/s to `other`'s within each round: median, min, max,
    and the median's 95% confidence interval."""
    ratios = [a / b for a, b in zip(variant.rates(args), other.rates(args))]
    low, high = median_interval(ratios, seed=args.seed)
    return {f"{key}_paired": statistics.median(ratios), f"{key}_paired_min": min(ratios),
            f"{key}_paired_max": max(ratios), f"{key}_paired_ci": [low, high],
            f"{key}_cpu_paired": statistics.median(
                o / s for o, s in zip(other.cpu_seconds, variant.cpu_seconds))}


def median_interval(values, confidence=0.95, resamples=10_000, seed=0):
    """A percentile-bootstrap confidence interval of the median of `values`.

    The rounds are resampled with replacement `resamples` times (seeded, so a
    run's figures repeat); the interval holds the middle `confidence` of the
    resampled medians. It narrows as rounds are added, where min..max widens:
    it says how well the run pins the median down, min..max how the rounds vary.
    """
    values = np.asarray(values, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(values), (resamples, len(values)))
    medians = np.median(values[picks], axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def _description(spec, default_input):
    name, _, input_name = spec.partition("@")
    k = _d_steps(name)
    if name == TUTORIAL:
        text = "TF tutorial, simultaneous update"
    elif _KGAN.match(name):
        match = _KGAN.match(name)
        text = (f"kgan fit, reuse_fakes={bool(match['reuse'])}"
                + (f", spe={match['spe']}" if match["spe"] else "")
                + (", Keras' Adam" if match["keras_adam"] else ""))
    else:
        match = _ALTERNATING.match(name)
        text = ("hand-written Alg. 1" + (", reuse fakes" if match["reuse"] else "")
                + (", D([real;fake])" if match["concat"] else ""))
    text += f", k={k}" if k > 1 else ""
    return f"{text} [{input_name or default_input} input]" if input_name else text


TABLE_HEADER = ("m", "jit", "variant", "images/s", "(min..max)", "ms/step", "cpu ms",
                "x tutorial", "paired", "(min..max)", "x twin", "(min..max)", "GFLOP",
                "GFLOP/s", "trained")


def _print_table(results, args):
    print()
    g_params, d_params = args.parameters
    print(f"Tutorial networks (G {g_params / 1e6:.2f} M, D {d_params / 1e3:.0f} k parameters), "
          f"{args.data} "
          f"{'28x28' if args.data == 'mnist' else f'{args.image_size}x{args.image_size}'}x1, "
          f"minibatch m of {', '.join(map(str, args.batch_sizes))}, Adam(1e-4), {args.input} "
          f"input; {args.steps} steps x {args.rounds} interleaved rounds per variant"
          f"{', taking turns a step at a time' if args.interleave == 'steps' else ''}; median "
          "round (min..max):")
    widths = (4, 4, max(24, *(len(r["variant"]) for r in results)), 9, 13, 8, 7, 10, 7, 13,
              7, 13, 6, 8, 7)
    header = " ".join(f"{h:<{w}}" if 0 < i < 3 else f"{h:>{w}}"
                      for i, (h, w) in enumerate(zip(TABLE_HEADER, widths)))
    print(header)
    print("-" * len(header))
    for row in results:
        cells = [str(row["batch_size"]), _on_off(row["jit"]), row["variant"],
                 f"{row['images_per_s']:.0f}",
                 f"({row['min_images_per_s']:.0f}..{row['max_images_per_s']:.0f})",
                 f"{row['ms_per_step']:.1f}", f"{row['cpu_ms_per_step']:.0f}",
                 _ratio(row["vs_tutorial"]), _ratio(row["vs_tutorial_paired"]),
                 _spread(row, "vs_tutorial"), _ratio(row["vs_twin_paired"]),
                 _spread(row, "vs_twin"),
                 _number(row["gflop_per_step"], "{:.3g}"),
                 _number(row["gflop_per_s"], "{:.3g}"),
                 "yes" if row["weights_changed"] else "NO"]
        print(" ".join(f"{c:<{w}}" if 0 < i < 3 else f"{c:>{w}}"
                       for i, (c, w) in enumerate(zip(cells, widths))))
    print()
    for spec in dict.fromkeys(r["variant"] for r in results):
        print(f"  {spec:<{widths[2]}} {_description(spec, args.input)}")
    print("images/s: real images consumed (k*m a step). x tutorial: median images/s over the "
          "tutorial's median; paired: the median over rounds of the same ratio within each "
          "round (same moment, same load), with its spread. x twin: the paired ratio of a kgan "
          "variant to the hand-written loop of the identical update (kgan-reuse-k5 to "
          "alternating-reuse-k5). cpu ms: this process's CPU time per step. GFLOP: "
          "floating-point operations per step, counted in the step's graph; GFLOP/s: at the "
          "median images/s. trained: both networks' weights moved during the timed rounds "
          "and stayed finite.")
    print("95% confidence intervals of the paired medians (bootstrap over the rounds):")
    for row in results:
        intervals = [f"{label} {low:.3f}..{high:.3f}"
                     for label, key in (("x tutorial", "vs_tutorial"), ("x twin", "vs_twin"))
                     if row.get(f"{key}_paired_ci") is not None and row["variant"] != TUTORIAL
                     for low, high in [row[f"{key}_paired_ci"]]]
        if intervals:
            print(f"  {row['batch_size']:>4} {_on_off(row['jit']):<3} "
                  f"{row['variant']:<{widths[2]}} {', '.join(intervals)}")
    if args.peak_gflops:
        for row in results:
            if row["gflop_per_s"] is not None:
                print(f"  jit {_on_off(row['jit'])} {row['variant']}: "
                      f"{row['gflop_per_s'] / args.peak_gflops:.1%} of the "
                      f"{args.peak_gflops:g} GFLOP/s peak given")


def _ratio(value):
    return "-" if value is None else f"{value:.3f}"


def _spread(row, key):
    low, high = row.get(f"{key}_paired_min"), row.get(f"{key}_paired_max")
    return "-" if low is None else f"({low:.2f}..{high:.2f})"


def _cpu_model():
    """The CPU's model name (Linux's /proc/cpuinfo), or the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def _number(value, form):
    return "-" if value is None else form.format(value)


def _on_off(flag):
    return "on" if flag else "off"


def _load():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
