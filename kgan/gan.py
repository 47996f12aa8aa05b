"""`GAN`: Algorithm 1 of Goodfellow et al. (2014) as a `keras.Model`."""

import keras
import tensorflow as tf

from kgan import direct
from kgan import distribute
from kgan import errors
from kgan import generative_model
from kgan import losses as losses_lib
from kgan import regularizers as regularizers_lib
from kgan import validation


@keras.saving.register_keras_serializable(package="kgan")
class GAN(generative_model.GenerativeModel):
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
    generator = kgan.generator("dcgan", latent_dim=128, output_shape=(28, 28, 1))
    critic = kgan.discriminator("dcgan", input_shape=(28, 28, 1), batch_norm=False)
    gan = kgan.GAN(generator, critic, latent_dim=128, d_steps=5)  # k = 5
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
                g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
                loss="wasserstein_gp")  # brings the gradient penalty regularizer
    gan.fit(images, batch_size=64, epochs=5)  # each step reads 5 minibatches of 64
    samples = gan.generate(16, seed=0)
    ```

    Conditional GANs (`num_classes=N`) train on `(x, y)` data with integer
    labels; how the labels reach the networks (`kgan.conditioning`) follows
    from the networks' inputs and outputs. Fake labels are drawn uniformly.

    Args:
        generator: a built `keras.Model` from `[batch, latent_dim]` noise (and
            `[batch]` int labels when conditional) to samples.
        discriminator: a built `keras.Model` from samples to `[batch, 1]`
            logits. (A direct loss such as `mmd` needs none: `kgan.DirectModel`.)
        latent_dim: size of the noise vector z ~ N(0, I).
        d_steps: k, discriminator updates per generator update (k >= 1).
        seed: seed of the training noise; None draws one at random.
        num_classes: number of classes of a conditional GAN; None otherwise.
        ema_decay: keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.999); see `GenerativeModel`.
        reuse_fakes: the generator update reuses the noise and the generator
            forward pass of the last discriminator update instead of a fresh
            draw (as PyTorch's DCGAN example does); saves one generator forward
            pass per step. False samples fresh noise for G, literally as in
            Algorithm 1.
    """

    def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=None, *,
                 num_classes=None, ema_decay=None, reuse_fakes=False, **kwargs):
        self.d_steps = validation.d_steps(d_steps)
        if discriminator is None:
            raise errors.KganTypeError(
                "A GAN needs a discriminator, got None. A direct loss such as mmd trains "
                "a generator alone: kgan.DirectModel(generator, latent_dim=...)."
            )
        generative_model.check_network(discriminator, "discriminator")
        super().__init__(generator, latent_dim, seed, num_classes=num_classes,
                         ema_decay=ema_decay, **kwargs)
        self.discriminator = discriminator
        self.reuse_fakes = validation.boolean(reuse_fakes, "reuse_fakes")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.real_score_tracker = keras.metrics.Mean(name="real_score")
        self.fake_score_tracker = keras.metrics.Mean(name="fake_score")
        self.regularizers = []
        self.build()

    @property
    def rows_per_step(self):
        return self.d_steps

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", regularizers=(),
                class_loss_weight=1.0, class_loss_on_fakes=True, **kwargs):
        """Configures training.

        Args:
            d_optimizer: optimizer of the discriminator (an instance, a name or
                a config dict, as `keras.optimizers.get` takes).
            g_optimizer: optimizer of the generator.
            loss: a registered loss name, `{"name": ..., **params}`, or a
                `kgan.GANLoss` instance.
            regularizers: registered regularizer names, `{"name": ...,
                **params}` dicts or `kgan.Regularizer` instances, applied in
                order after those the loss brings (`kgan plugins` lists them).
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
        generative_model.check_compile_arguments(kwargs, "d_optimizer and g_optimizer")
        if d_optimizer is g_optimizer and isinstance(d_optimizer, keras.optimizers.Optimizer):
            raise errors.KganError(
                "d_optimizer and g_optimizer are the same optimizer object; each "
                "network needs its own (its own moments and step count). Pass two "
                "instances, e.g. keras.optimizers.Adam(2e-4, beta_1=0.5) twice."
            )
        loss_fn = losses_lib.get_loss(loss)
        losses_lib.check_fits(loss_fn, has_discriminator=True)
        brought, chosen = regularizers_lib.resolve(loss_fn, regularizers)
        class_loss_weight = validation.class_loss_weight(class_loss_weight)
        d_optimizer = generative_model.optimizer(d_optimizer, "d_optimizer")
        g_optimizer = generative_model.optimizer(g_optimizer, "g_optimizer")
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.loss_fn = loss_fn
        self.regularizers = chosen
        self._regularizers = regularizers_lib.Regularizers(brought + chosen)
        self.class_loss_weight = class_loss_weight
        self.class_loss_on_fakes = bool(class_loss_on_fakes)
        self.conditioning.set_class_loss(class_loss_weight, self.class_loss_on_fakes)
        # Optimizer slots are made now, in the model's strategy scope: made
        # lazily inside a replica's step (Adam's moments), they fail to build.
        with self.distribute_strategy.scope():
            for optimizer, network in ((d_optimizer, self.discriminator),
                                       (g_optimizer, self.generator)):
                if not optimizer.built:
                    optimizer.build(network.trainable_variables)

    def _check_batch_size(self, batch_size):
        self._regularizers.check_batch_size(batch_size)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_score_tracker,
                self.fake_score_tracker]

    def train_step(self, data):
        """One iteration of Algorithm 1: k updates of D, then one update of G."""
        real, labels = self.conditioning.split(data)
        loss_scale = distribute.loss_scale()
        minibatches = _minibatches(real, labels, self.d_steps)
        m = tf.shape(minibatches[0][0])[0]
        step = self.g_optimizer.iterations
        last = minibatches.pop() if self.reuse_fakes else None
        updates = []  # each D update's (loss, real logits, fake logits), for the metrics
        # k times: a fresh real minibatch and fresh noise; D alone is updated.
        for real_i, labels_i in minibatches:
            inputs, fake_labels = self._fakes_inputs(m)
            fake = self.generator(inputs, training=True)
            updates.append(self._discriminator_update(real_i, labels_i, fake, fake_labels,
                                                      step, loss_scale))
        # Then fresh noise; G alone is updated.
        z, fake_labels = self._fakes_draw(m)
        if self._regularizers.paired_fakes and fake_labels is not None:
            fake_labels = regularizers_lib.pair_labels(fake_labels)
        with tf.GradientTape() as tape:
            fake = self.call(z, fake_labels, training=True)
            if last is not None:
                # The k-th D update uses this very forward pass, so G's update
                # needs no second one (`reuse_fakes`).
                with tape.stop_recording():
                    updates.append(self._discriminator_update(
                        *last, tf.stop_gradient(fake), fake_labels, step, loss_scale))
            fake_logits, fake_classes = self.conditioning.discriminate(
                self.discriminator, self._regularizers.augment(fake, step, self.seed_generator),
                fake_labels,
            )
            g_loss = _add(tf.reduce_mean(self.loss_fn.generator_loss(fake_logits)),
                          self.conditioning.generator_class_loss(fake_labels, fake_classes))
            g_loss = self._regularizers.add_generator_penalties(
                g_loss, regularizers_lib.GeneratorPenaltyContext(
                    noise=z, labels=fake_labels, fake=fake, step=step))
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss * loss_scale)
        self._apply(tape, scaled_g_loss, self.generator, self.g_optimizer)
        self._update_ema()
        # The metrics once a step, off the path between D's updates: the same
        # means as k separate updates.
        d_losses, real_logits, fake_logits = zip(*updates)
        self.d_loss_tracker.update_state(tf.stack(d_losses))
        self.real_score_tracker.update_state(self.loss_fn.score(tf.concat(real_logits, 0)))
        self.fake_score_tracker.update_state(self.loss_fn.score(tf.concat(fake_logits, 0)))
        self.g_loss_tracker.update_state(g_loss)
        return distribute.step_logs(self.metrics)

    def _discriminator_update(self, real, real_labels, fake, fake_labels, step, loss_scale):
        """One update of D on a real and a fake minibatch (fake carries no gradient).

        Returns D's loss and its logits on the two minibatches.
        """
        real = self._regularizers.augment(real, step, self.seed_generator)
        fake = self._regularizers.augment(fake, step, self.seed_generator)
        discriminate = self.conditioning.discriminate
        with tf.GradientTape() as tape:
            real_logits, real_classes = discriminate(self.discriminator, real, real_labels)
            fake_logits, fake_classes = discriminate(self.discriminator, fake, fake_labels)
            d_loss = tf.reduce_mean(self.loss_fn.discriminator_loss(real_logits, fake_logits))
            d_loss = _add(d_loss, self.conditioning.discriminator_class_loss(
                real_labels, real_classes, fake_labels, fake_classes))
            context = regularizers_lib.PenaltyContext(
                discriminator=_BoundDiscriminator(self, real_labels), real=real, fake=fake,
                real_logits=real_logits, fake_logits=fake_logits, labels=real_labels,
                seed_generator=self.seed_generator, loss=self.loss_fn, step=step,
            )
            d_loss = self._regularizers.add_penalties(d_loss, context)
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss * loss_scale)
        self._apply(tape, scaled_d_loss, self.discriminator, self.d_optimizer)
        self._regularizers.after_discriminator_step(self.discriminator)
        return d_loss, real_logits, fake_logits

    def test_step(self, data):
        real, labels = self.conditioning.split(data)
        inputs, fake_labels = self._fakes_inputs(tf.shape(real)[0], self.eval_seed_generator)
        fake = self.generator(inputs, training=False)
        discriminate = self.conditioning.discriminate
        real_logits, _ = discriminate(self.discriminator, real, labels, training=False)
        fake_logits, _ = discriminate(self.discriminator, fake, fake_labels, training=False)
        self.d_loss_tracker.update_state(
            tf.reduce_mean(self.loss_fn.discriminator_loss(real_logits, fake_logits))
        )
        self.g_loss_tracker.update_state(
            tf.reduce_mean(self.loss_fn.generator_loss(fake_logits))
        )
        self.real_score_tracker.update_state(self.loss_fn.score(real_logits))
        self.fake_score_tracker.update_state(self.loss_fn.score(fake_logits))
        return distribute.step_logs(self.metrics)

    def get_config(self):
        config = super().get_config()
        config.update(
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            d_steps=self.d_steps,
            reuse_fakes=self.reuse_fakes,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("discriminator") is None:
            # kgan 0.1 saved its direct models as GANs without a discriminator.
            return direct.DirectModel.from_config(config)
        for role in ("generator", "discriminator"):
            config[role] = keras.saving.deserialize_keras_object(config[role])
        return cls(**config)

    def get_compile_config(self):
        return self._model_compile_config(
            d_optimizer=keras.optimizers.serialize(self.d_optimizer)
            if getattr(self, "d_optimizer", None) is not None else None,
            regularizers=[regularizers_lib.serialize_regularizer(r) for r in self.regularizers],
            class_loss_weight=self.class_loss_weight,
            class_loss_on_fakes=self.class_loss_on_fakes,
        )

    def compile_from_config(self, config):
        config = dict(config)
        for role in ("d_optimizer", "g_optimizer"):
            config[role] = keras.optimizers.deserialize(config[role])
        # compile() builds the optimizers' slots, which `load_model` then restores.
        self.compile(**config)


def _minibatches(real, labels, k):
    """The k `(real, labels)` minibatches of a step: minibatch i is rows i, i+k, i+2k, ..."""
    if k == 1:
        return [(real, labels)]
    n = tf.shape(real)[0]
    m = tf.maximum(n // k, 1)
    # `% n` only matters for a batch of fewer than k rows (m = 1).
    rows = [(tf.range(m) * k + i) % n for i in range(k)]
    return [(tf.gather(real, r), None if labels is None else tf.gather(labels, r))
            for r in rows]


def _add(total, term):
    return total if term is None else total + tf.cast(term, total.dtype)


class _BoundDiscriminator:
    """D as a function of its sample input alone, labels bound, logits only.

    What penalties see: `discriminator(x, training=True)` works for
    conditional and AC-GAN discriminators as for plain ones.
    """

    def __init__(self, gan, labels):
        self._gan = gan
        self._labels = labels

    def __call__(self, x, training=True):
        gan = self._gan
        return gan.conditioning.discriminate(gan.discriminator, x, self._labels, training)[0]

    @property
    def trainable_variables(self):
        return self._gan.discriminator.trainable_variables
