"""Reading a model that `kgan.export` wrote: what it holds, and samples from it.

Example:

```python
print(kgan.exported.format_description(kgan.exported.describe("exported/mnist")))
sampler = kgan.exported.load_sampler("exported/mnist")
images = sampler.generate(16, seed=0)     # float32 in [-1, 1], as GAN.generate
```
"""

import json
import os

import numpy as np
import tensorflow as tf

from kgan import conditioning
from kgan import errors
from kgan import noise

METADATA_FILE = "kgan.json"


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

    @property
    def sample_shape(self):
        return tuple(self.metadata["image_shape"])

    def generate(self, num_samples, seed=0, batch_size=256, labels=None):
        """Returns `num_samples` images in [-1, 1], as `GAN.generate` would.

        `labels` (conditional models only): one int for every image, one per
        image, or None for 0, 1, ..., num_classes - 1 repeated.
        """
        batches = list(self.generate_batches(num_samples, seed, batch_size, labels))
        if not batches:
            return np.zeros((0, *self.sample_shape), np.float32)
        return np.concatenate(batches)

    def generate_batches(self, num_samples, seed=0, batch_size=256, labels=None):
        """`generate`'s samples a batch at a time: memory does not grow with `num_samples`."""
        batch_size = min(batch_size, self.max_samples)
        if self.num_classes:
            labels = conditioning.sample_labels(labels, int(num_samples), self.num_classes,
                                                self.path)
        elif labels is not None:
            raise errors.KganError(
                f"{self.path} is an unconditional GAN (metadata num_classes 0): it "
                "takes no labels. Generate without labels."
            )
        for start in range(0, int(num_samples), batch_size):
            stop = min(start + batch_size, int(num_samples))
            inputs = {"z": noise.sample_rows(start, stop, self.latent_dim, seed)}
            if self.num_classes:
                inputs["labels"] = tf.constant(labels[start:stop])
            yield self._generate(**inputs)["images"].numpy()


def load_sampler(path):
    """Returns a `SavedModelSampler` for an exported SavedModel directory."""
    if not is_saved_model(path):
        raise errors.KganError(
            f"{path} is not a SavedModel directory (no saved_model.pb). Give a run "
            "directory or the output of `kgan export`."
        )
    return SavedModelSampler(path)


def _load(path):
    model = tf.saved_model.load(path)
    if "metadata" not in model.signatures:
        raise errors.KganError(
            f"{path} is a SavedModel but not one kgan exported (it has no `metadata` "
            f"signature; it has {sorted(model.signatures)})."
        )
    return model, _decode_metadata(model.signatures["metadata"]())


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
