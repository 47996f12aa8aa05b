"""Built-in regularisers and stabilisers, combinable in a recipe.

```yaml
loss: {name: wasserstein, clip_value: null}
regularizers:
  - {name: gradient_penalty, weight: 10}
  - {name: diffaugment, policy: "color,translation,cutout"}
```

Each is a `kgan.Regularizer`; see `kgan.regularizers` for the hooks. Random
draws come only from the model's seed generator, so a run is reproducible and
resumes exactly from a checkpoint.
"""

import keras
import tensorflow as tf

import kgan
from kgan import noise
from kgan import validation


@kgan.register_regularizer(
    "gradient_penalty",
    description="WGAN-GP (Gulrajani et al. 2017): weight * E(||grad D|| - 1)^2 at interpolates",
)
class GradientPenalty(kgan.Regularizer):
    """Pushes the norm of D's gradient towards 1 between real and fake samples.

    x_hat = x + alpha (G(z) - x) with one alpha ~ U(0, 1) per example, and the
    penalty `weight * E[(||grad D(x_hat)||_2 - 1)^2]` is added to D's loss.
    The paper pairs it with the Wasserstein loss without weight clipping
    (`loss: {name: wasserstein, clip_value: null}`), lambda = 10 and no batch
    norm in the critic; the penalty also works with other losses.
    """

    excludes = {
        "weight_clipping": "weight clipping clips the critic's weights and the gradient "
        "penalty replaces it (Gulrajani et al. 2017, section 4). Set the loss's clip_value "
        "to null (loss: {name: wasserstein, clip_value: null}) or drop weight_clipping.",
    }

    def __init__(self, weight=10.0):
        self.weight = _number("gradient_penalty", "weight", weight, minimum=0.0)

    def discriminator_penalty(self, ctx):
        return self.weight * gradient_penalty(
            ctx.discriminator, ctx.real, ctx.fake, ctx.seed_generator
        )

    def get_config(self):
        return {"weight": self.weight}


@kgan.register_regularizer(
    "r1",
    description="R1 (Mescheder et al. 2018): gamma/2 * E||grad D(x)||^2 on real data",
)
class R1(kgan.Regularizer):
    """Penalises D's gradient on real data only: (gamma / 2) E_x ||grad_x D(x)||^2.

    Near the equilibrium D is then flat on the data manifold, which makes
    simultaneous gradient descent converge locally (Mescheder et al. 2018,
    "Which training methods for GANs do actually converge?").
    """

    def __init__(self, gamma=10.0):
        self.gamma = _number("r1", "gamma", gamma, minimum=0.0)

    def discriminator_penalty(self, ctx):
        return 0.5 * self.gamma * squared_gradient_norm(ctx.discriminator, ctx.real)

    def get_config(self):
        return {"gamma": self.gamma}


@kgan.register_regularizer(
    "weight_clipping",
    description="WGAN (Arjovsky et al. 2017): D's weights clipped to [-c, c] after each update",
)
class WeightClipping(kgan.Regularizer):
    """Clips every trainable weight of D to [-clip_value, clip_value] after each update.

    The original WGAN's crude way of keeping the critic Lipschitz; usable with
    any loss (the `wasserstein` loss has it built in as its `clip_value`).
    """

    def __init__(self, clip_value=0.01):
        self.clip_value = _number("weight_clipping", "clip_value", clip_value, above=0.0)

    def after_discriminator_step(self, discriminator):
        for weight in discriminator.trainable_variables:
            weight.assign(tf.clip_by_value(weight, -self.clip_value, self.clip_value))

    def get_config(self):
        return {"clip_value": self.clip_value}


@kgan.register_regularizer(
    "label_smoothing",
    description="One-sided label smoothing (Salimans et al. 2016): real target 1 - alpha",
)
class LabelSmoothing(kgan.Regularizer):
    """D's cross-entropy with target 1 - alpha for real data, 0 for fake (one-sided).

    The cross-entropy of logit l against target t is
    softplus(-l) + (1 - t) l, i.e. that against target 1 plus (1 - t) l, so
    smoothing is the penalty `alpha * E[D's real logit]` on top of the usual
    loss. D's optimum becomes (1 - alpha) p_data / (p_data + p_g): at most
    1 - alpha on real data. Fake targets stay 0, as the paper advises.
    Only for losses whose D loss is the binary cross-entropy (minimax,
    non_saturating); least_squares has its own `real_target`.
    """

    def __init__(self, alpha=0.1):
        self.alpha = _number("label_smoothing", "alpha", alpha, above=0.0, below=1.0)

    def check(self, loss):
        name = loss.name or type(loss).__name__
        hint = (
            " least_squares takes the smoothed target as its own real_target parameter."
            if hasattr(loss, "real_target")
            else ""
        )
        if not loss.probabilistic:
            raise kgan.KganError(
                f"label_smoothing smooths the real target of a probabilistic loss (D's "
                f"output a probability), but the loss {name} has critic scores or "
                f"regression targets, where a target of 1 - alpha means nothing.{hint} "
                "Use it with minimax or non_saturating, or drop it."
            )
        if not _is_cross_entropy(loss):
            raise kgan.KganError(
                f"label_smoothing adds alpha * E[real logit], which smooths the real "
                f"target only when D's loss is the binary cross-entropy "
                f"softplus(-real) + softplus(fake); the loss {name} computes something "
                "else. Use it with minimax or non_saturating, or smooth the target "
                "inside your loss."
            )

    def discriminator_penalty(self, ctx):
        return self.alpha * tf.reduce_mean(tf.cast(ctx.real_logits, tf.float32))

    def get_config(self):
        return {"alpha": self.alpha}


