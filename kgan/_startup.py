"""Keeps TensorFlow's load-time C++ notices off kgan users' terminals.

TensorFlow writes some notices to the process's stderr before its logging is
set up, so `TF_CPP_MIN_LOG_LEVEL` does not silence them; with the oneDNN
kernels on, each process starts with two lines saying so.
"""

import contextlib
import os
import sys
import tempfile

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
