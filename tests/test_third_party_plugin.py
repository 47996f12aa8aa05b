"""A third-party plugin package, installed with pip, extends kgan with no change to kgan.

The module's tests pip-install `examples/kgan-example-plugin` (an architecture,
"resmlp", and a loss, "f_gan", behind `kgan.plugins` entry points) into this
environment, drive kgan in fresh processes that find the plugins the way a user's
would, and uninstall the package afterwards, even when a test fails.
"""

import csv
import importlib.util
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1] / "examples" / "kgan-example-plugin"
RECIPE = PACKAGE_DIR / "ring2d_resmlp_fgan.yaml"
DISTRIBUTION = "kgan-example-plugin"
# setuptools may write the distribution name with underscores.
ORIGIN = r"entry point '{name} = kgan_example_plugin\.{name}' of package kgan[-_]example[-_]plugin"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pip") is None, reason="pip is not installed in this environment"
)


def run(*args, cwd):
    """Runs a command in a fresh process; fails the test with its output if it fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (
        f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def kgan(*args, cwd):
    return run(sys.executable, "-c", "from kgan.cli import main; main()", *args, cwd=cwd)


def pip(*args, cwd):
    return run(sys.executable, "-m", "pip", *args, cwd=cwd)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A scratch directory with the package installed from a copy of its source.

    The copy keeps pip's build files out of the repository; `--no-index` and
    `--no-build-isolation` keep the install off the network.
    """
    workdir = tmp_path_factory.mktemp("third_party_plugin")
    source = workdir / "kgan-example-plugin"
    shutil.copytree(
        PACKAGE_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    try:
        pip("install", "--no-deps", "--no-build-isolation", "--no-index", source, cwd=workdir)
        yield workdir
    finally:
        pip("uninstall", "-y", DISTRIBUTION, cwd=workdir)


def test_kgan_plugins_lists_the_packages_plugins_with_their_origin(workdir):
    output = kgan("plugins", cwd=workdir).stdout
    sections = dict(re.findall(r"^(\w+):\n((?:  .*\n)*)", output, flags=re.MULTILINE))
    for kind, name, description in [
        ("architectures", "resmlp", "Residual MLP generator and discriminator"),
        ("losses", "f_gan", "f-GAN (Nowozin et al. 2016)"),
    ]:
        lines = sections[kind].splitlines()
        index = next(i for i, line in enumerate(lines) if line.startswith(f"  {name} "))
        assert description in lines[index]
        origin_line = lines[index + 1]
        assert re.fullmatch(rf"\s+from {ORIGIN.format(name=name)}", origin_line), origin_line
    assert "failed to load" not in output


def test_a_recipe_using_both_plugins_trains_through_the_cli(workdir):
    run_dir = workdir / "run"
    kgan(
        "train", RECIPE, "--run-dir", run_dir, "--quiet",
        "--set", "data.num_examples=256",
        "--set", "model.latent_dim=4",
        "--set", "model.generator.width=16",
        "--set", "model.discriminator.width=16",
        "--set", "train.epochs=2", "--set", "train.steps_per_epoch=3",
        "--set", "train.batch_size=16", "--set", "train.jit_compile=false",
        "--set", "samples.num=16", "--set", "eval.every_epochs=0",
        cwd=workdir,
    )
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["step"] for row in rows] == ["3", "6"]
    for row in rows:
        assert math.isfinite(float(row["d_loss"])) and math.isfinite(float(row["g_loss"])), row
    # The final generator is made of Keras layers only, so it loads here, where
    # the plugin package was never imported.
    generator = keras.models.load_model(run_dir / "generator.keras")
    assert generator.name == "resmlp_generator"
    assert sum("block" in layer.name and "dense" in layer.name for layer in generator.layers) == 4
    assert generator.predict(np.zeros((3, 4)), verbose=0).shape == (3, 2)


