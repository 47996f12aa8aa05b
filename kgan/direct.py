"""`DirectModel`: a generator trained directly, by a loss between sample sets.

The direct method that the GAN paper is contrasted with: no discriminator;
each step draws a real minibatch and a generated one and lowers a loss that
compares them, such as the maximum mean discrepancy of a generative
moment-matching network (the `mmd` loss; Li et al. 2015).
"""

import keras
import tensorflow as tf

from kgan import distribute
from kgan import errors
from kgan import generative_model
from kgan import losses as losses_lib


@keras.saving.register_keras_serializable(package="kgan")
class DirectModel(generative_model.GenerativeModel):
    """A generator trained by a direct loss (`kgan.DirectLoss`), without a discriminator.

    Each `train_step` draws m fresh noise vectors for the real minibatch of m
    that `fit` gives it and takes one generator step on
    `loss.direct_loss(real, G(z))`.

    Example:

    ```python
    generator = kgan.generator("mlp", latent_dim=10, output_shape=(28, 28, 1),
                               hidden_units=[64, 256, 256, 1024])
    gmmn = kgan.DirectModel(generator, latent_dim=10)
    gmmn.compile(g_optimizer=keras.optimizers.Adam(1e-3), loss="mmd")
    gmmn.fit(images, batch_size=500, epochs=5)
    ```

    Args: those of `kgan.generative_model.GenerativeModel`.
    """

    discriminator = None
    """A direct model has none; code that handles both kinds of model tests this."""

    def __init__(self, generator, latent_dim, seed=None, *, num_classes=None,
                 ema_decay=None, **kwargs):
        # kgan 0.1 saved direct models as GANs: their configs carry these.
        for legacy in ("discriminator", "d_steps", "reuse_fakes"):
            kwargs.pop(legacy, None)
        super().__init__(generator, latent_dim, seed, num_classes=num_classes,
                         ema_decay=ema_decay, **kwargs)
        self.build()

    def compile(self, g_optimizer, loss="mmd", **kwargs):
        """Configures training.

        Args:
            g_optimizer: optimizer of the generator (an instance, a name or a
                config dict, as `keras.optimizers.get` takes).
            loss: a registered direct loss (`mmd`), `{"name": ..., **params}`,
                or a `kgan.DirectLoss` instance.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`, ...).
        """
        if "d_optimizer" in kwargs or "regularizers" in kwargs:
            raise errors.KganError(
                "A DirectModel has no discriminator, so it takes no d_optimizer and no "
                "regularizers: give g_optimizer and a direct loss (e.g. loss=\"mmd\")."
            )
        generative_model.check_compile_arguments(kwargs, "g_optimizer")
        loss_fn = losses_lib.get_loss(loss)
        losses_lib.check_fits(loss_fn, has_discriminator=False)
        g_optimizer = generative_model.optimizer(g_optimizer, "g_optimizer")
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        with self.distribute_strategy.scope():
            if not g_optimizer.built:
                g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.g_loss_tracker]

    def train_step(self, data):
        """A direct update: m fresh fakes, one generator step on loss(real, fakes)."""
        real, _ = self.conditioning.split(data)
        inputs, _ = self._fakes_inputs(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(inputs, training=True)
            g_loss = tf.cast(self.loss_fn.direct_loss(real, fake), "float32")
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss * distribute.loss_scale())
        self._apply(tape, scaled_g_loss, self.generator, self.g_optimizer)
        self._update_ema()
        self.g_loss_tracker.update_state(g_loss)
        return distribute.step_logs(self.metrics)

    def test_step(self, data):
        real, _ = self.conditioning.split(data)
        inputs, _ = self._fakes_inputs(tf.shape(real)[0], self.eval_seed_generator)
        fake = self.generator(inputs, training=False)
        self.g_loss_tracker.update_state(self.loss_fn.direct_loss(real, fake))
        return distribute.step_logs(self.metrics)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        return cls(**config)

    def get_compile_config(self):
        return self._model_compile_config()

    def compile_from_config(self, config):
        config = dict(config)
        # kgan 0.1 saved direct models' compile configs as a GAN's.
        for legacy in ("d_optimizer", "regularizers", "class_loss_weight",
                       "class_loss_on_fakes"):
            config.pop(legacy, None)
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        self.compile(**config)
