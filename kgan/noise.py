"""Reproducible noise: latent vectors for sampling, and per-replica training draws."""

import tensorflow as tf


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
