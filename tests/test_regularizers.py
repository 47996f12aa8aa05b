"""Built-in regularisers: each does, at small scale, what its paper says it does."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import kgan
from kgan import cli
from kgan import config
from kgan_plugins.regularizers import gradient_penalty
from kgan_plugins.regularizers import squared_gradient_norm

STEP0 = tf.constant(0, tf.int64)


def _toy_gan(loss, regularizers, real_mean, fake_mean, dim=2, hidden=(16, 16),
             d_learning_rate=1e-2, d_steps=1, seed=0):
    """A GAN whose generator is frozen at N(fake_mean, 0.1^2): only D trains.

    Fixing p_g isolates what a regulariser does to D, as in Proposition 1
    of the 2014 paper.
    """
    keras.utils.set_random_seed(seed)
    z = keras.Input((dim,))
    shift = keras.layers.Dense(dim, trainable=False)
    generator = keras.Model(z, shift(z))
    shift.kernel.assign(0.1 * np.eye(dim, dtype="float32"))
    shift.bias.assign(np.full(dim, fake_mean, "float32"))
    discriminator = kgan.discriminator("mlp", (dim,), hidden_units=hidden)
    gan = kgan.GAN(generator, discriminator, latent_dim=dim, d_steps=d_steps, seed=seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_learning_rate),
        g_optimizer=keras.optimizers.SGD(0.0),
        loss=loss,
        regularizers=regularizers,
        jit_compile=False,
    )
    real = np.random.RandomState(seed).normal(real_mean, 0.1, (4096, dim)).astype("float32")
    return gan, real


def _fit_steps(gan, real, steps, batch_size=64):
    rows = steps * batch_size * gan.d_steps
    gan.fit(np.resize(real, (rows, real.shape[1])), batch_size=batch_size, epochs=1,
            verbose=0, shuffle=False)


# --- Gradient penalty (Gulrajani et al. 2017) ---------------------------------------


def _interpolate_norm_error(gan, real):
    """E | ||grad D(x_hat)|| - 1 | on interpolates between real and fake samples."""
    fake = gan.generator(tf.random.normal((len(real), 2), seed=5))
    alpha = tf.random.uniform((len(real), 1), seed=6)
    x_hat = tf.constant(real) + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = gan.discriminator(x_hat)
    norms = tf.norm(tape.gradient(scores, x_hat), axis=1)
    return float(tf.reduce_mean(tf.abs(norms - 1.0)))


def test_gradient_penalty_drives_the_critic_gradient_norm_to_one():
    errors = {}
    for regularizers in ([], [{"name": "gradient_penalty", "weight": 10}]):
        gan, real = _toy_gan({"name": "wasserstein", "clip_value": None}, regularizers,
                             real_mean=1.0, fake_mean=-1.0)
        # Start far from 1: a critic 30 times steeper than its initialisation.
        logit = gan.discriminator.get_layer("logit")
        logit.kernel.assign(30.0 * logit.kernel)
        before = _interpolate_norm_error(gan, real[:512])
        # 200 steps: at 100 the error was 0.15-0.17 for seeds 1-3 but 0.36 for
        # seed 0 (Adam on a steep critic amplifies rounding differences, e.g.
        # one fused D call against two); at 200 it is 0.14 for all four.
        _fit_steps(gan, real, steps=200)
        errors[bool(regularizers)] = (before, _interpolate_norm_error(gan, real[:512]))
    (before, with_gp), (_, without_gp) = errors[True], errors[False]
    assert before > 5.0
    assert with_gp < 0.05 * before and with_gp < 0.25, errors
    # An unconstrained Wasserstein critic only grows steeper.
    assert without_gp > 10 * before, errors


def test_gradient_penalty_regularizer_is_the_wasserstein_gp_penalty():
    critic = kgan.discriminator("mlp", (3,), hidden_units=(8,))
    real, fake = tf.random.normal((16, 3), seed=1), tf.random.normal((16, 3), seed=2)
    ctx = types.SimpleNamespace(discriminator=critic, real=real, fake=fake,
                                seed_generator=keras.random.SeedGenerator(4))
    penalty = kgan.regularizers.get_regularizer(
        {"name": "gradient_penalty", "weight": 2.5}).discriminator_penalty(ctx)
    expected = 2.5 * gradient_penalty(critic, real, fake, keras.random.SeedGenerator(4))
    assert float(penalty) == pytest.approx(float(expected), rel=1e-6)


# --- R1 (Mescheder et al. 2018) ------------------------------------------------------


def test_r1_flattens_the_discriminator_on_real_data():
    norms = {}
    for gamma in (None, 10.0):
        regularizers = [] if gamma is None else [{"name": "r1", "gamma": gamma}]
        gan, real = _toy_gan("non_saturating", regularizers, real_mean=1.0, fake_mean=-1.0)
        _fit_steps(gan, real, steps=150)
        norms[gamma] = float(squared_gradient_norm(gan.discriminator, tf.constant(real[:512])))
    assert norms[10.0] < 0.1 * norms[None], norms


def test_r1_penalty_is_half_gamma_times_the_squared_gradient_norm():
    # D(x) = w.x + b has gradient w: the penalty is gamma / 2 * ||w||^2 = 4 * 9 / 2.
    x = keras.Input((4,))
    dense = keras.layers.Dense(1)
    critic = keras.Model(x, dense(x))
    dense.kernel.assign([[1.0], [2.0], [2.0], [0.0]])
    ctx = types.SimpleNamespace(discriminator=critic, real=tf.random.normal((8, 4)))
    r1 = kgan.regularizers.get_regularizer({"name": "r1", "gamma": 4})
    assert float(r1.discriminator_penalty(ctx)) == pytest.approx(18.0, rel=1e-6)


# --- Weight clipping (Arjovsky et al. 2017) -----------------------------------------


def test_weight_clipping_keeps_every_discriminator_weight_within_c(make_gan):
    gan = make_gan(regularizers=[{"name": "weight_clipping", "clip_value": 0.02}])
    assert max(np.abs(w).max() for w in gan.discriminator.get_weights()) > 0.1
    gan.train_on_batch(np.random.RandomState(0).normal(size=(8, 3)).astype("float32"))
    assert max(np.abs(w).max() for w in gan.discriminator.get_weights()) <= 0.02
    # Only D is clipped.
    assert max(np.abs(w).max() for w in gan.generator.get_weights()) > 0.1


# --- One-sided label smoothing (Salimans et al. 2016) -------------------------------


@pytest.mark.parametrize("alpha", [0.1, 0.3])
def test_cross_entropy_with_a_smoothed_target_is_a_penalty_on_the_real_logit(alpha):
    # BCE(l, t) = softplus(-l) + (1 - t) l: target 1 - alpha adds alpha * l.
    logits = tf.constant([[-30.0], [-2.0], [0.0], [0.7], [5.0], [40.0]])
    smoothed = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(logits.shape, 1.0 - alpha), logits=logits)
    np.testing.assert_allclose(smoothed, tf.nn.softplus(-logits) + alpha * logits,
                               rtol=1e-5, atol=1e-5)
    # So D's loss plus the regulariser is the cross-entropy with targets 1 - alpha and 0.
    fake_logits = tf.constant([[1.0], [-3.0], [0.5], [2.0], [0.0], [-1.0]])
    loss = kgan.get_loss("non_saturating")
    smoothing = kgan.regularizers.get_regularizer({"name": "label_smoothing", "alpha": alpha})
    ctx = types.SimpleNamespace(real_logits=logits, fake_logits=fake_logits)
    total = tf.reduce_mean(loss.discriminator_loss(logits, fake_logits)) + (
        smoothing.discriminator_penalty(ctx))
    expected = tf.reduce_mean(smoothed) + tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits),
                                                logits=fake_logits))
    assert float(total) == pytest.approx(float(expected), rel=1e-5)


def test_label_smoothing_moves_ds_optimum_on_real_data_to_one_minus_alpha():
    scores = {}
    for alpha in (None, 0.1):
        regularizers = [] if alpha is None else [{"name": "label_smoothing", "alpha": alpha}]
        gan, real = _toy_gan("non_saturating", regularizers, real_mean=2.0, fake_mean=-2.0,
                             dim=1, hidden=(8,), d_learning_rate=3e-2)
        _fit_steps(gan, real, steps=250)
        fake = gan.generator(tf.random.normal((512, 1), seed=3))
        scores[alpha] = (float(tf.reduce_mean(tf.sigmoid(gan.discriminator(real[:512])))),
                         float(tf.reduce_mean(tf.sigmoid(gan.discriminator(fake)))))
    # D*(x) = (1 - alpha) p_data / (p_data + p_g) on separable data: 0.9 on real,
    # and still 0 on fake (one-sided).
    assert scores[0.1][0] == pytest.approx(0.9, abs=0.015), scores
    assert scores[0.1][1] < 0.03, scores
    assert scores[None][0] > 0.97, scores


@pytest.mark.parametrize("loss", ["wasserstein", "hinge", "least_squares"])
def test_label_smoothing_refuses_losses_without_a_probability(make_gan, loss):
    with pytest.raises(kgan.KganError, match=f"label_smoothing .* loss {loss}"):
        make_gan(loss=loss, regularizers=["label_smoothing"])


def test_label_smoothing_refuses_a_probabilistic_loss_that_is_not_the_cross_entropy(make_gan):
    class Relativistic(kgan.GANLoss):
        def discriminator_loss(self, real_logits, fake_logits):
            return tf.nn.softplus(-(real_logits - fake_logits))

        def generator_loss(self, fake_logits):
            return tf.nn.softplus(-fake_logits)

    with pytest.raises(kgan.KganError, match="binary cross-entropy"):
        make_gan(loss=Relativistic(), regularizers=["label_smoothing"])


# --- Instance noise (Sonderby et al. 2016; Arjovsky & Bottou 2017) ------------------


def test_instance_noise_std_decays_linearly_to_zero():
    noise = kgan.regularizers.get_regularizer(
        {"name": "instance_noise", "sigma": 0.4, "anneal_steps": 100})
    stds = [float(noise.stddev(tf.constant(s, tf.int64))) for s in (0, 25, 50, 75, 100, 250)]
    np.testing.assert_allclose(stds, [0.4, 0.3, 0.2, 0.1, 0.0, 0.0], atol=1e-7)
    seed = keras.random.SeedGenerator(0)
    for step, std in ((0, 0.4), (50, 0.2), (100, 0.0)):
        drawn = noise.augment(tf.zeros((4000, 5)), tf.constant(step, tf.int64), seed)
        assert float(tf.math.reduce_std(drawn)) == pytest.approx(std, abs=0.01)


class Spy(kgan.Regularizer):
    """Wraps a regulariser and logs each input of D: (mean before, mean |change|)."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = tf.Variable(0)
        self.log = tf.Variable(tf.zeros((16, 2)))
        self.seen_real_change = tf.Variable(0.0)
        self.raw_real = tf.Variable(0.0)

    def augment(self, x, step, seed_generator):
        out = self.inner.augment(x, step, seed_generator)
        row = tf.stack([tf.reduce_mean(x), tf.reduce_mean(tf.abs(out - x))])
        self.log.scatter_nd_update([[self.calls]], [row])
        self.calls.assign_add(1)
        return out

    def discriminator_penalty(self, ctx):
        # What D saw of the real batch, against the constant real value.
        self.seen_real_change.assign(tf.reduce_mean(tf.abs(ctx.real - self.raw_real)))
        return None

    def inputs(self):
        return self.log.numpy()[: int(self.calls.numpy())]


