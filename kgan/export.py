"""Export a trained GAN as a self-contained TensorFlow SavedModel.

The SavedModel runs with TensorFlow alone (no kgan, no Keras), so it serves
from TensorFlow Serving, a web service or a notebook. Its signatures:

- `serving_default`: `num_samples` (int32 scalar), `seed` (int64 scalar) ->
  `images`, uint8 `[n, H, W, C]`. The noise is `kgan.latent.sample`'s
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
print(kgan.export.describe("exported/mnist"))
```
"""

import json
import os
import shutil
import tempfile

import click
import keras
import numpy as np
import tensorflow as tf

from kgan import errors
from kgan import latent

FORMATS = ("saved_model", "onnx", "litert")
METADATA_FILE = "kgan.json"
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


def describe(path):
    """Returns the metadata stored in an exported model directory.

    Reads the `metadata` signature of a SavedModel (or `kgan.json` of an
    onnx/litert export): `kgan_version`, `latent_dim`, `image_shape`,
    `max_samples`, `discriminator_output`, `loss`, `recipe` (YAML text) and
    `signatures`.
    """
    if not os.path.isdir(path):
        raise errors.KganError(f"{path} is not a directory; give an exported model directory.")
    if not is_saved_model(path):
        json_path = os.path.join(path, METADATA_FILE)
        if not os.path.exists(json_path):
            raise errors.KganError(
                f"{path} is not a kgan export: it has no saved_model.pb and no "
                f"{METADATA_FILE}. Create one with `kgan export RUN_DIR OUT_DIR`."
            )
        with open(json_path, encoding="utf-8") as f:
            return json.load(f)
    return _load(path)[1]


def format_description(metadata):
    """Human-readable text of `describe`'s dict, as `kgan export --describe` prints."""
    lines = [
        f"kgan version:         {metadata['kgan_version']}",
        f"format:               {metadata.get('format', 'saved_model')}",
        f"latent_dim:           {metadata['latent_dim']}",
        f"image_shape:          {list(metadata['image_shape'])}",
        *([f"num_classes:          {metadata['num_classes']}"]
          if metadata.get("num_classes") else []),
        f"max_samples:          {metadata['max_samples']}",
        f"loss:                 {metadata['loss'] or '(unknown)'}",
        f"discriminator_output: {metadata['discriminator_output']}",
    ]
    if metadata.get("signatures"):
        lines.append("signatures:")
        lines += [f"  {name}: {text}" for name, text in metadata["signatures"].items()]
    lines.append("recipe:")
    recipe = metadata["recipe"].rstrip() or "(none stored)"
    lines += ["  " + line for line in recipe.splitlines()]
    return "\n".join(lines)


def is_saved_model(path):
    """True if `path` is a SavedModel directory."""
    return os.path.isdir(path) and (
        os.path.exists(os.path.join(path, "saved_model.pb"))
        or os.path.exists(os.path.join(path, "saved_model.pbtxt"))
    )


class SavedModelSampler:
    """Draws samples from an exported SavedModel like `GAN.generate` does.

    Example:

    ```python
    sampler = kgan.export.load_sampler("exported/mnist")
    images = sampler.generate(16, seed=0)     # float32 in [-1, 1]
    ```
    """

    def __init__(self, path):
        self.path = path
        model, self.metadata = _load(path)
        self.latent_dim = int(self.metadata["latent_dim"])
        self.max_samples = int(self.metadata["max_samples"])
        self.num_classes = int(self.metadata.get("num_classes", 0))
        self._generate = model.signatures["generate"]

    def generate(self, num_samples, seed=0, batch_size=256, labels=None):
        """Returns `num_samples` images in [-1, 1], as `GAN.generate` would.

        `labels` (conditional models only): one int for every image, one per
        image, or None for 0, 1, ..., num_classes - 1 repeated.
        """
        z = latent.sample(num_samples, self.latent_dim, seed)
        batch_size = min(batch_size, self.max_samples)
        inputs = {"z": z}
        if self.num_classes:
            inputs["labels"] = tf.constant(
                sample_labels(labels, int(num_samples), self.num_classes, self.path)
            )
        elif labels is not None:
            raise errors.KganError(
                f"{self.path} is an unconditional GAN (metadata num_classes 0): it "
                "takes no labels. Generate without labels."
            )
        batches = [
            self._generate(**{key: value[start : start + batch_size]
                              for key, value in inputs.items()})["images"].numpy()
            for start in range(0, int(num_samples), batch_size)
        ]
        if not batches:
            return np.zeros((0, *self.metadata["image_shape"]), np.float32)
        return np.concatenate(batches)


