"""The engine's hooks for the GAN family: reuse_fakes, conditioning,
AC-GAN's class loss, regularizer hooks, generator EMA, direct losses, loss scaling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import errors


def _data(rows, features=3, seed=0):
    return np.random.RandomState(seed).normal(size=(rows, features)).astype("float32")


def _conditional_networks(num_classes=3, latent_dim=2, features=3, acgan=False):
    keras.utils.set_random_seed(1)
    z = keras.Input((latent_dim,))
    y = keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(num_classes, 2)(y)])
    generator = keras.Model([z, y], keras.layers.Dense(features)(keras.layers.Dense(8)(h)))
    x = keras.Input((features,))
    if acgan:
        h = keras.layers.Dense(8, activation="relu")(x)
        discriminator = keras.Model(x, [keras.layers.Dense(1)(h), keras.layers.Dense(num_classes)(h)])
    else:
        y_d = keras.Input((), dtype="int32")
        h = keras.layers.Concatenate()([x, keras.layers.Embedding(num_classes, 2)(y_d)])
        discriminator = keras.Model([x, y_d], keras.layers.Dense(1)(keras.layers.Dense(8)(h)))
    return generator, discriminator


def test_reuse_fakes_updates_g_on_the_last_d_updates_noise(make_gan):
    """With reuse_fakes, G's update uses the k-th D update's z (no new draw)."""
    k, m, lr, latent_dim = 2, 4, 0.05, 2
    real = _data(k * m)
    gan = make_gan(d_steps=k)
    gan.reuse_fakes = True
    reference = make_gan(d_steps=k)
    gan.train_on_batch(real)

    noise_seed = keras.random.SeedGenerator(7)
    d_vars = reference.discriminator.trainable_variables
    g_vars = reference.generator.trainable_variables
    for i in range(k):
        z = keras.random.normal((m, latent_dim), seed=noise_seed)
        fake = reference.generator(z, training=True)
        with tf.GradientTape() as tape:
            d_loss = tf.reduce_mean(
                tf.nn.softplus(-reference.discriminator(real[i::k], training=True))
                + tf.nn.softplus(reference.discriminator(fake, training=True))
            )
        for var, grad in zip(d_vars, tape.gradient(d_loss, d_vars)):
            var.assign_sub(lr * grad)
    with tf.GradientTape() as tape:  # the same z as the last D update
        g_loss = tf.reduce_mean(
            tf.nn.softplus(-reference.discriminator(reference.generator(z, training=True)))
        )
    for var, grad in zip(g_vars, tape.gradient(g_loss, g_vars)):
        var.assign_sub(lr * grad)

    for a, b in zip(gan.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # k draws instead of k + 1: the seed generators are in the same state.
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), noise_seed.state.numpy())


def test_d_metrics_average_every_update_of_the_step(make_gan):
    """d_loss is the mean over the step's k D updates, the scores over their k*m samples."""
    gan = make_gan(d_steps=3)
    gan.train_on_batch(_data(12))
    assert float(gan.d_loss_tracker.count.numpy()) == 3
    assert float(gan.real_score_tracker.count.numpy()) == 12  # 3 minibatches of 4
    assert float(gan.fake_score_tracker.count.numpy()) == 12
    assert 0.0 < float(gan.real_score_tracker.result()) < 1.0


def test_conditional_gan_feeds_labels_and_generates_chosen_classes():
    generator, discriminator = _conditional_networks()
    gan = kgan.GAN(generator, discriminator, latent_dim=2, num_classes=3, seed=0)
    gan.compile("sgd", "sgd")
    x, y = _data(16), np.arange(16) % 3
    before = [w.copy() for w in discriminator.get_weights()]
    history = gan.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    assert any(not np.allclose(a, b) for a, b in zip(before, discriminator.get_weights()))
    # The label changes the sample for the same noise; labels=None cycles classes.
    sevens = gan.generate(4, seed=0, labels=2)
    zeros = gan.generate(4, seed=0, labels=0)
    assert not np.allclose(sevens, zeros)
    cycled = gan.generate(3, seed=0)
    np.testing.assert_allclose(cycled[2], gan.generate(3, seed=0, labels=[2, 2, 2])[2], atol=1e-6)
    with pytest.raises(errors.KganError, match=r"label 3 is out of range: .* 3 classes"):
        gan.generate(2, labels=3)
    with pytest.raises(errors.KganError, match="has no labels"):
        gan.fit(x, batch_size=8, epochs=1, verbose=0)