@kgan.register_regularizer(
    "instance_noise",
    description="Instance noise (Sonderby et al. 2016): D's inputs + N(0, sigma^2), annealed",
)
class InstanceNoise(kgan.Regularizer):
    """Adds Gaussian noise to every input of D, real and fake, its std annealed to 0.

    Noise makes the supports of the real and fake distributions overlap, so
    D's gradient carries information even where they are disjoint (Arjovsky &
    Bottou 2017; Sonderby et al. 2016). The std is `sigma` at the first step
    and falls linearly to 0 at `anneal_steps` generator updates, after which
    D sees clean inputs.
    """

    def __init__(self, sigma=0.1, anneal_steps=10_000):
        self.sigma = _number("instance_noise", "sigma", sigma, minimum=0.0)
        self.anneal_steps = validation.integer(
            anneal_steps,
            "instance_noise anneal_steps (generator updates until the noise reaches 0)",
            minimum=1,
        )

    def stddev(self, step):
        """The noise std at `step` generator updates: sigma (1 - step / anneal_steps)+."""
        progress = tf.cast(step, tf.float32) / float(self.anneal_steps)
        return self.sigma * tf.maximum(0.0, 1.0 - progress)

    def augment(self, x, step, seed_generator):
        noise = _draw(
            lambda shape: keras.random.normal(shape, dtype=x.dtype, seed=seed_generator), x
        )
        return x + tf.cast(self.stddev(step), x.dtype) * noise

    def get_config(self):
        return {"sigma": self.sigma, "anneal_steps": self.anneal_steps}


@kgan.register_regularizer(
    "diffaugment",
    description="DiffAugment (Zhao et al. 2020): differentiable color, translation, cutout",
)
class DiffAugment(kgan.Regularizer):
    """Differentiable augmentation of every image D sees, real and fake, in both updates.

    Augmenting only the real images would teach G to make augmented images;
    applying the same family of random transforms to real and fake inputs of
    D, in D's and in G's update, and backpropagating through them, lets D
    learn from few images without leaking the augmentation into G (Zhao et
    al. 2020). Each example draws its own parameters. The transforms, applied
    in the order `policy` names them, are those of the paper's code:

    - `color`: brightness + U(-0.5, 0.5), saturation x U(0, 2) around the
      channel mean, contrast x U(0.5, 1.5) around the image mean;
    - `translation`: a shift by up to `translation_ratio` of the height and
      width (whole pixels), the vacated pixels set to 0;
    - `cutout`: a square of `cutout_ratio` of the height and width, centred at
      a uniformly random pixel, set to 0.

    Args:
        policy: comma-separated transforms, e.g. "color,translation,cutout",
            or a list of them.
        translation_ratio: largest shift, as a fraction of the image size.
        cutout_ratio: side of the cut-out square, as a fraction of the size.
    """

    def __init__(self, policy="color,translation,cutout", translation_ratio=0.125,
                 cutout_ratio=0.5):
        self.policy = _policy(policy)
        self.translation_ratio = _number(
            "diffaugment", "translation_ratio", translation_ratio, minimum=0.0, below=1.0
        )
        self.cutout_ratio = _number(
            "diffaugment", "cutout_ratio", cutout_ratio, minimum=0.0, maximum=1.0
        )

    def augment(self, x, step, seed_generator):
        if x.shape.rank != 4:
            raise kgan.KganError(
                f"diffaugment transforms images of shape (batch, height, width, "
                f"channels), but D's inputs have shape {tuple(x.shape)}. Use "
                "instance_noise for vectors, or drop diffaugment."
            )
        for name in self.policy:
            if name == "color":
                x = _brightness(x, seed_generator)
                x = _saturation(x, seed_generator)
                x = _contrast(x, seed_generator)
            elif name == "translation":
                x = _translation(x, self.translation_ratio, seed_generator)
            else:
                x = _cutout(x, self.cutout_ratio, seed_generator)
        return x

    def get_config(self):
        return {
            "policy": ",".join(self.policy),
            "translation_ratio": self.translation_ratio,
            "cutout_ratio": self.cutout_ratio,
        }


