"""The networks of TensorFlow's DCGAN tutorial, layer for layer.

https://www.tensorflow.org/tutorials/generative/dcgan builds a generator of
2,330,944 parameters (a 7x7x256 dense base, 5x5 transposed convolutions with
batch norm and LeakyReLU, a tanh output, no biases) and a discriminator of
212,865 (two 5x5 stride-2 convolutions with LeakyReLU and dropout 0.3, then
one logit). kgan registers them as `tf_tutorial` so that kgan's training can
be compared with the tutorial's loop on exactly the same networks
(`bin/benchmark_step.py`, `bin/train_budget.py`).

Example:

```python
generator = kgan.generator("tf_tutorial", latent_dim=100, output_shape=(28, 28, 1))
discriminator = kgan.discriminator("tf_tutorial", input_shape=(28, 28, 1))
```

The tutorial makes 28x28x1 images; any size whose height and width are
multiples of 4 (and any number of channels) works the same way, the base
map being a quarter of the image's height and width.
"""

import keras
from keras import layers

import kgan


def _base_size(shape, role):
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4:
        raise kgan.KganError(
            f"tf_tutorial makes images of shape (height, width, channels) with height "
            f"and width multiples of 4, such as the tutorial's (28, 28, 1); the {role} "
            f"was asked for shape {tuple(shape)}. Resize the data (`data.image_size`) or "
            "use the dcgan architecture."
        )
    return shape[0] // 4, shape[1] // 4


@kgan.register_architecture("tf_tutorial")
class TFTutorial(kgan.Architecture):
    """The TensorFlow DCGAN tutorial's generator and discriminator (G 2.33 M, D 213 k params)."""

    @classmethod
    def build_generator(cls, latent_dim, output_shape):
        """z -> Dense 7x7x256 -> 5x5 transposed convolutions 128, 64 (stride 2), 1 (tanh).

        No biases; batch norm and LeakyReLU (slope 0.3, Keras' default, as in
        the tutorial) after every layer but the output.
        """
        base_h, base_w = _base_size(output_shape, "generator")
        z = keras.Input((latent_dim,), name="z")
        x = layers.Dense(base_h * base_w * 256, use_bias=False)(z)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU()(x)
        x = layers.Reshape((base_h, base_w, 256))(x)
        for filters, strides in ((128, 1), (64, 2)):
            x = layers.Conv2DTranspose(filters, 5, strides=strides, padding="same",
                                       use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.LeakyReLU()(x)
        image = layers.Conv2DTranspose(output_shape[-1], 5, strides=2, padding="same",
                                       use_bias=False, activation="tanh")(x)
        return keras.Model(z, image, name="tf_tutorial_generator")

    @classmethod
    def build_discriminator(cls, input_shape):
        """Image -> 5x5 stride-2 convolutions 64, 128, each LeakyReLU + Dropout(0.3) -> logit."""
        _base_size(input_shape, "discriminator")
        image = keras.Input(input_shape, name="image")
        x = image
        for filters in (64, 128):
            x = layers.Conv2D(filters, 5, strides=2, padding="same")(x)
            x = layers.LeakyReLU()(x)
            x = layers.Dropout(0.3)(x)
        x = layers.Flatten()(x)
        logits = layers.Dense(1, name="logit")(x)
        return keras.Model(image, logits, name="tf_tutorial_discriminator")
