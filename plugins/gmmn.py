"""Generative moment-matching networks: a generator trained by MMD, no discriminator.

Li, Swersky & Zemel (2015) and Dziugaite, Roy & Ghahramani (2015) train a
generator G directly, without an adversary: each step draws a minibatch of
real examples and one of generated samples and minimises the maximum mean
discrepancy (MMD) between them under a fixed kernel. It is the "direct"
method that the GAN paper is contrasted with, so kgan runs it in the same
engine, with the same data, metrics and run directories:

```python
generator = kgan.generator("mlp", latent_dim=10, output_shape=(28, 28, 1),
                           hidden_units=[64, 256, 256, 1024])
gmmn = kgan.DirectModel(generator, latent_dim=10)   # no discriminator
gmmn.compile(g_optimizer=keras.optimizers.Adam(1e-3), loss="mmd")
```

or `loss: {name: mmd}` with `model.discriminator: null` in a recipe
(`recipes/gmmn_mnist.yaml`).

The estimate of MMD^2 between samples x_1..x_n and y_1..y_m is the biased
one of Li et al. (a V-statistic, >= 0; the within-set means include the
diagonal k(x_i, x_i) = 1):

    MMD_b^2 = mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) - 2 mean_ij k(x_i, y_j),

or the unbiased U-statistic of Gretton et al. (2012), which leaves the
diagonals out (and can be negative). The kernel is a sum of Gaussians,
k(x, y) = sum_s exp(-|x - y|^2 / (2 sigma_s^2)), over flattened samples.
Li et al. minimise the square root of MMD_b^2, which keeps the gradient from
vanishing as the two sets meet; that is the default (`sqrt: true`).
"""

import math

import tensorflow as tf

import kgan
from kgan import validation

LI_ET_AL_MNIST_SCALES = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
"""Li et al.'s MNIST kernels: `s` in exp(-|x - y|^2 / (2 s)), pixels in [0, 1] (their code)."""

DEFAULT_SIGMAS = tuple(round(2.0 * math.sqrt(s), 4) for s in LI_ET_AL_MNIST_SCALES)
"""The same six kernels for kgan's images in [-1, 1]: distances double, so sigma = 2 sqrt(s).

(2.8284, 4.4721, 6.3246, 8.9443, 12.6491, 17.8885); two MNIST digits lie
about 20 apart in [-1, 1]^784, so the widest kernels see the whole data set
and the narrowest a digit's near neighbours. Vector data in other units needs
its own `sigmas` (about its typical distances between samples).
"""

ESTIMATORS = ("biased", "unbiased")

_EPSILON = 1e-8  # under the square root: a finite gradient where MMD^2 = 0


@kgan.register_loss(
    "mmd",
    description="GMMN (Li et al. 2015): sqrt MMD^2 of a Gaussian-kernel mixture, no discriminator",
)
class MMD(kgan.DirectLoss):
    """Generative moment matching: G minimises the MMD between generated and real minibatches.

    A *direct* loss: it trains a `kgan.DirectModel`, a generator alone.

    Args:
        sigmas: the Gaussian kernels' bandwidths; k(x, y) sums
            exp(-|x - y|^2 / (2 sigma^2)) over them. The default is Li et al.'s
            MNIST mixture for images in [-1, 1] (`DEFAULT_SIGMAS`).
        estimator: "biased" (Li et al.; the V-statistic, never negative) or
            "unbiased" (the U-statistic, without the k(x_i, x_i) terms).
        sqrt: minimise sqrt(MMD^2) as Li et al. do (biased estimator only);
            False minimises MMD^2 itself.
    """

    def __init__(self, sigmas=DEFAULT_SIGMAS, estimator="biased", sqrt=True):
        if validation.is_number(sigmas):
            sigmas = [sigmas]
        if (
            not isinstance(sigmas, (list, tuple))
            or not sigmas
            or not all(validation.is_number(s) and s > 0 for s in sigmas)
        ):
            raise kgan.KganError(
                f"mmd sigmas must be a non-empty list of positive kernel bandwidths, got "
                f"{sigmas!r}. For images in [-1, 1] the default {list(DEFAULT_SIGMAS)} "
                "suits; for vectors, use numbers near their typical distances."
            )
        if estimator not in ESTIMATORS:
            raise kgan.KganError(
                f'mmd estimator must be "biased" or "unbiased", got {estimator!r}.'
            )
        if not isinstance(sqrt, bool):
            raise kgan.KganError(f"mmd sqrt must be true or false, got {sqrt!r}.")
        if sqrt and estimator == "unbiased":
            raise kgan.KganError(
                "mmd with estimator: unbiased cannot take sqrt: true, because the unbiased "
                "estimate of MMD^2 is negative when the two sets are close. Use "
                "estimator: biased (Li et al.) or sqrt: false."
            )
        self.sigmas = tuple(float(s) for s in sigmas)
        self.estimator = estimator
        self.sqrt = sqrt

    def direct_loss(self, real, fake):
        squared = mmd2(fake, real, self.sigmas, self.estimator)
        if not self.sqrt:
            return squared
        # Rounding can leave a biased estimate a hair below zero.
        return tf.sqrt(tf.maximum(squared, 0.0) + _EPSILON)

    def get_config(self):
        return {"sigmas": list(self.sigmas), "estimator": self.estimator, "sqrt": self.sqrt}


