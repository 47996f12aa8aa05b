"""The `tf_tutorial` architecture is the TensorFlow DCGAN tutorial's networks, exactly."""

import keras
import pytest
from keras import layers

import kgan


def tutorial_generator():
    """`make_generator_model()` as tensorflow.org/tutorials/generative/dcgan writes it."""
    return keras.Sequential([
        keras.Input((100,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                               activation="tanh"),
    ])


def tutorial_discriminator():
    """`make_discriminator_model()` of the tutorial."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1),
    ])


def _layer_summary(model):
    """Each layer's class and the config entries that define its computation."""
    keys = ("units", "filters", "kernel_size", "strides", "padding", "use_bias",
            "activation", "negative_slope", "rate", "target_shape", "momentum", "epsilon")
    summary = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue  # a functional model lists its input; a Sequential one does not
        config = layer.get_config()
        summary.append((type(layer).__name__,
                        {key: config[key] for key in keys if key in config},
                        [tuple(w.shape) for w in layer.weights]))
    return summary


def test_parameter_counts_are_the_tutorials():
    generator = kgan.generator("tf_tutorial", latent_dim=100, output_shape=(28, 28, 1))
    discriminator = kgan.discriminator("tf_tutorial", input_shape=(28, 28, 1))
    assert generator.count_params() == 2_330_944  # "2.33 M"
    assert discriminator.count_params() == 212_865  # "213 k"
    assert generator.output_shape == (None, 28, 28, 1)
    assert discriminator.output_shape == (None, 1)


def test_layers_match_the_tutorial_layer_for_layer():
    generator = kgan.generator("tf_tutorial", latent_dim=100, output_shape=(28, 28, 1))
    discriminator = kgan.discriminator("tf_tutorial", input_shape=(28, 28, 1))
    assert _layer_summary(generator) == _layer_summary(tutorial_generator())
    assert _layer_summary(discriminator) == _layer_summary(tutorial_discriminator())


def test_other_sizes_and_bad_shapes():
    generator = kgan.generator("tf_tutorial", latent_dim=8, output_shape=(32, 32, 3))
    assert generator.output_shape == (None, 32, 32, 3)
    with pytest.raises(kgan.KganError, match="multiples of 4"):
        kgan.discriminator("tf_tutorial", input_shape=(30, 30, 1))
    with pytest.raises(kgan.KganError, match="tf_tutorial"):
        kgan.generator("tf_tutorial", latent_dim=8, output_shape=(16,))
