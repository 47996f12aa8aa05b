"""kgan turns on TensorFlow's oneDNN CPU kernels unless the user chose."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="TensorFlow's oneDNN kernels are an x86-64 feature",
)

# What TensorFlow itself reports, in a fresh interpreter that imports kgan first.
_PROBE = (
    "import kgan, os\n"
    "from tensorflow.python.util import _pywrap_util_port as port\n"
    "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], port.IsMklEnabled())\n"
)


def _probe(**env):
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_import_kgan_turns_onednn_on():
    assert _probe() == ["1", "True"]


def test_the_users_choice_is_kept():
    assert _probe(TF_ENABLE_ONEDNN_OPTS="0") == ["0", "False"]
