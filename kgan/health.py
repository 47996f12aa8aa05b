"""Training health: what the losses hide, detected while a GAN trains, and what to try.

A GAN's loss does not say how good its samples are, and some failures look
like success: a discriminator that outputs 1/2 everywhere gives the -log 4
of the paper's equilibrium whether p_g = p_data or D has simply stopped
seeing a difference. The `TrainingHealth` callback checks each epoch:

- `dead_discriminator`: D's logits no longer vary over real and generated
  samples (so D(x) = D(G(z)) = const), while the samples still differ from
  the data (their likelihood under a toy's known density, or their FID);
- `saturated_discriminator`: D wins outright, D(x) near 1 and D(G(z)) near
  0, so the minimax generator's gradient vanishes (the paper's reason for the
  non-saturating loss);
- `mode_collapse`: the classes or modes the samples cover fall well below
  the most covered so far, or stay below half of them without rising since
  the last evaluation;
- `non_finite`: a loss became NaN or infinite; training stops at once, the
  last checkpoint (written before) is kept, and `kgan train` says so.

Each finding is a warning in the log naming what happened and what to try,
an entry in the `health` column of `metrics.csv` (with the measured
`d_logit_std`), and a TensorBoard scalar (`health/<name>`, 1 when found).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from kgan import data
from kgan import errors
from kgan import metrics

FIELDS = ["d_logit_std", "health"]
"""The health columns of `metrics.csv`."""

CHECKS = ("dead_discriminator", "saturated_discriminator", "mode_collapse", "non_finite")

DEAD_LOGIT_STD = 1e-2
"""D's logits vary less than this (std over real and fake) -> D is flat."""

SATURATED_SCORES = (0.98, 0.02)
"""D(x) above the first and D(G(z)) below the second -> D wins outright."""

_ADVICE = {
    "dead_discriminator": (
        "D outputs the same score for real and generated samples although they still "
        "differ, so G gets no signal: this mimics the -log 4 equilibrium but is not it. "
        "Try: normalise D's inputs (the mlp discriminator's normalize_input: true for "
        "data far from 0), a lower generator learning rate than D's, or more D steps "
        "(train.d_steps)."
    ),
    "saturated_discriminator": (
        "D tells real from generated almost perfectly, so G's gradient vanishes (with "
        "the minimax loss above all). Try: the non_saturating loss, a lower D learning "
        "rate, instance_noise or r1, or a smaller D."
    ),
    "mode_collapse": (
        "The samples cover fewer classes or modes than before, or under half of them. "
        "Try: a lower learning rate, r1 or spectral_norm in D, a larger batch, an average "
        "of G's weights (model.ema_decay), or keep the best checkpoint (eval.every_epochs "
        "keeps checkpoints/best.keras)."
    ),
}


class NonFiniteLossError(errors.KganError):
    """Training stopped because a loss became NaN or infinite."""


def probe(source, num_examples=512):
    """`(x, labels)`: the first `num_examples` examples of a `DataSource`, as numpy.

    The labels are None for an unlabelled source.
    """
    x, y = data.arrays(source, limit=num_examples)
    return x, (y if source.num_classes else None)


_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, math.inf),
           "softplus": (0.0, math.inf), "exponential": (0.0, math.inf),
           "hard_sigmoid": (0.0, 1.0), "relu6": (0.0, 6.0)}
# Layers that pass values through unchanged, which the range check looks past.
_PASS_THROUGH = ("Reshape", "Flatten", "InputLayer", "Dropout", "Permute")


def output_range(generator):
    """`(low, high, where)`: the values the generator's last activation can produce.

    Read from the last layer that changes values (Reshape and the like are
    passed over); `(-inf, inf)` when that layer is linear or not known.
    """
    layers = [layer for layer in generator._flatten_layers(include_self=False)
              if not isinstance(layer, keras.Model)]
    for layer in reversed(layers):
        if type(layer).__name__ in _PASS_THROUGH:
            continue
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", str(activation)) if activation else "linear"
        low, high = _RANGES.get(name, (-math.inf, math.inf))
        return low, high, f"{name} in its layer {layer.name!r}"
    return -math.inf, math.inf, "no layer"


