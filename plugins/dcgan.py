"""DCGAN (Radford et al. 2015) for square or rectangular images of any even size."""

import keras
from keras import layers

import kgan
import kgan.layers
from kgan import validation


def _num_resolutions(shape, role):
    """Stride-2 stages and base size: halve height and width while both are even
    and their halves at least 3 (28 -> 14 -> 7, 32 -> ... -> 4, 64 -> ... -> 4)."""
    if len(shape) != 3:
        raise kgan.KganError(
            f"dcgan makes images of shape (height, width, channels); the {role} was "
            f"asked for shape {tuple(shape)}. Use the mlp architecture for vectors."
        )
    height, width = shape[0], shape[1]
    stages = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 3:
        height, width, stages = height // 2, width // 2, stages + 1
    if stages == 0:
        raise kgan.KganError(
            f"dcgan cannot make images of size {shape[0]}x{shape[1]}: height and width "
            "must be even and at least 6, and halve together to a small base "
            "(e.g. 28x28, 32x32, 64x64). Resize the data (`data.image_size`)."
        )
    return stages, (height, width)


@kgan.register_architecture("dcgan")
class DCGAN(kgan.Architecture):
    """Strided (transposed) convolutions with batch norm, ReLU/LeakyReLU and a tanh output."""

    @classmethod
    def build_generator(cls, latent_dim, output_shape, base_filters=64, kernel_size=4):
        """z -> dense base map -> stride-2 transposed convolutions -> tanh image.

        Batch norm and ReLU after every layer but the output (tanh), as in the
        paper. The last hidden stage has `base_filters` channels, doubling
        towards the base (28x28: 7x7x128 -> 14x14x64 -> 28x28x1).
        """
        stages, (base_h, base_w) = _num_resolutions(output_shape, "generator")
        channels = output_shape[-1]
        z = keras.Input((latent_dim,), name="z")
        filters = base_filters * 2 ** (stages - 1)
        x = layers.Dense(base_h * base_w * filters, use_bias=False)(z)
        x = kgan.layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Reshape((base_h, base_w, filters))(x)
        for stage in range(stages - 1):
            filters = base_filters * 2 ** (stages - 2 - stage)
            x = layers.Conv2DTranspose(
                filters, kernel_size, strides=2, padding="same", use_bias=False
            )(x)
            x = kgan.layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        image = layers.Conv2DTranspose(
            channels, kernel_size, strides=2, padding="same", activation="tanh"
        )(x)
        return keras.Model(z, image, name="dcgan_generator")

    @classmethod
    def build_discriminator(
        cls,
        input_shape,
        base_filters=64,
        kernel_size=4,
        leaky_slope=0.2,
        dropout=0.0,
        batch_norm=None,
        spectral_norm=False,
        minibatch_stddev=False,
    ):
        """Image -> stride-2 convolutions with LeakyReLU -> one logit.

        Args:
            base_filters: channels of the first convolution, doubling per stage.
            kernel_size: convolution kernel size.
            leaky_slope: negative slope of the LeakyReLUs.
            dropout: dropout rate after each stage.
            batch_norm: batch norm on every convolution but the first (the
                input layer), as in the DCGAN paper. Default: on, unless
                `spectral_norm` is. Turn it off for a WGAN-GP critic: its
                penalty is per example, and batch norm makes each output
                depend on the whole batch (Gulrajani et al. 2017, Sec. 4).
            spectral_norm: wrap every convolution and the output layer in
                `kgan.layers.SpectralNorm` (Miyato et al. 2018), whose
                discriminator has no batch norm; batch norm would rescale
                each layer by its batch's statistics and undo the bound.
            minibatch_stddev: before the logit, append the minibatch's
                feature spread as one more channel (`kgan.layers.MinibatchStddev`,
                Karras et al. 2018), so that D can tell a batch of too-similar
                samples from a real batch.
        """
        if batch_norm is None:
            batch_norm = not spectral_norm
        _check_flags(
            batch_norm=batch_norm, spectral_norm=spectral_norm, minibatch_stddev=minibatch_stddev
        )
        if batch_norm and spectral_norm:
            raise kgan.KganError(
                "The dcgan discriminator got spectral_norm: true and batch_norm: true. "
                "Batch norm divides each layer's output by its batch's standard "
                "deviation, which undoes the Lipschitz bound that spectral "
                "normalisation sets (Miyato et al. 2018 use no batch norm in D). "
                "Leave batch_norm unset (it is off with spectral_norm) or set it false."
            )
        wrap = kgan.layers.SpectralNorm if spectral_norm else (lambda layer: layer)
        stages, _ = _num_resolutions(input_shape, "discriminator")
        image = keras.Input(input_shape, name="image")
        x = image
        for stage in range(stages):
            normalised = batch_norm and stage > 0
            x = wrap(layers.Conv2D(
                base_filters * 2**stage,
                kernel_size,
                strides=2,
                padding="same",
                use_bias=not normalised,
            ))(x)
            if normalised:
                x = kgan.layers.BatchNormalization()(x)
            x = layers.LeakyReLU(negative_slope=leaky_slope)(x)
            if dropout:
                x = layers.Dropout(dropout)(x)
        if minibatch_stddev:
            x = kgan.layers.MinibatchStddev(name="minibatch_stddev")(x)
        x = layers.Flatten()(x)
        logits = wrap(layers.Dense(1, name="logit"))(x)
        return keras.Model(image, logits, name="dcgan_discriminator")


def _check_flags(**flags):
    for name, value in flags.items():
        validation.boolean(value, f"The dcgan discriminator's {name}")