def test_acgan_class_loss_trains_the_auxiliary_classifier():
    """AC-GAN: D's class head learns the real labels (weight > 0), not without it."""
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=96)
    x = (np.eye(3)[y] * 3 + rng.normal(scale=0.3, size=(96, 3))).astype("float32")

    def accuracy(weight):
        generator, discriminator = _conditional_networks(acgan=True)
        gan = kgan.GAN(generator, discriminator, latent_dim=2, num_classes=3, seed=0)
        gan.compile(keras.optimizers.Adam(0.02), keras.optimizers.Adam(0.02),
                    class_loss_weight=weight)
        gan.fit(x, y, batch_size=32, epochs=15, verbose=0, shuffle=False)
        _, class_logits = discriminator(x)
        return float(np.mean(np.argmax(class_logits, -1) == y))

    assert accuracy(1.0) > 0.9
    assert accuracy(0.0) < 0.7


class _Spy(kgan.Regularizer):
    """Test regularizer: shifts D's inputs by `shift`, penalises real logits, counts D steps."""

    def __init__(self, shift=0.0, weight=0.0):
        self.shift, self.weight = shift, weight
        self.d_steps = 0

    def augment(self, x, step, seed_generator):
        return x + self.shift

    def discriminator_penalty(self, ctx):
        return self.weight * tf.reduce_mean(ctx.real_logits)

    def after_discriminator_step(self, discriminator):
        self.d_steps += 1  # runs at trace time only: counts traced D updates

    def get_config(self):
        return {"shift": self.shift, "weight": self.weight}


def test_regularizer_hooks_change_the_step_as_they_say(make_gan, restore_registries):
    kgan.register_regularizer("_test_spy")(_Spy)
    real = _data(8)
    plain, spied, shifted = make_gan(), make_gan(regularizers=[{"name": "_test_spy", "weight": 1.0}]), None
    plain.train_on_batch(real)
    spied.train_on_batch(real)
    # A penalty of +mean(real logit) changes D's update.
    assert not np.allclose(plain.discriminator.get_weights()[0], spied.discriminator.get_weights()[0])
    # Shifting D's inputs is the same as shifting the data and G's output: here,
    # a shift of real data alone is not, so the augment hook reaches fakes too.
    shifted = make_gan(regularizers=[{"name": "_test_spy", "shift": 1.0}])
    shifted.train_on_batch(real)
    assert spied.regularizers[0].d_steps >= 1
    assert not np.allclose(plain.discriminator.get_weights()[0], shifted.discriminator.get_weights()[0])
    with pytest.raises(errors.KganError, match="Unknown regularizer"):
        make_gan(regularizers=["_no_such_thing"])