def _spy_on(inner, shape, real_value=0.5, d_steps=2):
    """One step of a GAN on constant real data (`real_value`) with a constant generator (-0.5)."""
    spy = Spy(inner)
    spy.raw_real.assign(real_value)
    keras.utils.set_random_seed(0)
    z = keras.Input((2,))
    dense = keras.layers.Dense(int(np.prod(shape)), kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(-0.5))
    generator = keras.Model(z, keras.layers.Reshape(shape)(dense(z)))
    discriminator = kgan.discriminator("mlp", shape, hidden_units=(4,))
    gan = kgan.GAN(generator, discriminator, latent_dim=2, d_steps=d_steps, seed=0)
    gan.compile(d_optimizer="sgd", g_optimizer="sgd", regularizers=[spy], jit_compile=False)
    gan.train_on_batch(np.full((8 * d_steps, *shape), real_value, "float32"))
    return spy


@pytest.mark.parametrize("inner, shape", [
    ({"name": "instance_noise", "sigma": 0.3}, (4,)),
    ({"name": "diffaugment", "policy": "translation,cutout"}, (8, 8, 1)),
])
def test_augmentation_reaches_real_and_fake_in_d_updates_and_fake_in_the_g_update(inner, shape):
    spy = _spy_on(kgan.regularizers.get_regularizer(inner), shape, d_steps=2)
    inputs = spy.inputs()
    # k = 2 D updates see a real and a fake batch each; the G update one fake batch.
    assert len(inputs) == 5
    assert sorted(np.round(inputs[:, 0], 4).tolist()) == [-0.5] * 3 + [0.5] * 2
    assert (inputs[:, 1] > 0.01).all(), inputs  # every one of them was changed
    assert float(spy.seen_real_change.numpy()) > 0.01  # and D saw the changed version


