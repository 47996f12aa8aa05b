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

`make_train_step` and `make_dataset` are the tutorial's training step and
input pipeline, as written there, for the same comparisons. Its step is a
*simultaneous* update (both networks' gradients from one forward pass at the
same weights), not Algorithm 1 of Goodfellow et al. (2014), which kgan runs.
"""

import keras
import tensorflow as tf
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
        x = kgan.layers.BatchNormalization()(x)
        x = layers.LeakyReLU()(x)
        x = layers.Reshape((base_h, base_w, 256))(x)
        for filters, strides in ((128, 1), (64, 2)):
            x = layers.Conv2DTranspose(filters, 5, strides=strides, padding="same",
                                       use_bias=False)(x)
            x = kgan.layers.BatchNormalization()(x)
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


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    batch_size=256, noise_dim=100, jit_compile=False):
    """The tutorial's `train_step`, verbatim but for the XLA switch.

    Losses are `BinaryCrossentropy(from_logits=True)`; the noise is always
    `batch_size` rows, also for a smaller last batch, as in the tutorial.

    Returns:
        A `tf.function` of a batch of real images that updates both networks
        and returns `(disc_loss, gen_loss)`.
    """
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        total_loss = real_loss + fake_loss
        return total_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    @tf.function(jit_compile=jit_compile)
    def train_step(images):
        noise = tf.random.normal([batch_size, noise_dim])

        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)

            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)

            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)

        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(
            disc_loss, discriminator.trainable_variables)

        generator_optimizer.apply_gradients(
            zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables))
        return disc_loss, gen_loss

    return train_step


def make_dataset(images, batch_size=256, buffer_size=60_000):
    """The tutorial's input: `from_tensor_slices(images).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)`.

    One pass per iteration, reshuffled each time, the last batch partial.
    """
    return tf.data.Dataset.from_tensor_slices(images).shuffle(buffer_size).batch(batch_size)
