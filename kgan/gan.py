"""`GAN`: Algorithm 1 of Goodfellow et al. (2014) as a `keras.Model`."""

import numbers

import keras
import numpy as np
import tensorflow as tf

from kgan import distribute
from kgan import errors
from kgan import latent
from kgan import losses as losses_lib
from kgan import regularizers as regularizers_lib


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

    Conditional GANs (`num_classes=N`) train on `(x, y)` data with integer
    labels: the generator takes `[z, labels]`; the discriminator takes
    `[x, labels]` when it has two inputs (a conditional GAN), and when it has
    two outputs, `[logits, class_logits]`, its auxiliary classifier is trained
    on real and fake labels as in AC-GAN. Fake labels are drawn uniformly.

    Args:
        generator: a built `keras.Model` from `[batch, latent_dim]` noise (and
            `[batch]` int labels when conditional) to samples.
        discriminator: a built `keras.Model` from samples to `[batch, 1]`
            logits; None for a direct (non-adversarial) loss such as `mmd`.
        latent_dim: size of the noise vector z ~ N(0, I).
        d_steps: k, discriminator updates per generator update (k >= 1).
        seed: seed of the training noise; None draws one at random.
        num_classes: number of classes of a conditional GAN; None otherwise.
        ema_decay: keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.999) in `ema_generator`; sampling,
            evaluation and export then use it (`sampler`). None: no average.
        reuse_fakes: the generator update reuses the noise and the generator
            forward pass of the last discriminator update instead of a fresh
            draw (as PyTorch's DCGAN example does); saves one generator forward
            pass per step. False samples fresh noise for G, literally as in
            Algorithm 1.
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        d_steps=1,
        seed=None,
        *,
        num_classes=None,
        ema_decay=None,
        reuse_fakes=False,
        **kwargs,
    ):
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
        if num_classes is not None and (not _is_int(num_classes) or num_classes < 2):
            raise errors.KganError(
                f"num_classes (classes of a conditional GAN) must be an integer >= 2 or "
                f"None, got {num_classes!r}."
            )
        if ema_decay is not None and not (
            isinstance(ema_decay, numbers.Real) and 0.0 < ema_decay < 1.0
        ):
            raise errors.KganError(
                f"ema_decay must be a number in (0, 1), e.g. 0.999, or None; got "
                f"{ema_decay!r}."
            )
        for role, network in (("generator", generator), ("discriminator", discriminator)):
            if network is None and role == "discriminator":
                continue  # a direct loss; compile() checks that the loss is one
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
        self.num_classes = None if num_classes is None else int(num_classes)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.reuse_fakes = bool(reuse_fakes)
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
        self.regularizers = []
        self.class_loss_weight = 1.0
        self.class_loss_on_fakes = True
        self.ema_generator = None if self.ema_decay is None else _clone(generator)
        self.build()

    def build(self, input_shape=None):
        if not self.generator.built and self.num_classes is None:
            self.generator.build((None, self.latent_dim))
        if self.discriminator is not None and not self.discriminator.built:
            self.discriminator.build(self.generator.output_shape)
        self._d_takes_labels, self._d_has_classes = _check_shapes(
            self.generator, self.discriminator, self.latent_dim, self.num_classes
        )
        # One D call on [real; fake] gives the same numbers as two for a D
        # without batch statistics, and on a 2-core CPU at batch 256 its speed
        # was the same within the noise (bin/benchmark_step.py: two calls 4-7%
        # faster in three runs, the fused call 2-3% faster in a fourth), so the
        # D update makes two, the plain path. The benchmark's -fused variants
        # measure it on other devices.
        self._can_fuse_d_calls = self.discriminator is not None and not _batch_dependent(
            self.discriminator
        )
        self._fuse_d_calls = False
        self.built = True

    @property
    def sampler(self):
        """The generator that draws samples: the weight average if kept, else `generator`."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def compile(
        self,
        d_optimizer,
        g_optimizer,
        loss="non_saturating",
        regularizers=(),
        class_loss_weight=1.0,
        class_loss_on_fakes=True,
        **kwargs,
    ):
        """Configures training.

        Args:
            d_optimizer: optimizer of the discriminator (an instance, a name or
                a config dict, as `keras.optimizers.get` takes); ignored (may
                be None) for a direct loss, which has no discriminator.
            g_optimizer: optimizer of the generator.
            loss: a registered loss name, `{"name": ..., **params}`, or a
                `kgan.GANLoss` instance.
            regularizers: registered regularizer names, `{"name": ...,
                **params}` dicts or `kgan.Regularizer` instances, applied in
                order (`kgan plugins` lists them).
            class_loss_weight: weight of AC-GAN's auxiliary classification
                loss (a discriminator with a class output).
            class_loss_on_fakes: AC-GAN's D learns to classify fakes by their
                drawn label too, as in the paper. False trains D's classifier on
                real data alone (twice the weight, the same total), as Keras'
                mnist_acgan example does: D then cannot settle on G's mistakes.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...). A `LossScaleOptimizer` (mixed
                float16) scales both losses.
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
        if loss_fn.adversarial and self.discriminator is None:
            raise errors.KganError(
                f'The loss "{loss_fn.name}" is adversarial and needs a discriminator, but '
                "the GAN has none. Give it a discriminator, or use a direct loss such as "
                '"mmd" (a generative moment-matching network).'
            )
        if not loss_fn.adversarial and self.discriminator is not None:
            raise errors.KganError(
                f'The loss "{loss_fn.name}" is direct (no discriminator), but the GAN has '
                "a discriminator. Build the GAN with discriminator=None (in a recipe: "
                "`model.discriminator: null`)."
            )
        regularizers = [regularizers_lib.get_regularizer(r) for r in regularizers or ()]
        for regularizer in regularizers:
            if self.discriminator is None:
                raise errors.KganError(
                    f'The regularizer "{regularizer.name}" acts on the discriminator, but '
                    f'the direct loss "{loss_fn.name}" has none. Remove it.'
                )
            regularizer.check(loss_fn)
        if not isinstance(class_loss_weight, numbers.Real) or class_loss_weight < 0:
            raise errors.KganError(
                f"class_loss_weight must be a number >= 0, got {class_loss_weight!r}."
            )
        if self.discriminator is not None:
            d_optimizer = _optimizer(d_optimizer, "d_optimizer")
        g_optimizer = _optimizer(g_optimizer, "g_optimizer")
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer if self.discriminator is not None else None
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.regularizers = regularizers
        self.class_loss_weight = float(class_loss_weight)
        self.class_loss_on_fakes = bool(class_loss_on_fakes)
        # Optimizer slots are made now, in the model's strategy scope: made
        # lazily inside a replica's step (Adam's moments), they fail to build.
        with self.distribute_strategy.scope():
            for optimizer, network in (
                (self.d_optimizer, self.discriminator),
                (self.g_optimizer, self.generator),
            ):
                if optimizer is not None and not optimizer.built:
                    optimizer.build(network.trainable_variables)

    @property
    def metrics(self):
        if self.discriminator is None:
            return [self.g_loss_tracker]
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.real_score_tracker,
            self.fake_score_tracker,
        ]

    def call(self, z, labels=None, training=False):
        """Runs the generator on latent vectors `z` (and `labels`, when conditional)."""
        return self.generator(self._generator_inputs(z, labels), training=training)

    def generate(self, num_samples, seed=0, batch_size=256, labels=None):
        """Draws `num_samples` samples with `sampler`; the same seed gives the same samples.

        The noise comes from `kgan.latent.sample(num_samples, latent_dim, seed)`,
        the same stateless draw that an exported SavedModel makes.

        Args:
            num_samples: how many samples.
            seed: the noise seed.
            batch_size: generator batch size.
            labels: for a conditional GAN, one class for all samples or one
                per sample; None cycles through the classes 0, 1, ..., N-1.

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
        if self.num_classes is None:
            if labels is not None:
                raise errors.KganError(
                    "generate() got labels, but this GAN is not conditional (num_classes "
                    "is None). Train a conditional GAN (e.g. the cgan architecture) to "
                    "draw chosen classes."
                )
            inputs = z
        else:
            inputs = [z, self._sample_labels(num_samples, labels)]
        return self.sampler.predict(inputs, batch_size=batch_size, verbose=0)

    def _sample_labels(self, num_samples, labels):
        if labels is None:
            return np.arange(num_samples, dtype=np.int32) % self.num_classes
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full((num_samples,), labels)
        if (
            labels.shape != (num_samples,)
            or not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0
            or labels.max() >= self.num_classes
        ):
            raise errors.KganError(
                f"labels must be one integer class or {num_samples} of them, each in "
                f"[0, {self.num_classes}), got {labels.tolist()!r}."
            )
        return labels.astype(np.int32)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.fit`, with `batch_size` meaning the minibatch size m.

        For array inputs each step takes k * m rows (k = `d_steps`), so that
        each of the k discriminator updates sees its own m real examples.
        A conditional GAN takes the labels as `y`.
        """
        if x is not None and not _is_dataset_like(x):
            batch_size = (32 if batch_size is None else batch_size) * self.d_steps
        elif _is_dataset_like(x):
            # A dataset is shuffled by its own pipeline; Keras would only warn.
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # The GAN is built in __init__. Keras' symbolic build would average a
        # data batch across workers first, which fails for (x, y) batches
        # under MultiWorkerMirroredStrategy.
        if not distribute.in_multi_worker_mode(self.distribute_strategy):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def train_step(self, data):
        x, labels = self._unpack(data)
        replica = tf.distribute.get_replica_context()
        num_replicas = replica.num_replicas_in_sync if replica else 1
        # Gradients are summed over replicas, so each replica's mean is scaled
        # to make the update that of the mean over the global batch.
        loss_scale = 1.0 / num_replicas
        if self.discriminator is None:
            return self._direct_step(x, labels, loss_scale)

        real_minibatches = _minibatches(x, self.d_steps)
        label_minibatches = (
            [None] * self.d_steps if labels is None else _minibatches(labels, self.d_steps)
        )
        m = tf.shape(real_minibatches[0])[0]
        step = self.g_optimizer.iterations
        minibatches = list(zip(real_minibatches, label_minibatches))
        last = minibatches.pop() if self.reuse_fakes else None
        for real, real_labels in minibatches:
            z, fake_labels = self._noise(m), self._fake_labels(m)
            fake = self.generator(self._generator_inputs(z, fake_labels), training=True)
            self._discriminator_update(real, real_labels, fake, fake_labels, step, loss_scale)

        z, fake_labels = self._noise(m), self._fake_labels(m)
        with tf.GradientTape() as tape:
            fake = self.generator(self._generator_inputs(z, fake_labels), training=True)
            if last is not None:
                # The last D update uses this very forward pass (k-th fresh
                # noise draw), so G's update needs no second one.
                with tape.stop_recording():
                    self._discriminator_update(
                        last[0], last[1], tf.stop_gradient(fake), fake_labels, step,
                        loss_scale,
                    )
            fake_logits, fake_classes = self._discriminate(
                self._augment(fake, step), fake_labels
            )
            g_loss = tf.reduce_mean(self.loss_fn.generator_loss(fake_logits))
            if fake_classes is not None:
                g_loss += self.class_loss_weight * _class_loss(fake_labels, fake_classes)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss * loss_scale)
        self._apply(tape, scaled_g_loss, self.generator, self.g_optimizer)
        self._update_ema()
        self.g_loss_tracker.update_state(g_loss)
        return distribute.step_logs(self.metrics)

    def _discriminator_update(self, real, real_labels, fake, fake_labels, step, loss_scale):
        """One update of D on a real and a fake minibatch (fake carries no gradient)."""
        real = self._augment(real, step)
        fake = self._augment(fake, step)
        with tf.GradientTape() as tape:
            if self._fuse_d_calls:
                # One call on both halves (see build()).
                both_labels = (
                    None if real_labels is None else tf.concat([real_labels, fake_labels], 0)
                )
                # (A mixed-precision generator's samples are float16 or bfloat16.)
                both = tf.concat([real, tf.cast(fake, real.dtype)], 0)
                logits, classes = self._discriminate(both, both_labels)
                n = tf.shape(real)[0]
                real_logits, fake_logits = logits[:n], logits[n:]
                real_classes = None if classes is None else classes[:n]
                fake_classes = None if classes is None else classes[n:]
            else:
                real_logits, real_classes = self._discriminate(real, real_labels)
                fake_logits, fake_classes = self._discriminate(fake, fake_labels)
            d_loss = tf.reduce_mean(self.loss_fn.discriminator_loss(real_logits, fake_logits))
            if real_classes is not None:
                if self.class_loss_on_fakes:
                    class_loss = _class_loss(real_labels, real_classes) + _class_loss(
                        fake_labels, fake_classes
                    )
                else:
                    class_loss = 2.0 * _class_loss(real_labels, real_classes)
                d_loss += self.class_loss_weight * class_loss
            discriminator = _BoundDiscriminator(self, real_labels)
            penalty = self.loss_fn.discriminator_penalty(
                discriminator, real, fake, self.seed_generator
            )
            if penalty is not None:
                d_loss += penalty
            if self.regularizers:
                context = regularizers_lib.PenaltyContext(
                    discriminator=discriminator,
                    real=real,
                    fake=fake,
                    real_logits=real_logits,
                    fake_logits=fake_logits,
                    labels=real_labels,
                    seed_generator=self.seed_generator,
                    loss=self.loss_fn,
                    step=step,
                )
                for regularizer in self.regularizers:
                    penalty = regularizer.discriminator_penalty(context)
                    if penalty is not None:
                        d_loss += tf.cast(penalty, d_loss.dtype)
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss * loss_scale)
        self._apply(tape, scaled_d_loss, self.discriminator, self.d_optimizer)
        self.loss_fn.after_discriminator_step(self.discriminator)
        for regularizer in self.regularizers:
            regularizer.after_discriminator_step(self.discriminator)
        self.d_loss_tracker.update_state(d_loss)
        self.real_score_tracker.update_state(self.loss_fn.score(real_logits))
        self.fake_score_tracker.update_state(self.loss_fn.score(fake_logits))

    def _direct_step(self, real, labels, loss_scale):
        """A direct (moment-matching) update: no discriminator, one generator update."""
        m = tf.shape(real)[0]
        z, fake_labels = self._noise(m), self._fake_labels(m)
        with tf.GradientTape() as tape:
            fake = self.generator(self._generator_inputs(z, fake_labels), training=True)
            g_loss = tf.cast(self.loss_fn.direct_loss(real, fake), "float32")
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss * loss_scale)
        self._apply(tape, scaled_g_loss, self.generator, self.g_optimizer)
        self._update_ema()
        self.g_loss_tracker.update_state(g_loss)
        return distribute.step_logs(self.metrics)

    @staticmethod
    def _apply(tape, loss, network, optimizer):
        variables = network.trainable_variables
        # A frozen network (no trainable weights) is left as it is, e.g. a
        # fixed generator in Proposition 1; Keras optimizers reject empty updates.
        if variables:
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    def _update_ema(self):
        if self.ema_generator is None:
            return
        # Warm-up as tf.train.ExponentialMovingAverage(num_updates=t): early
        # averages do not remember the random initialisation for long.
        t = tf.cast(self.g_optimizer.iterations, "float32")
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            value = tf.cast(weight, average.dtype)
            if weight.trainable:
                value = decay * average + (1.0 - decay) * value
            average.assign(value)

    def _augment(self, x, step):
        for regularizer in self.regularizers:
            x = regularizer.augment(x, step, self.seed_generator)
        return x

    def _discriminate(self, x, labels, training=True):
        """D's float32 logits on `x`, and its class logits (AC-GAN) or None."""
        inputs = [x, labels] if self._d_takes_labels else x
        outputs = self.discriminator(inputs, training=training)
        classes = None
        if self._d_has_classes:
            outputs, classes = outputs
            classes = tf.cast(classes, "float32")
        return tf.cast(outputs, "float32"), classes

    def _generator_inputs(self, z, labels):
        if self.num_classes is None:
            return z
        return [z, labels]

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.num_classes is None:
            return x, None
        if y is None:
            raise errors.KganError(
                f"This GAN is conditional (num_classes={self.num_classes}) but the data "
                "has no labels. Fit it on (x, y) pairs: GAN.fit(x, y) or a dataset of "
                "(images, labels)."
            )
        return x, tf.reshape(tf.cast(y, "int32"), [-1])

    def test_step(self, data):
        real, labels = self._unpack(data)
        n = tf.shape(real)[0]
        z = self._noise(n, self.eval_seed_generator)
        fake_labels = self._fake_labels(n, self.eval_seed_generator)
        fake = self.generator(self._generator_inputs(z, fake_labels), training=False)
        if self.discriminator is None:
            self.g_loss_tracker.update_state(self.loss_fn.direct_loss(real, fake))
            return distribute.step_logs(self.metrics)
        real_logits, _ = self._discriminate(real, labels, training=False)
        fake_logits, _ = self._discriminate(fake, fake_labels, training=False)
        self.d_loss_tracker.update_state(
            tf.reduce_mean(self.loss_fn.discriminator_loss(real_logits, fake_logits))
        )
        self.g_loss_tracker.update_state(
            tf.reduce_mean(self.loss_fn.generator_loss(fake_logits))
        )
        self.real_score_tracker.update_state(self.loss_fn.score(real_logits))
        self.fake_score_tracker.update_state(self.loss_fn.score(fake_logits))
        return distribute.step_logs(self.metrics)

    def _noise(self, m, seed_generator=None):
        """m fresh noise vectors for this replica: its slice of the global batch's draw."""
        seed_generator = seed_generator or self.seed_generator
        return latent.replica_slice(
            lambda rows: keras.random.normal((rows, self.latent_dim), seed=seed_generator),
            m,
        )

    def _fake_labels(self, m, seed_generator=None):
        """m uniform class labels for fakes (None when not conditional)."""
        if self.num_classes is None:
            return None
        seed_generator = seed_generator or self.seed_generator
        return latent.replica_slice(
            lambda rows: keras.random.randint(
                (rows,), 0, self.num_classes, seed=seed_generator, dtype="int32"
            ),
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
            num_classes=self.num_classes,
            ema_decay=self.ema_decay,
            reuse_fakes=self.reuse_fakes,
        )
        if self.discriminator is None:
            config["discriminator"] = None
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        if config["discriminator"] is not None:
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
            "d_optimizer": (
                None if self.d_optimizer is None
                else keras.optimizers.serialize(self.d_optimizer)
            ),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "loss": losses_lib.serialize_loss(self.loss_fn),
            "regularizers": [
                regularizers_lib.serialize_regularizer(r) for r in self.regularizers
            ],
            "class_loss_weight": self.class_loss_weight,
            "class_loss_on_fakes": self.class_loss_on_fakes,
            "jit_compile": self.jit_compile,
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        if config["d_optimizer"] is not None:
            config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        # compile() builds the optimizers' slots, which `load_model` then restores.
        self.compile(**config)


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