# --- Mode seeking (Mao et al. 2019) ------------------------------------------------


def test_mode_seeking_is_weight_over_the_sample_to_noise_distance_ratio():
    z = tf.constant([[0.0, 1.0], [2.0, -1.0], [1.0, 1.0], [0.0, 0.0], [9.0, 9.0]])
    ctx = kgan.regularizers.GeneratorPenaltyContext(
        noise=z, labels=tf.constant([3, 7, 3, 7, 1]), fake=3.0 * z, step=STEP0)
    penalty = kgan.regularizers.get_regularizer({"name": "mode_seeking", "weight": 2.0})
    # Pairs (row i, row i + 2) of the 5 rows; the fifth is left out:
    # mean|3 z_i - 3 z_i+2| / mean|z_i - z_i+2| = 3, so 2 / (3 + 1e-5).
    assert float(penalty.generator_penalty(ctx)) == pytest.approx(2.0 / 3.0, rel=1e-4)


class _LabelSpy(kgan.Regularizer):
    """Asks for paired fakes and keeps the labels of G's last update."""

    paired_fakes = True

    def __init__(self, rows):
        self.seen = tf.Variable(tf.fill([rows], -1), trainable=False)

    def generator_penalty(self, ctx):
        self.seen.assign(ctx.labels)
        return None


