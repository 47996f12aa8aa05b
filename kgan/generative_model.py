"""`GenerativeModel`: what a GAN and a direct model share.

Both train a generator G from noise z ~ N(0, I) (and labels, when
conditional) to samples, keep an optional exponential moving average of its
weights (the `sampler` that draws samples), draw reproducible noise from
seed generators that checkpoints save, and generate samples from a seed.
`kgan.GAN` adds a discriminator and Algorithm 1; `kgan.DirectModel` trains G
by a direct loss between generated and real minibatches.
"""

import inspect

import keras
import numpy as np
import tensorflow as tf

from kgan import conditioning as conditioning_lib
from kgan import distribute
from kgan import errors
from kgan import health
from kgan import inference
from kgan import losses as losses_lib
from kgan import noise
from kgan import optimizers
from kgan import repeatable
from kgan import validation


class GenerativeModel(keras.Model):
    """Base class of `kgan.GAN` and `kgan.DirectModel`.

    Args:
        generator: a built `keras.Model` from `[batch, latent_dim]` noise (and
            `[batch]` int labels when conditional) to samples.
        latent_dim: size of the noise vector z ~ N(0, I).
        seed: seed of the training noise; None draws one at random.
        num_classes: number of classes of a conditional model; None otherwise.
        ema_decay: keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.999) in `ema_generator`; sampling,
            evaluation and export then use it (`sampler`). None: no average.
    """

    rows_per_step = 1
    """Real examples per minibatch row that one step reads (k for a GAN)."""

    def __init__(self, generator, latent_dim, seed=None, *, num_classes=None,
                 ema_decay=None, **kwargs):
        unknown = sorted(set(kwargs) - _KERAS_MODEL_ARGUMENTS)
        if unknown:
            takes = [p for p in inspect.signature(type(self).__init__).parameters
                     if p not in ("self", "kwargs")]
            raise errors.KganTypeError(
                f"{type(self).__name__}() has no argument {unknown[0]!r}."
                f"{errors.did_you_mean(unknown[0], takes)} It takes: {', '.join(takes)} "
                f"(and Keras' {', '.join(sorted(_KERAS_MODEL_ARGUMENTS))})."
            )
        super().__init__(**kwargs)
        self.latent_dim = validation.latent_dim(latent_dim)
        self.seed = None if seed is None else validation.integer(seed, "seed")
        self.num_classes = None if num_classes is None else validation.integer(
            num_classes, "num_classes (classes of a conditional GAN)", minimum=2,
            hint="Or None for an unconditional GAN.",
        )
        self.ema_decay = validation.ema_decay(ema_decay)
        check_network(generator, "generator")
        self.generator = generator
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        # Evaluation draws its own noise, so that `evaluate` (or validation
        # during `fit`) does not shift the training noise of later steps.
        self.eval_seed_generator = keras.random.SeedGenerator(
            None if seed is None else seed + 1, name="eval_noise_seed"
        )
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.conditioning = None  # chosen in build(), once the networks are built
        self.ema_generator = None  # made in build(), after the subclass's networks

    def build(self, input_shape=None):
        if not self.generator.built and self.num_classes is None:
            self.generator.build((None, self.latent_dim))
        discriminator = getattr(self, "discriminator", None)
        if discriminator is not None and not discriminator.built:
            discriminator.build(self.generator.output_shape)
        self.conditioning = conditioning_lib.for_networks(
            self.generator, discriminator, self.latent_dim, self.num_classes
        )
        if self.ema_decay is not None and self.ema_generator is None:
            self.ema_generator = _clone(self.generator)
        self.built = True

    @property
    def sampler(self):
        """The generator that draws samples: the weight average if kept, else `generator`."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, z, labels=None, training=False):
        """Runs the generator on latent vectors `z` (and `labels`, when conditional)."""
        return self.generator(self.conditioning.generator_inputs(z, labels), training=training)

    def generate(self, num_samples, seed=0, batch_size=256, labels=None):
        """Draws `num_samples` samples with `sampler`; the same seed gives the same samples.

        The noise comes from `kgan.noise.sample(num_samples, latent_dim, seed)`,
        the same stateless draw that an exported SavedModel makes.

        Args:
            num_samples: how many samples.
            seed: the noise seed.
            batch_size: generator batch size.
            labels: for a conditional GAN, one class for all samples or one
                per sample; None cycles through the classes 0, 1, ..., N-1.

        Returns:
            A numpy array of generator outputs (images in [-1, 1]).
        """
        return np.concatenate(list(self.generate_batches(num_samples, seed, batch_size, labels)))

    def generate_batches(self, num_samples, seed=0, batch_size=256, labels=None):
        """`generate`'s samples, `batch_size` at a time: memory does not grow with `num_samples`.

        The noise of each batch is its rows of the one draw `generate` makes
        (`kgan.noise.sample_rows`), so the batches are `generate`'s samples.
        """
        num_samples = validation.integer(num_samples, "generate()'s num_samples", minimum=1)
        seed = validation.integer(seed, "generate()'s seed")
        labels = self.conditioning.sample_labels(labels, num_samples)
        for start in range(0, num_samples, batch_size):
            stop = min(start + batch_size, num_samples)
            z = noise.sample_rows(start, stop, self.latent_dim, seed)
            inputs = self.conditioning.generator_inputs(
                z, None if labels is None else labels[start:stop])
            yield inference.predict(self.sampler, inputs, batch_size=batch_size)

    @property
    def sample_shape(self):
        """The shape of one sample (the generator's output, without the batch)."""
        return tuple(self.generator.output_shape[1:])

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.fit`, with `batch_size` meaning the minibatch size m.

        For array inputs each step takes `rows_per_step` * m rows (k * m for a
        GAN with k = `d_steps`), so that each of the k discriminator updates
        sees its own m real examples. A conditional model takes the labels as `y`.
        """
        self._check_compiled("fit")
        if x is not None:
            examples = _first_examples(x, 10_000)
            health.check_data(self.generator, examples)
            self.adapt(examples)
        if x is not None and not _is_dataset_like(x):
            batch_size = 32 if batch_size is None else batch_size
            self._check_batch_size(batch_size)
            batch_size *= self.rows_per_step
        elif _is_dataset_like(x):
            # A dataset is shuffled by its own pipeline; Keras would only warn.
            kwargs.setdefault("shuffle", False)
            x = repeatable.with_repeatable_threads(x)
        with repeatable.training(self.steps_per_execution):  # kgan.repeatable says why
            return super().fit(x, y, batch_size=batch_size, **kwargs)

    def adapt(self, data, max_examples=10_000):
        """Adapts the discriminator's `keras.layers.Normalization` layers to real data.

        A discriminator may standardise its inputs with such a layer (the mlp
        architecture's `normalize_input`); `fit` calls this with its data
        before the first step, and it reads up to `max_examples` examples. A
        layer adapted once (its `count`, saved in checkpoints, is then the
        number of examples it saw) is left alone, so a resumed run keeps its
        statistics.

        Args:
            data: samples (a numpy array), `(x, y)` arrays or a dataset of
                batches, as `fit` takes.

        Returns:
            How many layers were adapted.
        """
        discriminator = getattr(self, "discriminator", None)
        layers = [] if discriminator is None else _unadapted_normalizations(discriminator)
        if not layers or data is None:
            return 0
        examples = _first_examples(data, max_examples)
        for owner, layer in layers:
            inputs = inference.predict(keras.Model(owner.inputs, layer.input), examples)
            layer.adapt(inputs)
            layer.count.assign(len(examples))
        return len(layers)

    def _check_batch_size(self, batch_size):
        """Raises a `KganError` if the minibatch size m does not suit the training set-up."""
        del batch_size  # Any m suits a model without regularizers.

    def _check_compiled(self, method):
        if not getattr(self, "compiled", False) or not hasattr(self, "loss_fn"):
            raise errors.KganError(
                f"{type(self).__name__}.{method}() needs the model compiled first: call "
                f"compile(...) with its optimizers and loss (see "
                f"help(kgan.{type(self).__name__}.compile))."
            )

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # The model is built in __init__. Keras' symbolic build would average a
        # data batch across workers first, which fails for (x, y) batches
        # under MultiWorkerMirroredStrategy.
        if not distribute.in_multi_worker_mode(self.distribute_strategy):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _noise(self, m, seed_generator=None):
        """m fresh noise vectors for this replica: its slice of the global batch's draw."""
        seed_generator = seed_generator or self.seed_generator
        return noise.replica_slice(
            lambda rows: keras.random.normal((rows, self.latent_dim), seed=seed_generator),
            m,
        )

    def _fakes_draw(self, m, seed_generator=None):
        """`(z, fake labels)` for m fresh fakes: the noise first, then the labels."""
        seed_generator = seed_generator or self.seed_generator
        return self._noise(m, seed_generator), self.conditioning.fake_labels(m, seed_generator)

    def _fakes_inputs(self, m, seed_generator=None):
        """`(G's inputs, fake labels)` for m fresh fakes."""
        z, labels = self._fakes_draw(m, seed_generator)
        return self.conditioning.generator_inputs(z, labels), labels

    @staticmethod
    def _apply(tape, loss, network, optimizer):
        variables = network.trainable_variables
        # A frozen network (no trainable weights) is left as it is, e.g. a
        # fixed generator in Proposition 1; Keras optimizers reject empty updates.
        if variables:
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    def _update_ema(self):
        if self.ema_generator is None:
            return
        # Warm-up as tf.train.ExponentialMovingAverage(num_updates=t): early
        # averages do not remember the random initialisation for long.
        t = tf.cast(self.g_optimizer.iterations, "float32")
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            value = tf.cast(weight, average.dtype)
            if weight.trainable:
                value = decay * average + (1.0 - decay) * value
            average.assign(value)

    def save_own_variables(self, store):
        # A `SeedGenerator`'s state is not among a layer's saved variables; it
        # is saved here so that a loaded model draws the noise that the
        # uninterrupted run would have drawn.
        super().save_own_variables(store)
        store[_NOISE_SEED_KEY] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        keys = [key for key in store.keys() if key != _NOISE_SEED_KEY]
        super().load_own_variables({key: store[key] for key in keys})
        if _NOISE_SEED_KEY in store.keys():
            self.seed_generator.state.assign(store[_NOISE_SEED_KEY])

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            latent_dim=self.latent_dim,
            seed=self.seed,
            num_classes=self.num_classes,
            ema_decay=self.ema_decay,
        )
        return config

    def get_build_config(self):
        return {"input_shape": (None, self.latent_dim)}

    def build_from_config(self, config):
        self.build()

    def _model_compile_config(self, **config):
        """The compile config shared by both models, plus a subclass's `config`."""
        if not getattr(self, "compiled", False) or not hasattr(self, "loss_fn"):
            return None
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "loss": losses_lib.serialize_loss(self.loss_fn),
            **config,
            "jit_compile": self.jit_compile,
            "steps_per_execution": self.steps_per_execution,
        }


