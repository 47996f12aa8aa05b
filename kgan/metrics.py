"""Sample-quality metrics on feature arrays: FID, KID, precision/recall, mode coverage.

Every function here works on plain numpy arrays, so it can be checked against
cases with known answers and used with any feature extractor: the per-dataset
evaluator classifier of `kgan.evaluator`, Inception-v3, or raw toy samples.

Example:

```python
real, fake = evaluator.features(test_images), evaluator.features(samples)
fid = kgan.metrics.frechet_distance(real, fake)
kid = kgan.metrics.kernel_inception_distance(real, fake)      # KID(mean, std_error)
pr = kgan.metrics.precision_recall(real, fake, k=3)          # {"precision", "recall"}
coverage = kgan.metrics.class_coverage(evaluator.predict_classes(samples), 10)
```
"""

import collections
import math

import numpy as np
import tensorflow as tf

from kgan import errors

KID = collections.namedtuple("KID", ["mean", "std_error"])
KID.__doc__ = """Kernel inception distance: the mean over subsets and its standard error."""


def feature_statistics(features):
    """Mean vector and covariance matrix (unbiased, rows are samples) of `features`."""
    features = _check_features(features, "features")
    return features.mean(axis=0), np.cov(features, rowvar=False, ddof=1).reshape(
        features.shape[1], features.shape[1]
    )


