"""`kgan.export`: a SavedModel that serves without kgan, and the `export` command.

One tiny DCGAN is exported once per module. The checks that matter for
deployment run the SavedModel in subprocesses where kgan cannot be imported
(a plain Python with only TensorFlow, and `saved_model_cli`).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from PIL import Image

import kgan
from kgan import errors
from kgan import exported
from kgan import export
from kgan import images as images_lib

LATENT_DIM = 8
IMAGE_SHAPE = (12, 12, 1)
MAX_SAMPLES = 32
RECIPE_TEXT = "name: tiny-export\nmodel:\n  latent_dim: 8\n"

# The exact request bodies of the README's TensorFlow Serving section.
REST_COLUMNAR_REQUEST = '{"signature_name": "serving_default", "inputs": {"num_samples": 4, "seed": 7}}'
REST_ROW_REQUEST = '{"signature_name": "serving_default", "instances": [{"num_samples": 4, "seed": 7}]}'

# Runs in a Python that has TensorFlow but cannot import kgan: loads the
# SavedModel, calls every signature, and reports in JSON. (Keras stays
# importable: `import tensorflow` itself imports it.)
NO_KGAN_SCRIPT = r'''
import importlib.abc, json, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("kgan", "kgan_plugins"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
        return None

sys.meta_path.insert(0, Block())
report = {}
try:
    import kgan
    report["kgan_import"] = "succeeded"
except ModuleNotFoundError:
    report["kgan_import"] = "failed"

import numpy as np
import tensorflow as tf

model_dir, z_path, out_dir = sys.argv[1:4]
model = tf.saved_model.load(model_dir)
report["signatures"] = sorted(model.signatures)
serve = model.signatures["serving_default"]
np.save(f"{out_dir}/serve_a.npy", serve(num_samples=tf.constant(5), seed=tf.constant(7, tf.int64))["images"].numpy())
np.save(f"{out_dir}/serve_b.npy", serve(num_samples=tf.constant(5), seed=tf.constant(7, tf.int64))["images"].numpy())
np.save(f"{out_dir}/generate.npy", model.signatures["generate"](z=tf.constant(np.load(z_path)))["images"].numpy())
metadata = model.signatures["metadata"]()
report["latent_dim"] = int(metadata["latent_dim"])
report["recipe"] = metadata["recipe"].numpy().decode()

def error_of(signature, **inputs):
    try:
        signature(**inputs)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"

report["errors"] = {
    "negative": error_of(serve, num_samples=tf.constant(-1), seed=tf.constant(0, tf.int64)),
    "huge": error_of(serve, num_samples=tf.constant(2**31 - 1), seed=tf.constant(0, tf.int64)),
    "z_width": error_of(model.signatures["generate"], z=tf.zeros([2, 3])),
    "z_rank": error_of(model.signatures["generate"], z=tf.zeros([8])),
    "z_dtype": error_of(model.signatures["generate"], z=tf.zeros([2, 8], tf.float64)),
    "z_rows": error_of(model.signatures["generate"], z=tf.zeros([1000, 8])),
}
print("REPORT " + json.dumps(report))
'''


def _to_uint8(images):
    # The mapping of kgan.images.save_grid: [-1, 1] -> [0, 255], halves to even.
    return np.clip((np.asarray(images) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


def _tiny_gan():
    keras.utils.set_random_seed(3)
    generator = kgan.generator("dcgan", LATENT_DIM, IMAGE_SHAPE, base_filters=4)
    discriminator = kgan.discriminator("dcgan", IMAGE_SHAPE, base_filters=4)
    # Batch-norm statistics away from their initial values, so that a
    # SavedModel running the generator in training mode would differ.
    for layer in generator.layers + discriminator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.random.RandomState(0).normal(size=layer.moving_mean.shape))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.5))
    gan = kgan.GAN(generator, discriminator, latent_dim=LATENT_DIM, seed=1)
    gan.compile(d_optimizer="adam", g_optimizer="adam", loss="non_saturating")
    return gan


@pytest.fixture(scope="module")
def gan():
    return _tiny_gan()


@pytest.fixture(scope="module")
def model_dir(gan, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export") / "model")
    export.export_saved_model(gan, path, recipe=RECIPE_TEXT, max_samples=MAX_SAMPLES)
    return path


@pytest.fixture(scope="module")
def loaded(model_dir):
    return tf.saved_model.load(model_dir)


@pytest.fixture(scope="module")
def no_kgan_run(gan, model_dir, tmp_path_factory):
    """Runs NO_KGAN_SCRIPT once: (report, output dir, the z it fed to `generate`)."""
    out_dir = tmp_path_factory.mktemp("no_kgan")
    z = np.random.RandomState(0).normal(size=(6, LATENT_DIM)).astype(np.float32)
    np.save(out_dir / "z.npy", z)
    # -I: no PYTHONPATH, no user site, no current directory on sys.path.
    result = subprocess.run(
        [sys.executable, "-I", "-c", NO_KGAN_SCRIPT, model_dir, str(out_dir / "z.npy"),
         str(out_dir)],
        capture_output=True, text=True, timeout=300, cwd=str(out_dir),
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(line[len("REPORT "):]), out_dir, z


# --- Without kgan (subprocess) ---------------------------------------------------


def test_saved_model_runs_where_kgan_cannot_be_imported(no_kgan_run):
    report, _, _ = no_kgan_run
    assert report["kgan_import"] == "failed"
    assert report["signatures"] == ["discriminate", "generate", "metadata", "serving_default"]
    assert report["latent_dim"] == LATENT_DIM
    assert report["recipe"] == RECIPE_TEXT


def test_serving_default_without_kgan_repeats_and_equals_gan_generate(gan, no_kgan_run):
    _, out_dir, _ = no_kgan_run
    first, second = np.load(out_dir / "serve_a.npy"), np.load(out_dir / "serve_b.npy")
    assert first.dtype == np.uint8 and first.shape == (5, *IMAGE_SHAPE)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, _to_uint8(gan.generate(5, seed=7)))


def test_generate_signature_without_kgan_equals_the_generator(gan, no_kgan_run):
    _, out_dir, z = no_kgan_run
    expected = gan.generator(z, training=False).numpy()
    np.testing.assert_allclose(np.load(out_dir / "generate.npy"), expected, rtol=0, atol=1e-5)


def test_bad_inputs_without_kgan_give_errors_that_name_the_input(no_kgan_run):
    report, _, _ = no_kgan_run
    messages = report["errors"]
    assert "num_samples must be >= 0" in messages["negative"]
    assert f"num_samples must be <= {MAX_SAMPLES}" in messages["huge"]
    assert "--max-samples" in messages["huge"]
    assert f"tensor z [2,3] is not compatible with expected shape [?,{LATENT_DIM}]" in (
        messages["z_width"]
    )
    assert f"tensor z [8] is not compatible with expected shape [?,{LATENT_DIM}]" in (
        messages["z_rank"]
    )
    assert "expected to be a float tensor but is a double tensor" in messages["z_dtype"]
    assert f"z may hold at most {MAX_SAMPLES} rows" in messages["z_rows"]


# --- saved_model_cli (subprocess) ------------------------------------------------


def _saved_model_cli(*args):
    result = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_saved_model_cli_show_lists_the_signatures(model_dir):
    shown = _saved_model_cli("show", "--dir", model_dir, "--all")
    for name in ("serving_default", "generate", "discriminate", "metadata"):
        assert f"signature_def['{name}']" in shown
    for tensor in ("inputs['num_samples']", "inputs['seed']", "outputs['images']",
                   "inputs['z']", "outputs['score']"):
        assert tensor in shown
    assert "dtype: DT_UINT8" in shown


def test_saved_model_cli_run_writes_images(gan, model_dir, tmp_path):
    _saved_model_cli(
        "run", "--dir", model_dir, "--tag_set", "serve",
        "--signature_def", "serving_default",
        "--input_exprs", "num_samples=3;seed=11",
        "--outdir", str(tmp_path),
    )
    written = np.load(tmp_path / "images.npy")
    np.testing.assert_array_equal(written, _to_uint8(gan.generate(3, seed=11)))


# --- TensorFlow Serving's REST format, in process ----------------------------------


def _predict_rest(model, request_body):
    """Answers a TF Serving REST `:predict` body as TF Serving does (JSON in, JSON out)."""
    request = json.loads(request_body)
    signature = model.signatures[request.get("signature_name", "serving_default")]
    specs = signature.structured_input_signature[1]
    if "inputs" in request:
        values, key = request["inputs"], "outputs"
    else:
        values = {name: [row[name] for row in request["instances"]] for name in specs}
        key = "predictions"
    tensors = {name: tf.constant(value, specs[name].dtype) for name, value in values.items()}
    outputs = {name: tensor.numpy().tolist() for name, tensor in signature(**tensors).items()}
    # One named output: TF Serving omits the name.
    body = next(iter(outputs.values())) if len(outputs) == 1 else outputs
    return json.dumps({key: body})


@pytest.mark.parametrize("request_body", [REST_COLUMNAR_REQUEST, REST_ROW_REQUEST],
                         ids=["inputs", "instances"])
def test_tf_serving_rest_request_gives_the_documented_response(gan, loaded, request_body):
    response = json.loads(_predict_rest(loaded, request_body))
    key = "outputs" if '"inputs"' in request_body else "predictions"
    assert list(response) == [key]
    images = np.asarray(response[key])
    assert images.shape == (4, *IMAGE_SHAPE)
    np.testing.assert_array_equal(images, _to_uint8(gan.generate(4, seed=7)))


# --- In process ---------------------------------------------------------------------


def test_different_seeds_give_different_images(loaded):
    serve = loaded.signatures["serving_default"]
    a = serve(num_samples=tf.constant(3), seed=tf.constant(1, tf.int64))["images"]
    b = serve(num_samples=tf.constant(3), seed=tf.constant(2, tf.int64))["images"]
    assert not np.array_equal(a.numpy(), b.numpy())


def test_zero_samples_give_an_empty_batch(loaded):
    serve = loaded.signatures["serving_default"]
    images = serve(num_samples=tf.constant(0), seed=tf.constant(1, tf.int64))["images"]
    assert images.shape == (0, *IMAGE_SHAPE)


def test_discriminate_returns_d_probability_per_image(gan, loaded):
    images = gan.generate(3, seed=0)
    score = loaded.signatures["discriminate"](images=tf.constant(images))["score"].numpy()
    logits = gan.discriminator(images, training=False).numpy()[:, 0]
    np.testing.assert_allclose(score, 1 / (1 + np.exp(-logits)), rtol=0, atol=1e-6)


def test_discriminate_returns_raw_critic_score_for_wasserstein(tmp_path):
    gan = _tiny_gan()
    gan.compile(d_optimizer="adam", g_optimizer="adam", loss="wasserstein")
    metadata = export.export_saved_model(gan, str(tmp_path / "w"))
    assert metadata["discriminator_output"] == "critic_score"
    images = gan.generate(2, seed=0)
    score = tf.saved_model.load(str(tmp_path / "w")).signatures["discriminate"](
        images=tf.constant(images))["score"].numpy()
    np.testing.assert_allclose(
        score, gan.discriminator(images, training=False).numpy()[:, 0], rtol=0, atol=1e-5
    )


def test_describe_reads_recipe_sizes_and_version(model_dir):
    metadata = exported.describe(model_dir)
    assert metadata["kgan_version"] == kgan.__version__
    assert metadata["latent_dim"] == LATENT_DIM
    assert metadata["image_shape"] == list(IMAGE_SHAPE)
    assert metadata["max_samples"] == MAX_SAMPLES
    assert metadata["recipe"] == RECIPE_TEXT
    assert metadata["discriminator_output"] == "probability"
    extra = os.path.join(model_dir, export.EXTRA_DIR)
    with open(os.path.join(extra, export.RECIPE_FILE), encoding="utf-8") as f:
        assert f.read() == RECIPE_TEXT
    with open(os.path.join(extra, exported.METADATA_FILE), encoding="utf-8") as f:
        assert json.load(f)["latent_dim"] == LATENT_DIM


def test_sampler_generates_what_the_gan_generates(gan, model_dir):
    sampler = exported.load_sampler(model_dir)
    # 40 > MAX_SAMPLES: the sampler splits the request into allowed batches.
    np.testing.assert_allclose(sampler.generate(40, seed=3), gan.generate(40, seed=3),
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("max_samples", [0, -5, 2.5, True])
def test_bad_max_samples_is_refused(gan, tmp_path, max_samples):
    with pytest.raises(errors.KganError, match="max_samples"):
        export.export_saved_model(gan, str(tmp_path / "m"), max_samples=max_samples)


def test_existing_out_dir_needs_overwrite(gan, model_dir):
    with pytest.raises(errors.KganError, match="already exists.*overwrite"):
        export.export_saved_model(gan, model_dir)


def test_unknown_format_lists_the_formats(gan, tmp_path):
    with pytest.raises(errors.KganError, match='"onx".*Did you mean "onnx".*saved_model'):
        export.export(gan, str(tmp_path / "m"), format="onx")


def test_litert_export_matches_the_generator(gan, tmp_path):
    export.export(gan, str(tmp_path / "lite"), format="litert")
    interpreter = tf.lite.Interpreter(model_path=str(tmp_path / "lite" / "generator.tflite"))
    z = np.random.RandomState(1).normal(size=(3, LATENT_DIM)).astype(np.float32)
    (out,) = interpreter.get_signature_runner()(z=z).values()
    np.testing.assert_allclose(out, gan.generator(z, training=False).numpy(), rtol=0, atol=1e-5)
    assert exported.describe(str(tmp_path / "lite"))["format"] == "litert"


# --- Command line ----------------------------------------------------------------------


@pytest.fixture
def run_dir(gan, tmp_path):
    """A run directory as `kgan train` leaves it, holding the tiny GAN."""
    from kgan import config

    directory = tmp_path / "run"
    directory.mkdir()
    recipe = config.resolve(os.path.join(os.path.dirname(__file__), "..", "recipes",
                                         "mnist.yaml"))
    recipe["name"] = "tiny-export"
    recipe["model"]["latent_dim"] = LATENT_DIM
    (directory / "recipe.yaml").write_text(config.dump(recipe), encoding="utf-8")
    gan.save(str(directory / "gan.keras"))
    return str(directory)


def test_export_command_writes_a_described_saved_model(gan, run_dir, tmp_path):
    from kgan.cli import main

    out_dir = str(tmp_path / "exported")
    runner = CliRunner()
    result = runner.invoke(main, ["export", run_dir, out_dir, "--max-samples", "16"])
    assert result.exit_code == 0, result.output
    described = runner.invoke(main, ["export", "--describe", out_dir])
    assert described.exit_code == 0, described.output
    assert f"kgan version:         {kgan.__version__}" in described.output
    assert f"latent_dim:           {LATENT_DIM}" in described.output
    assert "image_shape:          [12, 12, 1]" in described.output
    assert "name: tiny-export" in described.output
    served = tf.saved_model.load(out_dir).signatures["serving_default"](
        num_samples=tf.constant(2), seed=tf.constant(5, tf.int64))["images"]
    np.testing.assert_array_equal(served.numpy(), _to_uint8(gan.generate(2, seed=5)))


def test_export_command_refuses_bad_arguments(run_dir, tmp_path):
    from kgan.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["export", run_dir])
    assert result.exit_code == 2 and "RUN_DIR and OUT_DIR" in result.output
    result = runner.invoke(main, ["export", run_dir, str(tmp_path / "x"), "--format", "tensorrt"])
    assert result.exit_code == 2 and "saved_model" in result.output
    result = runner.invoke(main, ["export", "--describe", str(tmp_path)])
    assert result.exit_code == 2 and "not a kgan export" in result.output


def test_sample_command_accepts_a_saved_model(gan, model_dir, tmp_path):
    from kgan.cli import main

    png = str(tmp_path / "grid.png")
    result = CliRunner().invoke(main, ["sample", model_dir, "-n", "4", "--seed", "2", "-o", png])
    assert result.exit_code == 0, result.output
    expected = images_lib.make_grid(gan.generate(4, seed=2))
    np.testing.assert_array_equal(np.array(Image.open(png)), expected[..., 0])
