"""Running a network on arrays, a batch at a time, outside Keras' `predict` loop.

`predict` calls the model in inference mode on slices of at most
`batch_size` rows through one cached `tf.function` per model, and returns
numpy. Keras' `Model.predict` builds a `tf.data` pipeline and a progress
loop for every call: tens of milliseconds that a 64-sample grid or a
probe of D at each epoch's end does not need (and, under op determinism,
TensorFlow complains on stderr about the parallel map it builds).
"""

import numpy as np
import tensorflow as tf


def predict(model, inputs, batch_size=500):
    """`model(inputs, training=False)` as numpy, in batches; `inputs` an array or a list.

    A model with several outputs gives a list of arrays.
    """
    parts = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    parts = [np.asarray(part) for part in parts]
    call = _compiled(model)
    outputs = []
    for start in range(0, len(parts[0]), batch_size):
        batch = [tf.convert_to_tensor(part[start:start + batch_size]) for part in parts]
        result = call(batch if len(batch) > 1 else batch[0])
        outputs.append([np.asarray(r) for r in result] if isinstance(result, (list, tuple))
                       else np.asarray(result))
    if not outputs:
        raise ValueError("predict needs at least one row of inputs.")
    if isinstance(outputs[0], list):
        return [np.concatenate([o[i] for o in outputs]) for i in range(len(outputs[0]))]
    return np.concatenate(outputs)


def _compiled(model):
    # One tf.function per model, kept on it; shapes relax after a retrace, so
    # a short last batch costs one more trace at most.
    call = getattr(model, "_kgan_inference", None)
    if call is None:
        call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        model._kgan_inference = call
    return call