def test_paired_fakes_give_the_second_half_of_gs_batch_the_first_halfs_labels():
    keras.utils.set_random_seed(0)
    z, label = keras.Input((2,)), keras.Input((), dtype="int32")
    generator = keras.Model([z, label], keras.layers.Dense(3)(keras.layers.Concatenate()(
        [z, keras.layers.Embedding(10, 2)(label)])))
    x, d_label = keras.Input((3,)), keras.Input((), dtype="int32")
    discriminator = keras.Model([x, d_label], keras.layers.Dense(1)(keras.layers.Concatenate()(
        [x, keras.layers.Embedding(10, 2)(d_label)])))
    gan = kgan.GAN(generator, discriminator, latent_dim=2, num_classes=10, seed=0)
    spy = _LabelSpy(9)
    gan.compile(d_optimizer="sgd", g_optimizer="sgd", regularizers=[spy], jit_compile=False)
    gan.train_on_batch(np.zeros((9, 3), "float32"), np.arange(9) % 10)
    seen = spy.seen.numpy()
    assert (seen[4:8] == seen[:4]).all(), seen  # rows 4..7 repeat rows 0..3; row 8 its own
    assert len(set(seen[:4].tolist())) > 1 and (seen >= 0).all(), seen


def _g_spread_after_training(regularizers):
    """Std of G's samples after a few updates of a GAN whose data is a point mass."""
    keras.utils.set_random_seed(0)
    z = keras.Input((2,))
    dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.Identity(0.05))
    gan = kgan.GAN(keras.Model(z, dense(z)), kgan.discriminator("mlp", (2,), hidden_units=(8,)),
                   latent_dim=2, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01),
                regularizers=regularizers, jit_compile=False)
    gan.fit(np.zeros((64 * 30, 2), "float32"), batch_size=64, epochs=1, verbose=0,
            shuffle=False)
    return float(np.std(gan.generate(512, seed=1)))


