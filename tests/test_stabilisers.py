"""Stabilisers of issue 6, each shown doing at small scale what its paper says.

- Spectral normalisation (Miyato et al. 2018): every wrapped kernel applies
  with largest singular value 1, so a fully connected D is 1-Lipschitz however
  large its weights grow, and gradients flow through sigma(W) (their eq. 12).
- An exponential moving average of G's weights (Yazici et al. 2019): the
  average is the warm-up-decayed mean of the raw weights, it sits near the
  equilibrium that the raw weights circle, and it is what samples, grids,
  evaluation, `generator.keras` and the export use.
- Two time scales (Heusel et al. 2017) and k critic steps (Arjovsky et al.
  2017): each optimizer updates with its own rate; k D updates per G update.
"""

import json
import os
import pathlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import callbacks
from kgan import config
from kgan import quality
from kgan import export
from kgan import noise
from kgan import latent_space
from kgan import layers as kgan_layers
from kgan import runs
from kgan import train as train_lib


RECIPES = pathlib.Path(__file__).resolve().parent.parent / "recipes"


def _spectral_norm_layers(model):
    return [layer for layer in model._flatten_layers()
            if isinstance(layer, kgan_layers.SpectralNorm)]


def _largest_singular_value(kernel):
    kernel = np.asarray(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def _max_input_gradient_norm(discriminator, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = discriminator(x, training=False)
    gradients = tape.gradient(logits, x).numpy().reshape(len(x), -1)
    return np.linalg.norm(gradients, axis=1).max()


def _scale_kernels(model, factor):
    for variable in model.trainable_variables:
        if "kernel" in variable.path:
            variable.assign(variable * factor)


# --- Spectral normalisation ----------------------------------------------------

SN_DISCRIMINATORS = {
    "mlp": ((16,), {"hidden_units": (32, 32)}),
    "mlp_maxout": ((16,), {"hidden_units": (32,), "maxout_pieces": 3}),
    "dcgan": ((16, 16, 3), {"base_filters": 8}),
}


@pytest.mark.parametrize("name", SN_DISCRIMINATORS)
def test_spectral_norm_kernels_apply_with_largest_singular_value_one(name):
    shape, options = SN_DISCRIMINATORS[name]
    keras.utils.set_random_seed(0)
    discriminator = kgan.discriminator(name.split("_")[0], shape, spectral_norm=True,
                                       **options)
    wrapped = _spectral_norm_layers(discriminator)
    # Every convolution and dense layer, the output layer included.
    assert len(wrapped) == {"mlp": 3, "mlp_maxout": 2, "dcgan": 3}[name]
    _scale_kernels(discriminator, 3.0)  # so that no raw kernel is near sigma 1 by chance
    x = np.random.default_rng(0).standard_normal((8, *shape)).astype("float32")
    for _ in range(10):  # each training call refines sigma by one power iteration
        discriminator(x, training=True)
    for layer in wrapped:
        raw = _largest_singular_value(layer.layer.kernel.numpy())
        assert _largest_singular_value(layer.normalized_kernel()) == pytest.approx(1, abs=0.02)
        assert float(layer.spectral_norm()) == pytest.approx(raw, rel=0.02)
        assert raw > 1.5  # the layer normalises, not the weights themselves


def test_spectral_norm_bounds_d_however_large_its_weights_grow():
    # With activations of slope <= 1 an MLP of spectrally normalised layers is
    # 1-Lipschitz: its input gradient has norm <= 1 everywhere. Without it,
    # the bound grows with the weights (here x10 per layer, 1,000 in all).
    shape, options = SN_DISCRIMINATORS["mlp"]
    x = np.random.default_rng(1).standard_normal((64, *shape)).astype("float32")
    norms = {}
    for spectral_norm in (False, True):
        keras.utils.set_random_seed(0)
        discriminator = kgan.discriminator("mlp", shape, spectral_norm=spectral_norm,
                                           **options)
        discriminator(x, training=True)
        before = _max_input_gradient_norm(discriminator, x)
        _scale_kernels(discriminator, 10.0)
        discriminator(x, training=True)
        norms[spectral_norm] = before, _max_input_gradient_norm(discriminator, x)
    assert norms[True][1] <= 1.0 + 1e-3
    # Scale-invariant (up to the power iteration refining sigma by a step).
    assert norms[True][1] == pytest.approx(norms[True][0], rel=0.02)
    assert norms[False][1] > 100 * norms[False][0]
    assert norms[False][1] > 10.0


def test_spectral_norm_dcgan_is_scale_invariant_where_plain_dcgan_is_not():
    # A convolution's kernel is normalised as a [-1, channels] matrix, as in
    # the paper, which bounds the layer only up to a kernel-size factor; the
    # bound still does not grow with the weights.
    shape, options = SN_DISCRIMINATORS["dcgan"]
    x = np.random.default_rng(1).standard_normal((16, *shape)).astype("float32")
    growth = {}
    for spectral_norm in (False, True):
        keras.utils.set_random_seed(0)
        # Batch norm is scale-invariant too; compare against D without it.
        discriminator = kgan.discriminator("dcgan", shape, spectral_norm=spectral_norm,
                                           batch_norm=False, **options)
        discriminator(x, training=True)
        before = _max_input_gradient_norm(discriminator, x)
        _scale_kernels(discriminator, 10.0)
        discriminator(x, training=True)
        growth[spectral_norm] = _max_input_gradient_norm(discriminator, x) / before
    assert growth[True] == pytest.approx(1.0, rel=0.02)
    assert growth[False] > 500.0  # 10^3: three kernels, each x10


def test_spectral_norm_gradient_flows_through_sigma_as_in_the_paper():
    # dL/dW of L(W / sigma(W)) with the exact sigma (SVD) is eq. 12 of the
    # paper; dividing by a constant sigma (as keras.layers.SpectralNormalization
    # does) misses its second term, -lambda u1 v1^T.
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense(3)
    layer = kgan_layers.SpectralNorm(dense, power_iterations=50)
    x = tf.constant(np.random.default_rng(2).standard_normal((4, 5)), tf.float32)
    weights = tf.constant(np.random.default_rng(3).standard_normal((4, 3)), tf.float32)
    layer(x, training=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weights * layer(x, training=True))
    ours = tape.gradient(loss, dense.kernel).numpy()

    kernel = tf.Variable(dense.kernel.numpy())
    with tf.GradientTape(persistent=True) as tape:
        sigma = tf.linalg.svd(kernel, compute_uv=False)[0]
        exact = tf.reduce_sum(weights * (x @ (kernel / sigma) + dense.bias))
        constant_sigma = tf.reduce_sum(
            weights * (x @ (kernel / tf.stop_gradient(sigma)) + dense.bias))
    np.testing.assert_allclose(ours, tape.gradient(exact, kernel).numpy(), atol=1e-5)
    assert not np.allclose(ours, tape.gradient(constant_sigma, kernel).numpy(), atol=1e-3)


def test_spectral_norm_with_batch_norm_is_refused():
    with pytest.raises(kgan.KganError, match="batch_norm"):
        kgan.discriminator("dcgan", (16, 16, 3), spectral_norm=True, batch_norm=True)
    with pytest.raises(kgan.KganError, match="Dense and Conv"):
        kgan_layers.SpectralNorm(keras.layers.Conv2DTranspose(4, 3))


def test_dcgan_critic_without_batch_norm():
    # A WGAN-GP critic: per-example penalty, so no batch statistics in D.
    plain = kgan.discriminator("dcgan", (16, 16, 1), base_filters=4, batch_norm=False)
    default = kgan.discriminator("dcgan", (16, 16, 1), base_filters=4)
    kinds = {name: [type(layer).__name__ for layer in model.layers]
             for name, model in (("plain", plain), ("default", default))}
    assert "BatchNormalization" not in kinds["plain"]
    assert "BatchNormalization" in kinds["default"]
    assert all(layer.use_bias for layer in plain.layers if hasattr(layer, "use_bias"))


def test_cifar10_recipe_is_sn_gan():
    recipe = config.resolve(str(RECIPES / "cifar10_hinge_sn.yaml"))
    assert recipe["loss"]["name"] == "hinge"
    assert recipe["data"]["name"] == "images"
    discriminator = kgan.discriminator(
        "dcgan", (32, 32, 3),
        **{k: v for k, v in recipe["model"]["discriminator"].items() if k != "name"})
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    assert "BatchNormalization" not in kinds
    assert kinds.count("SpectralNorm") == 4  # three convolutions and the logit


def _sn_gan(seed=3):
    keras.utils.set_random_seed(0)
    generator = kgan.generator("mlp", 2, (3,), hidden_units=(8,), output_activation="linear")
    discriminator = kgan.discriminator("mlp", (3,), hidden_units=(8,), spectral_norm=True)
    gan = kgan.GAN(generator, discriminator, latent_dim=2, d_steps=2, seed=seed)
    gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), loss="hinge")
    return gan


