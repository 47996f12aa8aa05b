"""Datasets as plugins, and the input pipeline that feeds `GAN.fit`.

A dataset plugin is a function of keyword parameters that returns a
`DataSource`: an unbatched `tf.data.Dataset` of `(x, y)` pairs plus what a
trainer needs to know about it. `pipeline` turns a source into the endless,
shuffled, batched stream that training consumes, and can restart that stream
at any step for exact resumption.

Example:

```python
@kgan.register_dataset("uniform2d")
def uniform2d(num_examples=10_000, seed=0):
    '''Points uniform in the square [-1, 1]^2.'''
    x = np.random.default_rng(seed).uniform(-1, 1, (num_examples, 2))
    dataset = tf.data.Dataset.from_tensor_slices(
        (x.astype("float32"), np.full(num_examples, -1, "int32")))
    return kgan.data.DataSource(dataset, sample_shape=(2,),
                                num_examples=num_examples, name="uniform2d")

source = kgan.data.load({"name": "ring2d", "std": 0.05}, seed=0)
dataset, steps_per_epoch = kgan.data.pipeline(source, batch_size=64, d_steps=1, seed=0)
gan.fit(dataset, steps_per_epoch=steps_per_epoch, epochs=10)
```

A plugin that takes a `seed` parameter receives the recipe's seed from `load`
(unless `data.seed` sets its own), so generated data is reproducible.
"""

import collections.abc
import dataclasses
import inspect
import math
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from kgan import errors
from kgan import registry
from kgan import repeatable
from kgan import validation
from kgan.registry import Registry

DATASETS = Registry("dataset")

MAX_IN_MEMORY_BYTES = 2**30
"""Sources up to this size (as float32) are held in memory and shuffled whole."""

SHUFFLE_BUFFER = 10_000
"""Shuffle buffer of sources too large for memory."""

_NUM_EPOCHS = 2**62  # "endless": an epoch counter no run will reach.


def register_dataset(name=None, *, description=None):
    """Decorator that registers a dataset plugin (a function returning a `DataSource`).

    Example:

    ```python
    @kgan.register_dataset("my_faces")
    def my_faces(path, image_size=64):
        '''Face crops from my camera.'''
        return kgan.DATASETS.get("images")(path=path, image_size=image_size)
    ```
    """
    return DATASETS.register(name, description=description)


@dataclasses.dataclass
class DataSource:
    """A dataset before batching, with what training needs to know about it.

    Attributes:
        dataset: an unbatched `tf.data.Dataset` of `(x, y)` pairs: `x` float32
            (images scaled to [-1, 1], toy vectors in their natural units),
            `y` an int32 class label, or -1 where there is none.
        sample_shape: shape of one `x`, e.g. `(28, 28, 1)` or `(2,)`.
        num_examples: number of pairs, or None if unknown or endless.
        num_classes: number of label classes, or None without labels.
        name: a short description for logs, e.g. `"tfds:mnist/train"`.
        modes: toy distributions: the mixture's mode centres, `[num_modes, dim]`.
        std: toy distributions: the standard deviation of each mode.
        log_density: toy distributions: a numpy function from `[n, dim]`
            samples to their `[n]` log densities under the true distribution.
        class_names: names of the label classes, where known.
        notes: what the plugin wants the user told (e.g. files it skipped);
            `kgan train` prints them as warnings.
    """

    dataset: tf.data.Dataset
    sample_shape: tuple
    num_examples: Optional[int]
    num_classes: Optional[int] = None
    name: str = "dataset"
    modes: Optional[np.ndarray] = None
    std: Optional[float] = None
    log_density: Optional[Callable[[np.ndarray], np.ndarray]] = None
    class_names: Optional[tuple] = None
    notes: tuple = ()


def parameters(name):
    """Parameter names of dataset plugin `name`, in signature order."""
    return registry.keyword_parameters(DATASETS.get(name))