# The paper's output activations g_f and conjugates f*, literally (Nowozin et al.
# 2016, Table 2); the plugin computes f*(g_f(v)) in a simplified closed form.
TABLE_2 = {
    "kl": (lambda v: v, lambda t: np.exp(t - 1)),
    "reverse_kl": (lambda v: -np.exp(-v), lambda t: -1 - np.log(-t)),
    "pearson": (lambda v: v, lambda t: t**2 / 4 + t),
    "squared_hellinger": (lambda v: 1 - np.exp(-v), lambda t: t / (1 - t)),
    "jensen_shannon": (
        lambda v: np.log(2) - np.log1p(np.exp(-v)), lambda t: -np.log(2 - np.exp(t))
    ),
    "gan": (lambda v: -np.log1p(np.exp(-v)), lambda t: -np.log(1 - np.exp(t))),
}
REAL_LOGITS = [-2.5, -0.7, 0.0, 0.4, 1.3, 3.0]
FAKE_LOGITS = [1.1, -3.0, 0.2, -0.5, 2.2, 0.0]

LOSS_VALUES_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    import kgan

    real, fake, divergences = json.loads(sys.argv[1])
    real = tf.constant(real, tf.float32)[:, None]
    fake = tf.constant(fake, tf.float32)[:, None]
    values = {"origin": kgan.LOSSES.entry("f_gan").origin}
    for divergence in divergences:
        loss = kgan.get_loss({"name": "f_gan", "divergence": divergence})
        saddle = kgan.get_loss(
            {"name": "f_gan", "divergence": divergence, "generator_objective": "saddle"})
        values[divergence] = {
            "d": loss.discriminator_loss(real, fake).numpy()[:, 0].tolist(),
            "g": loss.generator_loss(fake).numpy()[:, 0].tolist(),
            "g_saddle": saddle.generator_loss(fake).numpy()[:, 0].tolist(),
            "probabilistic": loss.probabilistic,
        }
    minimax, non_saturating = kgan.get_loss("minimax"), kgan.get_loss("non_saturating")
    values["minimax_d"] = minimax.discriminator_loss(real, fake).numpy()[:, 0].tolist()
    values["minimax_g"] = minimax.generator_loss(fake).numpy()[:, 0].tolist()
    values["non_saturating_g"] = non_saturating.generator_loss(fake).numpy()[:, 0].tolist()
    try:
        kgan.get_loss({"name": "f_gan", "divergence": "pearsn"})
    except kgan.KganError as error:
        values["error"] = str(error)
    print(json.dumps(values))
""")


def test_the_installed_f_gan_loss_is_the_papers(workdir):
    argument = json.dumps([REAL_LOGITS, FAKE_LOGITS, list(TABLE_2)])
    output = run(sys.executable, "-c", LOSS_VALUES_SCRIPT, argument, cwd=workdir).stdout
    values = json.loads(output.strip().splitlines()[-1])
    assert re.fullmatch(ORIGIN.format(name="f_gan"), values["origin"])

    real, fake = np.array(REAL_LOGITS), np.array(FAKE_LOGITS)
    for divergence, (activation, conjugate) in TABLE_2.items():
        # D maximises E_P[g_f(v)] - E_Q[f*(g_f(v))]; G maximises E_Q[g_f(v)]
        # (section 3.2) or, in the saddle form, minimises the bound.
        expected = {
            "d": conjugate(activation(fake)) - activation(real),
            "g": -activation(fake),
            "g_saddle": -conjugate(activation(fake)),
        }
        for key, value in expected.items():
            np.testing.assert_allclose(
                values[divergence][key], value, rtol=1e-5, atol=1e-5, err_msg=f"{divergence} {key}"
            )
        assert values[divergence]["probabilistic"] == (divergence in ("jensen_shannon", "gan"))

    # The "gan" divergence is Goodfellow et al.'s value function: kgan's own minimax
    # loss, and with the alternative generator objective, its non-saturating one.
    np.testing.assert_allclose(values["gan"]["d"], values["minimax_d"], rtol=1e-6)
    np.testing.assert_allclose(values["gan"]["g_saddle"], values["minimax_g"], rtol=1e-6)
    np.testing.assert_allclose(values["gan"]["g"], values["non_saturating_g"], rtol=1e-6)
    assert 'f_gan has no divergence "pearsn". Did you mean "pearson"?' in values["error"]
