"""The loss plugin interface and the loss registry.

A GAN loss sees the discriminator's raw outputs ("logits": log-odds for the
probabilistic losses, critic scores for the Wasserstein and hinge losses) and
returns per-example losses; `GAN.train_step` averages them over the global
batch. Computing from logits keeps every loss finite for any logit value.
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


class GANLoss:
    """Base class of GAN losses.

    Subclasses implement `discriminator_loss` and `generator_loss`, returning a
    tensor of per-example losses. Optional hooks add a penalty to the
    discriminator's loss (`discriminator_penalty`) or act on its weights after
    each update (`after_discriminator_step`). Constructor keyword arguments are
    the loss's hyper-parameters and appear in recipes as `loss: {name, ...}`.
    """

    probabilistic = True
    """True when logits are log-odds, so `sigmoid(logit)` is D's probability."""

    adversarial = True
    """False for a *direct* loss (e.g. MMD), which compares generated and real
    minibatches itself: the GAN then has no discriminator and no D updates, and
    the loss implements `direct_loss` instead of the two adversarial losses."""

    name = None
    """The registered name; set by `get_loss`, found from the registry otherwise."""

    def __init__(self, **params):
        if params:
            raise errors.PluginParameterError(
                f"Loss {type(self).__name__} takes no parameters, got "
                f"{sorted(params)}."
            )

    def discriminator_loss(self, real_logits, fake_logits):
        """Per-example loss the discriminator minimises."""
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        """Per-example loss the generator minimises."""
        raise NotImplementedError

    def direct_loss(self, real, fake):
        """Scalar loss of a direct (non-adversarial) method on two minibatches."""
        raise NotImplementedError(
            f"{type(self).__name__} sets adversarial = False but has no direct_loss()."
        )

    def discriminator_penalty(self, discriminator, real, fake, seed_generator):
        """A scalar added to the discriminator's loss (e.g. a gradient penalty).

        Random draws must use `seed_generator` (the model's), so that training
        is reproducible and resumes exactly from a checkpoint.
        """
        return None

    def after_discriminator_step(self, discriminator):
        """Called after each discriminator update (e.g. to clip weights)."""
        del discriminator  # A body AutoGraph can convert (a docstring alone is not).

    def score(self, logits):
        """D's output as shown in metrics: a probability where that has meaning."""
        return tf.sigmoid(logits) if self.probabilistic else logits

    def get_config(self):
        """Hyper-parameters, so that `type(self)(**get_config())` rebuilds the loss."""
        return {}


def get_loss(spec):
    """Returns a `GANLoss` from a name, a `{"name": ..., **params}` dict or an instance."""
    return registry.instantiate(LOSSES, GANLoss, spec)


def serialize_loss(loss):
    """`{"name": ..., **params}`, from which `get_loss` rebuilds `loss`."""
    name = loss.name or next(
        (entry.name for entry in LOSSES.entries() if entry.obj is type(loss)), None
    )
    if name is None:
        raise errors.KganError(
            f"The loss {type(loss).__name__} is not registered, so a saved model could "
            "not find it again. Decorate its class with @kgan.register_loss(name)."
        )
    return {"name": name, **loss.get_config()}