@kgan.register_regularizer(
    "mode_seeking",
    description="MSGAN (Mao et al. 2019): G's loss + weight / (|G(z1) - G(z2)| / |z1 - z2|)",
)
class ModeSeeking(kgan.Regularizer):
    """Rewards the generator for giving different noise different samples (MSGAN).

    A generator that ignores part of z (mode collapse, e.g. one style per
    digit in a conditional GAN) draws alike samples from unlike noise. The
    mode-seeking term of Mao et al. (2019) adds to G's loss

        weight / (mean|G(z1, y) - G(z2, y)| / mean|z1 - z2| + epsilon)

    for pairs of noise vectors with the same label y (the paper's equation 3
    with L1 distances, as in its code). The pairs are the two halves of G's
    own batch, drawn with one label per pair (`paired_fakes`), so the term
    costs no extra pass of G. The paper uses weight 1; kgan's main job 0.5.
    """

    paired_fakes = True
    min_batch_size = 2  # one pair

    def __init__(self, weight=1.0, epsilon=1e-5):
        self.weight = _number("mode_seeking", "weight", weight, minimum=0.0)
        self.epsilon = _number("mode_seeking", "epsilon", epsilon, above=0.0)

    def generator_penalty(self, ctx):
        half = tf.shape(ctx.noise)[0] // 2
        fake = tf.cast(ctx.fake, tf.float32)
        z = tf.cast(ctx.noise, tf.float32)
        ratio = (tf.reduce_mean(tf.abs(fake[:half] - fake[half:2 * half]))
                 / tf.reduce_mean(tf.abs(z[:half] - z[half:2 * half])))
        # A minibatch of one row (the last of an array that does not divide
        # into batches) holds no pair: the term is 0, and the NaN of the empty
        # means reaches no weight (its gradient flows into empty slices).
        return tf.where(half > 0, self.weight / (ratio + self.epsilon), 0.0)

    def get_config(self):
        return {"weight": self.weight, "epsilon": self.epsilon}


def squared_gradient_norm(discriminator, x):
    """E ||grad_x D(x)||^2: the mean over examples of the squared gradient norm.

    `discriminator` is a Keras model or a penalty context's `ctx.discriminator`;
    it runs in training mode, as `gradient_penalty` runs it.
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = discriminator(x, training=True)
    grads = tf.cast(tape.gradient(scores, x), tf.float32)
    return tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))))


def gradient_penalty(discriminator, real, fake, seed_generator=None, epsilon=1e-12):
    """Mean of (||grad D(x_hat)|| - 1)^2 at x_hat uniformly between real and fake.

    The norm is sqrt(sum + epsilon), whose gradient stays finite at zero.
    """
    fake = tf.cast(fake, real.dtype)
    ones = tf.ones([len(real.shape) - 1], tf.int32)
    # One alpha per example; drawn for the global batch and sliced, so that
    # replicas do not share their alphas (see `kgan.noise.replica_slice`).
    alpha = noise.replica_slice(
        lambda rows: keras.random.uniform(
            tf.concat([[rows], ones], axis=0), dtype=real.dtype, seed=seed_generator
        ),
        tf.shape(real)[0],
    )
    interpolates = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = discriminator(interpolates, training=True)
    grads = tape.gradient(scores, interpolates)
    axes = tf.range(1, tf.rank(grads))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)
    return tf.reduce_mean(tf.square(norms - 1.0))


# --- DiffAugment's transforms ------------------------------------------------------

_POLICIES = ("color", "translation", "cutout")


def _policy(policy):
    names = policy.split(",") if isinstance(policy, str) else policy
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise kgan.KganError(
            f'diffaugment policy must be a string such as "color,translation,cutout" or '
            f"a list of transform names, got {policy!r}. Transforms: "
            f"{', '.join(_POLICIES)}."
        )
    names = tuple(name.strip() for name in names if name.strip())
    if not names:
        raise kgan.KganError(
            f"diffaugment policy {policy!r} names no transform. Give some of: "
            f"{', '.join(_POLICIES)}."
        )
    for name in names:
        if name not in _POLICIES:
            raise kgan.KganError(
                f'diffaugment policy has an unknown transform "{name}".'
                f"{kgan.errors.did_you_mean(name, _POLICIES)} Transforms: "
                f"{', '.join(_POLICIES)}."
            )
    return names


def _brightness(x, seed_generator):
    return x + (_per_example_uniform(x, seed_generator) - 0.5)


def _saturation(x, seed_generator):
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * (2.0 * _per_example_uniform(x, seed_generator)) + mean


def _contrast(x, seed_generator):
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_per_example_uniform(x, seed_generator) + 0.5) + mean


def _translation(x, ratio, seed_generator):
    """Shifts each image by whole pixels, up to `ratio` of its size, padding with 0."""
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    shift_h, shift_w = _fraction(height, ratio), _fraction(width, ratio)
    down = _per_example_int(x, -shift_h, shift_h, seed_generator)
    right = _per_example_int(x, -shift_w, shift_w, seed_generator)
    # Output pixel (i, j) takes input pixel (i - down, j - right), or 0 outside.
    rows = tf.range(height)[None, :] - down[:, None]
    cols = tf.range(width)[None, :] - right[:, None]
    x = tf.gather(x, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
    x = tf.gather(x, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    inside = (
        _within(rows, 0, height)[:, :, None, None] & _within(cols, 0, width)[:, None, :, None]
    )
    return x * tf.cast(inside, x.dtype)


def _cutout(x, ratio, seed_generator):
    """Zeroes a square of `ratio` of the image size, centred at a random pixel."""
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    size_h, size_w = _fraction(height, ratio), _fraction(width, ratio)
    # As in the paper's code: centres in [0, size + (1 - cut % 2)), so that an
    # even-sided square can reach either edge.
    centre_h = _per_example_int(x, 0, height - size_h % 2, seed_generator)
    centre_w = _per_example_int(x, 0, width - size_w % 2, seed_generator)
    top, left = centre_h - size_h // 2, centre_w - size_w // 2
    in_rows = _within(tf.range(height)[None, :], top[:, None], top[:, None] + size_h)
    in_cols = _within(tf.range(width)[None, :], left[:, None], left[:, None] + size_w)
    cut = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    return x * tf.cast(tf.logical_not(cut), x.dtype)


def _fraction(size, ratio):
    """round(size * ratio) as the paper's code computes it: int(size * ratio + 0.5)."""
    return tf.cast(tf.cast(size, tf.float32) * ratio + 0.5, tf.int32)


