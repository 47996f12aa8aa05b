"""Conditional GANs: a class label into the generator, and into or out of the discriminator.

Two architectures, for a GAN built with `num_classes` (a recipe's
`model.conditional: true`); both wrap an unconditional architecture, the
*body* (`dcgan` for images and `mlp` for vectors by default), so that any
registered architecture can be made conditional:

- `cgan`: the conditional GAN of Mirza & Osindero (2014). The generator takes
  `[z, labels]` and feeds the body the noise concatenated with a learned
  embedding of the label. The discriminator takes `[x, labels]` and is a
  *projection discriminator* (Miyato & Koyama 2018): with phi(x) the body's
  penultimate features, its logit is `psi(phi(x)) + embed(y) . phi(x)`, the
  form that the log-density ratio of a conditional model takes.
- `acgan`: the auxiliary-classifier GAN of Odena et al. (2017). The generator
  is cgan's; the discriminator sees `x` alone and returns `[logit,
  class_logits]`, and the engine adds the classification loss of real and
  generated samples to both networks' losses.

Example:

```python
g = kgan.generator("cgan", latent_dim=100, output_shape=(28, 28, 1), num_classes=10)
d = kgan.discriminator("cgan", input_shape=(28, 28, 1), num_classes=10)
gan = kgan.GAN(g, d, latent_dim=100, num_classes=10)
```

Options other than `num_classes`, `body` and `embedding_dim` go to the body,
e.g. `{name: cgan, base_filters: 32}` or `{name: cgan, hidden_units: [64, 64]}`.
"""

import keras
from keras import layers

import kgan
from kgan import errors
from kgan import layers as kgan_layers
from kgan import validation

CONDITIONAL_HELP = (
    "set `model.conditional: true` in the recipe (the dataset's labels give "
    "num_classes), or pass num_classes= to kgan.generator/kgan.discriminator"
)


class _Conditional(kgan.Architecture):
    """The generator shared by cgan and acgan: label embedding concatenated to z."""

    NAME = None

    @classmethod
    def build_generator(cls, latent_dim, output_shape, num_classes=None, body=None,
                        embedding_dim=50, **body_options):
        """`[z, labels]` -> the body generator of `[z, embed(labels)]`.

        Args:
            num_classes: number of classes; labels are ints in [0, num_classes).
            body: the unconditional architecture to wrap; default `dcgan` for
                images (height, width, channels), `mlp` otherwise.
            embedding_dim: width of the learned label embedding.
            **body_options: options of the body's generator.
        """
        name = cls.NAME
        num_classes = _check_num_classes(num_classes, name, "generator")
        embedding_dim = _check_width(embedding_dim, "embedding_dim", name)
        body = _body_name(body, output_shape)
        network = _build_body(
            kgan.generator, body, name,
            latent_dim=latent_dim + embedding_dim, output_shape=output_shape, **body_options,
        )
        z = keras.Input((latent_dim,), name="z")
        labels = keras.Input((), dtype="int32", name="labels")
        # Keras' small initial embeddings (uniform in +-0.05) let G start from
        # the noise and learn the label's part. Embeddings on the scale of z
        # made a DCGAN G ignore z within each class on MNIST (one sample per
        # digit after 600 steps), probably because the batch norm after the
        # first layer then normalises mostly between-class variation.
        embedded = layers.Embedding(num_classes, embedding_dim, name="label_embedding")(labels)
        samples = network(layers.Concatenate(name="z_and_label")([z, embedded]))
        return keras.Model([z, labels], samples, name=f"{name}_generator")


@kgan.register_architecture("cgan")
class ConditionalGAN(_Conditional):
    """Conditional GAN (Mirza & Osindero 2014): label embedding joined to z; projection D."""

    NAME = "cgan"

    @classmethod
    def build_discriminator(cls, input_shape, num_classes=None, body=None, **body_options):
        """`[x, labels]` -> one logit, `psi(phi(x)) + embed(labels) . phi(x)`.

        phi is the body discriminator up to its last layer, a `Dense(1)`,
        and psi is that layer.

        Args:
            num_classes: number of classes.
            body: the unconditional architecture to wrap (default as for the
                generator).
            **body_options: options of the body's discriminator.
        """
        num_classes = _check_num_classes(num_classes, cls.NAME, "discriminator")
        features, psi = _body_parts(input_shape, body, cls.NAME, body_options)
        x = keras.Input(input_shape, name="sample")
        labels = keras.Input((), dtype="int32", name="labels")
        phi = features(x)
        embedded = layers.Embedding(
            num_classes, phi.shape[-1], name="label_projection"
        )(labels)
        projection = kgan_layers.RowDot(name="projection")([embedded, phi])
        logit = layers.Add(name="logit_plus_projection")([psi(phi), projection])
        return keras.Model([x, labels], logit, name=f"{cls.NAME}_discriminator")