_NOISE_SEED_KEY = "noise_seed_state"
_KERAS_MODEL_ARGUMENTS = {"name", "trainable", "dtype"}


def check_network(network, role):
    """Raises a KganError unless `network` is a `keras.Model`."""
    if not isinstance(network, keras.Model):
        raise errors.KganTypeError(
            f"The {role} must be a keras.Model, got {type(network).__name__}. "
            f"Build one with kgan.{role}(name, ...) or keras.Model(inputs, outputs)."
        )


def optimizer(spec, role):
    """A Keras optimizer from an instance, a name or a config dict ("adam": kgan's fused Adam)."""
    try:
        return optimizers.get(spec)
    except (ValueError, TypeError) as exc:
        raise errors.KganError(
            f"{role}={spec!r} is not an optimizer ({exc}). Give a keras optimizer "
            'instance, a name such as "adam", or a config dict.'
        ) from exc


def check_compile_arguments(kwargs, optimizers):
    """Refuses Keras' own compile arguments, which a generative model does not take."""
    for key in ("optimizer", "metrics", "loss_weights"):
        if key in kwargs:
            raise errors.KganError(
                f"compile() does not take `{key}`: give {optimizers}, and a loss by "
                "name as `loss`."
            )


def _clone(generator):
    try:
        clone = keras.models.clone_model(generator)
    except Exception as exc:  # noqa: BLE001 - clone_model raises many kinds
        raise errors.KganError(
            f"ema_decay needs a copy of the generator, but keras.models.clone_model "
            f"could not copy {generator.name!r} ({exc}). Build the generator as a "
            "functional or Sequential model, or give the subclass a get_config()."
        ) from exc
    clone.set_weights(generator.get_weights())
    clone.trainable = False
    return clone