def check_data(generator, examples):
    """Refuses data the generator cannot make: another shape, or values out of its range.

    Args:
        generator: the generator (`keras.Model`).
        examples: a batch of real examples (numpy).

    Raises:
        KganError: naming the generator's output and the data's, and the fix.
    """
    examples = np.asarray(examples)
    made = tuple(generator.output_shape[1:]) if hasattr(generator, "output_shape") else None
    if made is not None and None not in made and made != tuple(examples.shape[1:]):
        raise errors.KganError(
            f"The generator makes samples of shape {made}, but the data's examples have "
            f"shape {tuple(examples.shape[1:])}. Build the networks for the data's shape "
            "(a recipe does this itself; check data.image_size and the channels)."
        )
    low, high, where = output_range(generator)
    data_low, data_high = float(examples.min()), float(examples.max())
    tolerance = 1e-6 * max(1.0, abs(low) if math.isfinite(low) else 1.0)
    if data_low < low - tolerance or data_high > high + tolerance:
        raise errors.KganError(
            f"The generator's output ({where}) lies in ({low:g}, {high:g}), but the data lie "
            f"in [{data_low:.4g}, {data_high:.4g}]: it could never make them, and would train "
            "towards the nearest edge. Use an output activation that reaches the data "
            "(output_activation: linear for the mlp architecture, in a recipe "
            "model.generator.output_activation) or scale the data into the range."
        )


def finite_losses(logs):
    """False if a loss in Keras' `logs` (d_loss, g_loss, ...) is NaN or infinite."""
    return all(math.isfinite(float(value)) for name, value in (logs or {}).items()
               if name.endswith("loss"))


def finite_weights(model):
    """True if every weight of `model` is finite (no NaN, no infinity)."""
    return all(np.all(np.isfinite(np.asarray(w))) for w in model.get_weights()
               if np.issubdtype(np.asarray(w).dtype, np.floating))


