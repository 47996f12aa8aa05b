"""Export a trained GAN as a self-contained TensorFlow SavedModel.

The SavedModel runs with TensorFlow alone (no kgan, no Keras), so it serves
from TensorFlow Serving, a web service or a notebook. Its signatures:

- `serving_default`: `num_samples` (int32 scalar), `seed` (int64 scalar) ->
  `images`, uint8 `[n, H, W, C]`. The noise is `kgan.noise.sample`'s
  stateless draw, so a seed gives the images `gan.generate(n, seed)` gives.
- `generate`: `z` (float32 `[n, latent_dim]`) -> `images`, float32 in [-1, 1].
- `discriminate`: `images` (float32 `[n, H, W, C]` in [-1, 1]) -> `score`:
  D's probability that each image is real for the probabilistic losses, its
  raw critic score otherwise (`metadata`'s `discriminator_output` says which).
  A GAN without a discriminator (a direct loss such as `mmd`) has no
  `discriminate`, and its `discriminator_output` is "none".
- `metadata`: no inputs -> the recipe (YAML), latent size, image shape, kgan
  version and the export settings, as string/int tensors.

A conditional GAN's export (`metadata`'s `num_classes` > 0) adds a `labels`
input, int32 `[n]`, to `generate`, and to `discriminate` when D takes labels
(cgan); `serving_default` takes `labels` as one label for every image or one
per image. An AC-GAN's `discriminate` also returns `class_probabilities`.

Example:

```python
kgan.export.export_saved_model(gan, "exported/mnist", recipe=recipe)
print(kgan.exported.describe("exported/mnist"))
```

`kgan.exported` reads such a directory back (`describe`, `load_sampler`).
"""

import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kgan import _version
from kgan import config
from kgan import errors
from kgan import exported
from kgan import noise

FORMATS = ("saved_model", "onnx", "litert")
METADATA_FILE = exported.METADATA_FILE
RECIPE_FILE = "recipe.yaml"
# Files beside the graph that tools read without loading it; `assets.extra`
# is the SavedModel directory TensorFlow Serving reserves for such files.
EXTRA_DIR = "assets.extra"


def export_saved_model(gan, out_dir, *, recipe=None, max_samples=1024, overwrite=False,
                       verbose=False):
    """Writes `gan` to `out_dir` as a TensorFlow SavedModel that needs no kgan.

    Args:
        gan: a `kgan.GAN`; its sampler (the EMA generator when `ema_decay` is
            set, else the generator) and its discriminator are exported.
        out_dir: directory to create.
        recipe: the run's recipe, a dict or YAML text, stored for `describe`.
        max_samples: the most images one `serving_default` call may ask for;
            larger requests fail with a clear error instead of exhausting
            the server's memory.
        overwrite: replace an existing `out_dir`.
        verbose: print Keras' list of endpoints.

    Returns:
        The metadata stored in the SavedModel (as `describe` returns it).
    """
    if not isinstance(max_samples, int) or isinstance(max_samples, bool) or max_samples < 1:
        raise errors.KganError(
            f"max_samples (the most images one serving request may ask for) must be an "
            f"integer >= 1, got {max_samples!r}."
        )
    out_dir = _prepare_out_dir(out_dir, overwrite)
    metadata = _metadata(gan, recipe, max_samples)

    archive = keras.export.ExportArchive()
    archive.track(gan.sampler)
    if gan.discriminator is not None:
        archive.track(gan.discriminator)
    signatures = _signatures(gan, max_samples, metadata)
    if gan.discriminator is None:  # a direct loss (mmd): nothing to discriminate with
        del signatures["discriminate"]
    # Keras makes the first endpoint `serving_default` for TF Serving.
    for name, (fn, signature) in signatures.items():
        archive.add_endpoint(name, fn, input_signature=signature)

    def write(directory):
        archive.write_out(directory, verbose=verbose)
        _write_files(os.path.join(directory, EXTRA_DIR), metadata)

    _write_into_place(out_dir, write)
    return metadata