def test_mode_seeking_spreads_a_generator_that_collapses():
    # Data at one point pulls G's spread down; the mode-seeking term pushes it up.
    plain = _g_spread_after_training([])
    seeking = _g_spread_after_training([{"name": "mode_seeking", "weight": 1.0}])
    assert plain < 0.05
    assert seeking > 2 * plain, (plain, seeking)


def _mode_seeking_gan():
    gan = kgan.GAN(kgan.generator("mlp", 2, (2,), hidden_units=(8,), output_activation="linear"),
                   kgan.discriminator("mlp", (2,), hidden_units=(8,)), latent_dim=2, seed=0)
    gan.compile(d_optimizer="adam", g_optimizer="adam", regularizers=["mode_seeking"],
                jit_compile=False)
    return gan


def test_mode_seeking_on_a_last_minibatch_of_one_row_adds_nothing_and_stays_finite():
    # 65 rows in batches of 32: the third step's minibatch is one row, with no pair.
    gan = _mode_seeking_gan()
    x = np.random.default_rng(0).normal(size=(65, 2)).astype("float32")
    history = gan.fit(x, batch_size=32, epochs=2, verbose=0, shuffle=False)
    assert np.isfinite(history.history["g_loss"]).all(), history.history
    assert all(np.isfinite(w).all() for w in gan.generator.get_weights())
    ctx = kgan.regularizers.GeneratorPenaltyContext(
        noise=tf.ones((1, 2)), labels=None, fake=tf.ones((1, 2)), step=STEP0)
    assert float(gan.regularizers[0].generator_penalty(ctx)) == 0.0


def test_mode_seeking_refuses_a_minibatch_of_one_before_training():
    gan = _mode_seeking_gan()
    before = [w.copy() for w in gan.generator.get_weights()]
    with pytest.raises(kgan.KganError, match="mode_seeking regularizer needs a minibatch of "
                                             "at least 2 samples, got batch_size 1"):
        gan.fit(np.zeros((8, 2), "float32"), batch_size=1, epochs=1, verbose=0)
    for w, b in zip(gan.generator.get_weights(), before):
        np.testing.assert_array_equal(w, b)


# --- DiffAugment (Zhao et al. 2020) -------------------------------------------------


def _diffaugment(policy, x, seed):
    augment = kgan.regularizers.get_regularizer({"name": "diffaugment", "policy": policy})
    return augment.augment(tf.constant(x), STEP0, keras.random.SeedGenerator(seed)).numpy()