def sample_labels(labels, num_samples, num_classes, source="the model"):
    """`[num_samples]` int32 labels: `labels` broadcast, or 0..num_classes-1 cycling if None.

    Raises a KganError naming `source` for labels outside [0, num_classes).
    """
    if labels is None:
        return np.arange(num_samples, dtype=np.int32) % num_classes
    array = np.asarray(labels)
    if array.dtype.kind not in "iu" or array.ndim > 1 or array.size not in (1, num_samples):
        raise errors.KganError(
            f"labels must be one integer class or {num_samples} of them (one per "
            f"sample), got {labels!r}."
        )
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise errors.KganError(
            f"label {int(array.min() if array.min() < 0 else array.max())} is out of "
            f"range: {source} has {num_classes} classes, labels 0 to {num_classes - 1}."
        )
    return np.broadcast_to(array.astype(np.int32).reshape(-1), (num_samples,)).copy()


def load_sampler(path):
    """Returns a `SavedModelSampler` for an exported SavedModel directory."""
    if not is_saved_model(path):
        raise errors.KganError(
            f"{path} is not a SavedModel directory (no saved_model.pb). Give a run "
            "directory or the output of `kgan export`."
        )
    return SavedModelSampler(path)


def to_uint8(images):
    """Maps images in [-1, 1] to uint8 [0, 255], as `serving_default` does.

    Values outside [-1, 1] are clipped; halves round to even (as numpy's
    `np.round` and `tf.round` do).
    """
    images = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    return tf.cast(tf.round((images + 1.0) * 127.5), tf.uint8)


@click.command("export")
@click.argument("paths", nargs=-1, required=True, metavar="RUN_DIR OUT_DIR")
@click.option("--checkpoint", default="last", show_default=True, metavar="last|best|PATH",
              help="Which checkpoint of the run to export.")
@click.option("--format", "export_format", type=click.Choice(FORMATS), default="saved_model",
              show_default=True, help="saved_model is the full export; onnx and litert "
              "hold the generator alone.")
@click.option("--max-samples", type=click.IntRange(min=1), default=1024, show_default=True,
              metavar="N", help="Most images one serving_default request may ask for.")
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it exists.")
@click.option("--describe", "describe_only", is_flag=True,
              help="Print what an exported model holds: `kgan export --describe OUT_DIR`.")
def export_command(paths, checkpoint, export_format, max_samples, overwrite, describe_only):
    """Export a run's GAN as a SavedModel that serves without kgan.

    `kgan export runs/mnist-20250101-120000 exported/mnist` writes a
    TensorFlow SavedModel with the signatures serving_default (num_samples,
    seed -> uint8 images), generate (z -> images in [-1, 1]), discriminate
    (images -> score) and metadata. `kgan export --describe exported/mnist`
    prints its recipe, latent size, image shape and kgan version.
    """
    if describe_only:
        if len(paths) != 1:
            raise click.UsageError("--describe takes one path: kgan export --describe OUT_DIR")
        click.echo(format_description(describe(paths[0])))
        return
    if len(paths) != 2:
        raise click.UsageError(
            "export takes RUN_DIR and OUT_DIR: kgan export RUN_DIR OUT_DIR "
            "(or kgan export --describe OUT_DIR)."
        )
    from kgan import runs

    run_dir, out_dir = paths
    run = runs.load_run(run_dir, checkpoint=checkpoint)
    metadata = export(
        run.gan, out_dir, format=export_format, recipe=run.recipe,
        max_samples=max_samples, overwrite=overwrite,
    )
    click.echo(f"Exported {run.checkpoint_path} to {out_dir} ({export_format}).")
    click.echo(format_description(metadata))


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
        z = latent.sample(num_samples, latent_dim, seed)
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
        z = latent.sample(num_samples, latent_dim, seed)
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


def _load(path):
    model = tf.saved_model.load(path)
    if "metadata" not in model.signatures:
        raise errors.KganError(
            f"{path} is a SavedModel but not one kgan exported (it has no `metadata` "
            f"signature; it has {sorted(model.signatures)})."
        )
    return model, _decode_metadata(model.signatures["metadata"]())


def _metadata(gan, recipe, max_samples):
    from kgan import __version__

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
        from kgan import config

        recipe_text = config.dump(recipe)
    image_shape = [int(d) for d in gan.generator.output_shape[1:]]
    shape_text = "[n, " + ", ".join(str(d) for d in image_shape) + "]"
    num_classes = int(getattr(gan, "num_classes", None) or 0)
    metadata = {
        "kgan_version": __version__,
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


def _decode_metadata(tensors):
    metadata = {}
    for key, tensor in tensors.items():
        value = tensor.numpy()
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, np.ndarray):
            value = [int(v) for v in value]
        else:
            value = int(value)
        metadata[key] = value
    if "signatures" in metadata:
        metadata["signatures"] = json.loads(metadata["signatures"])
    order = list(_METADATA_ORDER)
    return dict(sorted(metadata.items(), key=lambda kv: order.index(kv[0])
                       if kv[0] in order else len(order)))


_METADATA_ORDER = (
    "kgan_version", "format", "latent_dim", "image_shape", "num_classes", "max_samples",
    "loss", "discriminator_output", "recipe", "signatures",
)


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