def export(gan, out_dir, *, format="saved_model", recipe=None, max_samples=1024,
           overwrite=False):
    """Exports `gan` to `out_dir` in `format` ("saved_model", "onnx" or "litert").

    "saved_model" is the full export (see the module docstring). "onnx" and
    "litert" hold the generator alone (`z` -> images in [-1, 1]) as
    `generator.onnx` / `generator.tflite`, with `kgan.json` and `recipe.yaml`
    beside it; draw `z` from N(0, I) yourself.

    Returns:
        The metadata dict.
    """
    if format == "saved_model":
        return export_saved_model(
            gan, out_dir, recipe=recipe, max_samples=max_samples, overwrite=overwrite
        )
    if format not in FORMATS:
        raise errors.KganError(
            f'Unknown export format "{format}".{errors.did_you_mean(format, FORMATS)} '
            f"Formats: {', '.join(FORMATS)}."
        )
    _check_conditional(gan, format)
    out_dir = _prepare_out_dir(out_dir, overwrite)
    metadata = _metadata(gan, recipe, max_samples)
    metadata["format"] = format
    metadata["signatures"] = {
        "generator": f"z float32 [n, {metadata['latent_dim']}] -> images float32 "
        f"[n, {', '.join(str(d) for d in metadata['image_shape'])}] in [-1, 1]"
    }
    signature = [tf.TensorSpec([None, gan.latent_dim], tf.float32, name="z")]
    keras_format, filename = {"onnx": ("onnx", "generator.onnx"),
                              "litert": ("litert", "generator.tflite")}[format]

    def write(directory):
        gan.sampler.export(os.path.join(directory, filename), format=keras_format,
                           input_signature=signature, verbose=False)
        _write_files(directory, metadata)

    try:
        _write_into_place(out_dir, write)
    except ImportError as exc:
        raise errors.KganError(
            f"Exporting to {format} needs a package that is not installed ({exc}). "
            "For onnx: `pip install tf2onnx onnx onnxruntime`. The default format, "
            "saved_model, needs nothing more."
        ) from exc
    return metadata


def to_uint8(images):
    """Maps images in [-1, 1] to uint8 [0, 255], as `serving_default` does.

    Values outside [-1, 1] are clipped; halves round to even (as numpy's
    `np.round` and `tf.round` do).
    """
    images = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    return tf.cast(tf.round((images + 1.0) * 127.5), tf.uint8)


def _signatures(gan, max_samples, metadata):
    """Returns {name: (fn, input_signature)}; the first one is `serving_default`."""
    generator, discriminator = gan.sampler, gan.discriminator
    latent_dim = int(gan.latent_dim)
    image_shape = tuple(metadata["image_shape"])
    probabilistic = metadata["discriminator_output"] == "probability"
    num_classes = metadata["num_classes"]

    def generate_images(z, labels=None):
        inputs = z if labels is None else [z, labels]
        return tf.cast(generator(inputs, training=False), tf.float32)

    def serving_default(num_samples, seed):
        num_samples = _num_samples(num_samples, max_samples)
        seed = _scalar(seed, "seed")
        z = noise.sample(num_samples, latent_dim, seed)
        return {"images": to_uint8(generate_images(z))}

    def generate(z):
        z = _batch_of(z, "z", (latent_dim,), max_samples)
        return {"images": generate_images(z)}

    def discriminate(images):
        images = _batch_of(images, "images", image_shape, max_samples)
        return score(discriminator(images, training=False))

    def score(outputs):
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        logits = tf.reshape(tf.cast(outputs[0], tf.float32), [-1])
        scores = {"score": tf.sigmoid(logits) if probabilistic else logits}
        if len(outputs) == 2:  # AC-GAN: D's auxiliary classifier
            scores["class_probabilities"] = tf.nn.softmax(tf.cast(outputs[1], tf.float32))
        return scores

    constants = {
        key: tf.constant(value)
        for key, value in _metadata_tensors(metadata).items()
    }

    def metadata_fn():
        return {key: tf.identity(value) for key, value in constants.items()}

    if num_classes:
        return _conditional_signatures(
            gan, max_samples, image_shape, num_classes, generate_images, score, metadata_fn
        )
    return {
        "serving_default": (
            serving_default,
            # Scalars; any shape is accepted so that TF Serving's row format,
            # which sends each as a list of one, works too.
            [tf.TensorSpec(None, tf.int32, name="num_samples"),
             tf.TensorSpec(None, tf.int64, name="seed")],
        ),
        "generate": (generate, [tf.TensorSpec([None, latent_dim], tf.float32, name="z")]),
        "discriminate": (
            discriminate, [tf.TensorSpec([None, *image_shape], tf.float32, name="images")]
        ),
        "metadata": (metadata_fn, []),
    }