def test_spectral_norm_gan_trains_alike_on_two_replicas(two_replica_strategy):
    real = np.random.default_rng(4).standard_normal((16, 3)).astype("float32")
    one_device = _sn_gan()
    one_device.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    with two_replica_strategy.scope():
        mirrored = _sn_gan()
    mirrored.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for mine, theirs in zip(one_device.weights, mirrored.weights):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-5, err_msg=mine.path)


def test_spectral_norm_gan_survives_saving(tmp_path):
    gan = _sn_gan()
    real = np.random.default_rng(4).standard_normal((16, 3)).astype("float32")
    gan.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    [original] = [v for v in gan.discriminator.weights if "vector_u" in v.path][:1]
    [restored] = [v for v in loaded.discriminator.weights if "vector_u" in v.path][:1]
    np.testing.assert_array_equal(original.numpy(), restored.numpy())
    np.testing.assert_allclose(loaded.discriminator(real).numpy(),
                               gan.discriminator(real).numpy(), atol=1e-6)


# --- Minibatch standard deviation (Karras et al. 2018) ---------------------------


def test_minibatch_stddev_appends_the_batchs_mean_spread_as_a_channel():
    x = np.random.default_rng(0).normal(size=(8, 3, 3, 2)).astype("float32")
    out = kgan_layers.MinibatchStddev()(x).numpy()
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(out[..., :2], x)
    expected = np.sqrt(x.var(axis=0) + 1e-8).mean()
    np.testing.assert_allclose(out[..., 2], expected, rtol=1e-5)
    # A collapsed batch (every example the same) has no spread at all.
    same = np.repeat(x[:1], 8, axis=0)
    np.testing.assert_allclose(kgan_layers.MinibatchStddev()(same).numpy()[..., 2], 1e-4,
                               rtol=1e-3)