def frechet_distance(real_features, fake_features):
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

    `|mu_r - mu_f|^2 + tr(S_r + S_f - 2 (S_r S_f)^(1/2))` of Heusel et al.
    (2017). Computed in the evaluator's feature space this is "FID"; in
    Inception-v3's pool features it is the standard FID.

    Args:
        real_features: `[n, d]` features of real samples.
        fake_features: `[m, d]` features of generated samples.

    Returns:
        The distance, a float >= 0 (0 for identical statistics).
    """
    real_features, fake_features = _check_pair(real_features, fake_features)
    return frechet_distance_from_statistics(
        *feature_statistics(real_features), *feature_statistics(fake_features)
    )


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2):
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    The trace of the matrix square root is taken through symmetric
    eigen-decompositions, `tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2))`,
    which stays real and finite for singular or nearly singular covariances
    (fewer samples than dimensions, dead ReLU features), where a general
    `sqrtm(S1 @ S2)` can return complex values or fail.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[-1] if mu1.ndim else 1
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise errors.KganError(
            f"Fréchet distance needs two means of shape (d,) and two covariances of shape "
            f"(d, d) with one d; got means {mu1.shape}, {mu2.shape} and covariances "
            f"{sigma1.shape}, {sigma2.shape}."
        )
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    covariance_term = float(
        np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_product(sigma1, sigma2)
    )
    # Rounding can leave a tiny negative number for identical statistics.
    return max(mean_term + covariance_term, 0.0)


def kernel_inception_distance(
    real_features, fake_features, num_subsets=10, subset_size=1000, seed=0
):
    """KID of Bińkowski et al. (2018): unbiased MMD^2 with a cubic polynomial kernel.

    `k(x, y) = (x . y / d + 1)^3`. The rows are shuffled and split into
    `num_subsets` disjoint subsets of `min(subset_size, n // num_subsets)`
    real and fake rows; the unbiased MMD^2 estimate of each subset is
    averaged. Unlike FID the estimate is unbiased whatever the sample size (so
    it can be slightly negative when the two distributions are the same).

    Because the subsets are disjoint their estimates are independent, and the
    standard error (their standard deviation over `sqrt(num_subsets)`) is an
    honest uncertainty of the mean. (Implementations that draw 100
    overlapping subsets report a spread that understates it.)

    Args:
        real_features: `[n, d]`; fake_features: `[m, d]`.
        num_subsets: number of disjoint subsets (>= 2 for a standard error).
        subset_size: the largest subset; with more rows than
            `num_subsets * subset_size` the rest are left out.
        seed: seed of the shuffle.

    Returns:
        `KID(mean, std_error)`, a named tuple of floats.
    """
    real_features, fake_features = _check_pair(real_features, fake_features)
    num_subsets = _check_int("num_subsets", num_subsets, 1)
    subset_size = _check_int("subset_size", subset_size, 2)
    rows = min(subset_size, len(real_features) // num_subsets, len(fake_features) // num_subsets)
    if rows < 2:
        raise errors.KganError(
            f"KID with num_subsets={num_subsets} needs at least {2 * num_subsets} real and "
            f"fake samples, got {len(real_features)} and {len(fake_features)}. Give more "
            "samples or lower num_subsets."
        )
    rng = np.random.default_rng(seed)
    real_order = rng.permutation(len(real_features))
    fake_order = rng.permutation(len(fake_features))
    estimates = np.array([
        _unbiased_mmd2(
            real_features[real_order[i * rows : (i + 1) * rows]],
            fake_features[fake_order[i * rows : (i + 1) * rows]],
        )
        for i in range(num_subsets)
    ])
    std_error = estimates.std(ddof=1) / np.sqrt(num_subsets) if num_subsets > 1 else np.nan
    return KID(float(estimates.mean()), float(std_error))


def precision_recall(real_features, fake_features, k=3, batch_size=1000, real_radii=None):
    """Improved precision and recall of Kynkäänniemi et al. (2019).

    Each set's manifold is the union of balls around its samples, each ball
    reaching the sample's k-th nearest neighbour in the same set. Precision is
    the share of fake samples inside the real manifold (are samples
    realistic?); recall the share of real samples inside the fake manifold (is
    the data's variety covered?).

    Args:
        real_features: `[n, d]`; fake_features: `[m, d]`, ideally n = m.
        k: the neighbour that sets each ball's radius (the paper uses 3).
        batch_size: rows of the distance matrix computed at once (memory).
        real_radii: the real set's `kth_neighbour_radii(real_features, k)`,
            where already known (half or more of the work otherwise).

    Returns:
        `{"precision": float, "recall": float}`, each in [0, 1].
    """
    real_features, fake_features = _check_pair(real_features, fake_features)
    k = _check_int("k", k, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    for name, features in (("real", real_features), ("fake", fake_features)):
        if len(features) <= k:
            raise errors.KganError(
                f"precision_recall with k={k} needs more than {k} {name} samples, "
                f"got {len(features)}."
            )
    if real_radii is None:
        real_radii = kth_neighbour_radii(real_features, k, batch_size)
    elif np.shape(real_radii) != (len(real_features),):
        raise errors.KganError(
            f"real_radii must hold one radius per real sample, shape ({len(real_features)},), "
            f"got shape {np.shape(real_radii)}.")
    real_radii = np.asarray(real_radii, np.float64)
    fake_radii = kth_neighbour_radii(fake_features, k, batch_size)
    # One fake-by-real distance matrix, a block of rows at a time, answers both:
    # its rows for precision, its columns for recall (half the work of two).
    approximate = _Float32Distances(fake_features, real_features)
    real_low, real_high = approximate.radius_bounds(real_radii)
    fake_low, fake_high = approximate.radius_bounds(fake_radii)
    realistic = 0
    covered = np.zeros(len(real_features), bool)
    for start in range(0, len(fake_features), batch_size):
        rows = slice(start, start + batch_size)
        in_real, maybe_real, in_fake, maybe_fake = _ball_candidates(
            *approximate.block(rows), real_low, real_high, fake_low[rows], fake_high[rows],
            tf.constant(covered))
        # The few pairs too close to a ball's edge for float32 to tell: exactly.
        in_real = in_real.numpy()
        fake, real = maybe_real.numpy().T
        inside = _exact_squared_distances(fake_features, real_features, start + fake, real)
        in_real[fake[inside <= real_radii[real]]] = True
        realistic += int(in_real.sum())
        covered |= in_fake.numpy()
        fake, real = maybe_fake.numpy().T
        inside = _exact_squared_distances(fake_features, real_features, start + fake, real)
        covered[real[inside <= fake_radii[start + fake]]] = True
    return {"precision": realistic / len(fake_features),
            "recall": int(covered.sum()) / len(real_features)}


def class_coverage(predicted, num_classes, data_distribution=None, min_share=None):
    """Mode coverage of labelled data: classes generated, and the histogram's KL.

    As in the Unrolled GAN and VEEGAN papers, a classifier labels each
    generated sample; a class counts as generated when at least `min_share`
    of the samples are predicted as it, and the KL divergence
    `KL(p_generated || p_data)` of the predicted class histogram from the
    data's class histogram measures how evenly the classes are generated.

    Args:
        predicted: `[n]` predicted class indices, or `[n, num_classes]`
            probabilities or logits (their argmax is taken).
        num_classes: the number of classes (10 for MNIST).
        data_distribution: the data's class frequencies (counts or
            probabilities), `[num_classes]`; uniform if None.
        min_share: the share of samples that makes a class count; None means
            a tenth of a uniform share, `0.1 / num_classes` (1% for 10 classes).

    Returns:
        `{"classes_covered": int, "num_classes": int, "class_kl": float (nats),
        "class_histogram": [num_classes] shares}`.
    """
    num_classes = _check_int("num_classes", num_classes, 1)
    predicted = np.asarray(predicted)
    if predicted.ndim == 2:
        if predicted.shape[1] != num_classes:
            raise errors.KganError(
                f"class_coverage got scores for {predicted.shape[1]} classes but "
                f"num_classes={num_classes}."
            )
        predicted = predicted.argmax(axis=1)
    if predicted.ndim != 1 or len(predicted) == 0:
        raise errors.KganError(
            "class_coverage needs a non-empty [n] array of class indices or [n, C] "
            f"scores, got shape {predicted.shape}."
        )
    if predicted.min() < 0 or predicted.max() >= num_classes:
        raise errors.KganError(
            f"class_coverage: predicted classes must lie in 0..{num_classes - 1}, got "
            f"{predicted.min()}..{predicted.max()}."
        )
    histogram = np.bincount(predicted.astype(np.int64), minlength=num_classes) / len(predicted)
    reference = _distribution(data_distribution, num_classes)
    min_share = 0.1 / num_classes if min_share is None else float(min_share)
    return {
        "classes_covered": int(np.sum(histogram >= min_share)),
        "num_classes": num_classes,
        "class_kl": kl_divergence(histogram, reference),
        "class_histogram": histogram.tolist(),
    }


def toy_mode_metrics(samples, modes, std, num_std=3.0, min_share=0.008):
    """Modes covered and high-quality share for Gaussian-mixture toys (ring2d, grid2d).

    As in the Unrolled GAN, VEEGAN and PacGAN papers: a sample is of high
    quality when it lies within `num_std` standard deviations of its nearest
    mode; a mode is covered when at least `min_share` of all samples are
    high-quality samples of that mode (PacGAN's 20 of 2,500 by default).

    Args:
        samples: `[n, dim]` generated samples.
        modes: `[num_modes, dim]` mode centres (`DataSource.modes`).
        std: each mode's standard deviation (`DataSource.std`).

    Returns:
        `{"modes_covered": int, "num_modes": int, "high_quality_share": float,
        "mode_counts": [num_modes] high-quality samples per mode}`.
    """
    modes = np.asarray(modes, np.float64)
    samples = np.asarray(samples, np.float64)
    if modes.ndim != 2:
        raise errors.KganError(f"modes must be a [num_modes, dim] array, got {modes.shape}.")
    if samples.ndim == 1 and modes.shape[1] == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[1] != modes.shape[1] or len(samples) == 0:
        raise errors.KganError(
            f"toy_mode_metrics needs samples of shape [n, {modes.shape[1]}] like the "
            f"modes, got {samples.shape}."
        )
    if not std > 0:
        raise errors.KganError(f"std must be > 0, got {std!r}.")
    squared = _squared_distances(samples, modes)
    nearest = squared.argmin(axis=1)
    high_quality = np.sqrt(squared.min(axis=1)) <= num_std * std
    counts = np.bincount(nearest[high_quality], minlength=len(modes))
    needed = max(1.0, min_share * len(samples))
    return {
        "modes_covered": int(np.sum(counts >= needed)),
        "num_modes": len(modes),
        "high_quality_share": float(high_quality.mean()),
        "mode_counts": counts.tolist(),
    }


def ks_distance(samples, cdf):
    """Kolmogorov-Smirnov distance between 1-D `samples` and a distribution's `cdf`.

    sup_x |F_n(x) - F(x)|, where F_n is the samples' empirical CDF.
    """
    x = np.sort(np.asarray(samples, np.float64).reshape(-1))
    if x.size == 0:
        raise errors.KganError("ks_distance needs at least one sample.")
    expected = np.asarray(cdf(x), np.float64)
    n = len(x)
    above = np.arange(1, n + 1) / n - expected
    below = expected - np.arange(n) / n
    return float(max(above.max(), below.max()))


def ks_two_sample(a, b):
    """Kolmogorov-Smirnov distance between two 1-D samples' empirical CDFs."""
    a = np.sort(np.asarray(a, np.float64).reshape(-1))
    b = np.sort(np.asarray(b, np.float64).reshape(-1))
    if a.size == 0 or b.size == 0:
        raise errors.KganError("ks_two_sample needs at least one value in each sample.")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def parzen_log_likelihoods(samples, data, sigma, batch_size=500):
    """Each row of `data`'s log density under a Gaussian Parzen window on `samples`.

    log p(x) = log mean_i exp(-|x - s_i|^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi)),
    the estimate of Goodfellow et al. (2014, Table 1) after Breuleux et al.
    (2011), for `[n, d]` samples and `[m, d]` data (any shapes, flattened).

    Returns:
        `[m]` float64 log likelihoods, in nats.
    """
    return _parzen(_flat(samples), _flat(data), [sigma], batch_size)[0]


def parzen_sigma(samples, validation, sigmas, batch_size=500):
    """The bandwidth of `sigmas` under which `validation` is likeliest (the paper's choice).

    Returns:
        `(sigma, mean log likelihood of each sigma)`.
    """
    sigmas = [float(s) for s in sigmas]
    means = [ll.mean() for ll in _parzen(_flat(samples), _flat(validation), sigmas, batch_size)]
    return sigmas[int(np.argmax(means))], means


def kl_divergence(p, q):
    """KL(p || q) in nats of two discrete distributions; inf where q = 0 < p."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    support = p > 0
    if np.any(q[support] <= 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def _parzen(samples, data, sigmas, batch_size):
    """`[len(sigmas), m]` Parzen log likelihoods; distances computed once for all sigmas."""
    n, dim = samples.shape
    sample_norms = np.sum(samples**2, axis=1)
    out = np.empty((len(sigmas), len(data)))
    for start in range(0, len(data), batch_size):
        chunk = data[start:start + batch_size]
        squared = np.maximum(
            np.sum(chunk**2, axis=1)[:, None] + sample_norms[None, :] - 2.0 * chunk @ samples.T,
            0.0,
        )
        for row, sigma in enumerate(sigmas):
            exponent = -squared / (2.0 * sigma**2)
            peak = exponent.max(axis=1, keepdims=True)
            log_mean = peak[:, 0] + np.log(np.exp(exponent - peak).sum(axis=1) / n)
            out[row, start:start + len(chunk)] = (
                log_mean - dim * math.log(sigma * math.sqrt(2.0 * math.pi))
            )
    return out


def _flat(x):
    x = np.asarray(x, np.float64)
    return x.reshape(len(x), -1)


def _trace_sqrt_product(sigma1, sigma2):
    """tr((sigma1 sigma2)^(1/2)) for symmetric positive semi-definite matrices."""
    eigenvalues, eigenvectors = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    sqrt_sigma1 = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    product = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    product_eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    return float(np.sum(np.sqrt(np.clip(product_eigenvalues, 0, None))))


def _unbiased_mmd2(x, y):
    """Unbiased MMD^2 of two equal-sized samples under the cubic polynomial kernel."""
    n, d = x.shape

    def kernel(a, b):
        k = a @ b.T / d + 1.0
        return k * k * k

    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    off_diagonal = n * (n - 1)
    return (
        (k_xx.sum() - np.trace(k_xx)) / off_diagonal
        + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
        - 2.0 * k_xy.mean()
    )


def _squared_distances(a, b):
    """`|a_i|^2 + |b_j|^2 - 2 a_i.b_j`, at least 0: two n x m arrays, not four, same rounding."""
    squared = np.add((a**2).sum(axis=1)[:, None], (b**2).sum(axis=1)[None, :])
    products = a @ b.T
    products *= -2.0
    squared += products
    return np.maximum(squared, 0.0, out=squared)


def kth_neighbour_radii(features, k=3, batch_size=1000):
    """`[n]`: the squared distance from each row of `features` to its k-th nearest other row.

    The radii of precision/recall's k-NN balls. A real set measured again and
    again (a test split) keeps them: `kgan.evaluator.Reference.radii`. Each
    radius is an exact float64 distance, `sum((a - b) ** 2)`, found among the
    few candidates that float32 distances leave (`_Float32Distances`).
    """
    features = _check_features(features, "features")
    k = _check_int("k", k, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    if len(features) <= k:
        raise errors.KganError(
            f"k-NN radii with k={k} need more than {k} rows (each row's k-th nearest other "
            f"row), got {len(features)}.")
    approximate = _Float32Distances(features, features)
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        rows = slice(start, start + batch_size)
        # The (k+1)-th smallest of each row: the smallest is the row itself, at 0.
        row, column = _radius_candidates(*approximate.block(rows), tf.constant(k + 1)).numpy().T
        exact = _exact_squared_distances(features, features, start + row, column)
        order = np.lexsort((exact, row))
        first = np.searchsorted(row[order], np.arange(len(features[rows])))
        radii[rows] = exact[order][first + k]
    return radii


# float32's unit roundoff.
_FLOAT32_ROUNDOFF = 2.0 ** -24


class _Float32Distances:
    """float32 bounds on the squared distances of two sets' rows, from two matrix products.

    float32 matrix products are several times faster than float64 ones, and
    precision/recall need only compare each distance with a radius: where a
    distance is farther from the radius than its error bound, float32 decides
    as exactly as float64 would; the rest (a few in a million) are computed
    exactly. The rows are centred on `b`'s mean and scaled by a power of two
    (exact, and so that nothing overflows) before rounding to float32; the
    distances and radii on this scale are `scale` times the true ones.

    A row `a` becomes `[a, |a|^2 (1 + e), 1]` and a row `b` becomes
    `[-2 b, 1, |b|^2 (1 + e)]`, so that one product gives the upper bound
    `|a - b|^2 + e (|a|^2 + |b|^2)` and another, with `-e`, the lower one. The
    error of the float32 rows and products is at most about `(2d + 8) u (|a|^2
    + |b|^2)` for d features, u being float32's unit roundoff (Higham,
    "Accuracy and Stability of Numerical Algorithms", section 3.1); kgan takes
    `e = 2 (3d + 12) u`, which also covers the rounding of the bounds' own
    arithmetic.
    """

    def __init__(self, a, b):
        centre = b.mean(axis=0)
        a, b = a - centre, b - centre
        largest = max(np.abs(a).max(), np.abs(b).max())
        step = np.ldexp(1.0, -int(np.frexp(largest)[1]) if largest > 0 else 0)  # |x| step < 1
        self.scale = step * step
        a, b = a * step, b * step
        a_norms, b_norms = (a * a).sum(axis=1), (b * b).sum(axis=1)
        error = 2.0 * (3 * a.shape[1] + 12) * _FLOAT32_ROUNDOFF
        ones_a, ones_b = np.ones((len(a), 1)), np.ones((len(b), 1))

        def rows(*columns):
            return tf.constant(np.concatenate(columns, axis=1).astype(np.float32))

        self.a_upper = rows(a, a_norms[:, None] * (1 + error), ones_a)
        self.a_lower = rows(a, a_norms[:, None] * (1 - error), ones_a)
        self.b_upper = rows(-2.0 * b, ones_b, b_norms[:, None] * (1 + error))
        self.b_lower = rows(-2.0 * b, ones_b, b_norms[:, None] * (1 - error))

    def block(self, rows):
        """The arguments that `_ball_candidates` and `_radius_candidates` start with."""
        return self.a_lower[rows], self.a_upper[rows], self.b_lower, self.b_upper

    def radius_bounds(self, radii):
        """float32 `(low, high)` on this scale with `low <= radius * scale <= high`."""
        scaled = np.asarray(radii, np.float64) * self.scale
        rounded = scaled.astype(np.float32)
        low = np.where(rounded > scaled, np.nextafter(rounded, np.float32(-np.inf)), rounded)
        high = np.where(rounded < scaled, np.nextafter(rounded, np.float32(np.inf)), rounded)
        return tf.constant(np.maximum(low, 0).astype(np.float32)), tf.constant(high)


def _bounded_distances(a_lower, a_upper, b_lower, b_upper):
    """`(lower, upper)`: float32 bounds on the squared distances of `a`'s and `b`'s rows."""
    return (tf.matmul(a_lower, b_lower, transpose_b=True) - 1e-30,  # float32's underflow
            tf.matmul(a_upper, b_upper, transpose_b=True) + 1e-30)


_MATRIX = tf.TensorSpec([None, None], tf.float32)
_VECTOR = tf.TensorSpec([None], tf.float32)


@tf.function(input_signature=[_MATRIX] * 4 + [tf.TensorSpec([], tf.int32)])
def _radius_candidates(a_lower, a_upper, b_lower, b_upper, rank):
    """`[pairs, 2]` (row, column) sorted by row: all that can be among a row's `rank` nearest.

    Any `rank` upper bounds of a row cap its `rank`-th smallest distance, so
    every distance whose lower bound is at most the cap is a candidate (at
    least `rank` a row). The cap used: the `rank`-th smallest of the minima of
    groups of up to 64 columns, nearly as tight as the `rank`-th smallest
    upper bound itself and several times cheaper to find.
    """
    lower, upper = _bounded_distances(a_lower, a_upper, b_lower, b_upper)
    columns = tf.shape(upper)[1]
    group = tf.maximum(1, tf.minimum(64, columns // rank))
    padded = tf.pad(upper, [[0, 0], [0, (-columns) % group]], constant_values=np.inf)
    minima = tf.reduce_min(tf.reshape(padded, [tf.shape(upper)[0], -1, group]), axis=2)
    cap = -tf.math.top_k(-minima, rank, sorted=True).values[:, -1]
    return tf.where(lower <= cap[:, None])


@tf.function(input_signature=[_MATRIX] * 4 + [_VECTOR] * 4 + [tf.TensorSpec([None], tf.bool)])
def _ball_candidates(a_lower, a_upper, b_lower, b_upper, b_low, b_high, a_low, a_high, covered):
    """Which fake rows `a` lie in a real ball, which real rows `b` in a fake ball.

    Returns `(in_real [rows], maybe_real [pairs, 2], in_fake [columns],
    maybe_fake [pairs, 2])`: the rows and columns certainly inside a ball, and
    the (row, column) pairs of the undecided ones, which only an exact distance
    decides. Real rows already `covered` are decided.
    """
    lower, upper = _bounded_distances(a_lower, a_upper, b_lower, b_upper)
    in_real = tf.reduce_any(upper <= b_low[None, :], axis=1)
    possible = lower <= b_high[None, :]
    rows = tf.where(~in_real & tf.reduce_any(possible, axis=1))[:, 0]
    pairs = tf.where(tf.gather(possible, rows))
    maybe_real = tf.stack([tf.gather(rows, pairs[:, 0]), pairs[:, 1]], axis=1)
    in_fake = tf.reduce_any(upper <= a_low[:, None], axis=0)
    possible = lower <= a_high[:, None]
    columns = tf.where(~in_fake & ~covered & tf.reduce_any(possible, axis=0))[:, 0]
    pairs = tf.where(tf.gather(possible, columns, axis=1))
    maybe_fake = tf.stack([pairs[:, 0], tf.gather(columns, pairs[:, 1])], axis=1)
    return in_real, maybe_real, in_fake, maybe_fake


def _exact_squared_distances(a, b, rows, columns, chunk=1 << 14):
    """`sum((a[rows] - b[columns]) ** 2, axis=1)` in float64, a chunk of pairs at a time."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        pairs = slice(start, start + chunk)
        difference = a[rows[pairs]] - b[columns[pairs]]
        out[pairs] = np.einsum("ij,ij->i", difference, difference)
    return out


