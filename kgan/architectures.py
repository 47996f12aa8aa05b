"""The architecture plugin interface, its registry and the builders.

An architecture is a class with two class methods, one building the generator
(latent vector -> sample) and one the discriminator (sample -> one logit):

```python
@kgan.register_architecture("tiny")
class Tiny(kgan.Architecture):
    '''A one-layer toy.'''
    @classmethod
    def build_generator(cls, latent_dim, output_shape, units=32):
        ...
    @classmethod
    def build_discriminator(cls, input_shape, units=32):
        ...
```

Keyword parameters of the two methods are the architecture's options, given
as `kgan.generator("tiny", ..., units=64)` or in a recipe.
"""

from kgan import errors
from kgan import registry
from kgan import validation
from kgan.registry import Registry

ARCHITECTURES = Registry("architecture")


def register_architecture(name=None, *, description=None):
    """Class decorator that registers an `Architecture` under `name`."""
    return ARCHITECTURES.register(name, description=description)


class Architecture:
    """Base class of architecture plugins."""

    @classmethod
    def build_generator(cls, latent_dim, output_shape, **params):
        """Returns a built `keras.Model` mapping `[batch, latent_dim]` to samples."""
        raise NotImplementedError

    @classmethod
    def build_discriminator(cls, input_shape, **params):
        """Returns a built `keras.Model` mapping samples to `[batch, 1]` logits."""
        raise NotImplementedError


def generator(name, latent_dim, output_shape, **params):
    """Builds the generator of the architecture registered as `name`.

    Example:

    ```python
    g = kgan.generator("dcgan", latent_dim=100, output_shape=(28, 28, 1))
    ```
    """
    build = ARCHITECTURES.get(name).build_generator
    _check_parameters(name, "generator", build, params)
    latent_dim = validation.latent_dim(latent_dim)
    output_shape = _sample_shape(output_shape, "output_shape", "generator", name)
    return build(latent_dim=latent_dim, output_shape=output_shape, **params)


def discriminator(name, input_shape, **params):
    """Builds the discriminator of the architecture registered as `name`."""
    build = ARCHITECTURES.get(name).build_discriminator
    _check_parameters(name, "discriminator", build, params)
    input_shape = _sample_shape(input_shape, "input_shape", "discriminator", name)
    return build(input_shape=input_shape, **params)


def parameters(name, role):
    """Option names of architecture `name`'s `role` ("generator"/"discriminator")."""
    build = getattr(ARCHITECTURES.get(name), f"build_{role}")
    return registry.keyword_parameters(build, skip=("latent_dim", "output_shape", "input_shape"))


def _sample_shape(shape, argument, role, name):
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if not shape or not all(validation.is_integer(size) and size >= 1 for size in shape):
        raise errors.KganError(
            f"The {role} of architecture \"{name}\" needs {argument} as a tuple of "
            f"positive sizes without the batch, e.g. (28, 28, 1) or (2,); got {shape!r}."
        )
    return tuple(int(size) for size in shape)


def check_options(name, role, params):
    """Raises a PluginParameterError for an option that architecture `name`'s `role` lacks."""
    build = getattr(ARCHITECTURES.get(name), f"build_{role}")
    _check_parameters(name, role, build, params)


def _check_parameters(name, role, build, params):
    if not registry.takes_any_keyword(build):
        registry.reject_unknown(params, parameters(name, role),
                                f'The {role} of architecture "{name}"', noun="option")
