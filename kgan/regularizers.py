"""Regularisers and stabilisers of a GAN's two updates, combinable in a recipe.

A regulariser hooks into `GAN.train_step`, mostly on the discriminator's side:

- `augment(x, step, seed_generator)` transforms every input of D during
  training (real and fake, in the D updates and in the G update), e.g.
  instance noise or DiffAugment; it must be differentiable in `x`;
- `discriminator_penalty(ctx)` adds a scalar to D's loss, e.g. a gradient
  penalty;
- `after_discriminator_step(discriminator)` acts on D after each update,
  e.g. weight clipping;
- `generator_penalty(ctx)` adds a scalar to G's loss, e.g. the mode-seeking
  term of MSGAN.

A GAN applies, in order, the regularizers its loss brings
(`GANLoss.default_regularizers`, e.g. weight clipping for `wasserstein`) and
then those it is compiled with; `resolve` builds and checks that list, and
`Regularizers` applies it.

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

import tensorflow as tf

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


@dataclasses.dataclass
class GeneratorPenaltyContext:
    """What a `generator_penalty` sees of one generator update."""

    noise: Any
    """The update's noise vectors z, `[m, latent_dim]`."""
    labels: Any
    """The fake labels G was given for a conditional GAN, else None."""
    fake: Any
    """G's samples of `noise` and `labels`, whose D score G's loss uses."""
    step: Any
    """int64 scalar tensor: generator updates done so far."""


class Regularizer:
    """Base class of regularisers; every hook defaults to doing nothing.

    Constructor keyword arguments are the hyper-parameters, given in recipes
    as `regularizers: [{name: ..., **params}]`; `get_config` returns them.
    """

    name = None
    """The registered name; set by `get_regularizer`."""

    excludes = {}
    """Regularizers this one cannot be combined with: `{name: why}`."""

    paired_fakes = False
    """True asks for the generator update's fakes in pairs of one label: with m
    rows and h = m // 2, row i + h gets row i's label (each its own noise), so
    a `generator_penalty` can compare two samples of one class at no extra
    cost. Each fake is still drawn from p(z) p(y), so G's loss keeps its
    expectation."""

    min_batch_size = 1
    """The smallest minibatch m the hooks work with (2 for one that compares
    pairs of samples); checked before training starts."""

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

    def generator_penalty(self, ctx):
        """A scalar added to the generator's loss, or None."""
        return None

    def get_config(self):
        """Hyper-parameters, so that `type(self)(**get_config())` rebuilds it."""
        return {}


class Regularizers:
    """The regularizers of a GAN, applied in order: the one place their hooks run."""

    def __init__(self, regularizers):
        self.regularizers = list(regularizers)
        self.paired_fakes = any(r.paired_fakes for r in self.regularizers)

    def check_batch_size(self, batch_size):
        """Raises a `KganError` if a regularizer needs a larger minibatch than `batch_size`."""
        for regularizer in self.regularizers:
            if batch_size < regularizer.min_batch_size:
                raise errors.KganError(
                    f"the {regularizer.name} regularizer needs a minibatch of at least "
                    f"{regularizer.min_batch_size} samples, got batch_size {batch_size}. Use a "
                    f"larger batch_size, or drop {regularizer.name}."
                )

    def augment(self, x, step, seed_generator):
        for regularizer in self.regularizers:
            x = regularizer.augment(x, step, seed_generator)
        return x

    def add_penalties(self, loss, context):
        """`loss` (D's) plus each regularizer's penalty, in order."""
        return _add_each(loss, (r.discriminator_penalty(context) for r in self.regularizers))

    def add_generator_penalties(self, loss, context):
        """`loss` (G's) plus each regularizer's generator penalty, in order."""
        return _add_each(loss, (r.generator_penalty(context) for r in self.regularizers))

    def after_discriminator_step(self, discriminator):
        for regularizer in self.regularizers:
            regularizer.after_discriminator_step(discriminator)


def pair_labels(labels):
    """`labels` with rows h..2h-1 set to rows 0..h-1 (h = half the rows); see `paired_fakes`."""
    half = tf.shape(labels)[0] // 2
    return tf.concat([labels[:half], labels[:half], labels[2 * half:]], axis=0)


def _add_each(loss, penalties):
    for penalty in penalties:
        if penalty is not None:
            loss += tf.cast(penalty, loss.dtype)
    return loss


def resolve(loss, specs=()):
    """The regularizers a GAN with `loss` applies: the loss's own, then `specs`.

    Returns:
        `(brought, chosen)`: the loss's default regularizers and those of
        `specs`, built, each checked against the loss and the others.

    Raises:
        KganError: for a regularizer named twice, two that exclude each other,
            or one that does not apply to the loss.
    """
    brought = [get_regularizer(spec) for spec in loss.default_regularizers()]
    chosen = [get_regularizer(spec) for spec in specs or ()]
    loss_name = loss.name or type(loss).__name__
    for regularizer in chosen:
        for own in brought:
            if own.name == regularizer.name:
                raise errors.KganError(
                    f"The loss {loss_name} already adds the {own.name} regularizer "
                    f"({own.get_config()}), so naming it again would apply it twice. Drop "
                    "it from the regularizers, or choose the loss without it (e.g. "
                    "loss {name: wasserstein, clip_value: null} with gradient_penalty)."
                )
    combined = brought + chosen
    for regularizer in combined:
        regularizer.check(loss)
        for other in combined:
            why = regularizer.excludes.get(other.name)
            if other is not regularizer and why:
                owner = f"The loss {loss_name}" if other in brought else "The recipe"
                raise errors.KganError(
                    f"{owner} applies {other.name} ({other.get_config()}), which "
                    f"{regularizer.name} cannot be combined with: {why}"
                )
    return brought, chosen


def get_regularizer(spec):
    """A `Regularizer` from a name, a `{"name": ..., **params}` dict or an instance."""
    return registry.instantiate(REGULARIZERS, Regularizer, spec)


def serialize_regularizer(regularizer):
    """`{"name": ..., **params}`, from which `get_regularizer` rebuilds it."""
    return registry.serialize(REGULARIZERS, regularizer)