def _conditional_signatures(gan, max_samples, image_shape, num_classes, generate_images,
                            score, metadata_fn):
    """`_signatures` of a conditional GAN: `labels` in generate, serving_default and
    (when D takes labels) discriminate."""
    latent_dim = int(gan.latent_dim)

    def serving_default(num_samples, seed, labels):
        num_samples = _num_samples(num_samples, max_samples)
        seed = _scalar(seed, "seed")
        labels = _labels(labels, num_samples, num_classes)
        z = noise.sample(num_samples, latent_dim, seed)
        return {"images": to_uint8(generate_images(z, labels))}

    def generate(z, labels):
        z = _batch_of(z, "z", (latent_dim,), max_samples)
        return {"images": generate_images(z, _labels(labels, tf.shape(z)[0], num_classes))}

    def discriminate(images, labels):
        images = _batch_of(images, "images", image_shape, max_samples)
        labels = _labels(labels, tf.shape(images)[0], num_classes)
        return score(gan.discriminator([images, labels], training=False))

    def discriminate_images(images):
        images = _batch_of(images, "images", image_shape, max_samples)
        return score(gan.discriminator(images, training=False))

    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
    images_spec = tf.TensorSpec([None, *image_shape], tf.float32, name="images")
    return {
        "serving_default": (
            serving_default,
            [tf.TensorSpec(None, tf.int32, name="num_samples"),
             tf.TensorSpec(None, tf.int64, name="seed"),
             tf.TensorSpec(None, tf.int32, name="labels")],
        ),
        "generate": (
            generate,
            [tf.TensorSpec([None, latent_dim], tf.float32, name="z"), labels_spec],
        ),
        "discriminate": (
            (discriminate, [images_spec, labels_spec]) if _takes_labels(gan.discriminator)
            else (discriminate_images, [images_spec])
        ),
        "metadata": (metadata_fn, []),
    }