def _distribution(frequencies, num_classes):
    if frequencies is None:
        return np.full(num_classes, 1.0 / num_classes)
    frequencies = np.asarray(frequencies, np.float64)
    if frequencies.shape != (num_classes,) or np.any(frequencies < 0) or frequencies.sum() <= 0:
        raise errors.KganError(
            f"data_distribution must be {num_classes} non-negative class frequencies "
            f"with a positive sum, got {frequencies!r}."
        )
    return frequencies / frequencies.sum()


def _check_features(features, name):
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise errors.KganError(
            f"{name} must be a [num_samples, num_features] array with at least 2 rows, "
            f"got shape {features.shape}. Extract features with an evaluator first "
            "(kgan.evaluator.load(dataset).features(images))."
        )
    if not np.all(np.isfinite(features)):
        raise errors.KganError(
            f"{name} contain NaN or infinite values: the generator or the feature "
            "network diverged. Check the samples before measuring them."
        )
    return features


def _check_pair(real_features, fake_features):
    real_features = _check_features(real_features, "real_features")
    fake_features = _check_features(fake_features, "fake_features")
    if real_features.shape[1] != fake_features.shape[1]:
        raise errors.KganError(
            f"real and fake features differ in size ({real_features.shape[1]} vs "
            f"{fake_features.shape[1]}): extract both with the same network."
        )
    return real_features, fake_features


def _check_int(name, value, minimum):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise errors.KganError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)
