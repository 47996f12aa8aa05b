#!/usr/bin/env python
"""Times kgan's DCGAN training against a hand-written `tf.function` loop.

Both sides run Algorithm 1 of Goodfellow et al. (2014) on the same networks
(`kgan.generator("dcgan")` / `kgan.discriminator("dcgan")`, weights cloned so
both start equal), the same non-saturating loss from logits, the same Adam
optimizers and the same tf.data pipeline of 28x28x1 images: each step makes
k discriminator updates, each on its own real minibatch of m images and fresh
noise, then one generator update. kgan trains with `GAN.fit` (what users run);
the baseline iterates the dataset in Python and calls one `tf.function` per
step.

Every variant is compiled (warmed up) first; then timed rounds of the
variants are interleaved (A B, B A, A B ...) so that load from other processes
hits all of them alike, and the median round of each is reported as images/s
(real images consumed per second: k * m per step) with its ratio to the
hand-written loop, with XLA (`jit_compile`) on and/or off.

Example:

```
python bin/benchmark_step.py --steps 50 --rounds 7 --jit both
python bin/benchmark_step.py --data mnist   # real MNIST, needs TFDS_DATA_DIR
```
"""

import argparse
import os
import shlex
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kgan  # noqa: E402

IMAGE_SHAPE = (28, 28, 1)
PLAIN = "hand-written tf.function"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--batch-size", type=int, default=64, metavar="M",
                        help="minibatch size m (each step consumes k * m real images)")
    parser.add_argument("--d-steps", type=int, default=1, metavar="K",
                        help="discriminator updates per generator update (k)")
    parser.add_argument("--steps", type=int, default=40,
                        help="training steps (iterations of Algorithm 1) per timed round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed rounds per variant, interleaved across variants")
    parser.add_argument("--warmup-steps", type=int, default=5,
                        help="untimed steps per variant after compiling")
    parser.add_argument("--jit", choices=("on", "off", "both"), default="both",
                        help="XLA compilation of the training step")
    parser.add_argument("--steps-per-execution", type=int, default=1, metavar="N",
                        help="if > 1, also time kgan compiled with steps_per_execution=N")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--base-filters", type=int, default=64,
                        help="dcgan base_filters of both networks")
    parser.add_argument("--data", choices=("random", "mnist"), default="random",
                        help="random images in [-1, 1], or MNIST via tfds (TFDS_DATA_DIR)")
    parser.add_argument("--num-examples", type=int, default=8192,
                        help="size of the in-memory dataset for --data random")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("batch_size", "d_steps", "steps", "rounds", "steps_per_execution",
                 "latent_dim", "base_filters", "num_examples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.steps % args.steps_per_execution:
        parser.error("--steps must be a multiple of --steps-per-execution")
    return args


def main(argv=None):
    """Runs the benchmark, prints the table and returns one dict per (jit, variant)."""
    args = parse_args(argv)
    command = shlex.join(["python", "bin/benchmark_step.py",
                          *(sys.argv[1:] if argv is None else argv)])
    print(f"command: {command}")
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, "
          f"devices: {[d.device_type for d in tf.config.list_physical_devices()]}, "
          f"cpus: {os.cpu_count()}, load average before: {_load()}")

    images = _images(args)
    rows_per_step = args.d_steps * args.batch_size
    dataset = (
        tf.data.Dataset.from_tensor_slices(images)
        .cache()
        .repeat()
        .batch(rows_per_step, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )

    results = []
    for jit in {"on": [True], "off": [False], "both": [False, True]}[args.jit]:
        variants = _make_variants(args, dataset, jit)
        for name, run_steps in variants.items():
            start = time.perf_counter()
            run_steps(args.warmup_steps)
            print(f"  warm-up jit={'on' if jit else 'off'} {name}: "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
        seconds = {name: [] for name in variants}
        cpu_seconds = {name: [] for name in variants}
        for round_index in range(args.rounds):
            # A B, then B A: neither variant always runs right after the other.
            order = list(variants)[:: 1 if round_index % 2 == 0 else -1]
            for name in order:
                start, cpu_start = time.perf_counter(), time.process_time()
                variants[name](args.steps)
                seconds[name].append(time.perf_counter() - start)
                cpu_seconds[name].append(time.process_time() - cpu_start)
            print(f"  round {round_index + 1}/{args.rounds} jit={'on' if jit else 'off'}: "
                  + ", ".join(f"{name} {args.steps * rows_per_step / seconds[name][-1]:.0f}"
                              for name in variants) + " images/s", flush=True)
        plain_rate = statistics.median(args.steps * rows_per_step / t for t in seconds[PLAIN])
        for name, times in seconds.items():
            rates = [args.steps * rows_per_step / t for t in times]
            results.append({
                "jit": jit,
                "variant": name,
                "images_per_s": statistics.median(rates),
                "min_images_per_s": min(rates),
                "max_images_per_s": max(rates),
                "ms_per_step": 1000 * statistics.median(times) / args.steps,
                "cpu_ms_per_step": 1000 * statistics.median(cpu_seconds[name]) / args.steps,
                "ratio": statistics.median(rates) / plain_rate,
                "paired_ratio": statistics.median(
                    p / t for p, t in zip(seconds[PLAIN], times)
                ),
                "cpu_ratio": statistics.median(
                    p / t for p, t in zip(cpu_seconds[PLAIN], cpu_seconds[name])
                ),
            })

    _print_table(results, args)
    print(f"load average after: {_load()}")
    return results


def _images(args):
    if args.data == "mnist":
        import tensorflow_datasets as tfds

        train = tfds.load("mnist", split="train", as_supervised=True, batch_size=-1)
        return tf.cast(train[0], tf.float32) / 127.5 - 1.0
    rng = np.random.default_rng(args.seed)
    return rng.uniform(-1.0, 1.0, (args.num_examples, *IMAGE_SHAPE)).astype("float32")


def _make_variants(args, dataset, jit):
    """Returns {name: run_steps(n)}, each variant on its own copy of the same networks."""
    keras.utils.set_random_seed(args.seed)
    generator = kgan.generator("dcgan", latent_dim=args.latent_dim, output_shape=IMAGE_SHAPE,
                               base_filters=args.base_filters)
    discriminator = kgan.discriminator("dcgan", input_shape=IMAGE_SHAPE,
                                       base_filters=args.base_filters)

    variants = {PLAIN: _plain_loop(*_clone(generator, discriminator), args, dataset, jit)}
    variants["kgan GAN.fit"] = _kgan_fit(
        *_clone(generator, discriminator), args, dataset, jit, steps_per_execution=1
    )
    if args.steps_per_execution > 1:
        variants[f"kgan GAN.fit spe={args.steps_per_execution}"] = _kgan_fit(
            *_clone(generator, discriminator), args, dataset, jit,
            steps_per_execution=args.steps_per_execution,
        )
    return variants


def _clone(generator, discriminator):
    copies = []
    for model in (generator, discriminator):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        copies.append(copy)
    return copies


def _adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def _kgan_fit(generator, discriminator, args, dataset, jit, steps_per_execution):
    gan = kgan.GAN(generator, discriminator, latent_dim=args.latent_dim,
                   d_steps=args.d_steps, seed=args.seed)
    gan.compile(d_optimizer=_adam(), g_optimizer=_adam(), loss="non_saturating",
                jit_compile=jit, steps_per_execution=steps_per_execution)

    def run_steps(num_steps):
        num_steps = max(steps_per_execution, num_steps - num_steps % steps_per_execution)
        # shuffle=False: the dataset is the pipeline; Keras only warns about it.
        gan.fit(dataset, epochs=1, steps_per_epoch=num_steps, verbose=0, shuffle=False)

    return run_steps


def make_plain_train_step(generator, discriminator, d_optimizer, g_optimizer,
                          latent_dim, d_steps, seed, jit_compile):
    """Algorithm 1 written out by hand: the baseline kgan is measured against."""
    seed_generator = keras.random.SeedGenerator(seed)

    @tf.function(jit_compile=jit_compile)
    def train_step(real):
        for step in range(d_steps):
            real_batch = real[step::d_steps]
            m = tf.shape(real_batch)[0]
            z = keras.random.normal((m, latent_dim), seed=seed_generator)
            fake = generator(z, training=True)
            with tf.GradientTape() as tape:
                real_logits = discriminator(real_batch, training=True)
                fake_logits = discriminator(fake, training=True)
                d_loss = tf.reduce_mean(
                    tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits)
                )
            d_vars = discriminator.trainable_variables
            d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))

        z = keras.random.normal((m, latent_dim), seed=seed_generator)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(
                tf.nn.softplus(-discriminator(generator(z, training=True), training=True))
            )
        g_vars = generator.trainable_variables
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    return train_step


