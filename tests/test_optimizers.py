"""kgan.optimizers.Adam: Keras' Adam, one fused kernel a variable; what recipes' `adam` builds."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import optimizers


def _train(optimizer, model, batches):
    """Fits `model` (a regression) on `batches` with `optimizer` in a traced step; its weights."""
    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        optimizer.apply(tape.gradient(loss, model.trainable_variables),
                        model.trainable_variables)

    for x, y in batches:
        step(x, y)
    return [w.numpy() for w in model.weights] + [w.numpy() for w in optimizer.variables]


def _model(seed, embedding=False):
    keras.utils.set_random_seed(seed)
    if embedding:  # an Embedding's gradient is sparse (tf.IndexedSlices)
        inputs = keras.Input((2,), dtype="int32")
        x = keras.layers.Flatten()(keras.layers.Embedding(10, 3)(inputs))
    else:
        inputs = keras.Input((4,))
        x = keras.layers.Dense(8, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def _batches(embedding=False, steps=25):
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = rng.integers(0, 10, (16, 2)).astype("int32") if embedding else \
            rng.normal(size=(16, 4)).astype("float32")
        yield tf.constant(x), tf.constant(rng.normal(size=(16, 1)).astype("float32"))


@pytest.mark.parametrize("options, embedding", [
    ({"learning_rate": 1e-2}, False),
    ({"learning_rate": keras.optimizers.schedules.ExponentialDecay(2e-2, 5, 0.5),
      "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3, "weight_decay": 0.1}, False),
    ({"learning_rate": 1e-2, "amsgrad": True}, False),  # Keras' own update
    ({"learning_rate": 1e-2}, True),  # sparse gradients: Keras' own update
])
def test_adam_trains_as_keras_adam_does(options, embedding):
    ours = _train(optimizers.Adam(**options), _model(1, embedding), _batches(embedding))
    theirs = _train(keras.optimizers.Adam(**options), _model(1, embedding), _batches(embedding))
    start = [w.numpy() for w in _model(1, embedding).weights]
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours[0], start[0])  # it did train


def _step_op_types(optimizer):
    model = _model(0)
    optimizer.build(model.trainable_variables)
    gradients = [tf.ones_like(v) for v in model.trainable_variables]
    graph = tf.function(lambda: optimizer.apply(gradients, model.trainable_variables)) \
        .get_concrete_function().graph
    return [op.type for op in graph.get_operations()]


def test_adam_updates_each_variable_in_one_kernel():
    ours, theirs = _step_op_types(optimizers.Adam()), _step_op_types(keras.optimizers.Adam())
    assert ours.count("ResourceApplyAdam") == 4  # two Dense layers' kernels and biases
    assert "ResourceApplyAdam" not in theirs
    assert len(ours) < len(theirs) / 2


def test_adam_saves_and_loads_as_kgan_adam(tmp_path):
    model = _model(0)
    model.compile(optimizer=optimizers.Adam(3e-3, beta_1=0.5), loss="mse")
    x, y = next(_batches())
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is optimizers.Adam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for got, want in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_recipes_adam_is_the_fused_adam_and_other_names_are_keras_own():
    adam = optimizers.make_optimizer({"name": "Adam", "learning_rate": 2e-4, "beta_1": 0.5},
                                     "train.g_optimizer")
    assert type(adam) is kgan.optimizers.Adam
    assert (float(adam.learning_rate), adam.beta_1) == pytest.approx((2e-4, 0.5))
    rmsprop = optimizers.make_optimizer({"name": "rmsprop"}, "train.d_optimizer")
    assert type(rmsprop) is keras.optimizers.RMSprop


def test_recipes_adam_with_a_bad_argument_names_the_key():
    with pytest.raises(kgan.KganError, match=r"`train.g_optimizer`.*beta_one"):
        optimizers.make_optimizer({"name": "adam", "beta_one": 0.5}, "train.g_optimizer")


def test_gan_compile_builds_kgan_adam_from_its_name_and_keras_optimizers_from_theirs():
    generator = kgan.generator("mlp", latent_dim=2, output_shape=(3,), hidden_units=[4])
    discriminator = kgan.discriminator("mlp", input_shape=(3,), hidden_units=[4])
    gan = kgan.GAN(generator, discriminator, latent_dim=2)
    gan.compile(d_optimizer="adam", g_optimizer={"class_name": "Adam",
                                                 "config": {"learning_rate": 0.01}})
    assert type(gan.d_optimizer) is type(gan.g_optimizer) is kgan.optimizers.Adam
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.01)
    gan.compile(d_optimizer="rmsprop", g_optimizer=keras.optimizers.Adam())
    assert type(gan.d_optimizer) is keras.optimizers.RMSprop
    assert type(gan.g_optimizer) is keras.optimizers.Adam  # an instance is used as given
