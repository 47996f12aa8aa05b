"""The fully connected networks of Goodfellow et al. (2014), for images or vectors."""

import math

import keras
from keras import layers

import kgan
import kgan.layers
from kgan import validation


@keras.saving.register_keras_serializable(package="kgan")
class Maxout(layers.Layer):
    """Maxout units (Goodfellow et al. 2013): the max over `pieces` linear pieces."""

    def __init__(self, units, pieces=5, spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.pieces = pieces
        self.spectral_norm = spectral_norm
        # Spectral normalisation of all pieces' matrix together bounds the
        # maxout layer too: each unit moves at most as much as its largest piece.
        self.dense = _maybe_spectral_norm(layers.Dense(units * pieces), spectral_norm)

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, x):
        x = self.dense(x)
        x = keras.ops.reshape(x, (-1, self.units, self.pieces))
        return keras.ops.max(x, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces,
                "spectral_norm": self.spectral_norm}


@kgan.register_architecture("mlp")
class MLP(kgan.Architecture):
    """Fully connected G and D of the 2014 GAN paper; any vector or image shape."""

    @classmethod
    def build_generator(
        cls,
        latent_dim,
        output_shape,
        hidden_units=(256, 512),
        activation="relu",
        output_activation="tanh",
        batch_norm=False,
    ):
        """Dense layers from z to a flat sample, reshaped to `output_shape`.

        Args:
            hidden_units: widths of the hidden layers.
            activation: hidden activation (any Keras name).
            output_activation: "tanh" for data in [-1, 1], "linear" for
                unbounded vectors such as the 1-D toy distributions.
            batch_norm: batch normalisation after each hidden layer.
        """
        z = keras.Input((latent_dim,), name="z")
        x = z
        for units in hidden_units:
            x = layers.Dense(units)(x)
            if batch_norm:
                x = kgan.layers.BatchNormalization()(x)
            x = layers.Activation(activation)(x)
        x = layers.Dense(math.prod(output_shape), activation=output_activation)(x)
        x = layers.Reshape(output_shape)(x)
        return keras.Model(z, x, name="mlp_generator")

    @classmethod
    def build_discriminator(
        cls,
        input_shape,
        hidden_units=(512, 256),
        activation="leaky_relu",
        dropout=0.0,
        maxout_pieces=None,
        spectral_norm=False,
        normalize_input=False,
    ):
        """Dense layers from a flattened sample to one logit.

        Args:
            hidden_units: widths of the hidden layers.
            activation: hidden activation; ignored when `maxout_pieces` is set.
            dropout: dropout rate after each hidden layer (the paper used it).
            maxout_pieces: use maxout units with this many pieces, as the paper did.
            spectral_norm: wrap every dense layer in `kgan.layers.SpectralNorm`
                (Miyato et al. 2018). With activations of slope at most 1
                (relu, leaky_relu, tanh, maxout) D is then 1-Lipschitz.
            normalize_input: standardise each input by the data's mean and
                standard deviation (a `keras.layers.Normalization` that `fit`
                adapts to the real data before the first step). Data far from
                the origin need it: a freshly initialised D's units all bend
                near 0, so on data at 4 +- 0.5 D is affine, can compare only
                means, and goes flat once G's mean is right, whatever its spread.
        """
        validation.boolean(spectral_norm, "The mlp discriminator's spectral_norm")
        validation.boolean(normalize_input, "The mlp discriminator's normalize_input")
        x_in = keras.Input(input_shape, name="sample")
        x = layers.Flatten()(x_in)
        if normalize_input:
            x = layers.Normalization(axis=-1, name="input_normalization")(x)
        for units in hidden_units:
            if maxout_pieces:
                x = Maxout(units, pieces=int(maxout_pieces), spectral_norm=spectral_norm)(x)
            else:
                x = _maybe_spectral_norm(layers.Dense(units, activation=activation),
                                         spectral_norm)(x)
            if dropout:
                x = layers.Dropout(dropout)(x)
        logits = _maybe_spectral_norm(layers.Dense(1, name="logit"), spectral_norm)(x)
        return keras.Model(x_in, logits, name="mlp_discriminator")


def _maybe_spectral_norm(layer, spectral_norm):
    return kgan.layers.SpectralNorm(layer) if spectral_norm else layer