def _plain_loop(generator, discriminator, args, dataset, jit):
    train_step = make_plain_train_step(
        generator, discriminator, _adam(), _adam(), args.latent_dim, args.d_steps,
        args.seed, jit,
    )

    def run_steps(num_steps):
        iterator = iter(dataset)
        for _ in range(num_steps):
            losses = train_step(next(iterator))
        float(losses[0])

    return run_steps


def _print_table(results, args):
    print()
    print(f"DCGAN 28x28x1, m={args.batch_size}, k={args.d_steps}, {args.steps} steps x "
          f"{args.rounds} interleaved rounds, median round (min..max):")
    header = (f"{'jit':<4} {'variant':<28} {'images/s':>9} {'(min..max)':>13} "
              f"{'ms/step':>8} {'cpu ms/step':>11} {'ratio':>6} {'paired':>7} {'cpu':>6}")
    print(header)
    print("-" * len(header))
    for row in results:
        spread = f"({row['min_images_per_s']:.0f}..{row['max_images_per_s']:.0f})"
        print(f"{'on' if row['jit'] else 'off':<4} {row['variant']:<28} "
              f"{row['images_per_s']:>9.0f} {spread:>13} {row['ms_per_step']:>8.1f} "
              f"{row['cpu_ms_per_step']:>11.1f} {row['ratio']:>6.3f} "
              f"{row['paired_ratio']:>7.3f} {row['cpu_ratio']:>6.3f}")
    print("ratio: median images/s over the hand-written loop's. paired: median over rounds "
          "of the per-round ratio (same moment, same load). cpu: the same from this "
          "process's CPU time, which other processes on a shared machine disturb less.")


def _load():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