class _BoundDiscriminator:
    """D as a function of its sample input alone, labels bound, logits only.

    What penalties see: `discriminator(x, training=True)` works for
    conditional and AC-GAN discriminators as for plain ones.
    """

    def __init__(self, gan, labels):
        self._gan = gan
        self._labels = labels

    def __call__(self, x, training=True):
        return self._gan._discriminate(x, self._labels, training=training)[0]

    @property
    def trainable_variables(self):
        return self._gan.discriminator.trainable_variables


def _class_loss(labels, class_logits):
    return tf.reduce_mean(
        keras.losses.sparse_categorical_crossentropy(labels, class_logits, from_logits=True)
    )


def _clone(generator):
    try:
        clone = keras.models.clone_model(generator)
    except Exception as exc:  # noqa: BLE001 - clone_model raises many kinds
        raise errors.KganError(
            f"ema_decay needs a copy of the generator, but keras.models.clone_model "
            f"could not copy {generator.name!r} ({exc}). Build the generator as a "
            "functional or Sequential model, or give the subclass a get_config()."
        ) from exc
    clone.set_weights(generator.get_weights())
    clone.trainable = False
    return clone


def _batch_dependent(model):
    """True if D may not see real and fake in one call without changing the step.

    Layers with state that training calls update (batch norm's moving
    statistics and batch statistics, spectral norm's power iteration, ...)
    behave differently on one concatenated batch than on two; a model with
    none of them computes the same logits either way.
    """
    return bool(model.non_trainable_weights) or any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in model._flatten_layers(include_self=False, recursive=True)
    )


