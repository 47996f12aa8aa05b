"""Regularisers and stabilisers of the discriminator, combinable in a recipe.

A regulariser hooks into the discriminator's side of `GAN.train_step`:

- `augment(x, step, seed_generator)` transforms every input of D during
  training (real and fake, in the D updates and in the G update), e.g.
  instance noise or DiffAugment; it must be differentiable in `x`;
- `discriminator_penalty(ctx)` adds a scalar to D's loss, e.g. a gradient
  penalty;
- `after_discriminator_step(discriminator)` acts on D after each update,
  e.g. weight clipping.

Example:

```python
@kgan.register_regularizer("logit_penalty")
class LogitPenalty(kgan.Regularizer):
    '''Penalises large real logits: weight * E[D(x)^2].'''
    def __init__(self, weight=0.01):
        self.weight = weight
    def discriminator_penalty(self, ctx):
        return self.weight * tf.reduce_mean(tf.square(ctx.real_logits))
    def get_config(self):
        return {"weight": self.weight}

gan.compile(..., regularizers=["r1", {"name": "logit_penalty", "weight": 0.1}])
```
"""

import dataclasses
from typing import Any
from typing import Callable

from kgan import errors
from kgan import registry
from kgan.registry import Registry

REGULARIZERS = Registry("regularizer")


def register_regularizer(name=None, *, description=None):
    """Class decorator that registers a `Regularizer` subclass under `name`."""
    return REGULARIZERS.register(name, description=description)


@dataclasses.dataclass
class PenaltyContext:
    """What a `discriminator_penalty` sees of one discriminator update."""

    discriminator: Callable
    """`discriminator(x)`: D's logits on `x` in training mode (labels bound)."""
    real: Any
    """The real minibatch as D saw it (after `augment`)."""
    fake: Any
    """The fake minibatch as D saw it (after `augment`)."""
    real_logits: Any
    fake_logits: Any
    labels: Any
    """The real minibatch's labels for a conditional GAN, else None."""
    seed_generator: Any
    """The model's seed generator: the only source of random draws."""
    loss: Any
    """The `kgan.GANLoss` in use."""
    step: Any
    """int64 scalar tensor: generator updates done so far."""


class Regularizer:
    """Base class of regularisers; every hook defaults to doing nothing.

    Constructor keyword arguments are the hyper-parameters, given in recipes
    as `regularizers: [{name: ..., **params}]`; `get_config` returns them.
    """

    name = None
    """The registered name; set by `get_regularizer`."""

    def __init__(self, **params):
        if params:
            raise errors.PluginParameterError(
                f"Regularizer {type(self).__name__} takes no parameters, got "
                f"{sorted(params)}."
            )

    def check(self, loss):
        """Raises a `KganError` if this regulariser does not apply to `loss`."""
        del loss  # Applies to every loss unless a subclass says otherwise.

    def augment(self, x, step, seed_generator):
        """Transforms an input of D during training; differentiable in `x`."""
        return x

    def discriminator_penalty(self, ctx):
        """A scalar added to the discriminator's loss, or None."""
        return None

    def after_discriminator_step(self, discriminator):
        """Called after each discriminator update."""
        del discriminator  # A body AutoGraph can convert (a docstring alone is not).

    def get_config(self):
        """Hyper-parameters, so that `type(self)(**get_config())` rebuilds it."""
        return {}


def get_regularizer(spec):
    """A `Regularizer` from a name, a `{"name": ..., **params}` dict or an instance."""
    return registry.instantiate(REGULARIZERS, Regularizer, spec)


def serialize_regularizer(regularizer):
    """`{"name": ..., **params}`, from which `get_regularizer` rebuilds it."""
    name = regularizer.name or next(
        (e.name for e in REGULARIZERS.entries() if e.obj is type(regularizer)), None
    )
    if name is None:
        raise errors.KganError(
            f"The regularizer {type(regularizer).__name__} is not registered, so a saved "
            "model could not find it again. Decorate its class with "
            "@kgan.register_regularizer(name)."
        )
    return {"name": name, **regularizer.get_config()}