def mmd2(x, y, sigmas=DEFAULT_SIGMAS, estimator="biased"):
    """The estimate of MMD^2 between samples `x` `[n, ...]` and `y` `[m, ...]`.

    Samples of any shape are flattened. The biased estimate of two identical
    sets is exactly 0; the unbiased one needs n, m >= 2.

    Returns:
        A float32 scalar tensor.
    """
    x, y = _flatten(x), _flatten(y)
    # Distances do not change under a shift, but their |x|^2 + |y|^2 - 2 x.y
    # form loses float32 precision far from the origin: measure from the
    # samples' mean.
    centre = tf.stop_gradient(tf.reduce_mean(tf.concat([x, y], axis=0), axis=0))
    x, y = x - centre, y - centre
    k_xx = kernel_mixture(squared_distances(x, x), sigmas)
    k_yy = kernel_mixture(squared_distances(y, y), sigmas)
    k_xy = kernel_mixture(squared_distances(x, y), sigmas)
    if estimator == "biased":
        return tf.reduce_mean(k_xx) + tf.reduce_mean(k_yy) - 2.0 * tf.reduce_mean(k_xy)
    if estimator != "unbiased":
        raise kgan.KganError(f'estimator must be "biased" or "unbiased", got {estimator!r}.')
    return (
        _off_diagonal_mean(k_xx) + _off_diagonal_mean(k_yy) - 2.0 * tf.reduce_mean(k_xy)
    )


def kernel_mixture(squared_distances, sigmas):
    """sum_s exp(-d^2 / (2 sigma_s^2)) of a tensor of squared distances d^2."""
    return tf.add_n([
        tf.exp(-squared_distances / (2.0 * float(sigma) ** 2)) for sigma in sigmas
    ])


def squared_distances(x, y):
    """`[n, m]` squared Euclidean distances between the rows of `x` `[n, d]` and `y` `[m, d]`.

    |x|^2 + |y|^2 - 2 x.y, clipped at zero where rounding makes it negative.
    """
    x_norms = tf.reduce_sum(tf.square(x), axis=1)
    y_norms = tf.reduce_sum(tf.square(y), axis=1)
    squared = x_norms[:, None] + y_norms[None, :] - 2.0 * tf.matmul(x, y, transpose_b=True)
    return tf.maximum(squared, 0.0)


def _off_diagonal_mean(kernel):
    n = tf.cast(tf.shape(kernel)[0], kernel.dtype)
    return (tf.reduce_sum(kernel) - tf.linalg.trace(kernel)) / (n * (n - 1.0))


def _flatten(samples):
    samples = tf.cast(tf.convert_to_tensor(samples), tf.float32)
    return tf.reshape(samples, [tf.shape(samples)[0], -1])
