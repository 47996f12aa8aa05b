"""kgan turns on TensorFlow's oneDNN CPU kernels unless the user chose."""

import os
import platform
import subprocess
import sys

import pytest

from kgan import _startup

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in _startup.ONEDNN_MACHINES,
    reason="TensorFlow's oneDNN kernels are an x86-64 feature",
)

# What TensorFlow itself reports, in a fresh interpreter that imports kgan first.
_PROBE = (
    "import kgan, os\n"
    "from tensorflow.python.util import _pywrap_util_port as port\n"
    "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], port.IsMklEnabled())\n"
)


def _python(code, **env):
    """Runs `code` in a fresh interpreter, TF_ENABLE_ONEDNN_OPTS as in `env` only."""
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120
    )


def _probe(**env):
    result = _python(_PROBE, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_import_kgan_turns_onednn_on():
    assert _probe() == ["1", "True"]


def test_the_users_choice_is_kept():
    assert _probe(TF_ENABLE_ONEDNN_OPTS="0") == ["0", "False"]


def test_import_kgan_prints_nothing():
    result = _python("import kgan")
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def test_only_the_load_notices_are_dropped(capfd):
    with _startup.without_load_notices():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. ...\n")
        os.write(2, b"a real error from C++\n")
        print("a Python warning", file=sys.stderr)
    # pytest holds sys.stderr apart from descriptor 2, so the order may differ.
    assert sorted(capfd.readouterr().err.splitlines()) == [
        "a Python warning", "a real error from C++"]
