"""kgan against the theory of Goodfellow et al. (2014), on 1-D Gaussians.

Proposition 1 (the optimal discriminator), Theorem 1 (the value at D* is
2 * JSD - log 4), convergence of p_g to p_data with D -> 1/2, and the
saturation of the minimax generator loss that motivates the non-saturating
one. Every model trains through the public API (`kgan.GAN.fit`,
`kgan.generator` / `kgan.discriminator`, the registered losses).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import theory

# Proposition 1 setting: p_data = N(0, 1) against a fixed p_g = N(2, 1).
DATA_MEAN, G_MEAN = 0.0, 2.0


def _logits(discriminator, x):
    x = np.asarray(x, dtype="float32").reshape(-1, 1)
    return discriminator.predict(x, batch_size=8192, verbose=0)[:, 0].astype("float64")


def _probabilities(discriminator, x):
    return 1.0 / (1.0 + np.exp(-_logits(discriminator, x)))


def _shifting_generator(shift):
    """G(z) = z + shift with no trainable weights, so p_g = N(shift, 1) stays fixed."""
    z = keras.Input((1,), name="z")
    x = keras.layers.Dense(
        1,
        trainable=False,
        kernel_initializer="ones",
        bias_initializer=keras.initializers.Constant(shift),
    )(z)
    return keras.Model(z, x, name="shift_generator")


@pytest.fixture(scope="module")
def discriminator_against_fixed_generator():
    """D trained by GAN.fit with the minimax loss while G stays N(2, 1)."""
    seed, steps, batch_size = 0, 200, 512
    keras.utils.set_random_seed(seed)
    generator = _shifting_generator(G_MEAN)
    discriminator = kgan.discriminator("mlp", input_shape=(1,), hidden_units=(16,))
    gan = kgan.GAN(generator, discriminator, latent_dim=1, seed=seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.02, steps)),
        g_optimizer="sgd",
        loss="minimax",
        steps_per_execution=50,
    )
    real = np.random.default_rng(seed).normal(DATA_MEAN, 1.0, size=(steps * batch_size, 1))
    gan.fit(real.astype("float32"), batch_size=batch_size, epochs=1, verbose=0)
    assert not generator.trainable_weights
    fixed_outputs = generator.predict(np.array([[0.0], [1.0]], "float32"), verbose=0)
    assert np.allclose(fixed_outputs, [[G_MEAN], [G_MEAN + 1.0]])
    return discriminator


def test_trained_discriminator_is_the_optimal_discriminator(
    discriminator_against_fixed_generator,
):
    x = theory.grid(-1.0, 3.0, 401)
    d_star = theory.optimal_discriminator(
        theory.gaussian_density(x, DATA_MEAN), theory.gaussian_density(x, G_MEAN)
    )
    d = _probabilities(discriminator_against_fixed_generator, x)
    # D* runs from 0.98 to 0.02 over this range, so a constant or wrong D fails.
    assert np.max(np.abs(d - d_star)) < 0.05


def test_value_at_trained_discriminator_is_twice_jsd_minus_log_4(
    discriminator_against_fixed_generator,
):
    x = theory.grid(-10.0, 12.0)
    p_data = theory.gaussian_density(x, DATA_MEAN)
    p_g = theory.gaussian_density(x, G_MEAN)
    value = theory.value_function_from_logits(
        _logits(discriminator_against_fixed_generator, x), p_data, p_g, x
    )
    expected = 2.0 * theory.jensen_shannon(p_data, p_g, x) - math.log(4.0)
    # V(D*) = -0.7126 here, far from V(1/2) = -log 4 = -1.386.
    assert abs(value - expected) < 0.05
    assert value <= expected + 1e-6  # D* maximises V: no D does better.


def test_generator_learns_a_gaussian_and_discriminator_ends_at_one_half():
    seed, steps, batch_size = 0, 500, 256
    target_mean, target_std = 4.0, 0.5
    keras.utils.set_random_seed(seed)
    # An affine generator a*z + b can represent N(4, 0.5^2) exactly.
    generator = kgan.generator(
        "mlp", latent_dim=1, output_shape=(1,), hidden_units=(), output_activation="linear"
    )
    discriminator = kgan.discriminator("mlp", input_shape=(1,), hidden_units=(32, 32))
    gan = kgan.GAN(generator, discriminator, latent_dim=1, seed=seed)

    def adam():
        schedule = keras.optimizers.schedules.CosineDecay(0.05, steps, alpha=0.05)
        return keras.optimizers.Adam(schedule, beta_1=0.5)

    gan.compile(d_optimizer=adam(), g_optimizer=adam(), steps_per_execution=50)
    rng = np.random.default_rng(seed)
    real = rng.normal(target_mean, target_std, size=(steps * batch_size, 1))
    gan.fit(real.astype("float32"), batch_size=batch_size, epochs=1, verbose=0)

    fake = gan.generate(20000, seed=1)[:, 0]
    assert abs(fake.mean() - target_mean) < 0.1
    assert abs(fake.std() - target_std) < 0.1
    held_out_real = rng.normal(target_mean, target_std, size=20000)
    assert abs(_probabilities(discriminator, held_out_real).mean() - 0.5) < 0.1
    assert abs(_probabilities(discriminator, fake).mean() - 0.5) < 0.1


def _generator_gradient_norm(loss_name, generator, discriminator, z):
    loss = kgan.get_loss(loss_name)
    with tf.GradientTape() as tape:
        fake_logits = discriminator(generator(z, training=True), training=True)
        g_loss = tf.reduce_mean(loss.generator_loss(fake_logits))
    grads = tape.gradient(g_loss, generator.trainable_variables)
    return float(tf.linalg.global_norm(grads))


def test_minimax_generator_loss_saturates_where_non_saturating_does_not():
    keras.utils.set_random_seed(0)
    generator = kgan.generator(
        "mlp", latent_dim=1, output_shape=(1,), hidden_units=(8,), output_activation="linear"
    )
    # A linear discriminator, logit = x + bias, set to reject fakes: D(G(z)) ~ 0.01.
    discriminator = kgan.discriminator("mlp", input_shape=(1,), hidden_units=())
    z = kgan.noise.sample(256, 1, seed=0)
    fake_mean = float(tf.reduce_mean(generator(z)))
    discriminator.set_weights([np.ones((1, 1)), np.array([math.log(0.01 / 0.99) - fake_mean])])
    fake_score = float(tf.reduce_mean(tf.sigmoid(discriminator(generator(z)))))
    assert 0.005 < fake_score < 0.02

    minimax = _generator_gradient_norm("minimax", generator, discriminator, z)
    non_saturating = _generator_gradient_norm("non_saturating", generator, discriminator, z)
    assert non_saturating > 0
    # d/dl of log(1 - sigmoid(l)) is -D, of -log sigmoid(l) is -(1 - D): ratio ~ D/(1-D).
    assert minimax < 0.1 * non_saturating


# The closed forms themselves, checked against independent facts.


def test_value_at_optimal_discriminator_equals_twice_jsd_minus_log_4():
    x = theory.grid(-10.0, 12.0)
    p_data, p_g = theory.gaussian_density(x, 0.0), theory.gaussian_density(x, 2.0)
    d_star = theory.optimal_discriminator(p_data, p_g)
    assert theory.value_function(d_star, p_data, p_g, x) == pytest.approx(
        theory.optimal_value(p_data, p_g, x), abs=1e-9
    )
    # Any other D does worse (Proposition 1), and D = 1/2 gives -log 4.
    for d in (np.clip(d_star + 0.05, 0, 1), np.full_like(x, 0.5), d_star**2):
        assert theory.value_function(d, p_data, p_g, x) < theory.optimal_value(p_data, p_g, x)
    assert theory.value_function(np.full_like(x, 0.5), p_data, p_g, x) == pytest.approx(
        -math.log(4.0), abs=1e-9
    )


def test_jensen_shannon_matches_monte_carlo_and_its_bounds():
    x = theory.grid(-10.0, 12.0)
    p, q = theory.gaussian_density(x, 0.0), theory.gaussian_density(x, 2.0)
    # JSD = E_p[log(2p / (p + q))] / 2 + E_q[log(2q / (p + q))] / 2, sampled.
    rng = np.random.default_rng(0)
    xp, xq = rng.normal(0.0, 1.0, 200_000), rng.normal(2.0, 1.0, 200_000)

    def log_ratio(samples, mean):
        log_a = theory.gaussian_log_density(samples, mean)
        log_p = theory.gaussian_log_density(samples, 0.0)
        log_q = theory.gaussian_log_density(samples, 2.0)
        return math.log(2.0) + log_a - np.logaddexp(log_p, log_q)

    monte_carlo = 0.5 * log_ratio(xp, 0.0).mean() + 0.5 * log_ratio(xq, 2.0).mean()
    assert theory.jensen_shannon(p, q, x) == pytest.approx(monte_carlo, abs=5e-3)
    assert theory.jensen_shannon(p, p, x) == pytest.approx(0.0, abs=1e-12)
    far = theory.gaussian_density(x, 9.0, 0.1)
    disjoint = theory.gaussian_density(x, -5.0, 0.1)
    assert theory.jensen_shannon(disjoint, far, x) == pytest.approx(math.log(2.0), abs=1e-6)


def test_optimal_discriminator_from_log_densities_is_stable_in_the_tails():
    x = np.array([-40.0, 0.0, 1.0, 40.0])
    log_p, log_q = theory.gaussian_log_density(x, 0.0), theory.gaussian_log_density(x, 2.0)
    from_log = theory.optimal_discriminator_from_log(log_p, log_q)
    # For N(0,1) against N(2,1), D*(x) = sigmoid(2 - 2x).
    assert from_log == pytest.approx(1.0 / (1.0 + np.exp(2.0 * x - 2.0)), rel=1e-12)
    assert from_log[1:3] == pytest.approx(
        theory.optimal_discriminator(np.exp(log_p), np.exp(log_q))[1:3], rel=1e-12
    )
