"""`kgan.GAN`: Algorithm 1, metrics, fit, distribution, saving and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import errors
from kgan import gan as gan_lib


def _data(rows, features=3, seed=0):
    return np.random.RandomState(seed).normal(size=(rows, features)).astype("float32")


def _assert_same_weights(a, b, atol=0.0):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


# --- Algorithm 1 ---------------------------------------------------------------


def test_train_step_is_algorithm_1(make_gan):
    """One step equals a hand-written Algorithm 1: k D updates, each on its own
    real minibatch and fresh noise, then one G update on fresh noise."""
    k, m, lr, latent_dim = 2, 4, 0.05, 2
    real = _data(k * m)
    gan = make_gan(d_steps=k)
    reference = make_gan(d_steps=k)  # same initial weights, same noise seed (7)
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
    z = keras.random.normal((m, latent_dim), seed=noise_seed)
    with tf.GradientTape() as tape:
        fake_logits = reference.discriminator(reference.generator(z, training=True))
        g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))
    for var, grad in zip(g_vars, tape.gradient(g_loss, g_vars)):
        var.assign_sub(lr * grad)

    _assert_same_weights(gan, reference, atol=1e-6)


@keras.saving.register_keras_serializable(package="kgan_tests")
class RowRecorder(keras.layers.Layer):
    """Passes its input through; adds the one-hot real rows of its c-th real call to seen[c].

    Real rows are one-hot; the test's generator outputs zeros, so fakes add nothing.
    """

    def __init__(self, num_rows, max_calls, **kwargs):
        super().__init__(**kwargs)
        self.num_rows, self.max_calls = num_rows, max_calls
        self.seen = self.add_weight(
            shape=(max_calls, num_rows), initializer="zeros", trainable=False, name="seen"
        )
        self.calls = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="calls"
        )

    def call(self, x):
        is_real = tf.cast(tf.reduce_max(x) > 0.5, x.dtype)
        slot = tf.one_hot(self.calls, self.max_calls, dtype=x.dtype) * is_real
        self.seen.assign_add(slot[:, None] * tf.reduce_sum(x, axis=0)[None, :])
        self.calls.assign_add(tf.cast(is_real, "int32"))
        return x


def test_k_discriminator_updates_per_generator_update_on_disjoint_real_minibatches():
    k, m, steps = 3, 4, 2
    rows = k * m * steps
    z = keras.Input((2,))
    generator = keras.Model(z, keras.layers.Dense(rows, kernel_initializer="zeros")(z))
    x = keras.Input((rows,))
    recorder = RowRecorder(rows, max_calls=k * steps)
    discriminator = keras.Model(x, keras.layers.Dense(1)(recorder(x)))
    gan = kgan.GAN(generator, discriminator, latent_dim=2, d_steps=k, seed=0)
    gan.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.0))  # G stays zero

    gan.fit(np.eye(rows, dtype="float32"), batch_size=m, epochs=1, shuffle=True, verbose=0)

    assert int(gan.d_optimizer.iterations) == k * int(gan.g_optimizer.iterations) == k * steps
    assert int(recorder.calls) == k * steps  # one real minibatch per D update
    seen = recorder.seen.numpy()
    np.testing.assert_array_equal(seen.sum(axis=1), m)  # each update: m real rows...
    for step in range(steps):
        step_seen = seen[step * k : (step + 1) * k]
        # ...the k minibatches of a step are disjoint and together are its k*m rows...
        assert step_seen.max() == 1 and step_seen.sum() == k * m
        assert (step_seen.sum(axis=0) > 0).sum() == k * m
    np.testing.assert_array_equal(seen.sum(axis=0), 1)  # ...and an epoch sees every row once


def test_each_phase_changes_only_the_network_it_updates(make_gan):
    real = _data(8)
    d_only = make_gan(d_steps=2, g_optimizer=keras.optimizers.SGD(0.0))
    g_before = [w.copy() for w in d_only.generator.get_weights()]
    d_before = [w.copy() for w in d_only.discriminator.get_weights()]
    d_only.train_on_batch(real)
    # The D updates leave G alone, and they do change D.
    for before, after in zip(g_before, d_only.generator.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(d_before, d_only.discriminator.get_weights()))

    g_only = make_gan(d_steps=2, d_optimizer=keras.optimizers.SGD(0.0))
    d_before = [w.copy() for w in g_only.discriminator.get_weights()]
    g_only.train_on_batch(real)
    # The G update leaves D alone, and it does change G.
    for before, after in zip(d_before, g_only.discriminator.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(g_before, g_only.generator.get_weights()))


def test_minibatches_of_a_batch_that_k_does_not_divide():
    def rows(real, k):
        labels = tf.cast(real[:, 0], "int32") + 10
        batches = gan_lib._minibatches(real, labels, k)
        for x, y in batches:  # each minibatch keeps its own labels
            assert y.numpy().tolist() == (x.numpy().ravel() + 10).astype(int).tolist()
        return [x.numpy().ravel().tolist() for x, _ in batches]

    real = tf.range(7.0)[:, None]
    assert rows(real, 3) == [[0, 3], [1, 4], [2, 5]]  # row 6 left out
    assert rows(real[:2], 3) == [[0], [1], [0]]  # fewer rows than k
    assert rows(real, 1) == [list(range(7))]


def test_partial_last_batch_keeps_training_finite(make_gan):
    gan = make_gan(d_steps=3)
    # 7 rows, 6 per step: the second step gets one row, fewer than k.
    history = gan.fit(_data(7), batch_size=2, epochs=1, shuffle=False, verbose=0)
    assert all(np.isfinite(values[0]) for values in history.history.values())
    assert all(np.isfinite(w).all() for w in gan.get_weights())
    assert int(gan.g_optimizer.iterations) == 2


# --- Metrics -------------------------------------------------------------------


def test_metrics_are_averaged_over_each_epoch(make_gan):
    real = _data(24)
    fitted = make_gan(d_steps=2)
    history = fitted.fit(real, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    assert sorted(history) == ["d_loss", "fake_score", "g_loss", "real_score"]

    stepped = make_gan(d_steps=2)
    per_step = []
    for _ in range(2):
        for start in (0, 8, 16):
            stepped.reset_metrics()
            per_step.append(stepped.train_on_batch(real[start : start + 8], return_dict=True))
    for epoch in range(2):
        steps = per_step[3 * epoch : 3 * epoch + 3]
        for name, values in history.items():
            expected = np.mean([step[name] for step in steps])
            assert values[epoch] == pytest.approx(expected, rel=1e-5), name


@pytest.mark.parametrize(
    "loss, to_score", [("non_saturating", tf.sigmoid), ("wasserstein", tf.identity)]
)
def test_scores_are_probabilities_for_probabilistic_losses(make_gan, loss, to_score):
    gan = make_gan(loss=loss)
    real = _data(16)
    result = gan.evaluate(real, batch_size=16, verbose=0, return_dict=True)
    expected = float(tf.reduce_mean(to_score(gan.discriminator(real))))
    assert result["real_score"] == pytest.approx(expected, rel=1e-5)
    if loss == "non_saturating":
        assert 0.0 < result["real_score"] < 1.0 and 0.0 < result["fake_score"] < 1.0


def test_evaluate_does_not_shift_the_training_noise(make_gan):
    evaluated, plain, real = make_gan(), make_gan(), _data(8)
    evaluated.evaluate(real, batch_size=8, verbose=0)
    np.testing.assert_array_equal(evaluated.seed_generator.state.numpy(), [7, 0])
    for gan in (evaluated, plain):
        gan.train_on_batch(real)
    _assert_same_weights(evaluated, plain)


# --- Sampling ------------------------------------------------------------------


def test_call_runs_the_generator_and_generate_is_seeded(make_gan):
    gan = make_gan()
    z = kgan.noise.sample(5, 2, seed=3)
    np.testing.assert_allclose(gan(z), gan.generator(z), atol=1e-6)
    samples = gan.generate(5, seed=3)
    assert samples.shape == (5, 3)
    np.testing.assert_allclose(samples, gan.generator(z), atol=1e-6)
    np.testing.assert_array_equal(gan.generate(5, seed=3), samples)
    assert not np.allclose(gan.generate(5, seed=4), samples)
    with pytest.raises(kgan.KganError, match="num_samples"):
        gan.generate(0)
    with pytest.raises(kgan.KganError, match="seed must be an integer"):
        gan.generate(2, seed=None)


# --- fit -----------------------------------------------------------------------


def test_numpy_batch_size_is_the_minibatch_and_matches_a_dataset(make_gan):
    k, m, real = 2, 4, _data(16)
    from_numpy = make_gan(d_steps=k)
    from_numpy.fit(real, batch_size=m, epochs=1, shuffle=False, verbose=0)
    from_dataset = make_gan(d_steps=k)
    from_dataset.fit(
        tf.data.Dataset.from_tensor_slices(real).batch(k * m), epochs=1, shuffle=False, verbose=0
    )
    assert int(from_numpy.g_optimizer.iterations) == 16 // (k * m)
    _assert_same_weights(from_numpy, from_dataset)

    default = make_gan(d_steps=k)
    default.fit(_data(64), epochs=1, verbose=0)  # default minibatch 32: one step of 64 rows
    assert int(default.g_optimizer.iterations) == 1


def test_fit_runs_keras_callbacks(make_gan):
    gan = make_gan()
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(sorted(logs))
    )
    gan.fit(_data(16), batch_size=8, epochs=2, callbacks=[callback], verbose=0)
    assert seen == [["d_loss", "fake_score", "g_loss", "real_score"]] * 4


@pytest.mark.parametrize("steps_per_execution", [1, 2])
def test_callbacks_count_the_global_step_without_reading_it(make_gan, steps_per_execution):
    from kgan import callbacks

    gan = make_gan(steps_per_execution=steps_per_execution)
    counted, read = [], []

    class Steps(callbacks.StepCallback):
        def on_train_batch_end(self, batch, logs=None):
            counted.append(self.step_at_batch_end(batch))
            read.append(callbacks.global_step(self.model))

    # Two epochs of 4 steps, then a fit that starts mid-way, as a resumed run's does.
    gan.fit(_data(32), batch_size=4, epochs=2, steps_per_epoch=4, callbacks=[Steps()],
            verbose=0)
    gan.fit(_data(32), batch_size=4, epochs=3, initial_epoch=2, steps_per_epoch=2,
            callbacks=[Steps()], verbose=0)
    assert counted == read
    assert read == list(range(steps_per_execution, 11, steps_per_execution))


def test_jit_compile_runs_algorithm_1(make_gan):
    # XLA draws different random numbers from the same seeds, so its run is
    # checked on its own; every other test here runs without XLA (the CPU default).
    gan = make_gan(d_steps=2, jit_compile=True)
    assert gan.jit_compile
    before = [w.copy() for w in gan.get_weights()]
    history = gan.fit(_data(16), batch_size=4, epochs=1, verbose=0).history
    assert sorted(history) == ["d_loss", "fake_score", "g_loss", "real_score"]
    assert all(np.isfinite(values[0]) for values in history.values())
    assert int(gan.d_optimizer.iterations) == 2 * int(gan.g_optimizer.iterations) == 4
    assert all(not np.array_equal(b, a) for b, a in zip(before, gan.get_weights()))


# --- Distribution --------------------------------------------------------------


@pytest.mark.parametrize("loss", ["non_saturating", {"name": "wasserstein_gp"}])
def test_two_replicas_train_like_one_device(make_gan, two_replica_strategy, loss):
    real = _data(16)
    one_device = make_gan(loss=loss, d_steps=2)
    one_device.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    with two_replica_strategy.scope():
        mirrored = make_gan(loss=loss, d_steps=2)
    mirrored.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(one_device, mirrored, atol=1e-6)
    np.testing.assert_array_equal(
        one_device.seed_generator.state.numpy(), mirrored.seed_generator.state.numpy()
    )


def test_replicas_take_their_slices_of_one_noise_draw(make_gan, two_replica_strategy):
    one_device = make_gan()
    with two_replica_strategy.scope():
        mirrored = make_gan()
    draw = tf.function(lambda: mirrored._noise(4))
    for _ in range(2):  # the shared seed state advances once per draw
        per_replica = two_replica_strategy.experimental_local_results(
            two_replica_strategy.run(draw)
        )
        np.testing.assert_array_equal(np.concatenate(per_replica), one_device._noise(8))
    for state in two_replica_strategy.experimental_local_results(
        mirrored.seed_generator.state.value
    ):
        np.testing.assert_array_equal(state, [7, 2])


# --- Saving --------------------------------------------------------------------


def test_a_loaded_model_continues_like_an_uninterrupted_one(make_gan, tmp_path):
    real = _data(16)
    loss = {"name": "wasserstein_gp", "gp_weight": 5.0}  # also draws from the seed
    uninterrupted = make_gan(
        loss=loss, d_steps=2, d_optimizer="adam", g_optimizer=keras.optimizers.Adam(0.01)
    )
    uninterrupted.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    uninterrupted.save(tmp_path / "gan.keras")
    resumed = keras.models.load_model(tmp_path / "gan.keras")

    assert resumed.loss_fn.gp_weight == 5.0 and resumed.d_steps == 2
    assert int(resumed.d_optimizer.iterations) == 4 and int(resumed.g_optimizer.iterations) == 2
    for a, b in zip(uninterrupted.d_optimizer.variables, resumed.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(uninterrupted.g_optimizer.variables, resumed.g_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(
        uninterrupted.seed_generator.state.numpy(), resumed.seed_generator.state.numpy()
    )

    expected = uninterrupted.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    actual = resumed.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert actual.history == expected.history
    _assert_same_weights(uninterrupted, resumed)


def test_loss_parameters_survive_saving(make_gan, tmp_path):
    from kgan_plugins.losses import WassersteinGP

    cases = [
        ({"name": "least_squares", "real_target": 0.9, "fake_target": -1.0}, "real_target", 0.9),
        ({"name": "wasserstein", "clip_value": 0.05}, "clip_value", 0.05),
        (WassersteinGP(gp_weight=2.0), "gp_weight", 2.0),  # an instance, no name given
    ]
    for loss, attribute, value in cases:
        make_gan(loss=loss).save(tmp_path / "gan.keras")
        loaded = keras.models.load_model(tmp_path / "gan.keras")
        assert getattr(loaded.loss_fn, attribute) == value

    class Unregistered(kgan.GANLoss):
        def discriminator_loss(self, real_logits, fake_logits):
            return fake_logits - real_logits

        def generator_loss(self, fake_logits):
            return -fake_logits

    with pytest.raises(kgan.KganError, match="register_loss"):
        make_gan(loss=Unregistered()).save(tmp_path / "other.keras")


# --- Bad input -----------------------------------------------------------------


def _networks(latent_dim=2, g_shape=(3,), d_shape=(3,), d_units=1):
    generator = kgan.generator("mlp", latent_dim, g_shape, hidden_units=(4,))
    x = keras.Input(d_shape)
    discriminator = keras.Model(x, keras.layers.Dense(d_units)(keras.layers.Flatten()(x)))
    return generator, discriminator


@pytest.mark.parametrize("d_steps", [0, -1, 1.5, True, "2"])
def test_bad_d_steps(d_steps):
    with pytest.raises(kgan.KganError, match="d_steps"):
        kgan.GAN(*_networks(), latent_dim=2, d_steps=d_steps)


@pytest.mark.parametrize(
    "networks, latent_dim, match",
    [
        (dict(), 0, "latent_dim"),
        (dict(latent_dim=4), 2, "latent_dim"),
        (dict(d_shape=(4,)), 2, r"shape \(3,\) but the discriminator takes \(4,\)"),
        (dict(d_units=2), 2, "one logit per example"),
    ],
)
def test_mismatched_networks(networks, latent_dim, match):
    with pytest.raises(kgan.KganError, match=match):
        kgan.GAN(*_networks(**networks), latent_dim=latent_dim)


def test_network_that_is_not_a_model():
    generator, _ = _networks()
    with pytest.raises(kgan.KganError, match="discriminator must be a keras.Model"):
        kgan.GAN(generator, lambda x: x, latent_dim=2)


def test_bad_compile_arguments():
    gan = kgan.GAN(*_networks(), latent_dim=2)
    with pytest.raises(errors.UnknownPluginError, match=r'"non_saturatin".*non_saturating') as info:
        gan.compile("adam", "adam", loss="non_saturatin")
    assert "hinge, least_squares, minimax" in str(info.value)  # the known names, sorted
    with pytest.raises(errors.PluginParameterError, match="clip_value"):
        gan.compile("adam", "adam", loss={"name": "wasserstein", "clip": 0.1})
    with pytest.raises(kgan.KganError, match="`name` key"):
        gan.compile("adam", "adam", loss={"gp_weight": 1.0})
    with pytest.raises(kgan.KganError, match="d_optimizer='adamm' is not an optimizer"):
        gan.compile("adamm", "adam")
    shared = keras.optimizers.Adam()
    with pytest.raises(kgan.KganError, match="same optimizer object"):
        gan.compile(shared, shared)
    with pytest.raises(kgan.KganError, match="does not take `optimizer`"):
        gan.compile("adam", "adam", optimizer="adam")
