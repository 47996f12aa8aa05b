"""Reproducible randomness: the global seed, latent vectors for sampling, per-replica draws.

What each seed controls:

- `set_seed(seed)` (a recipe's `seed:`) seeds Python's, NumPy's and
  TensorFlow's global generators: the networks' initial weights, dropout
  masks, `fit`'s shuffling of numpy arrays and a recipe's data order. Call it
  before building the networks.
- `GAN(..., seed=s)` (the same recipe `seed:`) seeds the training noise z and
  the fake labels, from a `keras.random.SeedGenerator` that checkpoints save,
  so a resumed run draws what the uninterrupted one would have.
- `generate(n, seed=s)` and `sample(n, latent_dim, seed)` draw the same noise
  for the same seed on any machine, in Python or in an exported SavedModel.
"""

import keras
import tensorflow as tf
from tensorflow.python.ops import gen_stateless_random_ops_v2

from kgan import validation


def set_seed(seed, deterministic=False):
    """Seeds every global random generator that training uses, so a run repeats exactly.

    Example:

    ```python
    kgan.set_seed(0)      # before building the networks
    generator = kgan.generator("dcgan", latent_dim=100, output_shape=(28, 28, 1))
    ...
    gan = kgan.GAN(generator, discriminator, latent_dim=100, seed=0)
    ```

    Args:
        seed: an integer.
        deterministic: also make TensorFlow's ops deterministic (bit-exact
            reruns on GPUs too; slower), as a recipe's `deterministic: true`.
    """
    keras.utils.set_random_seed(validation.integer(seed, "seed"))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def sample(num_samples, latent_dim, seed):
    """Returns `[num_samples, latent_dim]` float32 noise from N(0, I).

    A stateless draw: the same `(num_samples, latent_dim, seed)` always gives
    the same noise, on any device, in Python or inside a SavedModel.
    """
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.random.stateless_normal(
        tf.stack([tf.cast(num_samples, tf.int32), tf.cast(latent_dim, tf.int32)]),
        seed=seed,
        dtype=tf.float32,
    )


def sample_rows(start, stop, latent_dim, seed):
    """Rows `start` to `stop` of `sample(n, latent_dim, seed)` (any n >= stop), drawn alone.

    The draw fills its tensor in order from a counter-based (Philox)
    generator, so the rows of a huge draw can be made a batch at a time, in
    memory that does not grow with n: the counter skips the values of the
    rows before `start`.
    """
    if not 0 <= start <= stop:
        raise ValueError(f"sample_rows needs 0 <= start <= stop, got {start} and {stop}.")
    values_per_call = 4  # normals per Philox counter step
    first = start * latent_dim
    skipped = first % values_per_call
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    key, counter = gen_stateless_random_ops_v2.stateless_random_get_key_counter(seed)
    algorithm = gen_stateless_random_ops_v2.stateless_random_get_alg()
    counter += tf.constant([first // values_per_call, 0], tf.uint64)
    count = (stop - start) * latent_dim + skipped
    flat = gen_stateless_random_ops_v2.stateless_random_normal_v2(
        [count], key=key, counter=counter, alg=algorithm, dtype=tf.float32
    )
    return tf.reshape(flat[skipped:], [stop - start, latent_dim])


def replica_slice(draw, rows_per_replica):
    """This replica's rows of a draw made for the whole global batch.

    `draw(global_rows)` must return a tensor with `global_rows` rows that is
    the same on every replica (a draw from a shared `SeedGenerator` is). Each
    replica keeps its own consecutive slice, so a training step sees the same
    random numbers on one device as on several, and a run is reproducible
    whatever the number of replicas.

    Example:

    ```python
    z = replica_slice(
        lambda rows: keras.random.normal((rows, 64), seed=seed_generator), m
    )
    ```
    """
    replica = tf.distribute.get_replica_context()
    num_replicas = replica.num_replicas_in_sync if replica is not None else 1
    if num_replicas == 1:
        return draw(rows_per_replica)
    start = replica.replica_id_in_sync_group * rows_per_replica
    return draw(rows_per_replica * num_replicas)[start : start + rows_per_replica]
