"""Built-in GAN losses: closed-form values, stability from logits, clipping, gradient penalty."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan_plugins.regularizers import gradient_penalty

REAL = np.array([[-2.0], [0.5], [3.0]], "float32")
FAKE = np.array([[-1.0], [0.0], [2.0]], "float32")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# (name, params, D loss, G loss) in closed form, with D = sigmoid(logit) where probabilistic.
CLOSED_FORMS = [
    (
        "minimax",
        {},
        lambda r, f: -np.log(_sigmoid(r)) - np.log(1 - _sigmoid(f)),
        lambda f: np.log(1 - _sigmoid(f)),
    ),
    (
        "non_saturating",
        {},
        lambda r, f: -np.log(_sigmoid(r)) - np.log(1 - _sigmoid(f)),
        lambda f: -np.log(_sigmoid(f)),
    ),
    (
        "least_squares",
        {},
        lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f**2,
        lambda f: 0.5 * (f - 1) ** 2,
    ),
    (
        "least_squares",
        {"fake_target": -1.0, "real_target": 1.0, "generator_target": 0.0},
        lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * (f + 1) ** 2,
        lambda f: 0.5 * f**2,
    ),
    ("wasserstein", {}, lambda r, f: f - r, lambda f: -f),
    ("wasserstein_gp", {}, lambda r, f: f - r, lambda f: -f),
    (
        "hinge",
        {},
        lambda r, f: np.maximum(0, 1 - r) + np.maximum(0, 1 + f),
        lambda f: -f,
    ),
]


@pytest.mark.parametrize("name, params, d_loss, g_loss", CLOSED_FORMS)
def test_losses_match_their_closed_forms(name, params, d_loss, g_loss):
    loss = kgan.get_loss({"name": name, **params})
    np.testing.assert_allclose(loss.discriminator_loss(REAL, FAKE), d_loss(REAL, FAKE), rtol=1e-5)
    np.testing.assert_allclose(loss.generator_loss(FAKE), g_loss(FAKE), rtol=1e-5, atol=1e-6)


ADVERSARIAL_LOSSES = [n for n in kgan.LOSSES.names() if kgan.LOSSES.get(n).adversarial]


@pytest.mark.parametrize("name", ADVERSARIAL_LOSSES)
@pytest.mark.parametrize("scale", [150.0, 1e4])
def test_losses_and_gradients_are_finite_for_huge_logits(name, scale):
    loss = kgan.get_loss(name)
    real = tf.constant([[-scale], [scale], [0.0]])
    fake = tf.constant([[scale], [-scale], [0.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        d_loss = tf.reduce_mean(loss.discriminator_loss(real, fake))
        g_loss = tf.reduce_mean(loss.generator_loss(fake))
    values = [d_loss, g_loss, *tape.gradient(d_loss, [real, fake]), tape.gradient(g_loss, fake)]
    for value in values:
        assert np.isfinite(value.numpy()).all(), (name, value)


def test_probabilistic_losses_keep_their_exact_value_far_in_the_tails():
    # -log sigmoid(-200) = 200 exactly in the limit; a naive log(sigmoid) gives inf.
    loss = kgan.get_loss("minimax")
    d = loss.discriminator_loss(tf.constant([[-200.0]]), tf.constant([[200.0]]))
    assert float(d[0, 0]) == pytest.approx(400.0)
    assert float(kgan.get_loss("non_saturating").generator_loss(tf.constant([[-300.0]]))[0, 0]) == (
        pytest.approx(300.0)
    )
    assert float(loss.generator_loss(tf.constant([[300.0]]))[0, 0]) == pytest.approx(-300.0)


def test_scores_are_probabilities_only_for_probabilistic_losses():
    logits = tf.constant([[-3.0], [0.0], [4.0]])
    np.testing.assert_allclose(kgan.get_loss("minimax").score(logits), _sigmoid(logits.numpy()))
    np.testing.assert_allclose(kgan.get_loss("hinge").score(logits), logits)


# --- Weight clipping -----------------------------------------------------------


@pytest.mark.parametrize("clip_value", [0.01, None])
def test_wasserstein_clips_every_critic_weight_after_a_step(make_gan, clip_value):
    gan = make_gan(loss={"name": "wasserstein", "clip_value": clip_value})
    assert max(np.abs(w).max() for w in gan.discriminator.get_weights()) > 0.1
    gan.train_on_batch(np.random.RandomState(0).normal(size=(8, 3)).astype("float32"))
    largest = max(np.abs(w).max() for w in gan.discriminator.get_weights())
    if clip_value is None:
        assert largest > 0.1
    else:
        assert largest <= clip_value


# --- Gradient penalty ----------------------------------------------------------


def _linear_critic(shape, weights):
    x = keras.Input(shape)
    dense = keras.layers.Dense(1)
    critic = keras.Model(x, dense(keras.layers.Flatten()(x)))
    dense.kernel.assign(np.reshape(weights, (-1, 1)).astype("float32"))
    dense.bias.assign([0.5])
    return critic, dense


@pytest.mark.parametrize("shape", [(4,), (2, 2, 1)])
def test_gradient_penalty_of_a_linear_critic(shape):
    # D(x) = w.x + b has gradient w everywhere: penalty = (||w|| - 1)^2 = 4 for ||w|| = 3.
    critic, dense = _linear_critic(shape, [1.0, 2.0, 2.0, 0.0])
    real = tf.random.normal((8, *shape), seed=1)
    fake = tf.random.normal((8, *shape), seed=2)
    seed = keras.random.SeedGenerator(0)
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, fake, seed)
    assert float(penalty) == pytest.approx(4.0, rel=1e-5)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    grad = tape.gradient(penalty, dense.kernel).numpy().ravel()
    np.testing.assert_allclose(grad, 2 * 2 * np.array([1, 2, 2, 0]) / 3, rtol=1e-5)


def test_gradient_penalty_is_finite_where_the_critic_gradient_is_zero():
    critic, dense = _linear_critic((4,), [0.0] * 4)
    real, fake = tf.zeros((8, 4)), tf.ones((8, 4))
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, fake, keras.random.SeedGenerator(0))
    grad = tape.gradient(penalty, dense.kernel)
    assert float(penalty) == pytest.approx(1.0, rel=1e-5)
    assert np.isfinite(grad.numpy()).all()


def test_gradient_penalty_interpolates_uniformly_per_example():
    # D(x) = ||x||^2 / 2 has gradient x. From real = 0 to fake = (2, 0), x_hat = (2a, 0)
    # and the penalty is E[(2a - 1)^2] = 1/3 for a ~ U(0, 1) drawn per example
    # (0 for a fixed a = 1/2; one a for the whole batch would rarely land near 1/3).
    x = keras.Input((2,))
    critic = keras.Model(x, keras.layers.Lambda(lambda v: 0.5 * tf.reduce_sum(v**2, 1))(x))
    rows = 4000
    real = tf.zeros((rows, 2))
    fake = tf.tile([[2.0, 0.0]], [rows, 1])
    penalty = gradient_penalty(critic, real, fake, keras.random.SeedGenerator(3))
    assert float(penalty) == pytest.approx(1 / 3, abs=0.02)


def test_wasserstein_gp_brings_the_weighted_penalty():
    critic, _ = _linear_critic((4,), [1.0, 2.0, 2.0, 0.0])
    loss = kgan.get_loss({"name": "wasserstein_gp", "gp_weight": 2.5})
    brought, chosen = kgan.regularizers.resolve(loss)
    assert [r.name for r in brought] == ["gradient_penalty"] and not chosen
    real, fake = tf.zeros((4, 4)), tf.ones((4, 4))
    ctx = kgan.regularizers.PenaltyContext(
        discriminator=critic, real=real, fake=fake, real_logits=None, fake_logits=None,
        labels=None, seed_generator=keras.random.SeedGenerator(0), loss=loss, step=0,
    )
    assert float(brought[0].discriminator_penalty(ctx)) == pytest.approx(2.5 * 4.0, rel=1e-5)
    assert loss.clip_value is None  # the penalty replaces clipping


def test_wasserstein_brings_weight_clipping_unless_its_clip_value_is_null():
    clipped = kgan.regularizers.resolve(kgan.get_loss("wasserstein"))[0]
    assert [(r.name, r.clip_value) for r in clipped] == [("weight_clipping", 0.01)]
    unclipped = kgan.get_loss({"name": "wasserstein", "clip_value": None})
    assert kgan.regularizers.resolve(unclipped) == ([], [])


# --- Parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"name": "wasserstein", "clip_value": 0}, "clip_value must be > 0"),
        ({"name": "wasserstein_gp", "gp_weight": -1}, "gp_weight must be >= 0"),
        ({"name": "minimax", "label_smoothing": 0.1}, 'Loss "minimax" has no parameter'),
        ({"name": "least_squares", "real_targt": 0.9}, 'Did you mean "real_target"'),
        (3, "registered loss name"),
    ],
)
def test_bad_loss_parameters(spec, match):
    with pytest.raises(kgan.KganError, match=match):
        kgan.get_loss(spec)


def test_get_config_rebuilds_each_loss():
    for name in kgan.LOSSES.names():
        loss = kgan.get_loss(name)
        rebuilt = type(loss)(**loss.get_config())
        assert rebuilt.get_config() == loss.get_config()


@pytest.mark.parametrize("base", [kgan.GANLoss, kgan.Regularizer], ids=lambda c: c.__name__)
def test_base_hooks_convert_with_autograph(base):
    # The train step calls these hooks inside tf.function; a method whose body
    # is only a docstring makes AutoGraph warn "could not transform" on every
    # trace and run it unconverted.
    for name, method in inspect.getmembers(base, inspect.isfunction):
        if not name.startswith("_"):
            tf.autograph.to_graph(method)