def _num_samples(num_samples, max_samples):
    num_samples = _scalar(num_samples, "num_samples")
    checks = [
        tf.debugging.assert_non_negative(num_samples, message="num_samples must be >= 0"),
        tf.debugging.assert_less_equal(
            num_samples, tf.constant(max_samples, tf.int32),
            message=f"num_samples must be <= {max_samples}, the limit set at export "
            f"(kgan export --max-samples); ask for fewer images per request",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(num_samples)


def _labels(labels, num_samples, num_classes):
    """`labels` checked to lie in [0, num_classes) and broadcast to `[num_samples]`."""
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    size = tf.size(labels)
    checks = [
        tf.debugging.Assert(
            tf.logical_or(tf.equal(size, 1), tf.equal(size, num_samples)),
            ["labels must be one label or one per sample"],
        ),
        tf.debugging.assert_non_negative(
            labels, message=f"labels must be in [0, {num_classes})"
        ),
        tf.debugging.assert_less(
            labels, tf.constant(num_classes, tf.int32),
            message=f"labels must be in [0, {num_classes})",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.broadcast_to(labels, tf.reshape(num_samples, [1]))


def _takes_labels(discriminator):
    return len(getattr(discriminator, "inputs", None) or ()) == 2


# A signature's shapes document its inputs but are not enforced when it is
# called, so the shapes are checked inside, with messages that name the input.
def _scalar(x, name):
    # TF Serving's row ("instances") format sends a scalar as a list of one.
    check = tf.debugging.assert_equal(
        tf.size(x), 1,
        message=f"{name} must be one integer (a scalar, or a list of one)",
    )
    with tf.control_dependencies([check]):
        return tf.reshape(x, [])


def _batch_of(x, name, inner_shape, max_samples):
    # EnsureShape checks at run time, and its error names the input and the
    # expected shape: "Shape of tensor z [2,5] is not compatible with
    # expected shape [?,100]".
    x = tf.ensure_shape(x, [None, *inner_shape], name=f"check_{name}_shape")
    check = tf.debugging.assert_less_equal(
        tf.shape(x)[0], max_samples,
        message=f"{name} may hold at most {max_samples} rows, the limit set at export "
        f"(kgan export --max-samples); send fewer per request",
    )
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _metadata(gan, recipe, max_samples):
    loss_fn = getattr(gan, "loss_fn", None)
    if gan.discriminator is None:
        output = "none"
    elif loss_fn is None:
        output = "logit"
    else:
        output = "probability" if loss_fn.probabilistic else "critic_score"
    if recipe is None:
        recipe_text = ""
    elif isinstance(recipe, str):
        recipe_text = recipe
    else:
        recipe_text = config.dump(recipe)
    image_shape = [int(d) for d in gan.generator.output_shape[1:]]
    shape_text = "[n, " + ", ".join(str(d) for d in image_shape) + "]"
    num_classes = int(getattr(gan, "num_classes", None) or 0)
    metadata = {
        "kgan_version": _version.__version__,
        "format": "saved_model",
        "latent_dim": int(gan.latent_dim),
        "image_shape": image_shape,
        "num_classes": num_classes,
        "max_samples": int(max_samples),
        "loss": getattr(loss_fn, "name", "") or "",
        "discriminator_output": output,
        "recipe": recipe_text,
        "signatures": {
            "serving_default": f"num_samples int32 [], seed int64 [] -> images uint8 "
            f"{shape_text}",
            "generate": f"z float32 [n, {int(gan.latent_dim)}] -> images float32 "
            f"{shape_text} in [-1, 1]",
            "discriminate": f"images float32 {shape_text} in [-1, 1] -> score float32 [n] "
            f"({output})",
            "metadata": "() -> this description",
        },
    }
    if num_classes:
        labels = f"labels int32 [n] in [0, {num_classes})"
        signatures = metadata["signatures"]
        signatures["serving_default"] = signatures["serving_default"].replace(
            "seed int64 []", f"seed int64 [], labels int32 [] or [n] in [0, {num_classes})")
        signatures["generate"] = signatures["generate"].replace(" ->", f", {labels} ->", 1)
        if _takes_labels(gan.discriminator):
            signatures["discriminate"] = signatures["discriminate"].replace(
                " ->", f", {labels} ->", 1)
        if gan.discriminator is not None and len(gan.discriminator.outputs) == 2:
            signatures["discriminate"] += (
                f", class_probabilities float32 [n, {num_classes}]")
    if gan.discriminator is None:
        del metadata["signatures"]["discriminate"]
    return metadata


def _metadata_tensors(metadata):
    tensors = {}
    for key, value in metadata.items():
        if key == "signatures":
            tensors[key] = json.dumps(value)
        elif key == "image_shape":
            tensors[key] = np.asarray(value, np.int64)
        elif isinstance(value, int):
            tensors[key] = np.int64(value)
        else:
            tensors[key] = str(value)
    return tensors


def _write_files(directory, metadata):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, METADATA_FILE), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    with open(os.path.join(directory, RECIPE_FILE), "w", encoding="utf-8") as f:
        f.write(metadata["recipe"])


def _write_into_place(out_dir, write):
    # Write beside the target and move into place, so a failed export leaves
    # no half-written model behind.
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=".kgan-export-", dir=parent)
    try:
        write(tmp_dir)
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _prepare_out_dir(out_dir, overwrite):
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not overwrite:
        if not os.path.isdir(out_dir) or os.listdir(out_dir):
            raise errors.KganError(
                f"{out_dir} already exists. Choose a new directory, or pass "
                "--overwrite (overwrite=True) to replace it."
            )
    elif os.path.exists(out_dir) and overwrite and not os.path.isdir(out_dir):
        raise errors.KganError(f"{out_dir} is a file; give a directory to export into.")
    return out_dir


def _check_conditional(gan, format):
    if getattr(gan, "num_classes", None):
        raise errors.KganError(
            f"Exporting a conditional GAN to {format} is not supported yet (its generator "
            "takes [z, labels]); export it as a saved_model, whose signatures take labels."
        )
