"""DCGAN (Radford et al. 2015) for square or rectangular images of any even size."""

import keras
from keras import layers

import kgan


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
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Reshape((base_h, base_w, filters))(x)
        for stage in range(stages - 1):
            filters = base_filters * 2 ** (stages - 2 - stage)
            x = layers.Conv2DTranspose(
                filters, kernel_size, strides=2, padding="same", use_bias=False
            )(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        image = layers.Conv2DTranspose(
            channels, kernel_size, strides=2, padding="same", activation="tanh"
        )(x)
        return keras.Model(z, image, name="dcgan_generator")

    @classmethod
    def build_discriminator(
        cls, input_shape, base_filters=64, kernel_size=4, leaky_slope=0.2, dropout=0.0
    ):
        """Image -> stride-2 convolutions with LeakyReLU -> one logit.

        Batch norm on every convolution but the first (the input layer), as in
        the paper.
        """
        stages, _ = _num_resolutions(input_shape, "discriminator")
        image = keras.Input(input_shape, name="image")
        x = image
        for stage in range(stages):
            x = layers.Conv2D(
                base_filters * 2**stage,
                kernel_size,
                strides=2,
                padding="same",
                use_bias=stage == 0,
            )(x)
            if stage > 0:
                x = layers.BatchNormalization()(x)
            x = layers.LeakyReLU(negative_slope=leaky_slope)(x)
            if dropout:
                x = layers.Dropout(dropout)(x)
        x = layers.Flatten()(x)
        logits = layers.Dense(1, name="logit")(x)
        return keras.Model(image, logits, name="dcgan_discriminator")
