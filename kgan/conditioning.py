"""Conditioning: how class labels reach the networks, chosen once per model.

A model asks `for_networks` once, when it is built, which of three ways its
networks take labels, and gets an object that knows how:

- `Unconditional`: G takes noise z, D takes x; no labels anywhere.
- `LabelInput` (a conditional GAN, Mirza & Osindero 2014): G takes
  `[z, labels]`; D takes `[x, labels]` when it has two inputs.
- `AuxiliaryClassifier` (AC-GAN, Odena et al. 2017): G takes `[z, labels]`;
  D returns `[logit, class_logits]`, and a classification loss joins D's and
  G's losses.

The training steps then call the same methods whichever it is: the labels of
a batch (`split`), labels for fakes (`fake_labels`), G's inputs
(`generator_inputs`), D's logits (`discriminate`) and the class losses.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import errors
from kgan import noise


class Unconditional:
    """No labels: G takes z, D takes x."""

    num_classes = None

    def split(self, data):
        """`(x, labels)` of a batch from `fit`; labels are None here."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x, None

    def fake_labels(self, m, seed_generator):
        """Labels for m fakes, drawn uniformly (None when unconditional)."""
        return None

    def generator_inputs(self, z, labels):
        return z

    def discriminate(self, discriminator, x, labels, training=True):
        """D's float32 logits on `x`, and its float32 class logits (AC-GAN) or None."""
        return tf.cast(discriminator(x, training=training), "float32"), None

    def set_class_loss(self, weight, on_fakes):
        """Sets the class loss's weight and whether D classifies fakes (AC-GAN only)."""
        del weight, on_fakes  # No class loss without an auxiliary classifier.

    def discriminator_class_loss(self, real_labels, real_classes, fake_labels, fake_classes):
        """The class loss added to D's loss, or None."""
        return None

    def generator_class_loss(self, fake_labels, fake_classes):
        """The class loss added to G's loss, or None."""
        return None

    def sample_labels(self, labels, num_samples, source="this GAN"):
        """Labels for `generate` (None here; passing some is an error)."""
        if labels is not None:
            raise errors.KganError(
                f"{source} is not conditional (num_classes is None), so it takes no "
                "labels. Train a conditional GAN (e.g. the cgan architecture) to draw "
                "chosen classes."
            )
        return None


