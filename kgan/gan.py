"""`GAN`: Algorithm 1 of Goodfellow et al. (2014) as a `keras.Model`."""

import numbers

import keras
import tensorflow as tf

from kgan import errors
from kgan import latent
from kgan import losses as losses_lib


@keras.saving.register_keras_serializable(package="kgan")
class GAN(keras.Model):
    """A generative adversarial network trained by minibatch SGD, as in the paper.

    Each `train_step` is one iteration of Algorithm 1:

    1. `d_steps` (k) times: draw a fresh minibatch of m real examples and m
       fresh noise vectors, and update the discriminator alone;
    2. draw m fresh noise vectors and update the generator alone.

    How k real minibatches reach one step: every batch that `fit` hands to
    `train_step` holds all k minibatches, and minibatch i is rows i, i+k,
    i+2k, ... of it. With numpy arrays `GAN.fit(x, batch_size=m)` keeps
    `batch_size` the minibatch size m and feeds k*m rows per step for you; a
    `tf.data.Dataset` should be batched by k*m (`kgan.data.batch` does that).
    The strided split gives the same minibatches on any number of replicas.
    A batch of n rows that k does not divide (the last, partial batch of an
    epoch) gives k minibatches of n // k rows and leaves the other rows out;
    a batch of fewer than k rows gives one-row minibatches that share rows.

    Only the network being updated changes in each phase: the generator's
    weights are fixed during the discriminator updates, and the
    discriminator's during the generator update. (Both networks run in
    training mode throughout, so batch-norm layers normalise with batch
    statistics and update their moving averages, as in the DCGAN paper.)

    Example:

    ```python
    generator = kgan.generator("dcgan", latent_dim=100, output_shape=(28, 28, 1))
    discriminator = kgan.discriminator("dcgan", input_shape=(28, 28, 1))
    gan = kgan.GAN(generator, discriminator, latent_dim=100, d_steps=1)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss="non_saturating")
    gan.fit(images, batch_size=64, epochs=5)
    samples = gan.generate(16, seed=0)
    ```

    Args:
        generator: a built `keras.Model` from `[batch, latent_dim]` to samples.
        discriminator: a built `keras.Model` from samples to `[batch, 1]` logits.
        latent_dim: size of the noise vector z ~ N(0, I).
        d_steps: k, discriminator updates per generator update (k >= 1).
        seed: seed of the training noise; None draws one at random.
    """

    def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(d_steps) or d_steps < 1:
            raise errors.KganError(
                f"d_steps (k, discriminator updates per generator update) must be an "
                f"integer >= 1, got {d_steps!r}. Algorithm 1 of the paper uses k = 1."
            )
        if not _is_int(latent_dim) or latent_dim < 1:
            raise errors.KganError(
                f"latent_dim (size of the noise vector z) must be an integer >= 1, "
                f"got {latent_dim!r}."
            )
        if seed is not None and not _is_int(seed):
            raise errors.KganError(f"seed must be an integer or None, got {seed!r}.")
        for role, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, keras.Model):
                raise errors.KganError(
                    f"The {role} must be a keras.Model, got {type(network).__name__}. "
                    f"Build one with kgan.{role}(name, ...) or keras.Model(inputs, outputs)."
                )
        latent_dim, d_steps = int(latent_dim), int(d_steps)
        seed = None if seed is None else int(seed)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.d_steps = d_steps
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        # Evaluation draws its own noise, so that `evaluate` (or validation
        # during `fit`) does not shift the training noise of later steps.
        self.eval_seed_generator = keras.random.SeedGenerator(
            None if seed is None else seed + 1, name="eval_noise_seed"
        )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_score_tracker = keras.metrics.Mean(name="real_score")
        self.fake_score_tracker = keras.metrics.Mean(name="fake_score")
        self.build()

    def build(self, input_shape=None):
        if not self.generator.built:
            self.generator.build((None, self.latent_dim))
        if not self.discriminator.built:
            self.discriminator.build(self.generator.output_shape)
        _check_shapes(self.generator, self.discriminator, self.latent_dim)
        self.built = True

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", **kwargs):
        """Configures training.

        Args:
            d_optimizer: optimizer of the discriminator (an instance, a name or
                a config dict, as `keras.optimizers.get` takes).
            g_optimizer: optimizer of the generator.
            loss: a registered loss name, `{"name": ..., **params}`, or a
                `kgan.GANLoss` instance.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...).
        """
        for key in ("optimizer", "metrics", "loss_weights"):
            if key in kwargs:
                raise errors.KganError(
                    f"GAN.compile() does not take `{key}`: give d_optimizer and "
                    "g_optimizer, and a GAN loss by name as `loss`."
                )
        if d_optimizer is g_optimizer and isinstance(d_optimizer, keras.optimizers.Optimizer):
            raise errors.KganError(
                "d_optimizer and g_optimizer are the same optimizer object; each "
                "network needs its own (its own moments and step count). Pass two "
                "instances, e.g. keras.optimizers.Adam(2e-4, beta_1=0.5) twice."
            )
        loss_fn = losses_lib.get_loss(loss)
        d_optimizer = _optimizer(d_optimizer, "d_optimizer")
        g_optimizer = _optimizer(g_optimizer, "g_optimizer")
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.real_score_tracker,
            self.fake_score_tracker,
        ]

    def call(self, z, training=False):
        """Runs the generator on latent vectors `z`."""
        return self.generator(z, training=training)

    def generate(self, num_samples, seed=0, batch_size=256):
        """Draws `num_samples` samples; the same seed gives the same samples.

        The noise comes from `kgan.latent.sample(num_samples, latent_dim, seed)`,
        the same stateless draw that an exported SavedModel makes.

        Returns:
            A numpy array of generator outputs (images in [-1, 1]).
        """
        if not _is_int(num_samples) or num_samples < 1:
            raise errors.KganError(
                f"generate() needs num_samples >= 1 (an integer), got {num_samples!r}."
            )
        if not _is_int(seed):
            raise errors.KganError(f"generate() needs an integer seed, got {seed!r}.")
        z = latent.sample(num_samples, self.latent_dim, seed)
        return self.generator.predict(z, batch_size=batch_size, verbose=0)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.fit`, with `batch_size` meaning the minibatch size m.

        For array inputs each step takes k * m rows (k = `d_steps`), so that
        each of the k discriminator updates sees its own m real examples.
        """
        if x is not None and not _is_dataset_like(x):
            batch_size = (32 if batch_size is None else batch_size) * self.d_steps
        elif _is_dataset_like(x):
            # A dataset is shuffled by its own pipeline; Keras would only warn.
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def train_step(self, data):
        real_minibatches = _minibatches(_features(data), self.d_steps)
        m = tf.shape(real_minibatches[0])[0]
        replica = tf.distribute.get_replica_context()
        num_replicas = replica.num_replicas_in_sync if replica else 1
        # Gradients are summed over replicas, so each replica's mean is scaled
        # to make the update that of the mean over the global batch.
        loss_scale = 1.0 / num_replicas

        for real_batch in real_minibatches:
            fake = self.generator(self._noise(m), training=True)
            with tf.GradientTape() as tape:
                real_logits = self.discriminator(real_batch, training=True)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = tf.reduce_mean(
                    self.loss_fn.discriminator_loss(real_logits, fake_logits)
                )
                penalty = self.loss_fn.discriminator_penalty(
                    self.discriminator, real_batch, fake, self.seed_generator
                )
                if penalty is not None:
                    d_loss += penalty
                scaled_d_loss = d_loss * loss_scale
            d_vars = self.discriminator.trainable_variables
            if d_vars:
                d_grads = tape.gradient(scaled_d_loss, d_vars)
                self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
            self.loss_fn.after_discriminator_step(self.discriminator)
            self.d_loss_tracker.update_state(d_loss)
            self.real_score_tracker.update_state(self.loss_fn.score(real_logits))
            self.fake_score_tracker.update_state(self.loss_fn.score(fake_logits))

        z = self._noise(m)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(self.loss_fn.generator_loss(fake_logits))
            scaled_g_loss = g_loss * loss_scale
        g_vars = self.generator.trainable_variables
        # A frozen generator (no trainable weights) trains D alone against a
        # fixed p_g, as in Proposition 1; Keras optimizers reject empty updates.
        if g_vars:
            g_grads = tape.gradient(scaled_g_loss, g_vars)
            self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        self.g_loss_tracker.update_state(g_loss)
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        real = _features(data)
        z = self._noise(tf.shape(real)[0], self.eval_seed_generator)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(self.generator(z, training=False), training=False)
        self.d_loss_tracker.update_state(
            tf.reduce_mean(self.loss_fn.discriminator_loss(real_logits, fake_logits))
        )
        self.g_loss_tracker.update_state(
            tf.reduce_mean(self.loss_fn.generator_loss(fake_logits))
        )
        self.real_score_tracker.update_state(self.loss_fn.score(real_logits))
        self.fake_score_tracker.update_state(self.loss_fn.score(fake_logits))
        return {metric.name: metric.result() for metric in self.metrics}

    def _noise(self, m, seed_generator=None):
        """m fresh noise vectors for this replica: its slice of the global batch's draw."""
        seed_generator = seed_generator or self.seed_generator
        return latent.replica_slice(
            lambda rows: keras.random.normal((rows, self.latent_dim), seed=seed_generator),
            m,
        )

    def save_own_variables(self, store):
        # A `SeedGenerator`'s state is not among a layer's saved variables; it
        # is saved here so that a loaded model draws the noise that the
        # uninterrupted run would have drawn.
        super().save_own_variables(store)
        store[_NOISE_SEED_KEY] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        keys = [key for key in store.keys() if key != _NOISE_SEED_KEY]
        super().load_own_variables({key: store[key] for key in keys})
        if _NOISE_SEED_KEY in store.keys():
            self.seed_generator.state.assign(store[_NOISE_SEED_KEY])

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
            d_steps=self.d_steps,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"]
        )
        return cls(**config)

    def get_build_config(self):
        return {"input_shape": (None, self.latent_dim)}

    def build_from_config(self, config):
        self.build()

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "loss_fn"):
            return None
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "loss": losses_lib.serialize_loss(self.loss_fn),
            "jit_compile": self.jit_compile,
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        self.compile(**config)
        # Optimizer slots must exist before `load_model` restores their values.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)


_NOISE_SEED_KEY = "noise_seed_state"


def _minibatches(real, k):
    """The k real minibatches of a step: minibatch i is rows i, i+k, i+2k, ..."""
    if k == 1:
        return [real]
    n = tf.shape(real)[0]
    m = tf.maximum(n // k, 1)
    rows = tf.range(m) * k
    # `% n` only matters for a batch of fewer than k rows (m = 1).
    return [tf.gather(real, (rows + i) % n) for i in range(k)]


def _check_shapes(generator, discriminator, latent_dim):
    try:
        g_in = tuple(generator.input_shape)
        g_out = tuple(generator.output_shape)
        d_in = tuple(discriminator.input_shape)
        d_out = tuple(discriminator.output_shape)
    except (AttributeError, ValueError, TypeError):
        return  # A subclassed model without static shapes: nothing to check.
    if len(g_in) != 2 or g_in[-1] not in (None, latent_dim):
        raise errors.KganError(
            f"The generator takes inputs of shape {g_in}, but latent_dim is "
            f"{latent_dim}: it must take noise of shape (batch, {latent_dim}). Build "
            "the generator and the GAN with the same latent_dim."
        )
    if not _compatible(g_out[1:], d_in[1:]):
        raise errors.KganError(
            f"The generator makes samples of shape {g_out[1:]} but the discriminator "
            f"takes {d_in[1:]}. Build both for the same sample shape (the data's)."
        )
    if d_out[1:] not in ((1,), (), (None,)):
        raise errors.KganError(
            f"The discriminator must output one logit per example (shape (batch, 1)), "
            f"but it outputs {d_out}. End it with keras.layers.Dense(1) and no activation."
        )


def _compatible(shape_a, shape_b):
    return len(shape_a) == len(shape_b) and all(
        a is None or b is None or a == b for a, b in zip(shape_a, shape_b)
    )


def _optimizer(spec, role):
    try:
        return keras.optimizers.get(spec)
    except (ValueError, TypeError) as exc:
        raise errors.KganError(
            f"{role}={spec!r} is not an optimizer ({exc}). Give a keras optimizer "
            'instance, a name such as "adam", or a config dict.'
        ) from exc


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _features(data):
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return x


def _is_dataset_like(x):
    return isinstance(x, tf.data.Dataset) or (
        x is not None and not hasattr(x, "shape") and not isinstance(x, (list, tuple, dict))
    )
