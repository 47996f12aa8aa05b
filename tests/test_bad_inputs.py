"""A catalogue of bad inputs: each is refused with one paragraph that names the bad thing.

Every case runs as a user would meet it -- a `kgan` command (in-process, exit
status 2) or a Python call (the exception type) -- and asserts that there is
no traceback, that the message names what is wrong, and that nothing on disk
changed: the working directory and any run directory involved are the same,
file for file, before and after.
"""

import hashlib
import json
import os
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import kgan
from kgan import exported
from kgan import runs
from kgan.cli import main

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
RING = os.path.join(RECIPES, "ring2d.yaml")
TINY = """
    name: tiny
    data: {name: ring2d, num_examples: 512}
    model:
      latent_dim: 2
      generator: {name: mlp, hidden_units: [8], output_activation: linear}
      discriminator: {name: mlp, hidden_units: [8]}
    train: {epochs: 1, steps_per_epoch: 4, batch_size: 32}
    samples: {num: 16}
"""
FIXTURES = {}


def _tree(root):
    """`{relative path: sha256}` of every file below `root` (what "unchanged" compares)."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, root)] = hashlib.sha256(file.read()).hexdigest()
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with a finished tiny run, a conditional one, an export and some files."""
    root = tmp_path_factory.mktemp("bad-inputs")
    (root / "tiny.yaml").write_text(textwrap.dedent(TINY))
    conditional = TINY.replace("generator: {name: mlp,", "generator: {name: cgan,").replace(
        "discriminator: {name: mlp,", "discriminator: {name: cgan,").replace(
        "latent_dim: 2", "latent_dim: 2\n      conditional: true")
    (root / "tiny_cgan.yaml").write_text(textwrap.dedent(conditional))
    for name in ("tiny", "tiny_cgan"):
        result = CliRunner().invoke(main, ["train", str(root / f"{name}.yaml"), "--run-dir",
                                           str(root / name), "--quiet"])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["export", str(root / "tiny"), str(root / "exported")])
    assert result.exit_code == 0, result.output
    (root / "list.yaml").write_text("- a\n- b\n")
    (root / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (root / "empty_images").mkdir()
    (root / "broken_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    (root / "vectors.npy").write_bytes(b"")  # replaced below by a real array
    np.save(root / "vectors.npy", np.linspace(-3, 3, 64, dtype=np.float32).reshape(32, 2))
    os.makedirs(root / "damaged" / runs.CHECKPOINTS)
    (root / "damaged" / runs.RECIPE).write_text((root / "tiny" / runs.RECIPE).read_text())
    (root / "damaged" / runs.CHECKPOINTS / runs.STATE).write_text("{not json")
    return root


def _recipe(workspace, text, name="case.yaml"):
    path = workspace / "cases" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


# (id, recipe text or None for tiny.yaml, extra arguments of `kgan recipe show` / `train`,
#  what the message must name). Each runs through both commands.
RECIPE_CASES = [
    ("yaml-syntax", "train:\n  epochs: 3\n   batch_size: 4\n", [], ["line 4, column 14"]),
    ("duplicate-key", "train: {epochs: 1}\ntrain: {epochs: 2}\n", [],
     ["`train` twice", "line 2 and line 3"]),
    ("unknown-top-key", "trian: {epochs: 1}\n", [], ["`trian`", 'Did you mean "train"']),
    ("unknown-nested-key", "", ["train.d_optimzer.learning_rate=1e-3"],
     ["`train.d_optimzer`", 'Did you mean "d_optimizer"']),
    ("wrong-type-int", "", ["train.epochs=three"], ["`train.epochs` must be int", "'three'"]),
    ("wrong-type-bool", "deterministic: 1\n", [], ["`deterministic` must be bool"]),
    ("section-as-scalar", "train: 5\n", [], ["`train` must be a section"]),
    ("nan-learning-rate", "", ["train.d_optimizer.learning_rate=.nan"],
     ["`train.d_optimizer.learning_rate` is nan", "finite numbers"]),
    ("inf-learning-rate", "", ["train.g_optimizer.learning_rate=.inf"],
     ["`train.g_optimizer.learning_rate` is inf"]),
    ("negative-learning-rate", "", ["train.d_optimizer.learning_rate=-1e-3"],
     ["learning_rate` must be positive"]),
    ("zero-d-steps", "", ["train.d_steps=0"], ["`train.d_steps`", "integer >= 1, got 0"]),
    ("zero-batch", "", ["train.batch_size=0"], ["`train.batch_size`", "got 0"]),
    ("mode-seeking-batch-one", "regularizers: [mode_seeking]\n", ["train.batch_size=1"],
     ["`train.batch_size`", "mode_seeking regularizer needs a minibatch of at least 2"]),
    ("zero-latent", "", ["model.latent_dim=0"], ["`model.latent_dim`", "got 0"]),
    ("ema-decay-above-one", "", ["model.ema_decay=1.5"], ["`model.ema_decay`", "got 1.5"]),
    ("strategy-typo", "", ["train.strategy=mirored"], ['Did you mean "mirrored"']),
    ("precision-typo", "", ["train.precision=float64"],
     ["`train.precision` must be one of float32, mixed_float16, mixed_bfloat16"]),
    ("jit-compile-word", "", ["train.jit_compile=sometimes"], ["`train.jit_compile`"]),
    ("epochs-zero", "", ["train.epochs=0"], ["`train.epochs` must be at least 1"]),
    ("checkpoints-between-executions", "",
     ["train.steps_per_execution=5", "checkpoint.every_steps=12"],
     ["`checkpoint.every_steps` is 12, not a multiple of train.steps_per_execution (5)",
      "e.g. 10"]),
    ("eval-samples-few", "", ["eval.num_samples=5"], ["`eval.num_samples` must be at least 20"]),
    ("unknown-loss", "", ["loss.name=hinje"], ['Unknown loss "hinje"', 'Did you mean "hinge"']),
    ("unknown-architecture", "", ["model.generator.name=dcgam"],
     ['Unknown architecture "dcgam"', "Known architectures"]),
    ("unknown-dataset", "", ["data.name=ring"], ['Unknown dataset "ring"', "ring2d"]),
    ("unknown-optimizer", "", ["train.g_optimizer.name=adamm"],
     ['unknown optimizer "adamm"', 'Did you mean "adam"']),
    ("optimizer-bad-argument", "", ["train.g_optimizer.beta1=0.5"],
     ["train.g_optimizer`: Keras' Adam optimizer rejected"]),
    ("unknown-schedule", "", ["train.g_optimizer.learning_rate={name: cosine}"],
     ["`train.g_optimizer.learning_rate.name`", "CosineDecay"]),
    ("schedule-bad-argument", "", ["train.g_optimizer.learning_rate={name: CosineDecay}"],
     ["keras.optimizers.schedules.CosineDecay rejected"]),
    ("loss-bad-parameter", "", ["loss={name: hinge, gp_weight: 3}"],
     ['Loss "hinge" has no parameter "gp_weight"']),
    ("architecture-option-typo", "", ["model.generator.hiden_units=[8]"],
     ['architecture "mlp" has no option "hiden_units"', 'Did you mean "hidden_units"']),
    ("dataset-parameter-typo", "", ["data.num_modez=4"],
     ['data.num_modez: dataset "ring2d" has no parameter', 'Did you mean "num_modes"']),
    ("dataset-missing-parameter", "data: {name: images}\n", [],
     ['data.path is required by dataset "images"']),
    ("unknown-regularizer", "regularizers: [gradient_penalti]\n", [],
     ['Unknown regularizer "gradient_penalti"', 'Did you mean "gradient_penalty"']),
    ("regularizer-bad-parameter", "regularizers: [{name: r1, gama: 1}]\n", [],
     ['Regularizer "r1" has no parameter "gama"']),
    ("regularizer-twice", "loss: {name: wasserstein_gp}\nregularizers: [gradient_penalty]\n",
     [], ["already adds the gradient_penalty regularizer"]),
    ("regularizers-exclude", "loss: {name: wasserstein}\nregularizers: [gradient_penalty]\n",
     [], ["weight clipping clips the critic's weights", "clip_value to null"]),
    ("regularizer-without-d", "model: {discriminator: null}\nloss: {name: mmd}\n"
     "regularizers: [r1]\n", [], ["r1 regularises a discriminator"]),
    ("adversarial-without-d", "model: {discriminator: null}\n", [],
     ['"non_saturating" is adversarial and needs a discriminator']),
    ("direct-with-d", "loss: {name: mmd}\n", [], ['"mmd" is direct (no discriminator)']),
    ("plugin-file-missing", "plugins: [nowhere.py]\n", [],
     ['Plugin file "nowhere.py" does not exist']),
    ("plugin-file-broken", "plugins: [../broken_plugin.py]\n", [],
     ["failed to import: RuntimeError: broken on purpose"]),
    ("plugins-not-a-list", "plugins: my_plugin.py\n", [], ["plugins must be a list"]),
    ("override-without-equals", "", ["train.epochs"], ["is not KEY=VALUE"]),
    ("override-bad-yaml", "", ["train.epochs=[1"], ["is not a YAML scalar or list"]),
    ("override-through-scalar", "", ["train.epochs.x=1"], ["train.epochs is a int"]),
]


@pytest.mark.parametrize("case, text, overrides, expected", RECIPE_CASES,
                         ids=[case[0] for case in RECIPE_CASES])
def test_bad_recipes_are_refused_before_any_work(workspace, case, text, overrides, expected,
                                                 monkeypatch):
    path = _recipe(workspace, ("name: case\n" + text) if text else open(RING).read(),
                   f"{case}.yaml")
    monkeypatch.chdir(workspace)
    sets = [arg for override in overrides for arg in ("--set", override)]
    for command in (["recipe", "show", path], ["train", path, "--run-dir", "run-" + case]):
        _assert_refused(workspace, [*command, *sets], expected)


def _assert_refused(workspace, args, expected, exit_code=2, extra_dirs=()):
    before = _tree(workspace)
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(
        result.exception, SystemExit), result.output
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("Error: "), result.output
    for text in expected:
        assert text in message, message
    assert _tree(workspace) == before, "the refusal changed files on disk"
    return message


# Files and folders: the recipe is right, what it points at is not.
FILE_CASES = [
    ("recipe-missing", ["train", "nowhere.yaml"], ['Recipe file "nowhere.yaml" does not exist']),
    ("recipe-a-list", ["train", "list.yaml"], ["must be a YAML mapping", "holds a list"]),
    ("recipe-latin1", ["train", "latin1.yaml"], ["is not UTF-8 text", "byte 9 (line 1)"]),
    ("images-folder-missing", ["train", "{tiny}", "--set", "data={name: images, path: gone}"],
     ["data.path: the image folder", "does not exist"]),
    ("images-folder-empty",
     ["train", "{tiny}", "--set", "data={name: images, path: ../empty_images}"],
     ["data.path: no images"]),
    ("arrays-file-missing", ["train", "{tiny}", "--set", "data={name: arrays, path: none.npy}"],
     ["data.path: the array file", "does not exist"]),
    ("arrays-bad-scale",
     ["train", "{tiny}", "--set", "data={name: arrays, path: ../vectors.npy, scale: unit}"],
     ["data.scale must be one of"]),
    ("arrays-out-of-range", ["train", "{tiny}", "--set", "data={name: arrays, path: ../vectors.npy}"],
     ["outside [-1, 1]", "data.scale: none"]),
    ("tfds-unknown", ["train", "{tiny}", "--set", "data={name: tfds, dataset: mnistt}"],
     ['tensorflow-datasets has no dataset "mnistt"', "Close names: mnist"]),
    ("tfds-bad-split",
     ["train", "{tiny}", "--set", "data={name: tfds, dataset: mnist, split: validation}"],
     ['has no split "validation"', "Its splits:"]),
    ("dataset-bad-value", ["train", "{tiny}", "--set", "data.std=-1"],
     ["data.std must be a number > 0, got -1"]),
    ("batch-larger-than-data", ["train", "{tiny}", "--set", "train.batch_size=1024"],
     ["has 512 examples, fewer than one training step"]),
    ("conditional-unlabelled",
     ["train", "{tiny_cgan}", "--set", "data={name: gaussian1d}"],
     ["needs labelled data"]),
    ("output-range", ["train", os.path.join(RECIPES, "gaussian1d.yaml"), "--set",
                      "model.generator.output_activation=tanh"],
     ["lies in (-1, 1), but the data lie in", "output_activation: linear"]),
    ("huge-latent", ["train", "{tiny}", "--set", "model.latent_dim=1000000000",
                     "--set", "model.generator.hidden_units=[1000]"],
     ["needs more memory than this machine has", "GB"]),
    ("run-dir-taken", ["train", "{tiny}", "--run-dir", "tiny"], ["already holds a run"]),
    ("resume-not-a-run", ["train", "--resume", "empty_images"], ["is not a kgan run directory"]),
    ("resume-damaged-state", ["train", "--resume", "damaged"],
     ["state.json is damaged", "not JSON at line 1", "cannot resume exactly"]),
    ("resume-with-recipe", ["train", "{tiny}", "--resume", "tiny"],
     ["give no RECIPE, --set or --run-dir"]),
    ("no-recipe", ["train"], ["Give a RECIPE file"]),
    ("quiet-and-verbose", ["train", "{tiny}", "--quiet", "--verbose"], ["not both"]),
    ("sample-huge-picture", ["sample", "tiny", "-n", "1000000000", "-o", "x.png"],
     ["a picture shows at most 100,000 samples", "-o samples.npy"]),
    ("sample-huge-file", ["sample", "tiny", "-n", "100000000000000", "-o", "x.npy"],
     ["would take 800 TB", "free"]),
    ("sample-bad-extension", ["sample", "tiny", "-o", "x.jpeg"], ["write a picture (.png)"]),
    ("sample-no-best", ["sample", "tiny", "--checkpoint", "best", "-o", "x.png"],
     ["records no best checkpoint"]),
    ("sample-missing-checkpoint", ["sample", "tiny", "--checkpoint", "gone.keras"],
     ['Checkpoint "gone.keras" does not exist']),
    ("sample-label-unconditional", ["sample", "tiny", "--label", "1"],
     ["is an unconditional GAN"]),
    ("sample-label-out-of-range", ["sample", "tiny_cgan", "--label", "9"],
     ["--label 9 is out of range", "labels 0 to 7"]),
    ("sample-export-huge", ["sample", "exported", "-n", "1000000000", "-o", "x.png"],
     ["a picture shows at most 100,000 samples"]),
    ("sample-not-a-run", ["sample", "empty_images"], ["is not a kgan run directory"]),
    ("evaluate-parzen-toy", ["evaluate", "tiny", "--parzen", "-o", "e.json"],
     ["--parzen measures against a tensorflow-datasets image dataset"]),
    ("export-over-a-run", ["export", "tiny", "tiny_cgan"], ["already exists"]),
    ("export-describe-non-export", ["export", "--describe", "tiny"],
     ["is not a kgan export"]),
    ("report-not-a-run", ["report", "empty_images"], ["is not a kgan run directory"]),
    ("plot-not-a-run", ["plot", "empty_images"], ["is not a kgan run directory"]),
    ("interpolate-vectors", ["interpolate", "tiny", "-o", "x.png"],
     ["kgan interpolate renders images", "vectors of shape (2,)"]),
    ("evaluator-unknown-dataset", ["evaluator", "train", "mnistt"],
     ['has no dataset "mnistt"']),
]


@pytest.mark.parametrize("case, args, expected", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_files_runs_and_commands_are_refused(workspace, case, args, expected, monkeypatch):
    monkeypatch.chdir(workspace)
    args = [a.replace("{tiny}", str(workspace / "tiny.yaml")).replace(
        "{tiny_cgan}", str(workspace / "tiny_cgan.yaml")) for a in args]
    if case.startswith(("images-", "arrays-")):
        # data.path is read from the recipe's folder: put the recipe in cases/.
        args[1] = _recipe(workspace, open(args[1]).read(), "tiny.yaml")
    _assert_refused(workspace, args, expected)


def test_a_second_writer_is_refused_while_a_run_trains(workspace, monkeypatch):
    import shutil

    monkeypatch.chdir(workspace)
    unfinished = workspace / "unfinished"
    shutil.copytree(workspace / "tiny", unfinished)
    os.remove(unfinished / runs.FINAL_GAN)  # so that --resume would train it
    with runs.lock(str(unfinished)):  # as a first `kgan train --resume` holds it
        _assert_refused(workspace, ["train", "--resume", unfinished],
                        ["is being trained already, by process", "Wait for it to finish"])
    with runs.lock(str(unfinished)):  # the lock left with its holder
        pass


# The Python API: the exception type that fits, and the message.
def _networks():
    generator = kgan.generator("mlp", 2, (3,), hidden_units=(4,), output_activation="linear")
    discriminator = kgan.discriminator("mlp", (3,), hidden_units=(4,))
    return generator, discriminator


def _compiled():
    gan = kgan.GAN(*_networks(), latent_dim=2)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    return gan


PYTHON_CASES = [
    ("gan-unknown-argument", lambda: kgan.GAN(*_networks(), latent_dim=2, bad_kwarg=1),
     TypeError, ["GAN() has no argument 'bad_kwarg'", "It takes: generator"]),
    ("gan-without-d", lambda: kgan.GAN(_networks()[0], None, latent_dim=2), TypeError,
     ["kgan.DirectModel"]),
    ("gan-not-a-model", lambda: kgan.GAN("dcgan", _networks()[1], latent_dim=2), TypeError,
     ["The generator must be a keras.Model, got str"]),
    ("gan-zero-k", lambda: kgan.GAN(*_networks(), latent_dim=2, d_steps=0), ValueError,
     ["d_steps (k, discriminator updates per generator update) must be an integer >= 1"]),
    ("gan-latent-mismatch", lambda: kgan.GAN(*_networks(), latent_dim=5), ValueError,
     ["latent_dim is 5"]),
    ("fit-before-compile", lambda: kgan.GAN(*_networks(), latent_dim=2).fit(np.zeros((8, 3))),
     ValueError, ["GAN.fit() needs the model compiled first"]),
    ("compile-one-optimizer", lambda: kgan.GAN(*_networks(), latent_dim=2).compile(
        *(2 * [keras.optimizers.Adam()])), ValueError, ["the same optimizer object"]),
    ("compile-keras-argument", lambda: kgan.GAN(*_networks(), latent_dim=2).compile(
        "adam", "adam", optimizer="adam"), ValueError, ["does not take `optimizer`"]),
    ("compile-unknown-loss", lambda: kgan.GAN(*_networks(), latent_dim=2).compile(
        "adam", "adam", loss="hinje"), LookupError, ['Unknown loss "hinje"']),
    ("fit-wrong-shape", lambda: _compiled().fit(np.zeros((8, 5), "float32"), verbose=0),
     ValueError, ["makes samples of shape (3,)", "have shape (5,)"]),
    ("generate-zero", lambda: _compiled().generate(0), ValueError,
     ["num_samples must be an integer >= 1"]),
    ("generate-labels-unconditional", lambda: _compiled().generate(4, labels=1), ValueError,
     ["is not conditional"]),
    ("get-loss-number", lambda: kgan.get_loss(3), ValueError, ["registered loss name"]),
    ("direct-with-d-optimizer", lambda: kgan.DirectModel(_networks()[0], latent_dim=2).compile(
        "adam", d_optimizer="adam"), ValueError, ["has no discriminator"]),
    ("set-seed-text", lambda: kgan.set_seed("zero"), ValueError, ["seed must be an integer"]),
    ("pipeline-bad-k", lambda: kgan.data.pipeline(kgan.data.load("ring2d"), 8, 0, seed=0),
     ValueError, ["d_steps (k, "]),
    ("load-evaluator-unknown", lambda: kgan.evaluator.load_evaluator("kmnist"),
     FileNotFoundError, ["kgan evaluator train kmnist"]),
]


@pytest.mark.parametrize("case, call, kind, expected", PYTHON_CASES,
                         ids=[c[0] for c in PYTHON_CASES])
def test_bad_python_calls_raise_kgans_error_of_the_right_kind(case, call, kind, expected,
                                                              tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(kind) as info:
        call()
    assert isinstance(info.value, kgan.KganError), type(info.value)
    for text in expected:
        assert text in str(info.value), str(info.value)
    assert not os.listdir(tmp_path)


# The exported SavedModel: refused inside TensorFlow with a message, or by kgan's reader.
def test_bad_requests_to_an_export_are_refused(workspace):
    model = tf.saved_model.load(str(workspace / "exported"))
    serve = model.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be <= 1024"):
        serve(num_samples=tf.constant(5000), seed=tf.constant(0, tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be >= 0"):
        serve(num_samples=tf.constant(-1), seed=tf.constant(0, tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="z"):
        model.signatures["generate"](z=tf.zeros((3, 5)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="seed must be one integer"):
        serve(num_samples=tf.constant(2), seed=tf.constant([1, 2], tf.int64))
    for call, kind, text in (
        (lambda: exported.load_sampler(str(workspace / "tiny")), ValueError,
         "is not a SavedModel directory"),
        (lambda: exported.describe(str(workspace / "tiny.yaml")), ValueError,
         "is not a directory"),
        (lambda: exported.load_sampler(str(workspace / "exported")).generate(4, labels=2),
         ValueError, "takes no labels"),
    ):
        with pytest.raises(kind, match=text):
            call()


def test_the_catalogue_holds_more_than_sixty_distinct_cases():
    cases = ([c[0] for c in RECIPE_CASES] + [c[0] for c in FILE_CASES]
             + [c[0] for c in PYTHON_CASES] + ["second-writer", "export-requests"])
    assert len(cases) == len(set(cases)) and len(cases) >= 60, len(cases)
    # Every recipe case runs through two commands: `recipe show` and `train`.
    assert json.dumps(cases)
