"""Reproducible latent noise, shared by `GAN.generate`, sampling and export."""

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
