"""Layers that GAN architectures share: spectral normalisation, minibatch standard deviation.

Also batch norm in one fused kernel (`BatchNormalization`) and the projection
discriminator's inner product as one multiply and sum (`RowDot`): the same
functions as Keras' `BatchNormalization` and `Dot(axes=-1)`, in fewer and
larger operations, which is what a small training step on a CPU spends its
time on (docs/results.md, "The main job's own step").

`SpectralNorm` follows Algorithm 1 of Miyato et al. (2018), "Spectral
Normalization for Generative Adversarial Networks": the wrapped layer applies
W / sigma(W), where sigma(W) is the largest singular value of its kernel,
estimated by one step of power iteration per training call, and gradients flow
through sigma(W) to the raw kernel (their eq. 12). Keras' own
`keras.layers.SpectralNormalization` instead divides the stored kernel by
sigma in place and differentiates as if sigma were constant; the constraint is
the same, the gradient (and so the optimizer's path) is not the paper's.

Example:

```python
x = kgan.layers.SpectralNorm(keras.layers.Conv2D(64, 4, strides=2, padding="same"))(x)
logits = kgan.layers.SpectralNorm(keras.layers.Dense(1))(keras.layers.Flatten()(x))
```
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from keras import ops

from kgan import errors

_INITIAL_POWER_ITERATIONS = 15  # as torch.nn.utils.parametrizations.spectral_norm does
_EPSILON = 1e-12
_STDDEV_EPSILON = 1e-8  # inside the square root, as in Karras et al.'s code


@keras.saving.register_keras_serializable(package="kgan")
class SpectralNorm(layers.Wrapper):
    """Applies a `Dense` or `ConvND` layer with its kernel divided by its spectral norm.

    The kernel is read as a matrix of shape `[-1, output channels]` (for a
    convolution, each output channel's filter is one column), as in the
    paper; for convolutions this bounds each layer's Lipschitz constant only
    up to a factor that depends on the kernel size, not exactly.

    The raw kernel stays the trainable weight. The power-iteration vector
    `vector_u` is a non-trainable weight, refined once per training call (as
    batch-norm statistics are) and used as it is in inference.

    Args:
        layer: a `keras.layers.Dense` or `keras.layers.Conv1D`/`Conv2D`/`Conv3D`.
        power_iterations: power-iteration steps per training call (the paper: 1).
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(layer, (layers.Dense, layers.Conv1D, layers.Conv2D, layers.Conv3D)):
            raise errors.KganError(
                f"SpectralNorm wraps Dense and Conv1D/Conv2D/Conv3D layers, got "
                f"{type(layer).__name__}. Wrap the layers that hold the weight matrix "
                "of a linear map, one at a time."
            )
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) \
                or power_iterations < 1:
            raise errors.KganError(
                f"SpectralNorm's power_iterations must be an integer >= 1, got "
                f"{power_iterations!r}. The paper uses 1."
            )
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self.layer.kernel
        matrix = np.reshape(ops.convert_to_numpy(kernel), (-1, kernel.shape[-1]))
        self.vector_u = self.add_weight(
            shape=(1, kernel.shape[-1]),
            initializer=keras.initializers.Constant(_initial_u(matrix)),
            trainable=False,
            name="vector_u",
            dtype="float32",
            # Every replica computes the same vector from the same weights.
            aggregation="only_first_replica",
        )
        self.built = True

    def call(self, inputs, training=False):
        return self._apply(inputs, self._normalized_kernel(training))

    def spectral_norm(self):
        """The current estimate of sigma(W), the kernel's largest singular value."""
        return self._sigma(ops.convert_to_tensor(self.layer.kernel), training=False)

    def normalized_kernel(self):
        """W / sigma(W), the kernel that the layer applies in inference."""
        return self._normalized_kernel(training=False)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}

    def _normalized_kernel(self, training):
        kernel = ops.convert_to_tensor(self.layer.kernel)
        return kernel / ops.cast(self._sigma(kernel, training), kernel.dtype)

    def _sigma(self, kernel, training):
        matrix = ops.reshape(ops.cast(kernel, "float32"), (-1, kernel.shape[-1]))
        u = self.vector_u.value
        if training:
            for _ in range(self.power_iterations):
                v = _normalize(ops.matmul(u, ops.transpose(matrix)))
                u = _normalize(ops.matmul(v, matrix))
            self.vector_u.assign(ops.stop_gradient(u))
        else:
            v = _normalize(ops.matmul(u, ops.transpose(matrix)))
        # u and v are constants of the gradient, which flows through W alone (eq. 12).
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        return ops.sum(ops.matmul(v, matrix) * u)

    def _apply(self, inputs, kernel):
        layer = self.layer
        kernel = ops.cast(kernel, inputs.dtype)
        if isinstance(layer, layers.Dense):
            outputs = ops.matmul(inputs, kernel)
            if layer.bias is not None:
                outputs = ops.add(outputs, layer.bias)
        else:
            outputs = layer.convolution_op(inputs, kernel)
            if layer.use_bias:
                rank = layer.rank
                shape = ((1,) * (rank + 1) + (layer.filters,)
                         if layer.data_format == "channels_last"
                         else (1, layer.filters) + (1,) * rank)
                outputs = ops.add(outputs, ops.reshape(layer.bias, shape))
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="kgan")
class MinibatchStddev(layers.Layer):
    """Appends the minibatch's feature spread to every example, as one more channel.

    Karras et al. (2018), "Progressive Growing of GANs", Sec. 3: the standard
    deviation of each feature over the minibatch, averaged over all features
    and positions, is a scalar that D sees beside each example. A generator
    that draws too little variety gives batches with a smaller spread than
    real batches, which D can now tell apart, so G is pushed towards the data's
    variety. D must then see real and generated examples in separate batches
    (kgan's `train_step` does). A batch of one, or of identical examples, has
    spread sqrt(1e-8) = 1e-4, the epsilon inside the square root.

    Input `(batch, ..., channels)`; output `(batch, ..., channels + 1)`.
    """

    def call(self, inputs):
        variance = ops.var(inputs, axis=0, keepdims=True)
        spread = ops.mean(ops.sqrt(variance + _STDDEV_EPSILON))
        channel = ops.ones_like(inputs[..., :1]) * ops.cast(spread, inputs.dtype)
        return ops.concatenate([inputs, channel], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


@keras.saving.register_keras_serializable(package="kgan")
class BatchNormalization(layers.BatchNormalization):
    """Keras' batch norm, trained through TensorFlow's fused kernel.

    The same layer, weights, options and results as
    `keras.layers.BatchNormalization` (up to float rounding): in training, the
    batch's mean and biased variance normalise the input and move the moving
    averages by `momentum`, exactly as there. Where Keras builds that from a
    dozen small operations (the moments, then the normalisation, and as many
    again in the gradient), a float32 input normalised over its last axis runs
    as one `FusedBatchNormV3` and one gradient kernel; a (batch, features)
    input as a (batch, 1, 1, features) image (docs/results.md, "The main job's
    own step", measures what that buys). Anything else (a mask,
    renorm, `synchronized`, another dtype or axis, inference) is Keras' own
    code path.
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        shape = ops.shape(inputs)
        images = inputs if len(inputs.shape) == 4 else ops.reshape(inputs, (-1, 1, 1, shape[-1]))
        ones = ops.ones((shape[-1],), inputs.dtype)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            images,
            self.gamma if self.scale else ones,
            self.beta if self.center else ops.zeros_like(ones),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )[:3]
        # The kernel returns the unbiased (n - 1) variance; Keras' moving
        # variance averages the biased one, as the normalisation uses.
        count = ops.cast(ops.size(images) // shape[-1], variance.dtype)
        variance = variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return ops.reshape(outputs, shape)

    def _fusable(self, inputs, mask):
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and rank in (2, 4)
            and self.axis in (-1, rank - 1)
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
            and self.compute_dtype == "float32"
        )


@keras.saving.register_keras_serializable(package="kgan")
class RowDot(layers.Layer):
    """`[a, b]` -> each row's inner product `sum(a * b, axis=-1)`, shape (batch, 1).

    What `keras.layers.Dot(axes=-1)` computes for two (batch, features)
    inputs, without its batched matrix product of 1 x features by features x 1
    matrices, which costs a small training step on a CPU several times as much.
    """

    def call(self, inputs):
        a, b = inputs
        return ops.sum(ops.multiply(a, b), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


def _normalize(x):
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), _EPSILON)


def _initial_u(matrix):
    # A few power iterations from a fixed start, so that the first training
    # call already normalises by a good estimate of sigma.
    u = np.random.default_rng(0).standard_normal((1, matrix.shape[1]))
    for _ in range(_INITIAL_POWER_ITERATIONS):
        v = u @ matrix.T
        v /= max(np.linalg.norm(v), _EPSILON)
        u = v @ matrix
        u /= max(np.linalg.norm(u), _EPSILON)
    return u.astype(np.float32)