def _shapes(tensors_shape):
    """A model's input or output shape as a list of tuples (one per tensor)."""
    if isinstance(tensors_shape, dict):
        tensors_shape = list(tensors_shape.values())
    if isinstance(tensors_shape, (list,)) and tensors_shape and not isinstance(
        tensors_shape[0], (int, type(None))
    ):
        return [tuple(shape) for shape in tensors_shape]
    return [tuple(tensors_shape)]


def _check_shapes(generator, discriminator, latent_dim, num_classes):
    """Checks how the networks fit together; returns (D takes labels, D has classes)."""
    try:
        g_in = _shapes(generator.input_shape)
        g_out = _shapes(generator.output_shape)
        d_in = _shapes(discriminator.input_shape) if discriminator is not None else None
        d_out = _shapes(discriminator.output_shape) if discriminator is not None else None
    except (AttributeError, ValueError, TypeError):
        # A subclassed model without static shapes: assume the plain case.
        return False, False
    conditional = num_classes is not None
    if conditional and len(g_in) != 2:
        raise errors.KganError(
            f"A conditional GAN (num_classes={num_classes}) needs a generator taking "
            f"[z, labels], but this one takes {len(g_in)} input(s). Use a conditional "
            "architecture such as cgan or acgan."
        )
    if not conditional and len(g_in) != 1:
        raise errors.KganError(
            f"The generator takes {len(g_in)} inputs ([z, labels]?), but num_classes is "
            "None. Build the GAN with num_classes=N (in a recipe: model.conditional: true)."
        )
    if len(g_in[0]) != 2 or g_in[0][-1] not in (None, latent_dim):
        raise errors.KganError(
            f"The generator takes inputs of shape {g_in[0]}, but latent_dim is "
            f"{latent_dim}: it must take noise of shape (batch, {latent_dim}). Build "
            "the generator and the GAN with the same latent_dim."
        )
    if discriminator is None:
        return False, False
    if not _compatible(g_out[0][1:], d_in[0][1:]):
        raise errors.KganError(
            f"The generator makes samples of shape {g_out[0][1:]} but the discriminator "
            f"takes {d_in[0][1:]}. Build both for the same sample shape (the data's)."
        )
    takes_labels, has_classes = len(d_in) == 2, len(d_out) == 2
    if (takes_labels or has_classes) and not conditional:
        raise errors.KganError(
            "The discriminator takes labels or predicts classes, but num_classes is None. "
            "Build the GAN with num_classes=N (in a recipe: model.conditional: true)."
        )
    if d_out[0][1:] not in ((1,), (), (None,)) or len(d_out) > 2:
        raise errors.KganError(
            f"The discriminator must output one logit per example (shape (batch, 1)), "
            f"but it outputs {d_out}. End it with keras.layers.Dense(1) and no activation."
        )
    if has_classes and d_out[1][1:] not in ((num_classes,), (None,)):
        raise errors.KganError(
            f"An AC-GAN discriminator's second output must be {num_classes} class logits, "
            f"got shape {d_out[1]}."
        )
    return takes_labels, has_classes


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


def _is_dataset_like(x):
    return isinstance(x, tf.data.Dataset) or (
        x is not None and not hasattr(x, "shape") and not isinstance(x, (list, tuple, dict))
    )