class TrainingHealth(keras.callbacks.Callback):
    """Checks the GAN after every epoch, and every step for non-finite losses.

    Put it after `kgan.quality.Evaluation` (whose coverage and FID it reads
    from the epoch's logs) and before `MetricsLog` and the `Checkpointer`.

    Args:
        probe: a batch of real examples (and labels, for a conditional GAN)
            as `(x, labels)`, on which D's logits are measured each epoch.
        log_density: a toy dataset's true log density, or None.
        num_modes: the data's classes or modes, for mode collapse; None if unknown.
        writer: a `tf.summary` writer, or None.
        echo: prints the warnings.
    """

    def __init__(self, probe, log_density=None, num_modes=None, writer=None, echo=print):
        super().__init__()
        self.probe_x, self.probe_labels = probe
        self.log_density = log_density
        self.num_modes = num_modes
        self.writer = writer
        self.echo = echo
        self.findings = []  # (epoch, check, message), in the order found
        self.non_finite = None  # (step, {name: value}) once a loss is not finite
        self._best_coverage = 0
        self._previous_coverage = 0
        self._warned = set()

    def on_train_batch_end(self, batch, logs=None):
        if self.non_finite is not None or finite_losses(logs):
            return
        bad = {name: float(value) for name, value in logs.items()
               if name.endswith("loss") and not math.isfinite(float(value))}
        if bad:
            step = int(self.model.g_optimizer.iterations.numpy())
            self.non_finite = (step, bad)
            self.model.stop_training = True
            shown = ", ".join(f"{name} = {value}" for name, value in bad.items())
            self._report(None, "non_finite", f"at step {step}, {shown}: training stops "
                         "here, and no checkpoint is written with these weights.", logs)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.non_finite is not None:
            return
        gan = self.model
        found = []
        discriminator = getattr(gan, "discriminator", None)
        if discriminator is not None:
            real_logits, fake_logits = self._probe_logits()
            both = np.concatenate([real_logits, fake_logits])
            logs["d_logit_std"] = float(both.std())
            if both.std() < DEAD_LOGIT_STD and self._samples_differ(gan, logs):
                found.append(("dead_discriminator",
                              f"std of D's logits {both.std():.2g} over real and generated "
                              f"samples, D(x) = {_sigmoid(real_logits).mean():.3f}, "
                              f"D(G(z)) = {_sigmoid(fake_logits).mean():.3f}"))
            real, fake = logs.get("real_score"), logs.get("fake_score")
            if (gan.loss_fn.probabilistic and real is not None and fake is not None
                    and real > SATURATED_SCORES[0] and fake < SATURATED_SCORES[1]):
                found.append(("saturated_discriminator",
                              f"D(x) = {real:.3f}, D(G(z)) = {fake:.4f}"))
        coverage = _coverage(logs)
        if coverage is not None and self.num_modes:
            # Falling well below the best so far, or stuck under half the modes (a
            # run still spreading onto them, 5 then 25 of 25, is not collapse).
            stuck_low = (coverage < 0.5 * self.num_modes
                         and coverage <= self._previous_coverage)
            if coverage < 0.75 * self._best_coverage or stuck_low:
                found.append(("mode_collapse",
                              f"{coverage:g} of {self.num_modes} classes or modes covered "
                              f"(at best {self._best_coverage:g} so far)"))
            self._best_coverage = max(self._best_coverage, coverage)
            self._previous_coverage = coverage
        logs["health"] = " ".join(check for check, _ in found)
        for check, detail in found:
            self._report(epoch + 1, check, detail, logs)
        self._write(found)

    def on_train_begin(self, logs=None):
        # Traced once a fit: run op by op, the probe cost twice as long (0.1 s an epoch).
        self._traced_probe_logits = tf.function(self._probe_logits_of)

    def _probe_logits(self):
        real_logits, fake_logits = self._traced_probe_logits(
            tf.constant(self.probe_x),
            None if self.probe_labels is None else tf.constant(self.probe_labels))
        return (np.asarray(real_logits, np.float64).ravel(),
                np.asarray(fake_logits, np.float64).ravel())

    def _probe_logits_of(self, x, labels):
        gan = self.model
        inputs, fake_labels = gan._fakes_inputs(len(self.probe_x), gan.eval_seed_generator)
        fake = gan.generator(inputs, training=False)
        discriminate = gan.conditioning.discriminate
        real_logits, _ = discriminate(gan.discriminator, x, labels, training=False)
        fake_logits, _ = discriminate(gan.discriminator, fake, fake_labels, training=False)
        return real_logits, fake_logits

    def _samples_differ(self, gan, logs):
        """Whether generated samples still differ from the data, as far as kgan can tell."""
        if self.log_density is not None:
            # The true log densities of real and generated samples: equal in
            # distribution when p_g = p_data, whatever the dimension. Two sets of
            # n from one distribution differ by more than 1.95 sqrt(2 / n) in KS
            # distance once in a thousand times.
            fake = np.asarray(gan.generate(len(self.probe_x), seed=0), np.float64)
            distance = metrics.ks_two_sample(self.log_density(self.probe_x),
                                             self.log_density(fake))
            return distance > 1.95 * np.sqrt(2.0 / len(self.probe_x))
        return True  # images: p_g = p_data is out of reach; a flat D means a dead one

    def _report(self, epoch, check, detail, logs):
        self.findings.append((epoch, check, detail))
        when = f"epoch {epoch}" if epoch is not None else "training"
        advice = "" if check == "non_finite" else f" {_ADVICE[check]}"
        first = check not in self._warned
        self._warned.add(check)
        self.echo(f"Warning ({when}): {check.replace('_', ' ')}: {detail}."
                  + (advice if first else ""))

    def _write(self, found):
        if self.writer is None:
            return
        names = {check for check, _ in found}
        step = int(self.model.g_optimizer.iterations.numpy())
        with self.writer.as_default():
            for check in CHECKS[:3]:
                tf.summary.scalar(f"health/{check}", float(check in names), step=step)
        self.writer.flush()


def _coverage(logs):
    for name in ("classes_covered", "modes_covered"):
        value = logs.get(name)
        if value is not None and math.isfinite(float(value)):
            return float(value)
    return None


def _sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-logits))
