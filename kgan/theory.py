"""Closed-form quantities of Goodfellow et al. (2014), for 1-D checks and plots.

Section 4 of the paper shows that for a fixed generator the best
discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1),
and that at D* the value function
V(D, G) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 - D(x))] equals
2 * JSD(p_data || p_g) - log 4 (Theorem 1), whose minimum -log 4 is reached
only when p_g = p_data.

Everything here is numpy on a 1-D grid: densities are arrays of values at the
grid points `x`, and integrals use the trapezoid rule, so a grid that covers
the mass of both densities with fine spacing gives near-exact numbers.

Example:

```python
x = kgan.theory.grid(-8.0, 10.0)
p_data = kgan.theory.gaussian_density(x, mean=0.0, std=1.0)
p_g = kgan.theory.gaussian_density(x, mean=2.0, std=1.0)
d_star = kgan.theory.optimal_discriminator(p_data, p_g)
kgan.theory.value_function(d_star, p_data, p_g, x)  # == optimal_value(...)
kgan.theory.optimal_value(p_data, p_g, x)           # 2 * JSD - log 4
```
"""

import math

import numpy as np

LOG_4 = math.log(4.0)
"""-V(D*, G) when p_g = p_data: the global minimum of the training criterion is -log 4."""


def grid(low, high, num_points=20001):
    """Returns `num_points` evenly spaced points from `low` to `high` (float64)."""
    if not high > low:
        raise ValueError(f"grid needs high > low, got low={low!r}, high={high!r}.")
    return np.linspace(float(low), float(high), int(num_points))


def gaussian_log_density(x, mean=0.0, std=1.0):
    """log N(x; mean, std^2), elementwise."""
    x = np.asarray(x, dtype=np.float64)
    return -0.5 * np.square((x - mean) / std) - math.log(std) - 0.5 * math.log(2 * math.pi)


def gaussian_density(x, mean=0.0, std=1.0):
    """N(x; mean, std^2), elementwise."""
    return np.exp(gaussian_log_density(x, mean, std))


def gaussian_cdf(x, mean=0.0, std=1.0):
    """The normal cumulative distribution function, elementwise."""
    z = (np.asarray(x, np.float64) - mean) / (std * math.sqrt(2.0))
    return 0.5 * (1.0 + _erf(z))


def optimal_discriminator(p_data, p_g):
    """D*(x) = p_data / (p_data + p_g) (Proposition 1), from density values.

    Where both densities are zero D* is undefined (it does not enter V); 1/2
    is returned there.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    total = p_data + p_g
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe_total, 0.5)


def optimal_discriminator_from_log(log_p_data, log_p_g):
    """D*(x) from log densities: sigmoid(log p_data - log p_g), stable in the tails."""
    log_ratio = np.asarray(log_p_data, np.float64) - np.asarray(log_p_g, np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * log_ratio))


def value_function(d, p_data, p_g, x):
    """V(D, G) = integral of p_data log D + p_g log(1 - D) over the grid `x`.

    Args:
        d: D(x) at the grid points, probabilities in [0, 1].
        p_data: data density at the grid points.
        p_g: generator density at the grid points.
        x: the grid (increasing).

    Returns:
        A float, in nats; -inf where D puts 0 (or 1) on mass of p_data (or p_g).
    """
    d = np.asarray(d, dtype=np.float64)
    with np.errstate(divide="ignore"):
        integrand = _x_log_y(p_data, d) + _x_log_y(p_g, 1.0 - d)
    return _trapezoid(integrand, x)


def value_function_from_logits(logits, p_data, p_g, x):
    """V(D, G) for D = sigmoid(logits), finite however confident D is.

    Uses log D = -log(1 + e^-l) and log(1 - D) = -log(1 + e^l), as kgan's
    losses do, so a float32 discriminator that rounds D to exactly 0 or 1 in
    the tails still gets its true (tiny) contribution there.
    """
    logits = np.asarray(logits, dtype=np.float64)
    log_d = -np.logaddexp(0.0, -logits)
    log_one_minus_d = -np.logaddexp(0.0, logits)
    integrand = _x_times(p_data, log_d) + _x_times(p_g, log_one_minus_d)
    return _trapezoid(integrand, x)


def kl_divergence(p, q, x):
    """KL(p || q) = integral of p log(p / q) over the grid `x`, in nats."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = _x_log_y(p, p) - _x_log_y(p, q)
    return _trapezoid(integrand, x)


def jensen_shannon(p_data, p_g, x):
    """JSD(p_data || p_g) = KL(p_data || M)/2 + KL(p_g || M)/2 with M the mixture, in nats.

    Lies in [0, log 2]: 0 only when the densities agree, log 2 when their
    supports are disjoint.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    # p log(p / M) = p (log 2 + log p - log(p + q)): p + q >= p never underflows
    # to 0 where p > 0, as the mixture (p + q) / 2 can for subnormal p.
    log_total = _safe_log(p_data + p_g)
    integrand = _x_times(p_data, _safe_log(p_data) - log_total) + _x_times(
        p_g, _safe_log(p_g) - log_total
    )
    integrand = integrand + math.log(2.0) * (p_data + p_g)
    return 0.5 * _trapezoid(integrand, x)


def optimal_value(p_data, p_g, x):
    """C(G) = max_D V(D, G) = 2 * JSD(p_data || p_g) - log 4 (Theorem 1)."""
    return 2.0 * jensen_shannon(p_data, p_g, x) - LOG_4


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _x_log_y(a, b):
    # a * log(b) with the convention 0 * log(0) = 0: points without mass add nothing.
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    safe_b = np.where(a > 0, b, 1.0)
    return np.where(a > 0, a * np.log(safe_b), 0.0)


def _safe_log(a):
    # log a where a > 0, and 0 elsewhere (those points carry no mass).
    a = np.asarray(a, dtype=np.float64)
    return np.log(np.where(a > 0, a, 1.0))


def _x_times(a, b):
    # a * b with 0 * (anything, even -inf) = 0.
    a = np.asarray(a, dtype=np.float64)
    return np.where(a > 0, a * np.where(a > 0, b, 0.0), 0.0)


def _trapezoid(y, x):
    # np.trapezoid exists only from numpy 2.0; kgan supports numpy >= 1.26.
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))