def _within(values, low, high):
    return (values >= low) & (values < high)


def _per_example_uniform(x, seed_generator):
    """U(0, 1) of shape (batch, 1, 1, 1), one draw per example."""
    return _draw(
        lambda shape: keras.random.uniform(shape, dtype=x.dtype, seed=seed_generator),
        x,
        per_example=True,
    )


def _per_example_int(x, low, high, seed_generator):
    """A uniform integer in [low, high] per example, shape (batch,)."""
    u = _draw(
        lambda shape: keras.random.uniform(shape, seed=seed_generator), x, per_example=True
    )
    span = tf.cast(high - low + 1, tf.float32)
    offset = tf.minimum(tf.cast(tf.floor(u * span), tf.int32), high - low)
    return tf.reshape(offset, [-1]) + low


def _draw(sample, x, per_example=False):
    """A draw shaped like `x` (or (batch, 1, ..., 1)), this replica's slice of the global one.

    Drawing for the global batch and slicing keeps a step's random numbers the
    same on one device as on several (see `kgan.noise.replica_slice`).
    """
    tail = tf.shape(x)[1:]
    if per_example:
        tail = tf.ones_like(tail)
    return noise.replica_slice(
        lambda rows: sample(tf.concat([[rows], tail], axis=0)), tf.shape(x)[0]
    )


# --- Parameters --------------------------------------------------------------------


def _number(regularizer, key, value, **bounds):
    """`value` as a float, or a KganError naming the regulariser, the key and the range."""
    return validation.number(
        value, f"{regularizer} {key}", **bounds,
        hint=f"Fix it in the regularizer's parameters (recipe: regularizers: "
        f"[{{name: {regularizer}, {key}: ...}}]).",
    )


def _is_cross_entropy(loss):
    """True if the loss's D loss is softplus(-real) + softplus(fake), checked on a few logits."""
    real = tf.constant([[-3.0], [0.0], [0.5], [4.0]])
    fake = tf.constant([[2.0], [-1.0], [0.0], [-5.0]])
    try:
        value = loss.discriminator_loss(real, fake)
    except Exception:  # A loss that cannot take plain logits is not the cross-entropy.
        return False
    expected = tf.nn.softplus(-real) + tf.nn.softplus(fake)
    return bool(
        value.shape == expected.shape
        and tf.reduce_all(tf.abs(tf.cast(value, tf.float32) - expected) < 1e-5)
    )