def load(config, seed=0):
    """Builds the `DataSource` that a recipe's `data:` section describes.

    Args:
        config: `{"name": <registered dataset>, **params}`, or just a name.
        seed: the run's seed, given to plugins that take a `seed` parameter
            and whose `data:` section does not set one.

    Returns:
        The plugin's `DataSource`.

    Raises:
        KganError: naming the `data.<key>` at fault and how to fix it.
    """
    entry, params = check_config(config)
    name, plugin = entry.name, entry.obj
    if "seed" in parameters(name) and "seed" not in params:
        params["seed"] = seed
    try:
        source = plugin(**params)
    except errors.KganError:
        raise
    except Exception as exc:  # A plugin's own failure, reported without a traceback.
        raise errors.KganError(
            f'Dataset "{name}" ({entry.origin}, {entry.location}) failed with '
            f"{type(exc).__name__}: {exc}. Check the `data.*` parameters "
            f"({_format_params(params)})."
        ) from exc
    if not isinstance(source, DataSource):
        raise errors.KganError(
            f'Dataset plugin "{name}" ({entry.location}) returned a '
            f"{type(source).__name__}, not a kgan.data.DataSource. Make it return "
            "DataSource(dataset, sample_shape, num_examples, ...)."
        )
    return source


def arrays(source, limit=None):
    """`(x, y)` numpy arrays of a `DataSource`'s first `limit` examples (all if None)."""
    dataset = source.dataset if limit is None else source.dataset.take(limit)
    x, y = [], []
    for x_batch, y_batch in dataset.batch(4096).prefetch(tf.data.AUTOTUNE):
        x.append(x_batch.numpy())
        y.append(y_batch.numpy())
    return np.concatenate(x), np.concatenate(y)


def check_config(config):
    """Checks a `data:` section without loading anything: `(registry entry, parameters)`.

    Raises:
        KganError: for a missing or unknown name, an unknown parameter or a
            missing required one, naming the `data.<key>`.
    """
    if isinstance(config, str):
        config = {"name": config}
    if not isinstance(config, collections.abc.Mapping):
        raise errors.KganError(
            f"`data` must be a mapping such as {{name: tfds, dataset: mnist}}, got "
            f"{config!r}. Known datasets: {', '.join(DATASETS.names())}."
        )
    params = dict(config)
    name = params.pop("name", None)
    if name is None:
        raise errors.KganError(
            "`data.name` is missing: name a dataset, e.g. `data: {name: tfds, dataset: "
            f"mnist}}`. Known datasets: {', '.join(DATASETS.names())}."
        )
    try:
        entry = DATASETS.entry(name)
    except errors.UnknownPluginError as exc:
        raise errors.UnknownPluginError(f"data.name: {exc}") from None
    known = parameters(name)
    if not registry.takes_any_keyword(entry.obj):
        registry.reject_unknown(params, known, f'data.{{key}}: dataset "{name}"')
    missing = [
        p.name
        for p in inspect.signature(entry.obj).parameters.values()
        if p.default is p.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        and p.name not in params
    ]
    if missing:
        raise errors.PluginParameterError(
            f'data.{missing[0]} is required by dataset "{name}" '
            f"({entry.description.rstrip('.')}). "
            f"Its parameters: {', '.join(known)}."
        )
    return entry, params


def is_path_parameter(name, value):
    """Whether a dataset parameter names a file or folder (relative ones follow the recipe).

    By convention: `path`, `data_dir`, names ending in `_path`, `_dir` or
    `_file`, and a `labels` that is a `.npy` file.
    """
    if not isinstance(value, str):
        return False
    return (name in ("path", "data_dir") or name.endswith(("_path", "_dir", "_file"))
            or (name == "labels" and value.endswith(".npy")))


