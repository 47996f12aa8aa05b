"""Optimizers from recipes: `{name: adam, learning_rate: ..., ...}`, with learning-rate
schedules from `keras.optimizers.schedules` and loss scaling under mixed float16.

Also `Adam`: Keras' Adam with each variable's update in one fused kernel, what
a recipe's `name: adam` builds.

Example:

```python
gan.compile(d_optimizer=kgan.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=kgan.optimizers.Adam(2e-4, beta_1=0.5))
```
"""

import keras
import tensorflow as tf

from kgan import errors

_FUSED_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)


@keras.saving.register_keras_serializable(package="kgan")
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, each variable updated by one fused kernel.

    The same arguments, state, serialisation and arithmetic as Keras' Adam
    (Kingma and Ba, 2015, with Keras' epsilon outside the square root):

        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
        w -= alpha * m / (sqrt(v) + epsilon)

    Keras writes that update as about a dozen element-wise operations a
    variable, each a pass over its memory, plus the bias corrections again for
    every variable; TensorFlow's `ResourceApplyAdam` kernel does it in one pass.
    On a CPU, where a small GAN's step is bound by the number of operations and
    memory passes, that is a few percent of the whole step (docs/results.md,
    "Speed"). `amsgrad=True` and sparse gradients (`tf.IndexedSlices`, e.g.
    an `Embedding`'s) use Keras' own update: Keras squares a sparse gradient's
    rows before it sums repeated indices, which no fused kernel does.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices) \
                or variable.dtype not in _FUSED_DTYPES:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(m), v=_handle(v),
            beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


def get(identifier):
    """`keras.optimizers.get`, but the name "adam" (or `{"class_name": "adam", ...}`) builds
    `kgan.optimizers.Adam`: what recipes and `GAN.compile(d_optimizer="adam", ...)` take."""
    name = identifier if isinstance(identifier, str) else (
        identifier.get("class_name") if isinstance(identifier, dict) else None)
    # Keras' optimizers that kgan runs faster, the same arithmetic (looked up at each call).
    fused = {"adam": Adam}.get(name.lower()) if isinstance(name, str) else None
    if fused is None:
        return keras.optimizers.get(identifier)
    return fused(**(identifier.get("config", {}) if isinstance(identifier, dict) else {}))


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (a replica's, under a strategy)."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle


def build(recipe):
    """`{"d_optimizer": ..., "g_optimizer": ...}`: the recipe's optimizers, built.

    Under `train.precision: mixed_float16` each is wrapped in a
    `LossScaleOptimizer` (float16 gradients underflow; losses are scaled
    dynamically). A recipe without a discriminator has no `d_optimizer`.
    """
    roles = ["g_optimizer"] + (["d_optimizer"] if recipe["model"]["discriminator"] else [])
    built = {}
    for role in roles:
        optimizer = make_optimizer(recipe["train"][role], f"train.{role}")
        if recipe["train"]["precision"] == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        built[role] = optimizer
    return built


def _subclass_names(module, base, excluded):
    """`{lower-case name: name}` of the classes in `module` that subclass `base`."""
    return {
        name.lower(): name
        for name in dir(module)
        if isinstance(getattr(module, name), type)
        and issubclass(getattr(module, name), base)
        and name not in excluded
    }


def make_optimizer(section, key_path):
    """A Keras optimizer from `{name: adam, learning_rate: ..., ...}`.

    `learning_rate` is a number or a schedule, a mapping that names any class
    of `keras.optimizers.schedules` with its arguments, e.g. `{name:
    CosineDecay, initial_learning_rate: 1.0e-3, decay_steps: 2000, alpha: 0.1}`
    (its steps are this optimizer's updates: k per training step for D).
    """
    params = dict(section)
    name = params.pop("name")
    known = _subclass_names(keras.optimizers, keras.optimizers.Optimizer,
                            ("Optimizer", "LossScaleOptimizer", "MultiOptimizer"))
    if name.lower() not in known:
        raise errors.KganError(
            f'Recipe key `{key_path}.name`: unknown optimizer "{name}".'
            f"{errors.did_you_mean(name.lower(), known)} Known optimizers: "
            f"{', '.join(sorted(known))}."
        )
    if isinstance(params.get("learning_rate"), dict):
        params["learning_rate"] = _schedule(params["learning_rate"],
                                            f"{key_path}.learning_rate")
    try:
        return get({"class_name": known[name.lower()], "config": params})
    except (TypeError, ValueError) as exc:
        raise errors.KganError(
            f"Recipe key `{key_path}`: Keras' {known[name.lower()]} optimizer rejected "
            f"{params}: {exc}. See keras.optimizers.{known[name.lower()]} for its arguments."
        ) from None


def _schedule(section, key_path):
    params = dict(section)
    name = params.pop("name", None)
    schedules = keras.optimizers.schedules
    known = _subclass_names(schedules, schedules.LearningRateSchedule,
                            ("LearningRateSchedule",))
    if not isinstance(name, str) or name.lower() not in known:
        raise errors.KganError(
            f"Recipe key `{key_path}.name`: a learning-rate schedule names one of "
            f"keras.optimizers.schedules, got {name!r}."
            f"{errors.did_you_mean(str(name).lower(), known)} Known schedules: "
            f"{', '.join(sorted(known.values()))}."
        )
    schedule = getattr(schedules, known[name.lower()])
    try:
        return schedule(**params)
    except (TypeError, ValueError) as exc:
        raise errors.KganError(
            f"Recipe key `{key_path}`: keras.optimizers.schedules.{schedule.__name__} "
            f"rejected {params}: {exc}."
        ) from None
