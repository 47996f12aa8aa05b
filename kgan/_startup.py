"""What kgan settles before TensorFlow loads: its CPU kernels, its quiet, and when it began.

TensorFlow writes some notices to the process's stderr before its logging is
set up, so `TF_CPP_MIN_LOG_LEVEL` does not silence them; with the oneDNN
kernels on, each process starts with two lines saying so.
"""

import contextlib
import os
import platform
import sys
import tempfile
import time

# When this process began to load kgan, before TensorFlow: a run's start-up counts from
# here (`kgan.timing.load_start_time`).
LOADING_STARTED = time.time()

# Machines (`platform.machine()`, lower case) whose TensorFlow builds carry oneDNN.
ONEDNN_MACHINES = ("x86_64", "amd64")


def choose_cpu_kernels():
    """Turns TensorFlow's oneDNN CPU kernels on where nobody else decided.

    TensorFlow's x86-64 builds carry oneDNN kernels but leave them off on many
    CPUs (AVX2 AMD CPUs among them), where they train convolutional networks
    faster (`bin/benchmark_step.py` measures by how much; the README's speed
    page has the figures).
    The user decides with TF_ENABLE_ONEDNN_OPTS (0 keeps TensorFlow's Eigen
    kernels). TensorFlow reads the variable once, when it is first imported,
    so an earlier TensorFlow import has decided too.

    Returns:
        True when this call turned them on.
    """
    if (
        platform.machine().lower() not in ONEDNN_MACHINES
        or "TF_ENABLE_ONEDNN_OPTS" in os.environ
        or "tensorflow" in sys.modules
    ):
        return False
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return True


# Substrings of the notices dropped: nothing else is.
LOAD_NOTICES = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
)


@contextlib.contextmanager
def without_load_notices(notices=LOAD_NOTICES):
    """Passes on what the process writes to stderr meanwhile, less `notices`.

    Works on file descriptor 2, where C++ writes; where the process has none
    (some embedded interpreters) it does nothing.
    """
    fd = 2
    try:
        os.fstat(fd)
    except OSError:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not any(n in line for n in notices))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