def pipeline(
    source,
    batch_size,
    d_steps,
    seed,
    start_step=0,
    steps_per_epoch=None,
    *,
    in_memory=None,
    shuffle_buffer=SHUFFLE_BUFFER,
):
    """The endless, shuffled, batched and prefetched stream that training consumes.

    Each element is one training step: `(x, y)` with `batch_size * d_steps`
    rows (k*m), whole batches only. The data are shuffled afresh every pass
    ("data epoch"), each with a seed derived from `(seed, epoch)`, so the
    sequence of batches depends only on `(source, batch_size, d_steps, seed)`;
    `start_step=s` yields exactly the batches from position s of that
    sequence, skipping whole passes arithmetically (which is what makes
    kill-and-resume exact). Sources that fit in memory are read once and then
    shuffled by stateless permutation; larger ones stream through a shuffle
    buffer (and then their order also depends on TensorFlow's global seed,
    which `keras.utils.set_random_seed` sets).

    Args:
        source: a `DataSource`.
        batch_size: m, the minibatch size of each discriminator update.
        d_steps: k, discriminator updates per step.
        seed: integer seed of the shuffling.
        start_step: global step at which to start the sequence.
        steps_per_epoch: the steps of a Keras epoch; defaults to one pass,
            `num_examples // (k*m)`. It does not change the batch sequence.
        in_memory: hold the source in memory; None decides by its size
            (up to `MAX_IN_MEMORY_BYTES`, which MNIST and CIFAR-10 fit).
        shuffle_buffer: shuffle buffer size when streaming.

    Returns:
        `(dataset, steps_per_epoch)`.
    """
    batch_size = validation.batch_size(batch_size)
    d_steps = validation.d_steps(d_steps)
    seed = validation.integer(seed, "seed")
    start_step = validation.integer(start_step, "start_step", minimum=0)
    if steps_per_epoch is not None:
        steps_per_epoch = validation.integer(steps_per_epoch, "train.steps_per_epoch", minimum=1)
    if not isinstance(source, DataSource):
        raise errors.KganError(
            f"pipeline() needs a kgan.data.DataSource, got {type(source).__name__}. "
            "Build one with kgan.data.load({...}) or a dataset plugin."
        )
    rows = batch_size * d_steps
    num_examples = _count(source)
    if num_examples is None:
        return _endless_source_pipeline(source, rows, seed, start_step, steps_per_epoch,
                                        shuffle_buffer)
    if in_memory is None:
        in_memory = _fits_in_memory(source, num_examples)
    if in_memory:
        x, y = _read_all(source, num_examples)
        num_examples = len(x)
    batches_per_pass = num_examples // rows
    if batches_per_pass < 1:
        raise errors.KganError(
            f"Dataset {source.name} has {num_examples} examples, fewer than one training "
            f"step takes (train.batch_size {batch_size} x train.d_steps {d_steps} = "
            f"{rows}). Lower train.batch_size or use more data."
        )
    first_epoch, skip = divmod(start_step, batches_per_pass)
    epochs = tf.data.Dataset.range(first_epoch, _NUM_EPOCHS)
    if in_memory:
        x, y = tf.constant(x), tf.constant(y)

        def epoch_indices(epoch):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(num_examples, dtype=tf.int64), seed=_epoch_seed(seed, epoch)
            )
            order = tf.reshape(order[: batches_per_pass * rows], (batches_per_pass, rows))
            return tf.data.Dataset.from_tensor_slices(order)

        dataset = (
            epochs.flat_map(epoch_indices)
            .skip(skip)
            # One gather a batch, in well under a millisecond: a parallel map gains
            # nothing, and under op determinism TensorFlow rewrites one and
            # complains on stderr about an attribute its own build lacks.
            .map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
        )
    else:
        buffer = validation.integer(shuffle_buffer, "shuffle_buffer", minimum=1)

        def epoch_batches(epoch):
            # The shuffle's seed pair is (graph seed, op seed). Clearing this traced
            # function's graph seed makes the order depend on `seed` alone, not on a
            # global seed the caller may have set (and a global seed of 0 made
            # TensorFlow compare the tensor op seed with 0 in Python, which fails).
            tf.compat.v1.get_default_graph().seed = None
            shuffle_seed = tf.random.stateless_uniform(
                (), seed=_epoch_seed(seed, epoch), minval=None, maxval=None, dtype=tf.int64
            )
            return (
                source.dataset.shuffle(buffer, seed=shuffle_seed)
                .batch(rows, drop_remainder=True)
                .take(batches_per_pass)
            )

        dataset = epochs.flat_map(epoch_batches).skip(skip)
    return _endless(dataset), steps_per_epoch or batches_per_pass