def test_a_minibatch_stddev_discriminator_tells_a_collapsed_batch_from_a_varied_one(tmp_path):
    keras.utils.set_random_seed(0)
    d = kgan.discriminator("cgan", input_shape=(8, 8, 1), num_classes=3, base_filters=4,
                           minibatch_stddev=True)
    plain = kgan.discriminator("cgan", input_shape=(8, 8, 1), num_classes=3, base_filters=4)
    varied = np.random.default_rng(1).uniform(-1, 1, (6, 8, 8, 1)).astype("float32")
    collapsed = np.repeat(varied[:1], 6, axis=0)
    labels = np.zeros(6, "int32")
    # The same first example scores differently beside varied or identical batch mates;
    # without the layer (and in inference mode, batch norm's moving statistics) it does not.
    for model, differs in ((d, True), (plain, False)):
        first_varied = model([varied, labels], training=False).numpy()[0]
        first_collapsed = model([collapsed, labels], training=False).numpy()[0]
        assert (not np.allclose(first_varied, first_collapsed, atol=1e-6)) == differs
    d.save(tmp_path / "d.keras")
    loaded = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(loaded([varied, labels]).numpy(), d([varied, labels]).numpy(),
                               atol=1e-6)


# --- Exponential moving average of the generator ------------------------------