@kgan.register_architecture("acgan")
class AuxiliaryClassifierGAN(_Conditional):
    """AC-GAN (Odena et al. 2017): cgan's generator; D returns [logit, class logits] of x."""

    NAME = "acgan"

    @classmethod
    def build_discriminator(cls, input_shape, num_classes=None, body=None, **body_options):
        """`x` -> `[logit (batch, 1), class_logits (batch, num_classes)]`.

        Both heads are dense layers on the body discriminator's penultimate
        features (the logit head is the body's own last layer), so the
        auxiliary classifier shares all of D's body. A spectrally normalised
        body (`spectral_norm: true`) gets a spectrally normalised class head.

        Args:
            num_classes: number of classes.
            body: the unconditional architecture to wrap.
            **body_options: options of the body's discriminator.
        """
        num_classes = _check_num_classes(num_classes, cls.NAME, "discriminator")
        features, psi = _body_parts(input_shape, body, cls.NAME, body_options)
        x = keras.Input(input_shape, name="sample")
        phi = features(x)
        class_head = layers.Dense(num_classes, name="class_logits")
        if isinstance(psi, kgan_layers.SpectralNorm):
            class_head = kgan_layers.SpectralNorm(class_head, name="class_logits_sn")
        logit, class_logits = psi(phi), class_head(phi)
        return keras.Model(x, [logit, class_logits], name=f"{cls.NAME}_discriminator")


def _body_name(body, shape):
    if body is None:
        return "dcgan" if len(shape) == 3 else "mlp"
    if body in ("cgan", "acgan"):
        raise kgan.KganError(
            f'body="{body}": the body of a conditional architecture must be an '
            "unconditional one, such as dcgan or mlp."
        )
    return body


def _build_body(build, body, name, **kwargs):
    try:
        return build(body, **kwargs)
    except errors.PluginParameterError as exc:
        raise type(exc)(
            f"{name} passes every option but num_classes, body and embedding_dim to "
            f"its body architecture, {body}: {exc}"
        ) from None
    except kgan.KganError as exc:
        raise type(exc)(f"{name} (body: {body}): {exc}") from None


def _body_parts(input_shape, body, name, body_options):
    """The body discriminator split before its last layer: `(x -> phi(x), psi)`."""
    body = _body_name(body, input_shape)
    network = _build_body(
        kgan.discriminator, body, name, input_shape=input_shape, **body_options
    )
    last = network.layers[-1] if getattr(network, "layers", None) else None
    if not (getattr(network, "inputs", None) and _is_logit_layer(last)):
        raise kgan.KganError(
            f'{name} needs a body discriminator that is a functional keras.Model ending '
            f'in a Dense(1) layer, whose input it uses as the features; the "{body}" '
            "discriminator is not. Use body: dcgan or body: mlp."
        )
    return keras.Model(network.inputs, last.input, name=f"{body}_features"), last


def _is_logit_layer(layer):
    inner = layer.layer if isinstance(layer, kgan_layers.SpectralNorm) else layer
    return isinstance(inner, layers.Dense) and inner.units == 1


def _check_num_classes(num_classes, name, role):
    if num_classes is None:
        raise kgan.KganError(
            f"The {name} {role} is conditional and needs num_classes: {CONDITIONAL_HELP}."
        )
    if not validation.is_integer(num_classes) or num_classes < 2:
        raise kgan.KganError(
            f"The {name} {role} needs num_classes, the number of label classes, as an "
            f"integer >= 2; got {num_classes!r}."
        )
    return int(num_classes)


def _check_width(value, option, name):
    return validation.integer(value, f"{name}'s {option}", minimum=1)
