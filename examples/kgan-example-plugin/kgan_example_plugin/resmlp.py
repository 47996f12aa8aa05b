"""The "resmlp" architecture: residual MLPs for samples of any shape.

Each hidden block is a pre-activation residual block (He et al. 2016,
"Identity mappings in deep residual networks") on a vector of `width` units:

    x + Dense(act(norm(Dense(act(norm(x))))))

The identity path lets a deeper MLP train as easily as a shallow one. The
models use Keras' own layers only, so a saved generator loads without this
package.
"""

import math
import numbers

import keras
from keras import layers

import kgan


@kgan.register_architecture("resmlp")
class ResMLP(kgan.Architecture):
    """Residual MLP generator and discriminator (pre-activation blocks); any sample shape."""

    @classmethod
    def build_generator(
        cls,
        latent_dim,
        output_shape,
        width=256,
        num_blocks=2,
        activation="relu",
        output_activation="tanh",
        layer_norm=True,
    ):
        """z -> Dense(width) -> residual blocks -> a flat sample, reshaped to `output_shape`.

        Args:
            width: units of every hidden layer.
            num_blocks: residual blocks (two Dense layers each).
            activation: hidden activation (any Keras name).
            output_activation: "tanh" for data in [-1, 1], "linear" for
                unbounded vectors such as the 2-D toy mixtures.
            layer_norm: layer normalisation before each activation.
        """
        _check_size(width, "width", "generator", minimum=1)
        _check_size(num_blocks, "num_blocks", "generator", minimum=0)
        z = keras.Input((latent_dim,), name="z")
        x = layers.Dense(width, name="stem")(z)
        x = _residual_stack(x, width, num_blocks, activation, layer_norm)
        x = _pre_activation(x, activation, layer_norm, name="head")
        x = layers.Dense(math.prod(output_shape), activation=output_activation)(x)
        x = layers.Reshape(output_shape)(x)
        return keras.Model(z, x, name="resmlp_generator")

    @classmethod
    def build_discriminator(
        cls,
        input_shape,
        width=256,
        num_blocks=2,
        activation="leaky_relu",
        layer_norm=False,
    ):
        """A flattened sample -> Dense(width) -> residual blocks -> one logit.

        Args:
            width: units of every hidden layer.
            num_blocks: residual blocks (two Dense layers each).
            activation: hidden activation (any Keras name).
            layer_norm: layer normalisation before each activation. Off by
                default: it is per example, so harmless to gradient
                penalties, but the logit needs no help to stay well scaled.
        """
        _check_size(width, "width", "discriminator", minimum=1)
        _check_size(num_blocks, "num_blocks", "discriminator", minimum=0)
        x_in = keras.Input(input_shape, name="sample")
        x = layers.Flatten()(x_in)
        x = layers.Dense(width, name="stem")(x)
        x = _residual_stack(x, width, num_blocks, activation, layer_norm)
        x = _pre_activation(x, activation, layer_norm, name="head")
        logits = layers.Dense(1, name="logit")(x)
        return keras.Model(x_in, logits, name="resmlp_discriminator")


def _residual_stack(x, width, num_blocks, activation, layer_norm):
    for block in range(num_blocks):
        h = _pre_activation(x, activation, layer_norm, name=f"block{block}_a")
        h = layers.Dense(width, name=f"block{block}_dense_a")(h)
        h = _pre_activation(h, activation, layer_norm, name=f"block{block}_b")
        h = layers.Dense(width, name=f"block{block}_dense_b")(h)
        x = layers.Add(name=f"block{block}_add")([x, h])
    return x


def _pre_activation(x, activation, layer_norm, name):
    if layer_norm:
        x = layers.LayerNormalization(name=f"{name}_norm")(x)
    return layers.Activation(activation, name=f"{name}_act")(x)


_EXAMPLES = {"width": 256, "num_blocks": 2}


def _check_size(value, option, role, minimum):
    is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (is_integer and value >= minimum):
        raise kgan.KganError(
            f'The {role} of architecture "resmlp" needs {option} as an integer '
            f">= {minimum}, got {value!r}. Set it in the recipe's model.{role} "
            f"section, e.g. {option}: {_EXAMPLES[option]}."
        )