def test_ema_generator_is_the_warm_up_average_and_the_sampler(make_gan, tmp_path):
    gan = make_gan()
    gan = kgan.GAN(gan.generator, gan.discriminator, latent_dim=2, seed=7, ema_decay=0.9)
    gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    expected = [w.copy() for w in gan.generator.get_weights()]
    for step in range(1, 4):
        gan.train_on_batch(_data(4, seed=step))
        decay = min(0.9, (1 + step) / (10 + step))
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, gan.generator.get_weights())]
    for e, a in zip(expected, gan.ema_generator.get_weights()):
        np.testing.assert_allclose(a, e, atol=1e-6)
    assert gan.sampler is gan.ema_generator
    assert not np.allclose(gan.ema_generator.get_weights()[0], gan.generator.get_weights()[0])
    np.testing.assert_allclose(
        gan.generate(3, seed=1), gan.ema_generator(kgan.noise.sample(3, 2, 1)), atol=1e-6
    )
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    for a, b in zip(gan.ema_generator.get_weights(), loaded.ema_generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_ema_updates_under_two_replicas(make_gan, two_replica_strategy):
    with two_replica_strategy.scope():
        base = make_gan()
        gan = kgan.GAN(base.generator, base.discriminator, latent_dim=2, seed=7, ema_decay=0.5)
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    before = gan.ema_generator.get_weights()[0].copy()
    gan.fit(_data(8), batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert not np.allclose(before, gan.ema_generator.get_weights()[0])


@kgan.register_loss("_test_mean_matching")
class _MeanMatching(kgan.DirectLoss):
    """Test direct loss: squared distance between the minibatch means."""

    def direct_loss(self, real, fake):
        return tf.reduce_sum(tf.square(tf.reduce_mean(real, 0) - tf.reduce_mean(fake, 0)))


def test_direct_loss_trains_a_generator_without_discriminator(tmp_path):
    keras.utils.set_random_seed(0)
    generator = kgan.generator("mlp", 2, (3,), hidden_units=(8,), output_activation="linear")
    gan = kgan.DirectModel(generator, latent_dim=2, seed=0)
    gan.compile(keras.optimizers.Adam(0.05), loss="_test_mean_matching")
    real = _data(256) + np.array([3.0, -2.0, 1.0], "float32")
    history = gan.fit(real, batch_size=64, epochs=20, verbose=0)
    assert set(history.history) == {"g_loss"}
    np.testing.assert_allclose(gan.generate(2000, seed=1).mean(0), [3.0, -2.0, 1.0], atol=0.3)
    gan.save(tmp_path / "direct.keras")
    assert keras.models.load_model(tmp_path / "direct.keras").discriminator is None
    with pytest.raises(errors.KganError, match="is adversarial and needs a discriminator"):
        kgan.DirectModel(generator, latent_dim=2).compile("adam", loss="minimax")
    with pytest.raises(TypeError, match="kgan.DirectModel"):
        kgan.GAN(generator, None, latent_dim=2)


def test_loss_scale_optimizers_scale_both_losses(make_gan):
    gan = make_gan(
        d_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05)),
        g_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05)),
    )
    reference = make_gan()
    real = _data(4)
    gan.train_on_batch(real)
    reference.train_on_batch(real)
    # Scaled then unscaled: the same update as without loss scaling.
    for a, b in zip(gan.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_adam_under_two_replicas_trains(two_replica_strategy):
    """Adam's moments are built at compile time in the strategy's scope, not in a replica."""
    with two_replica_strategy.scope():
        gan = kgan.GAN(
            kgan.generator("mlp", 2, (3,), hidden_units=(8,), output_activation="linear"),
            kgan.discriminator("mlp", (3,), hidden_units=(8,)),
            latent_dim=2,
            seed=0,
        )
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    history = gan.fit(_data(16), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    assert int(gan.g_optimizer.iterations.numpy()) == 4  # 16 rows, m = 4


def test_acgan_class_loss_on_real_data_only():
    """class_loss_on_fakes=False: D's class loss ignores the fakes' drawn labels."""
    x, y = _data(8), np.arange(8) % 3

    def d_weights(on_fakes, seed):
        generator, discriminator = _conditional_networks(acgan=True)
        gan = kgan.GAN(generator, discriminator, latent_dim=2, num_classes=3, seed=seed)
        gan.compile("sgd", "sgd", class_loss_on_fakes=on_fakes)
        gan.train_on_batch(x, y)
        return discriminator.get_weights()

    # The class head sees only the class loss: with real data alone, the fakes'
    # labels (drawn from the noise seed) cannot change its update; with the
    # paper's loss they do.
    head = -2  # the class head's kernel
    np.testing.assert_allclose(d_weights(False, 0)[head], d_weights(False, 1)[head], atol=1e-7)
    assert not np.allclose(d_weights(True, 0)[head], d_weights(True, 1)[head], atol=1e-7)