def batch(dataset, batch_size, d_steps=1):
    """Batches an unbatched dataset of your own by k*m, as `GAN.fit` expects.

    Example:

    ```python
    ds = tf.data.Dataset.from_tensor_slices(images).shuffle(10_000)
    gan.fit(kgan.data.batch(ds, batch_size=64, d_steps=gan.d_steps), epochs=5)
    ```

    Returns:
        `dataset.batch(batch_size * d_steps, drop_remainder=True)`.
    """
    batch_size = validation.batch_size(batch_size)
    d_steps = validation.d_steps(d_steps)
    return dataset.batch(batch_size * d_steps, drop_remainder=True)


def scale_images(images):
    """Maps pixel values 0..255 to float32 in [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def resize_images(images, image_size):
    """Resizes images (values in [-1, 1]) to `image_size` without overshooting."""
    resized = tf.image.resize(images, image_size, method="bilinear", antialias=True)
    return tf.clip_by_value(resized, -1.0, 1.0)


def _epoch_seed(seed, epoch):
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])


def _count(source):
    if source.num_examples is not None:
        return int(source.num_examples)
    cardinality = int(source.dataset.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        return None
    if cardinality >= 0:
        return cardinality
    return int(source.dataset.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))


def _fits_in_memory(source, num_examples):
    if any(d is None for d in source.sample_shape):
        return False
    return num_examples * (math.prod(source.sample_shape) + 1) * 4 <= MAX_IN_MEMORY_BYTES


def _read_all(source, num_examples):
    x = np.empty((num_examples, *source.sample_shape), np.float32)
    y = np.empty((num_examples,), np.int32)
    filled = 0
    for x_batch, y_batch in source.dataset.batch(4096).prefetch(tf.data.AUTOTUNE):
        n = min(len(x_batch), num_examples - filled)
        x[filled:filled + n] = x_batch[:n]
        y[filled:filled + n] = y_batch[:n]
        filled += n
        if filled == num_examples:
            break
    return x[:filled], y[:filled]


def _endless_source_pipeline(source, rows, seed, start_step, steps_per_epoch, buffer):
    if steps_per_epoch is None:
        raise errors.KganError(
            f"Dataset {source.name} is endless, so an epoch has no natural length: set "
            "train.steps_per_epoch."
        )
    dataset = (
        source.dataset.shuffle(validation.integer(buffer, "shuffle_buffer", minimum=1), seed=seed)
        .batch(rows, drop_remainder=True)
        .skip(start_step)
    )
    return _endless(dataset), steps_per_epoch


def _endless(dataset):
    # flat_map hides the cardinality; declare it so Keras knows the stream never ends.
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))
    # Each worker of a multi-worker run reads this same stream and keeps its
    # share of every global batch; sharding by file would give the workers
    # different batches.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # tf.data's autotuner runs a thread that wakes on a doubling period (10 ms,
    # 20 ms, ... 10 s). While a step keeps the CPU busy, an iterator made by
    # `fit` then outlives `fit` by up to ~10 s. A step's batch is ready in well
    # under a millisecond, so fixed parallelism (all cores) loses nothing.
    options.autotune.enabled = False
    # On TensorFlow's own threads: kgan.repeatable says why.
    return repeatable.with_repeatable_threads(
        dataset.prefetch(tf.data.AUTOTUNE).with_options(options))


def _format_params(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none given"