def _ema_gan(ema_decay=0.9, seed=3):
    keras.utils.set_random_seed(0)
    # Batch norm in G: its moving statistics are state, not weights to average.
    generator = kgan.generator("mlp", 2, (3,), hidden_units=(8,), batch_norm=True,
                               output_activation="linear")
    discriminator = kgan.discriminator("mlp", (3,), hidden_units=(8,))
    gan = kgan.GAN(generator, discriminator, latent_dim=2, seed=seed, ema_decay=ema_decay)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss="hinge")
    return gan


def _real(rows, seed=4):
    return np.random.default_rng(seed).standard_normal((rows, 3)).astype("float32") + 2.0


def _assert_weights(actual, expected, **tolerance):
    assert len(actual) == len(expected)
    for mine, theirs in zip(actual, expected):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), **tolerance)


def test_ema_weights_are_the_warm_up_decayed_average_of_the_raw_weights():
    gan = _ema_gan(ema_decay=0.9)
    assert gan.sampler is gan.ema_generator
    generator, average = gan.generator, gan.ema_generator
    trainable = [v.trainable for v in generator.weights]
    expected = [w.numpy() for w in generator.weights]
    _assert_weights(average.weights, expected)  # starts as a copy of G
    real = _real(4 * 3)
    for step in range(3):
        gan.fit(real[4 * step: 4 * step + 4], batch_size=4, epochs=1, shuffle=False,
                verbose=0)
        t = int(gan.g_optimizer.iterations.numpy())
        assert t == step + 1
        decay = min(0.9, (1 + t) / (10 + t))
        expected = [decay * e + (1 - decay) * w.numpy() if is_trainable else w.numpy()
                    for e, w, is_trainable in zip(expected, generator.weights, trainable)]
        _assert_weights(average.weights, expected, rtol=1e-5, atol=1e-7)
    kernels = [(a, w) for a, w in zip(average.weights, generator.weights) if "kernel" in w.path]
    assert kernels and all(not np.allclose(a.numpy(), w.numpy(), atol=1e-4) for a, w in kernels)


