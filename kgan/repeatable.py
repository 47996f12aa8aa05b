"""What keeps a CPU run bit for bit repeatable: the float mode of every thread that trains.

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
TensorFlow's pools do. docs/python.md, "Bit for bit", has the measurements.
"""

import contextlib
import ctypes
import ctypes.util
import functools
import os
import platform
import sys

import tensorflow as tf

_FTZ_DAZ = 0x8040  # MXCSR: flush-to-zero (bit 15), denormals-are-zero (bit 6)
_MXCSR_OFFSET = 28  # of `__mxcsr` in x86-64 `fenv_t` (glibc and musl)
_FENV_BYTES = 64  # more than the 32 bytes of x86-64 `fenv_t`


def with_repeatable_threads(dataset):
    """`dataset` on a thread pool of TensorFlow's own (a pool the dataset names is kept)."""
    if (not isinstance(dataset, tf.data.Dataset)
            or dataset.options().threading.private_threadpool_size):
        return dataset
    options = tf.data.Options()
    options.threading.private_threadpool_size = os.cpu_count() or 1
    return dataset.with_options(options)


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