def _unadapted_normalizations(network):
    """`(owner, layer)` for each Normalization layer awaiting `adapt` in `network`.

    `owner` is the functional model whose layer list holds it and whose single
    input is the sample (a conditional body's features model, or D itself).
    """
    found = []
    models = [network] + [layer for layer in network._flatten_layers(include_self=False)
                          if isinstance(layer, keras.Model)]
    for owner in models:
        if len(getattr(owner, "inputs", None) or ()) != 1:
            continue
        for layer in owner.layers:
            if (isinstance(layer, keras.layers.Normalization) and layer.input_mean is None
                    and int(layer.count.numpy()) == 0):
                found.append((owner, layer))
    return found


def _first_examples(data, max_examples):
    """Up to `max_examples` samples of `data` (arrays, `(x, y)` or a dataset) as numpy."""
    if isinstance(data, (tuple, list)):
        data = data[0]
    if not _is_dataset_like(data):
        return np.asarray(data)[:max_examples]
    batches, count = [], 0
    for batch in data:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
        batches.append(np.asarray(x))
        count += len(batches[-1])
        if count >= max_examples:
            break
    return np.concatenate(batches)[:max_examples]


def _is_dataset_like(x):
    return isinstance(x, tf.data.Dataset) or (
        x is not None and not hasattr(x, "shape") and not isinstance(x, (list, tuple, dict))
    )
