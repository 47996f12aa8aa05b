"""Built-in architectures: the paper's MLPs and DCGAN, their options and their errors."""

import keras
import numpy as np
import pytest

import kgan
from kgan import errors


def _layers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


# --- mlp -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1,), (2,), (28, 28, 1)])
def test_mlp_makes_and_judges_vectors_and_images(shape):
    generator = kgan.generator("mlp", 4, shape, hidden_units=(8, 6))
    discriminator = kgan.discriminator("mlp", shape, hidden_units=(5,))
    samples = generator(np.random.RandomState(0).normal(size=(3, 4)).astype("float32"))
    assert tuple(samples.shape) == (3, *shape)
    assert np.abs(samples).max() <= 1.0  # tanh output by default
    assert tuple(discriminator(samples).shape) == (3, 1)
    assert [d.units for d in _layers(generator, keras.layers.Dense)] == [8, 6, int(np.prod(shape))]
    assert [d.units for d in _layers(discriminator, keras.layers.Dense)] == [5, 1]


def test_mlp_options():
    generator = kgan.generator(
        "mlp", 2, (1,), hidden_units=(4,), activation="elu", output_activation="linear",
        batch_norm=True,
    )
    activations = [a.activation.__name__ for a in _layers(generator, keras.layers.Activation)]
    assert activations == ["elu"]
    assert len(_layers(generator, keras.layers.BatchNormalization)) == 1
    assert generator.layers[-2].activation.__name__ == "linear"  # before the Reshape

    discriminator = kgan.discriminator(
        "mlp", (2,), hidden_units=(6, 4), dropout=0.5, maxout_pieces=3
    )
    maxouts = [layer for layer in discriminator.layers if type(layer).__name__ == "Maxout"]
    assert [(m.units, m.pieces) for m in maxouts] == [(6, 3), (4, 3)]
    assert len(_layers(discriminator, keras.layers.Dropout)) == 2
    default = kgan.discriminator("mlp", (2,), hidden_units=(6,), activation="tanh")
    assert _layers(default, keras.layers.Dense)[0].activation.__name__ == "tanh"


# --- dcgan ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, stages, base",
    [((28, 28, 1), 2, (7, 7)), ((32, 32, 3), 3, (4, 4)), ((64, 64, 3), 4, (4, 4))],
)
def test_dcgan_follows_radford_et_al(shape, stages, base):
    generator = kgan.generator("dcgan", 8, shape, base_filters=4)
    discriminator = kgan.discriminator("dcgan", shape, base_filters=4)
    assert generator.output_shape == (None, *shape)
    assert discriminator.output_shape == (None, 1)
    assert generator.get_layer(index=4).output.shape[1:3] == base  # the reshaped base map

    # Generator: stride-2 transposed convolutions; batch norm + ReLU after every
    # layer but the output, which is tanh.
    convs = _layers(generator, keras.layers.Conv2DTranspose)
    assert len(convs) == stages and all(c.strides == (2, 2) for c in convs)
    assert convs[-1] is generator.layers[-1] and convs[-1].activation.__name__ == "tanh"
    assert len(_layers(generator, keras.layers.BatchNormalization)) == stages  # dense + hidden
    assert len(_layers(generator, keras.layers.ReLU)) == stages
    assert isinstance(generator.layers[-2], keras.layers.ReLU)  # no batch norm at the output
    following = {
        layer.name: generator.layers[i + 1] for i, layer in enumerate(generator.layers[:-1])
    }
    for layer in [_layers(generator, keras.layers.Dense)[0], *convs[:-1]]:
        assert isinstance(following[layer.name], keras.layers.BatchNormalization)

    # Discriminator: stride-2 convolutions with LeakyReLU(0.2); batch norm on all
    # but the first (input) convolution; one linear logit.
    convs = _layers(discriminator, keras.layers.Conv2D)
    assert len(convs) == stages and all(c.strides == (2, 2) for c in convs)
    following = {
        layer.name: discriminator.layers[i + 1]
        for i, layer in enumerate(discriminator.layers[:-1])
    }
    assert isinstance(following[convs[0].name], keras.layers.LeakyReLU)
    for conv in convs[1:]:
        assert isinstance(following[conv.name], keras.layers.BatchNormalization)
    slopes = {layer.negative_slope for layer in _layers(discriminator, keras.layers.LeakyReLU)}
    assert slopes == {0.2}
    assert discriminator.layers[-1].activation.__name__ == "linear"

    samples = generator(np.zeros((2, 8), "float32"), training=True)
    assert np.abs(samples).max() <= 1.0


def test_dcgan_trains_and_generates_in_inference_mode():
    generator = kgan.generator("dcgan", 4, (28, 28, 1), base_filters=2)
    discriminator = kgan.discriminator("dcgan", (28, 28, 1), base_filters=2)
    gan = kgan.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile("adam", "adam")
    images = np.random.RandomState(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    history = gan.fit(images, batch_size=4, epochs=1, verbose=0).history
    assert all(np.isfinite(values[0]) for values in history.values())
    # Batch norm uses its moving statistics in `generate`: a sample does not
    # depend on the others in its batch.
    np.testing.assert_allclose(
        gan.generate(3, seed=1)[:1], gan.generate(3, seed=1, batch_size=1)[:1], atol=1e-5
    )


@pytest.mark.parametrize(
    "shape, match",
    [
        ((27, 27, 1), "cannot make images of size 27x27"),
        ((5, 5, 3), "cannot make images of size 5x5"),
        ((28, 28), "shape \\(height, width, channels\\)"),
        ((28, 28, 0), "positive sizes"),
        ((-4, 8, 1), "positive sizes"),
    ],
)
def test_dcgan_refuses_impossible_sizes(shape, match):
    with pytest.raises(kgan.KganError, match=match):
        kgan.generator("dcgan", 8, shape)
    with pytest.raises(kgan.KganError, match=match):
        kgan.discriminator("dcgan", shape)


# --- Options and names ---------------------------------------------------------


def test_unknown_options_name_the_close_one_and_list_all():
    with pytest.raises(errors.PluginParameterError) as info:
        kgan.generator("dcgan", 8, (32, 32, 3), base_filter=32)
    message = str(info.value)
    assert 'has no option "base_filter". Did you mean "base_filters"?' in message
    assert "Its options: base_filters, kernel_size." in message
    with pytest.raises(errors.PluginParameterError, match='"maxout"'):
        kgan.discriminator("mlp", (2,), maxout=3)


def test_parameters_lists_each_role_s_options():
    assert kgan.architectures.parameters("dcgan", "discriminator") == [
        "base_filters", "kernel_size", "leaky_slope", "dropout", "batch_norm",
        "spectral_norm", "minibatch_stddev",
    ]
    assert "hidden_units" in kgan.architectures.parameters("mlp", "generator")


def test_unknown_architecture_and_bad_latent_dim():
    with pytest.raises(errors.UnknownPluginError, match='Did you mean "dcgan"'):
        kgan.generator("dcgn", 8, (28, 28, 1))
    with pytest.raises(kgan.KganError, match="latent_dim"):
        kgan.generator("mlp", 0, (2,))