def test_ema_survives_saving_and_training_goes_on_alike(tmp_path):
    gan = _ema_gan()
    real = _real(16)
    gan.fit(real[:8], batch_size=4, epochs=1, shuffle=False, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.ema_decay == gan.ema_decay
    assert loaded.sampler is loaded.ema_generator
    _assert_weights(loaded.ema_generator.weights, gan.ema_generator.weights, rtol=0, atol=0)
    np.testing.assert_array_equal(loaded.generate(5, seed=1), gan.generate(5, seed=1))
    for model in (gan, loaded):
        model.fit(real[8:], batch_size=4, epochs=1, shuffle=False, verbose=0)
    _assert_weights(loaded.ema_generator.weights, gan.ema_generator.weights, atol=1e-6)


@pytest.fixture(scope="module")
def trained_ema_gan():
    gan = _ema_gan()
    gan.fit(_real(24), batch_size=4, epochs=1, shuffle=False, verbose=0)
    z = noise.sample(6, gan.latent_dim, 0).numpy()
    average = gan.ema_generator(z, training=False).numpy()
    raw = gan.generator(z, training=False).numpy()
    assert np.abs(average - raw).max() > 1e-3  # so that the tests below can tell them apart
    return gan, z, average, raw


def test_the_exported_saved_model_generates_with_the_ema_weights(trained_ema_gan, tmp_path):
    gan, z, average, _ = trained_ema_gan
    export.export_saved_model(gan, str(tmp_path / "exported"))
    served = tf.saved_model.load(str(tmp_path / "exported"))
    images = served.signatures["generate"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(images, average, atol=1e-5)


def test_samples_grids_and_evaluation_draw_from_the_ema_generator(trained_ema_gan,
                                                                  tmp_path, monkeypatch):
    gan, z, average, _ = trained_ema_gan
    np.testing.assert_allclose(gan.generate(6, seed=0), average, atol=1e-6)
    np.testing.assert_allclose(quality.generate(gan, 6, seed=0), average, atol=1e-6)
    _, path = latent_space.interpolate(gan, 0, 1, steps=2)
    end_point = noise.sample(1, gan.latent_dim, 0).numpy()
    np.testing.assert_allclose(path[:1], gan.ema_generator(end_point).numpy(), atol=1e-6)

    drawn = []
    monkeypatch.setattr(callbacks.images, "save_samples",
                        lambda samples, path, **kwargs: drawn.append(samples) or
                        np.zeros((4, 4, 3), np.uint8))
    grids = callbacks.SampleGrids(str(tmp_path), 6, gan.latent_dim, seed=0)
    grids.set_model(gan)
    grids.on_epoch_end(0)
    np.testing.assert_allclose(drawn[0], average, atol=1e-6)


@keras.saving.register_keras_serializable(package="kgan_tests")
class _Point(keras.layers.Layer):
    """A generator that ignores z and puts all its mass on one trainable point."""

    def build(self, input_shape):
        self.theta = self.add_weight(shape=(1,), initializer="ones", name="theta")

    def call(self, z):
        return keras.ops.zeros_like(z[:, :1]) + self.theta


def test_ema_sits_at_the_equilibrium_that_the_raw_weights_circle():
    # The Dirac GAN (Mescheder et al. 2018): data at 0, G puts its mass at
    # theta, D(x) = psi x, unclipped Wasserstein loss. Alternating gradient
    # steps circle the equilibrium theta = 0 forever; the moving average of
    # theta settles near it (Yazici et al. 2019, Sec. 3).
    z = keras.Input((1,))
    generator = keras.Model(z, _Point()(z))
    x = keras.Input((1,))
    discriminator = keras.Model(x, keras.layers.Dense(1, use_bias=False,
                                                      kernel_initializer="zeros")(x))
    gan = kgan.GAN(generator, discriminator, latent_dim=1, seed=0, ema_decay=0.999)
    gan.compile(keras.optimizers.SGD(0.2), keras.optimizers.SGD(0.2),
                loss={"name": "wasserstein", "clip_value": None})
    raw, average = [], []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: (
        raw.append(float(generator.weights[0].numpy()[0])),
        average.append(float(gan.ema_generator.weights[0].numpy()[0]))))
    gan.fit(np.zeros((500, 1), np.float32), batch_size=1, epochs=1, shuffle=False,
            verbose=0, callbacks=[record])
    last_cycles = slice(-64, None)  # about two turns at this step size
    assert np.abs(raw[last_cycles]).max() > 0.9  # the raw weights still circle
    assert np.abs(average[last_cycles]).max() < 0.1


# --- Two time scales and k critic steps ----------------------------------------


def _toy_recipe(d_rate, g_rate, d_steps=1):
    return config.validate({
        "seed": 5,
        "data": {"name": "ring2d"},
        "model": {
            "latent_dim": 2,
            "generator": {"name": "mlp", "hidden_units": [8], "output_activation": "linear"},
            "discriminator": {"name": "mlp", "hidden_units": [8]},
        },
        "loss": {"name": "hinge"},
        "train": {
            "d_steps": d_steps,
            "d_optimizer": {"name": "sgd", "learning_rate": d_rate},
            "g_optimizer": {"name": "sgd", "learning_rate": g_rate},
        },
    })


def _first_updates(d_rate, g_rate):
    keras.utils.set_random_seed(0)
    gan = train_lib.build_gan(_toy_recipe(d_rate, g_rate), (2,))
    d_before = [w.numpy() for w in gan.discriminator.trainable_weights]
    g_before = [w.numpy() for w in gan.generator.trainable_weights]
    real = np.random.default_rng(6).standard_normal((8, 2)).astype("float32")
    gan.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0)  # one step
    assert int(gan.g_optimizer.iterations.numpy()) == 1
    d_step = [w.numpy() - b for w, b in zip(gan.discriminator.trainable_weights, d_before)]
    g_step = [w.numpy() - b for w, b in zip(gan.generator.trainable_weights, g_before)]
    return gan, d_step, g_step


