"""The loss plugin interface and the loss registry.

A GAN loss sees the discriminator's raw outputs ("logits": log-odds for the
probabilistic losses, critic scores for the Wasserstein and hinge losses) and
returns per-example losses; `GAN.train_step` averages them over the global
batch. Computing from logits keeps every loss finite for any logit value.
A direct loss (`DirectLoss`) compares generated and real minibatches instead,
and trains a generator without a discriminator (`kgan.DirectModel`).
"""

import tensorflow as tf

from kgan import errors
from kgan import registry
from kgan.registry import Registry

LOSSES = Registry("loss", plural="losses")


def register_loss(name=None, *, description=None):
    """Class decorator that registers a `GANLoss` subclass under `name`.

    Example:

    ```python
    @kgan.register_loss("softplus_hinge")
    class SoftplusHinge(kgan.GANLoss):
        '''A smooth hinge: softplus(margin - D(x)) + softplus(margin + D(G(z))).'''

        probabilistic = False  # D's outputs are critic scores, not log-odds

        def __init__(self, margin=1.0):
            if margin < 0:
                raise kgan.KganError(f"softplus_hinge margin must be >= 0, got {margin}.")
            self.margin = float(margin)

        def discriminator_loss(self, real_logits, fake_logits):  # per-example losses
            return (tf.nn.softplus(self.margin - real_logits)
                    + tf.nn.softplus(self.margin + fake_logits))

        def generator_loss(self, fake_logits):
            return -fake_logits

        def get_config(self):  # the constructor's arguments, for saved models
            return {"margin": self.margin}

    gan.compile(..., loss={"name": "softplus_hinge", "margin": 0.5})
    ```
    """
    return LOSSES.register(name, description=description)


class Loss:
    """What every loss plugin shares: a registered name and its parameters."""

    name = None
    """The registered name; set by `get_loss`, found from the registry otherwise."""

    def __init__(self, **params):
        if params:
            raise errors.PluginParameterError(
                f"Loss {type(self).__name__} takes no parameters, got "
                f"{sorted(params)}."
            )

    def get_config(self):
        """Hyper-parameters, so that `type(self)(**get_config())` rebuilds the loss."""
        return {}


class GANLoss(Loss):
    """Base class of adversarial losses: functions of the discriminator's logits.

    Subclasses implement `discriminator_loss` and `generator_loss`, returning a
    tensor of per-example losses, and compute nothing else. Whatever acts on
    the discriminator itself (a gradient penalty, weight clipping,
    augmentation) is a regularizer (`kgan.Regularizer`); a loss that needs one
    names it in `default_regularizers`, and the GAN applies those before the
    recipe's own. Constructor keyword arguments are the loss's
    hyper-parameters and appear in recipes as `loss: {name, ...}`.
    """

    probabilistic = True
    """True when logits are log-odds, so `sigmoid(logit)` is D's probability."""

    adversarial = True
    """Trains a `kgan.GAN` (generator and discriminator)."""

    def discriminator_loss(self, real_logits, fake_logits):
        """Per-example loss the discriminator minimises."""
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        """Per-example loss the generator minimises."""
        raise NotImplementedError

    def default_regularizers(self):
        """Regularizers this loss brings, as names or `{"name": ..., **params}` dicts.

        E.g. the `wasserstein` loss brings `weight_clipping` and
        `wasserstein_gp` a `gradient_penalty`.
        """
        return []

    def score(self, logits):
        """D's output as shown in metrics: a probability where that has meaning."""
        return tf.sigmoid(logits) if self.probabilistic else logits


class DirectLoss(Loss):
    """Base class of direct losses, which compare a generated and a real minibatch.

    A direct loss (e.g. `mmd`, a generative moment-matching network) trains a
    `kgan.DirectModel`: a generator alone, with no discriminator. Subclasses
    implement `direct_loss(real, fake)`, a scalar.
    """

    adversarial = False
    """Trains a `kgan.DirectModel` (a generator alone)."""

    def direct_loss(self, real, fake):
        """Scalar loss of the generator on a real and a generated minibatch."""
        raise NotImplementedError


def check_fits(loss, has_discriminator):
    """Raises a KganError unless `loss` fits a model with (or without) a discriminator."""
    if loss.adversarial and not has_discriminator:
        raise errors.KganError(
            f'The loss "{loss.name}" is adversarial and needs a discriminator, but the '
            "model has none. Give it a discriminator (kgan.GAN), or use a direct loss such "
            'as "mmd" (a generative moment-matching network).'
        )
    if not loss.adversarial and has_discriminator:
        raise errors.KganError(
            f'The loss "{loss.name}" is direct (no discriminator), but the model has a '
            "discriminator. Train it with kgan.DirectModel(generator, latent_dim=...) (in "
            "a recipe: `model.discriminator: null`)."
        )


def get_loss(spec):
    """A `GANLoss` or `DirectLoss` from a name, a `{"name": ..., **params}` dict or an instance."""
    return registry.instantiate(LOSSES, Loss, spec)


def serialize_loss(loss):
    """`{"name": ..., **params}`, from which `get_loss` rebuilds `loss`."""
    return registry.serialize(LOSSES, loss)
