"""What keeps a CPU run bit for bit repeatable: each training thread's float mode, one graph.

TensorFlow's own thread pools flush subnormal floats to zero (the x86 MXCSR
bits FTZ and DAZ). Two kinds of thread that also run a training step's
operations do not:

- tf.data's default threads: when a step waits for its batch, TensorFlow goes
  on with the step's cheap operations on the thread that delivered it;
- the Python thread that calls the step, on which TensorFlow starts it.

Where a value is subnormal (a squared gradient in Adam, say), an operation on
such a thread gives other last bits than on a pool thread, and which thread
runs it depends on timing, so the same seed could end with other weights; a
GAN carries the difference on. kgan trains with both closed off:
`with_repeatable_threads` puts a dataset on a TensorFlow pool, and
`flush_subnormals` sets the calling thread's mode during `fit`, as
TensorFlow's pools do.

The graph itself: with several steps per call (`steps_per_execution`),
Keras runs them in a `tf.while_loop` of `tf.cond`s, and there Grappler's
dependency optimizer, which prunes and rewrites control dependencies when
TensorFlow instantiates the function, does not always give the same graph
for a step with a second-order penalty (R1's gradient of a gradient): the
same seed then ended with other weights in some fresh processes, while one
process re-running one instantiated graph from the same state repeated
exactly. `keep_control_dependencies` turns that pass off while `fit`
instantiates such a loop, unless the caller chose
(`tf.config.optimizer.set_experimental_options`); a step of its own, one per
call, is left to Grappler, since it repeated anyway and keeping the pass
costs speed.

`GenerativeModel.fit` puts a dataset it is given on a pool and runs in
`training()`: the calling thread's mode, and the loop's graph where there is
a loop.
docs/python.md, "Bit for bit", has the measurements.
"""

import contextlib
import ctypes
import ctypes.util
import functools
import os
import platform
import sys
import threading

import tensorflow as tf

_FTZ_DAZ = 0x8040  # MXCSR: flush-to-zero (bit 15), denormals-are-zero (bit 6)
_MXCSR_OFFSET = 28  # of `__mxcsr` in x86-64 `fenv_t` (glibc and musl)
_FENV_BYTES = 64  # more than the 32 bytes of x86-64 `fenv_t`
_DEPENDENCY_OPTIMIZATION = "dependency_optimization"  # a Grappler pass
_keeping = 0  # open `keep_control_dependencies` blocks
_keeping_lock = threading.Lock()


def with_repeatable_threads(dataset):
    """`dataset` on a thread pool of TensorFlow's own (a pool the dataset names is kept)."""
    if (not isinstance(dataset, tf.data.Dataset)
            or dataset.options().threading.private_threadpool_size):
        return dataset
    options = tf.data.Options()
    options.threading.private_threadpool_size = os.cpu_count() or 1
    return dataset.with_options(options)


@contextlib.contextmanager
def training(steps_per_execution=1):
    """What a `fit` runs in: subnormals flushed; a loop of steps keeps its control dependencies."""
    loop = steps_per_execution > 1
    with flush_subnormals(), keep_control_dependencies() if loop else contextlib.nullcontext():
        yield


@contextlib.contextmanager
def keep_control_dependencies():
    """Within the block, functions TensorFlow instantiates keep their control dependencies.

    Grappler's `dependency_optimization` is off meanwhile, then as before (the
    option is the process's: blocks that overlap, fits in threads, restore it
    when the last one ends). A caller who set that option (either way) keeps
    their choice.
    """
    global _keeping
    with _keeping_lock:
        chosen = _DEPENDENCY_OPTIMIZATION in tf.config.optimizer.get_experimental_options()
        if chosen and not _keeping:
            ours = False  # the caller's choice
        else:
            ours = True
            if not _keeping:
                tf.config.optimizer.set_experimental_options({_DEPENDENCY_OPTIMIZATION: False})
            _keeping += 1
    try:
        yield
    finally:
        if ours:
            with _keeping_lock:
                _keeping -= 1
                if not _keeping:
                    tf.config.optimizer.set_experimental_options({_DEPENDENCY_OPTIMIZATION: None})


@contextlib.contextmanager
def flush_subnormals():
    """Within the block, this thread flushes subnormal floats to zero, as TensorFlow's pools do.

    The thread's floating-point environment is restored afterwards. On other
    than x86-64 Linux the block runs unchanged.
    """
    libm = _libm()
    if libm is None:
        yield
        return
    saved = (ctypes.c_ubyte * _FENV_BYTES)()
    if libm.fegetenv(saved) != 0:
        yield
        return
    flushing = (ctypes.c_ubyte * _FENV_BYTES).from_buffer_copy(saved)
    mxcsr = int.from_bytes(bytes(flushing[_MXCSR_OFFSET:_MXCSR_OFFSET + 4]), "little")
    flushing[_MXCSR_OFFSET:_MXCSR_OFFSET + 4] = list((mxcsr | _FTZ_DAZ).to_bytes(4, "little"))
    libm.fesetenv(flushing)
    try:
        yield
    finally:
        libm.fesetenv(saved)


@functools.cache  # find_library runs ldconfig: once a process, not once a fit
def _libm():
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        return None
    name = ctypes.util.find_library("m")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None