def test_two_time_scales_each_network_steps_with_its_own_learning_rate():
    # The first D update comes before any G update, so it scales with the D
    # rate alone; the G update that follows sees the same D whatever the G
    # rate, so it scales with the G rate alone.
    gan, d_step, g_step = _first_updates(0.1, 0.01)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.1)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.01)
    _, d_step_faster_d, _ = _first_updates(0.3, 0.01)
    _, d_step_faster_g, g_step_faster_g = _first_updates(0.1, 0.05)
    assert any(np.abs(step).max() > 1e-4 for step in d_step + g_step)
    for base, faster in zip(d_step, d_step_faster_d):
        np.testing.assert_allclose(faster, 3 * base, rtol=1e-4, atol=1e-7)
    for base, same in zip(d_step, d_step_faster_g):
        np.testing.assert_allclose(same, base, rtol=1e-5, atol=1e-8)
    for base, faster in zip(g_step, g_step_faster_g):
        np.testing.assert_allclose(faster, 5 * base, rtol=1e-4, atol=1e-7)


def test_five_critic_steps_per_generator_step():
    keras.utils.set_random_seed(0)
    gan = train_lib.build_gan(_toy_recipe(5e-5, 5e-5, d_steps=5), (2,))
    real = np.random.default_rng(6).standard_normal((3 * 5 * 4, 2)).astype("float32")
    gan.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 3 steps of 5 x 4 rows
    assert int(gan.g_optimizer.iterations.numpy()) == 3
    assert int(gan.d_optimizer.iterations.numpy()) == 15


def _ema_recipe():
    return config.validate({
        "name": "ema-toy",
        "seed": 2,
        "data": {"name": "ring2d", "num_examples": 64},
        "model": {
            "latent_dim": 2,
            "ema_decay": 0.9,
            "generator": {"name": "mlp", "hidden_units": [8], "output_activation": "linear"},
            "discriminator": {"name": "mlp", "hidden_units": [8]},
        },
        "loss": {"name": "hinge"},
        "train": {"epochs": 2, "steps_per_epoch": 2, "batch_size": 8,
                  "jit_compile": False},
        "checkpoint": {"every_steps": 1, "keep": 10},
        "samples": {"num": 8},
    })


def test_a_resumed_run_ends_with_the_ema_of_an_uninterrupted_run(tmp_path):
    recipe = _ema_recipe()
    whole = str(tmp_path / "whole")
    train_lib.train(recipe, run_dir=whole, verbose=0, echo=lambda *_: None)
    # A run killed after step 2: its recipe and its checkpoint of step 2 only.
    killed = tmp_path / "killed"
    (killed / runs.CHECKPOINTS).mkdir(parents=True)
    shutil.copy(os.path.join(whole, runs.RECIPE), killed / runs.RECIPE)
    with open(os.path.join(whole, runs.CHECKPOINTS, runs.STATE), encoding="utf-8") as file:
        state = json.load(file)
    state["checkpoints"] = [e for e in state["checkpoints"] if e["step"] == 2]
    shutil.copy(os.path.join(whole, runs.CHECKPOINTS, state["checkpoints"][0]["file"]),
                killed / runs.CHECKPOINTS)
    (killed / runs.CHECKPOINTS / runs.STATE).write_text(json.dumps(state))
    train_lib.resume(str(killed), verbose=0, echo=lambda *_: None)

    finished = runs.load_run(whole).gan
    resumed = runs.load_run(str(killed)).gan
    assert int(resumed.g_optimizer.iterations.numpy()) == 4
    _assert_weights(resumed.ema_generator.weights, finished.ema_generator.weights, atol=1e-6)
    # The run's final generator.keras is the average, the one to sample from.
    final_generator = keras.models.load_model(os.path.join(whole, runs.FINAL_GENERATOR))
    _assert_weights(final_generator.weights, finished.ema_generator.weights, rtol=0, atol=0)
    assert not all(np.allclose(a.numpy(), b.numpy())
                   for a, b in zip(final_generator.weights, finished.generator.weights))


