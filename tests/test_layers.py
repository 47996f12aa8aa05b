"""kgan.layers' fast forms of Keras layers: the same functions, in fewer operations."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import layers as kgan_layers


def _random(shape, seed, loc=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(loc, scale, shape).astype("float32")


def _train_once(layer, x, weights):
    """One training call: outputs, gradients of sum(outputs * weights), moving statistics."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = layer(x, training=True)
        loss = tf.reduce_sum(outputs * weights)
    gradients = tape.gradient(loss, [x] + layer.trainable_weights)
    return [np.asarray(outputs), *map(np.asarray, gradients),
            layer.moving_mean.numpy(), layer.moving_variance.numpy()]


def _op_types(function, *args):
    graph = tf.function(function).get_concrete_function(*args).graph
    types = {op.type for op in graph.get_operations()}
    for fn in graph._functions.values():  # the gradient and the layers' own functions
        types |= {node.op for node in fn.definition.node_def}
    return types


@pytest.mark.parametrize("shape, options", [
    ((16, 7, 7, 8), {}),
    ((16, 50), {}),  # after a Dense layer: normalised as a (batch, 1, 1, features) image
    ((8, 5, 5, 3), {"scale": False, "center": False, "momentum": 0.9, "epsilon": 1e-5}),
])
def test_batch_norm_trains_as_keras_batch_norm_does(shape, options):
    ours, theirs = kgan_layers.BatchNormalization(**options), keras.layers.BatchNormalization(**options)
    for layer in (ours, theirs):
        layer.build(shape)
        if layer.scale:
            layer.gamma.assign(_random(shape[-1:], 1, 1.0, 0.2))
            layer.beta.assign(_random(shape[-1:], 2))
    x, weights = _random(shape, 0, 2.0, 3.0), _random(shape, 3)
    for _ in range(2):  # the second call starts from moved averages
        for got, want in zip(_train_once(ours, x, weights), _train_once(theirs, x, weights)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False), atol=1e-5)
    assert not np.allclose(ours.moving_variance.numpy(), 1.0)  # the averages did move


def test_batch_norm_runs_the_fused_kernel_in_training_only():
    layer = kgan_layers.BatchNormalization()
    layer.build((None, 4, 4, 3))
    spec = tf.TensorSpec((None, 4, 4, 3), tf.float32)  # batch size unknown, as in fit
    training = _op_types(lambda x: layer(x, training=True), spec)
    assert "FusedBatchNormV3" in training and "Rsqrt" not in training
    inference = _op_types(lambda x: layer(x, training=False), spec)
    assert "FusedBatchNormV3" not in inference


@pytest.mark.parametrize("options, dtype", [({"axis": 1}, "float32"), ({}, "bfloat16")])
def test_batch_norm_leaves_other_cases_to_keras(options, dtype):
    layer = kgan_layers.BatchNormalization(dtype=keras.DTypePolicy(
        "mixed_bfloat16" if dtype == "bfloat16" else "float32"), **options)
    reference = keras.layers.BatchNormalization.from_config(layer.get_config())
    x = tf.cast(_random((6, 3, 4, 4), 0, 1.0, 2.0), dtype)
    for each in (layer, reference):
        each.build(x.shape)
    assert "FusedBatchNormV3" not in _op_types(lambda v: layer(v, training=True), x)
    np.testing.assert_allclose(np.asarray(tf.cast(layer(x, training=True), "float32")),
                               np.asarray(tf.cast(reference(x, training=True), "float32")))


def test_row_dot_is_dot_over_the_last_axis_without_a_batched_matmul():
    a, b = _random((5, 7), 0), _random((5, 7), 1)
    np.testing.assert_allclose(kgan_layers.RowDot()([a, b]),
                               keras.layers.Dot(axes=-1)([a, b]), rtol=1e-6)
    spec = tf.TensorSpec((None, 7), tf.float32)
    assert "BatchMatMulV2" not in _op_types(lambda x, y: kgan_layers.RowDot()([x, y]), spec, spec)


def test_networks_with_them_save_and_load(tmp_path):
    d = kgan.discriminator("cgan", input_shape=(28, 28, 1), num_classes=10, base_filters=8)
    kinds = {type(layer).__name__ for layer in d._flatten_layers()}
    assert {"BatchNormalization", "RowDot"} <= kinds
    d.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras")
    x, labels = _random((4, 28, 28, 1), 0), np.array([0, 3, 3, 9], "int32")
    np.testing.assert_allclose(loaded([x, labels], training=False), d([x, labels], training=False),
                               atol=1e-6)
    assert isinstance(next(layer for layer in loaded._flatten_layers()
                           if type(layer).__name__ == "BatchNormalization"),
                      kgan_layers.BatchNormalization)