def test_diffaugment_draws_only_from_the_seed_generator():
    x = np.random.RandomState(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    policy = "color,translation,cutout"
    np.testing.assert_array_equal(_diffaugment(policy, x, 3), _diffaugment(policy, x, 3))
    assert np.abs(_diffaugment(policy, x, 3) - _diffaugment(policy, x, 4)).max() > 0.1


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_diffaugment_is_differentiable_in_its_input(policy):
    augment = kgan.regularizers.get_regularizer({"name": "diffaugment", "policy": policy})
    x = tf.random.uniform((4, 16, 16, 3), -1, 1, seed=0)
    weights = tf.random.uniform(x.shape, 0.5, 1.5, seed=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = augment.augment(x, STEP0, keras.random.SeedGenerator(1))
        value = tf.reduce_sum(weights * y)
    grads = tape.gradient(value, x).numpy()
    # Kept pixels carry gradient (translated and cut-out ones none, as they should).
    assert np.isfinite(grads).all() and (np.abs(grads) > 0).mean() > 0.5


def test_translation_moves_pixels_by_at_most_an_eighth_with_zero_padding():
    x = np.zeros((32, 16, 16, 1), "float32")
    x[:, 8, 8, 0] = 1.0
    out = _diffaugment("translation", x, seed=0)
    shifts = np.array([np.argwhere(o[..., 0] == 1.0)[0] - 8 for o in out])
    assert (np.abs(out).sum(axis=(1, 2, 3)) == 1.0).all()  # a moved pixel, nothing else
    assert np.abs(shifts).max() == 2  # 16 / 8 pixels, both ways
    assert len({tuple(s) for s in shifts}) > 10  # per-example draws
    # On a constant image the vacated rows and columns are 0.
    ones = _diffaugment("translation", np.ones((32, 16, 16, 1), "float32"), seed=0)
    zeros = (ones == 0).sum(axis=(1, 2, 3))
    rows, cols = np.abs(shifts[:, 0]), np.abs(shifts[:, 1])
    np.testing.assert_array_equal(zeros, 16 * rows + 16 * cols - rows * cols)


def test_cutout_zeroes_one_square_of_half_the_size():
    out = _diffaugment("cutout", np.ones((32, 16, 16, 2), "float32"), seed=0)
    full_squares = 0
    for image in out:
        cut = np.argwhere(image[..., 0] == 0)
        assert len(cut) > 0
        (top, left), (bottom, right) = cut.min(0), cut.max(0)
        assert (image[top:bottom + 1, left:right + 1] == 0).all()  # one rectangle
        assert (image != 0).sum() == image.size - (bottom - top + 1) * (right - left + 1) * 2
        assert bottom - top < 8 and right - left < 8  # at most 8 x 8
        full_squares += (bottom - top + 1, right - left + 1) == (8, 8)
    assert full_squares > 5  # squares inside the image are whole


def test_color_changes_each_image_by_its_own_affine_map():
    x = np.random.RandomState(0).uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    out = _diffaugment("color", x, seed=0)
    assert np.abs(out - x).mean() > 0.1
    for before, after in zip(x, out):  # brightness and contrast: a * x + b per image
        assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.9999


# --- Combining them, and bad input --------------------------------------------------


RECIPE = """\
name: combined
data: {name: arrays, path: images.npy}
model:
  latent_dim: 4
  generator: {name: mlp, hidden_units: [8]}
  discriminator: {name: mlp, hidden_units: [8]}
loss: {name: non_saturating}
regularizers:
  - {name: diffaugment, policy: "color,translation,cutout"}
  - {name: instance_noise, sigma: 0.1, anneal_steps: 100}
  - {name: r1, gamma: 1.0}
  - {name: label_smoothing, alpha: 0.1}
train: {epochs: 1, steps_per_epoch: 2, batch_size: 4, jit_compile: false}
samples: {num: 4}
"""


def test_a_recipe_combines_several_regularizers(tmp_path):
    images = np.random.RandomState(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    path = tmp_path / "combined.yaml"
    path.write_text(RECIPE.replace("images.npy", str(tmp_path / "images.npy")))
    names = ["diffaugment", "instance_noise", "r1", "label_smoothing"]
    assert [r["name"] for r in config.resolve(str(path))["regularizers"]] == names
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli.main, ["train", str(path), "--run-dir", str(run_dir),
                                           "--quiet"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "checkpoints" / "ckpt-00000002.keras").exists()
    gan = keras.models.load_model(run_dir / "gan.keras")
    assert [r.name for r in gan.regularizers] == names
    assert gan.regularizers[1].get_config() == {"sigma": 0.1, "anneal_steps": 100}
    assert all(np.isfinite(w).all() for w in gan.discriminator.get_weights())


@pytest.mark.parametrize("spec, match", [
    ("gradient_penalti", r'Unknown regularizer "gradient_penalti"\. Did you mean '
                         r'"gradient_penalty"\? Known regularizers: diffaugment,'),
    ({"name": "r1", "gama": 1}, r'Regularizer "r1" has no parameter "gama"\. Did you mean '
                                r'"gamma"\? It takes: gamma'),
    ({"name": "r1", "gamma": -1}, "r1 gamma must be a number >= 0.0, got -1"),
    ({"name": "gradient_penalty", "weight": "ten"}, "gradient_penalty weight must be a number"),
    ({"name": "weight_clipping", "clip_value": 0}, "clip_value must be a number > 0.0"),
    ({"name": "label_smoothing", "alpha": 1.0}, "alpha must be a number > 0.0 and < 1.0"),
    ({"name": "instance_noise", "anneal_steps": 0.5}, "anneal_steps .* integer >= 1"),
    ({"name": "diffaugment", "policy": "colour,cutout"},
     'unknown transform "colour". Did you mean "color"\\? Transforms: color, translation'),
    ({"name": "diffaugment", "policy": ""}, "names no transform"),
    ({"name": "mode_seeking", "weight": -1}, "mode_seeking weight must be a number >= 0.0"),
    ({"name": "mode_seeking", "epsilon": 0}, "mode_seeking epsilon must be a number > 0.0"),
])
def test_bad_regularizers_say_what_is_wrong(spec, match):
    with pytest.raises(kgan.KganError, match=match):
        kgan.regularizers.get_regularizer(spec)


@pytest.mark.parametrize("loss, match", [
    ("wasserstein", "clips the critic's weights .* Set the loss's clip_value to null"),
    ("wasserstein_gp", "already adds the gradient_penalty regularizer"),
])
def test_gradient_penalty_refuses_to_double_up(make_gan, loss, match):
    with pytest.raises(kgan.KganError, match=match):
        make_gan(loss=loss, regularizers=["gradient_penalty"])


def test_diffaugment_on_vectors_is_a_clear_error(make_gan):
    gan = make_gan(regularizers=["diffaugment"], jit_compile=False)
    with pytest.raises(kgan.KganError, match="diffaugment transforms images"):
        gan.train_on_batch(np.zeros((8, 3), "float32"))


def test_a_recipe_with_a_bad_regularizer_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(RECIPE.replace("name: r1, gamma", "name: r1, gama"))
    with pytest.raises(kgan.KganError, match=r"regularizers.*has no parameter \"gama\""):
        config.resolve(str(path))


def test_get_config_rebuilds_each_regularizer():
    for name in ["gradient_penalty", "r1", "weight_clipping", "label_smoothing",
                 "instance_noise", "diffaugment", "mode_seeking"]:
        regularizer = kgan.regularizers.get_regularizer(name)
        rebuilt = type(regularizer)(**regularizer.get_config())
        assert rebuilt.get_config() == regularizer.get_config()
        assert kgan.REGULARIZERS.entry(name).description


def test_kgan_plugins_lists_the_regularizers():
    result = CliRunner().invoke(cli.main, ["plugins"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("regularizers:")[1]
    for name in ("gradient_penalty", "r1", "weight_clipping", "label_smoothing",
                 "instance_noise", "diffaugment", "mode_seeking"):
        assert f"  {name} " in listed
    assert "R1 (Mescheder et al. 2018)" in listed