class LabelInput(Unconditional):
    """A conditional GAN: G takes `[z, labels]`, and D `[x, labels]` if it has two inputs."""

    def __init__(self, num_classes, discriminator_takes_labels=True):
        self.num_classes = int(num_classes)
        self.discriminator_takes_labels = bool(discriminator_takes_labels)

    def split(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise errors.KganError(
                f"This GAN is conditional (num_classes={self.num_classes}) but the data "
                "has no labels. Fit it on (x, y) pairs: GAN.fit(x, y) or a dataset of "
                "(images, labels)."
            )
        return x, tf.reshape(tf.cast(y, "int32"), [-1])

    def fake_labels(self, m, seed_generator):
        return noise.replica_slice(
            lambda rows: keras.random.randint(
                (rows,), 0, self.num_classes, seed=seed_generator, dtype="int32"
            ),
            m,
        )

    def generator_inputs(self, z, labels):
        return [z, labels]

    def discriminate(self, discriminator, x, labels, training=True):
        inputs = [x, labels] if self.discriminator_takes_labels else x
        return tf.cast(discriminator(inputs, training=training), "float32"), None

    def sample_labels(self, labels, num_samples, source="this GAN"):
        return sample_labels(labels, num_samples, self.num_classes, source)


class AuxiliaryClassifier(LabelInput):
    """AC-GAN: D also returns class logits, and both networks minimise a class loss.

    Args:
        weight: weight of the class loss in D's and G's losses.
        on_fakes: D also learns to classify fakes by their drawn labels (the
            paper); False trains D's classifier on real data alone (twice the
            weight, the same total), as Keras' mnist_acgan example does.
    """

    def __init__(self, num_classes, discriminator_takes_labels=False, weight=1.0,
                 on_fakes=True):
        super().__init__(num_classes, discriminator_takes_labels)
        self.weight = float(weight)
        self.on_fakes = bool(on_fakes)

    def set_class_loss(self, weight, on_fakes):
        self.weight = float(weight)
        self.on_fakes = bool(on_fakes)

    def discriminate(self, discriminator, x, labels, training=True):
        inputs = [x, labels] if self.discriminator_takes_labels else x
        logits, classes = discriminator(inputs, training=training)
        return tf.cast(logits, "float32"), tf.cast(classes, "float32")

    def discriminator_class_loss(self, real_labels, real_classes, fake_labels, fake_classes):
        if self.on_fakes:
            loss = _class_loss(real_labels, real_classes) + _class_loss(fake_labels, fake_classes)
        else:
            loss = 2.0 * _class_loss(real_labels, real_classes)
        return self.weight * loss

    def generator_class_loss(self, fake_labels, fake_classes):
        return self.weight * _class_loss(fake_labels, fake_classes)


def for_networks(generator, discriminator, latent_dim, num_classes):
    """The conditioning that these networks imply, after checking that they fit together.

    Args:
        generator: the built generator.
        discriminator: the built discriminator, or None (a direct model).
        latent_dim: size of z.
        num_classes: classes of a conditional model, or None.

    Returns:
        An `Unconditional`, `LabelInput` or `AuxiliaryClassifier`.
    """
    try:
        g_in = _shapes(generator.input_shape)
        g_out = _shapes(generator.output_shape)
        d_in = _shapes(discriminator.input_shape) if discriminator is not None else None
        d_out = _shapes(discriminator.output_shape) if discriminator is not None else None
    except (AttributeError, ValueError, TypeError):
        # A subclassed model without static shapes: assume the plain case.
        return Unconditional() if num_classes is None else LabelInput(num_classes, False)
    conditional = num_classes is not None
    if conditional and len(g_in) != 2:
        raise errors.KganError(
            f"A conditional GAN (num_classes={num_classes}) needs a generator taking "
            f"[z, labels], but this one takes {len(g_in)} input(s). Use a conditional "
            "architecture such as cgan or acgan."
        )
    if not conditional and len(g_in) != 1:
        raise errors.KganError(
            f"The generator takes {len(g_in)} inputs ([z, labels]?), but num_classes is "
            "None. Build the GAN with num_classes=N (in a recipe: model.conditional: true)."
        )
    if len(g_in[0]) != 2 or g_in[0][-1] not in (None, latent_dim):
        raise errors.KganError(
            f"The generator takes inputs of shape {g_in[0]}, but latent_dim is "
            f"{latent_dim}: it must take noise of shape (batch, {latent_dim}). Build "
            "the generator and the GAN with the same latent_dim."
        )
    if discriminator is None:
        return LabelInput(num_classes, False) if conditional else Unconditional()
    if not _compatible(g_out[0][1:], d_in[0][1:]):
        raise errors.KganError(
            f"The generator makes samples of shape {g_out[0][1:]} but the discriminator "
            f"takes {d_in[0][1:]}. Build both for the same sample shape (the data's)."
        )
    takes_labels, has_classes = len(d_in) == 2, len(d_out) == 2
    if (takes_labels or has_classes) and not conditional:
        raise errors.KganError(
            "The discriminator takes labels or predicts classes, but num_classes is None. "
            "Build the GAN with num_classes=N (in a recipe: model.conditional: true)."
        )
    if d_out[0][1:] not in ((1,), (), (None,)) or len(d_out) > 2:
        raise errors.KganError(
            f"The discriminator must output one logit per example (shape (batch, 1)), "
            f"but it outputs {d_out}. End it with keras.layers.Dense(1) and no activation."
        )
    if has_classes and d_out[1][1:] not in ((num_classes,), (None,)):
        raise errors.KganError(
            f"An AC-GAN discriminator's second output must be {num_classes} class logits, "
            f"got shape {d_out[1]}."
        )
    if has_classes:
        return AuxiliaryClassifier(num_classes, takes_labels)
    return LabelInput(num_classes, takes_labels) if conditional else Unconditional()


def sample_labels(labels, num_samples, num_classes, source="the model"):
    """`[num_samples]` int32 labels: `labels` broadcast, or 0..num_classes-1 cycling if None.

    Raises a KganError naming `source` for labels outside [0, num_classes).
    """
    if labels is None:
        return np.arange(num_samples, dtype=np.int32) % num_classes
    array = np.asarray(labels)
    if array.dtype.kind not in "iu" or array.ndim > 1 or array.size not in (1, num_samples):
        raise errors.KganError(
            f"labels must be one integer class or {num_samples} of them (one per "
            f"sample), got {labels!r}."
        )
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise errors.KganError(
            f"label {int(array.min() if array.min() < 0 else array.max())} is out of "
            f"range: {source} has {num_classes} classes, labels 0 to {num_classes - 1}."
        )
    return np.broadcast_to(array.astype(np.int32).reshape(-1), (num_samples,)).copy()


def _class_loss(labels, class_logits):
    return tf.reduce_mean(
        keras.losses.sparse_categorical_crossentropy(labels, class_logits, from_logits=True)
    )


def _shapes(tensors_shape):
    """A model's input or output shape as a list of tuples (one per tensor)."""
    if isinstance(tensors_shape, dict):
        tensors_shape = list(tensors_shape.values())
    if isinstance(tensors_shape, (list,)) and tensors_shape and not isinstance(
        tensors_shape[0], (int, type(None))
    ):
        return [tuple(shape) for shape in tensors_shape]
    return [tuple(tensors_shape)]


def _compatible(shape_a, shape_b):
    return len(shape_a) == len(shape_b) and all(
        a is None or b is None or a == b for a, b in zip(shape_a, shape_b)
    )
