"""Evaluator networks, and measuring a generator's samples with them.

A GAN's losses do not say whether its samples are good. kgan measures samples
in the feature space of an *evaluator*: a small classifier trained once per
dataset on its train split, cached on disk, whose penultimate layer gives the
features of FID, KID and precision/recall (against the test split) and whose
predictions give mode coverage. Standard Inception-v3 FID is available too,
with Inception-v3 weights that you supply.

Example:

```python
evaluator = kgan.evaluator.load_evaluator("mnist")   # ships with kgan
features = evaluator.features(images)
```

`kgan.quality.evaluate_generator` measures a generator with them.

Where an evaluator comes from (`find_evaluator`): one you trained yourself
(`kgan evaluator train DATASET`) is cached in `~/.cache/kgan/evaluators/`, or
under `$KGAN_CACHE_DIR/evaluators/` when that variable is set, and comes
first; MNIST's and Fashion-MNIST's ship with kgan (`kgan/evaluators/`,
trained by `bin/train_evaluator.py --package --retrain` from seed 0, their
test accuracy and SHA-256 recorded beside them and checked at load, their
test split's `Reference` beside them too); any other
labelled tensorflow-datasets image dataset trains its own on first use (one
epoch, about a minute on a CPU for 60,000 small images), cached for next time.
"""

import collections
import hashlib
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgan import data as data_lib
from kgan import errors
from kgan import inference
from kgan import metrics

CACHE_ENV = "KGAN_CACHE_DIR"
FEATURE_LAYER = "features"
PACKAGED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "evaluators")
"""The evaluators that ship with kgan (package data)."""
_REFERENCE_VERSION = 4  # 3: with the neighbour radii; 4: radii as exact sums of squares


def cache_dir():
    """Where evaluators are cached: `$KGAN_CACHE_DIR/evaluators` or `~/.cache/kgan/evaluators`."""
    root = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "kgan")
    return os.path.join(os.path.abspath(os.path.expanduser(root)), "evaluators")


def cache_path(dataset):
    """The cached evaluator file of `dataset`, e.g. `.../evaluators/mnist.keras`."""
    return os.path.join(cache_dir(), f"{_check_dataset_name(dataset)}.keras")


def packaged_path(dataset):
    """The evaluator of `dataset` that ships with kgan (it may not exist)."""
    return os.path.join(PACKAGED_DIR, f"{_check_dataset_name(dataset)}.keras")


def build_classifier(input_shape, num_classes, feature_units=128, seed=0):
    """The evaluator's small CNN: two conv blocks, a feature layer, logits.

    The `features` layer (ReLU, `feature_units` wide) is the feature space of
    FID/KID/precision/recall. `train_evaluator` trains it with Adam and a
    cosine-decayed learning rate.
    """
    initializer = keras.initializers.GlorotUniform
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    for i, filters in enumerate((32, 64)):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                kernel_initializer=initializer(seed + i))(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(feature_units, activation="relu", name=FEATURE_LAYER,
                                  kernel_initializer=initializer(seed + 2))(x)
    x = keras.layers.Dropout(0.3, seed=seed)(features)
    logits = keras.layers.Dense(num_classes, name="logits",
                                kernel_initializer=initializer(seed + 3))(x)
    return keras.Model(inputs, logits, name="evaluator")


class Evaluator:
    """A trained classifier used as a feature extractor and a class predictor.

    Args:
        classifier: a `keras.Model` from images in [-1, 1] to class logits,
            with a layer named `features` (its penultimate layer).
        dataset: the dataset it was trained on (for messages).
        info: what `train_evaluator` recorded (test accuracy, ...).
    """

    def __init__(self, classifier, dataset=None, info=None):
        try:
            feature_output = classifier.get_layer(FEATURE_LAYER).output
        except ValueError:
            raise errors.KganError(
                f"The evaluator model has no layer named {FEATURE_LAYER!r} to take "
                "features from. Build it with kgan.evaluator.build_classifier, or name "
                f"your penultimate layer {FEATURE_LAYER!r}."
            ) from None
        self.classifier = classifier
        self.dataset = dataset
        self.info = dict(info or {})
        self._both = keras.Model(classifier.inputs, [feature_output, classifier.outputs[0]])

    @property
    def input_shape(self):
        return tuple(self.classifier.input_shape[1:])

    @property
    def num_classes(self):
        return int(self.classifier.output_shape[-1])

    def features(self, images, batch_size=500):
        """`[n, feature_units]` features of images in [-1, 1]."""
        return self.features_and_logits(images, batch_size)[0]

    def predict_classes(self, images, batch_size=500):
        """`[n]` predicted class indices."""
        return self.features_and_logits(images, batch_size)[1].argmax(axis=1)

    def features_and_logits(self, images, batch_size=500):
        """Both outputs in one pass: `([n, feature_units], [n, num_classes])`."""
        images = self._fit_images(images)
        features, logits = inference.predict(self._both, images, batch_size=batch_size)
        return features.astype(np.float64), logits

    def save(self, path):
        """Writes the classifier (`path`, a `.keras` file, without optimizer state) and its
        info (`path` + `.json`, with the file's SHA-256)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.classifier.save(path, include_optimizer=False)
        self.info["sha256"] = _sha256(path)
        with open(path + ".json", "w", encoding="utf-8") as file:
            json.dump(self.info, file, indent=1)

    @classmethod
    def load(cls, path, dataset=None):
        """Loads an evaluator, checking the file against the SHA-256 its info records."""
        info = {}
        if os.path.isfile(path + ".json"):
            with open(path + ".json", encoding="utf-8") as file:
                info = json.load(file)
        if info.get("sha256") and info["sha256"] != _sha256(path):
            raise errors.KganError(
                f"The evaluator file {path} does not match the SHA-256 recorded in "
                f"{path}.json: it is damaged or was replaced. Reinstall kgan (for the "
                f"evaluators it ships) or retrain it with `kgan evaluator train "
                f"{dataset or 'DATASET'}`."
            )
        return cls(keras.models.load_model(path, compile=False), dataset, info)

    def _fit_images(self, images):
        """Images resized to the evaluator's input size; channels must agree."""
        images = np.asarray(images, np.float32)
        if images.ndim == 3 and len(self.input_shape) == 3 and self.input_shape[-1] == 1:
            images = images[..., None]
        height, width, channels = self.input_shape
        if images.ndim != 4 or images.shape[-1] != channels:
            raise errors.KganError(
                f"The {self.dataset or ''} evaluator takes images of shape "
                f"{self.input_shape} (values in [-1, 1]), got an array of shape "
                f"{images.shape}. Measure samples of the dataset the evaluator was "
                "trained on."
            )
        if images.shape[1:3] != (height, width):
            images = data_lib.resize_images(images, (height, width)).numpy()
        return images


def train_evaluator(dataset, epochs=None, batch_size=128, seed=0, path=None, verbose=1,
                    data_dir=None):
    """Trains the evaluator of a tensorflow-datasets image dataset and caches it.

    Trains `build_classifier` on the train split, measures its accuracy on the
    test split, and saves it to `cache_path(dataset)` (or `path`) with a JSON
    file of what was measured. Run once per dataset; `load_evaluator` then
    finds it. `bin/train_evaluator.py` prints the figures that vouch for an
    evaluator (its test accuracy, the FID of train images against the test
    split and of noise).

    Args:
        dataset: a tfds name with labels and a "test" split ("mnist",
            "fashion_mnist", "cifar10", ...).
        epochs: passes over the train split; default 4 (8 for fashion_mnist).
        data_dir: prepared tfds data; defaults to `TFDS_DATA_DIR`.

    Returns:
        The trained `Evaluator`; `evaluator.info` holds `test_accuracy` and
        `train_seconds`.
    """
    dataset = _check_dataset_name(dataset)
    if epochs is None:
        epochs = DEFAULT_EPOCHS.get(dataset, 3)
    started = time.time()
    train_x, train_y, source = read_split(dataset, "train", data_dir)
    test_x, test_y, _ = read_split(dataset, "test", data_dir)
    if source.num_classes is None:
        raise errors.KganError(
            f'tfds dataset "{dataset}" has no class labels, so kgan cannot train a '
            "classifier on it. Measure it with Inception-v3 instead "
            "(evaluate_generator(..., inception_weights=PATH))."
        )
    keras.utils.set_random_seed(seed)
    classifier = build_classifier(source.sample_shape, source.num_classes, seed=seed)
    steps = epochs * math.ceil(len(train_x) / batch_size)
    classifier.compile(
        # Cosine decay to zero: the last steps settle the weights, worth a few
        # tenths of a percent of test accuracy over a constant rate.
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    classifier.fit(train_x, train_y, batch_size=batch_size, epochs=epochs, verbose=verbose)
    train_seconds = time.time() - started
    _, test_accuracy = classifier.evaluate(test_x, test_y, batch_size=1000, verbose=0)
    info = {
        "dataset": dataset,
        "test_accuracy": float(test_accuracy),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "seed": int(seed),
        "train_seconds": round(train_seconds, 1),
        "num_train": int(len(train_x)),
        "num_test": int(len(test_x)),
        "class_names": list(source.class_names or []),
    }
    evaluator = Evaluator(classifier, dataset, info)
    path = path or cache_path(dataset)
    evaluator.save(path)
    _save_reference(evaluator, dataset, path, test_x, test_y)
    return evaluator


def evaluator_path(dataset):
    """The file `load_evaluator` reads for `dataset`: the cached one, else the shipped one.

    Returns None when neither exists.
    """
    for path in (cache_path(dataset), packaged_path(dataset)):
        if os.path.isfile(path):
            return path
    return None


def shadowed_evaluator(dataset):
    """A sentence when a cached evaluator of `dataset` is used instead of the one kgan ships.

    Figures measured by two evaluators are not comparable (FID is in each one's feature
    space), and a cached evaluator may be an old or quick one: this says which is used.
    Returns None when nothing is shadowed.
    """
    cached, shipped = cache_path(dataset), packaged_path(dataset)
    if not (os.path.isfile(cached) and os.path.isfile(shipped)):
        return None
    if _sha256(cached) == _sha256(shipped):
        return None

    def accuracy(path):
        try:
            with open(path + ".json", encoding="utf-8") as file:
                return f"{100 * json.load(file)['test_accuracy']:.2f}% test accuracy"
        except (OSError, ValueError, KeyError, TypeError):
            return "test accuracy unknown"

    return (f'{dataset} is measured by the evaluator cached at {cached} ({accuracy(cached)}), '
            f"not the one kgan ships ({accuracy(shipped)}): FID, KID and precision/recall "
            "then compare only with figures from that cached evaluator. Delete the cached "
            "file to measure with kgan's.")


def load_evaluator(dataset, path=None):
    """The evaluator of `dataset` (`path`, else `evaluator_path`), or a KganError saying how
    to get one."""
    path = path or evaluator_path(dataset)
    if path is None or not os.path.isfile(path):
        raise errors.MissingFileError(
            f'No evaluator for dataset "{dataset}" at {path or cache_path(dataset)}, and kgan '
            f"ships none for it. Train it once with `kgan evaluator train {dataset}` (a small "
            f"CNN, a few CPU-minutes), or set {CACHE_ENV} to the directory that holds "
            f"evaluators/{dataset}.keras."
        )
    return Evaluator.load(path, dataset)


def find_evaluator(dataset, train_missing=True, verbose=1, data_dir=None):
    """The evaluator of a tfds dataset: cached, shipped, or trained now and cached.

    Args:
        dataset: a tfds name.
        train_missing: train one (`FIRST_USE_EPOCHS`, progress bar) where
            there is none yet; False raises the error of `load_evaluator`.
    """
    if evaluator_path(dataset) is not None or not train_missing:
        return load_evaluator(dataset)
    return train_evaluator(dataset, epochs=FIRST_USE_EPOCHS, verbose=verbose,
                           data_dir=data_dir)


Reference = collections.namedtuple("Reference", ["features", "labels", "radii"])
Reference.__doc__ = """A dataset's test split in an evaluator's feature space.

Attributes:
    features: `[n, d]` float64 features of the test images.
    labels: `[n]` their labels.
    radii: `[n]` squared distance from each to its `REFERENCE_K`-th nearest
        neighbour (`kgan.metrics.kth_neighbour_radii`), which precision and
        recall need at every measurement.
"""

REFERENCE_K = 3
"""The neighbour of the radii a `Reference` keeps: precision/recall's k (the paper's)."""


def reference_set(evaluator, dataset, path=None, data_dir=None, save_dir=None):
    """The test split of `dataset` in the feature space of `evaluator`: a `Reference`.

    Computed once per evaluator file (`path`, default `evaluator_path`) and
    kept in the cache directory (or `save_dir`), keyed by that file's
    SHA-256; one kept beside the evaluator file is used first. The evaluators
    that ship with kgan ship with theirs (`kgan/evaluators/`), so that a first
    run measures without reading the test split or computing its 10,000 x
    10,000 neighbour distances.
    """
    path = path or evaluator_path(dataset)
    for reference_path in _reference_paths(dataset, path):
        reference = _load_reference(reference_path, path)
        if reference is not None:
            return reference
    test_x, test_y, _ = read_split(dataset, "test", data_dir)
    return _save_reference(evaluator, dataset, path, test_x, test_y, save_dir)


class InceptionFeatures:
    """Inception-v3 pool features (2,048 per image) for standard FID.

    Images in [-1, 1] (grayscale ones repeated to three channels) are resized
    to `image_size` and passed through `keras.applications.InceptionV3` with
    global average pooling. With `weights` a path to Keras' ImageNet weights
    file (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`) this is
    the feature space of standard FID. The figures are close to, but not
    identical with, published FIDs (which use the 2015 TensorFlow graph
    `pool_3` layer and its own resizing), so compare them across kgan runs.

    kgan's tests run this with `weights=None` (random weights, 75 x 75
    inputs): they check the plumbing, not the published numbers, because the
    test machines have no Inception weights and no internet.

    Example:

    ```python
    inception = kgan.evaluator.InceptionFeatures("~/weights/inception_v3_notop.h5")
    fid = kgan.metrics.frechet_distance(inception.features(real), inception.features(fake))
    ```

    Args:
        weights: path of an Inception-v3 (no top) weights file, or None for
            random weights (for tests only; the FID then means little).
        image_size: input size, at least 75 (299 for standard FID).
    """

    def __init__(self, weights, image_size=299, seed=0):
        if weights is not None:
            weights = os.path.abspath(os.path.expanduser(str(weights)))
            if not os.path.isfile(weights):
                raise errors.KganError(
                    f"Inception-v3 weights file {weights} does not exist. Download Keras' "
                    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 on a machine "
                    "with internet and give its path."
                )
        if not isinstance(image_size, int) or image_size < 75:
            raise errors.KganError(
                f"Inception-v3 needs images of at least 75 x 75, got image_size={image_size!r} "
                "(standard FID uses 299)."
            )
        keras.utils.set_random_seed(seed)
        try:
            self.model = keras.applications.InceptionV3(
                include_top=False, weights=weights, input_shape=(image_size, image_size, 3),
                pooling="avg",
            )
        except ValueError as exc:
            raise errors.KganError(
                f"Could not load Inception-v3 weights from {weights}: {exc}. Give the "
                "no-top weights file (..._notop.h5) of keras.applications.InceptionV3."
            ) from None
        self.image_size = image_size
        self._extract = tf.function(self._extract_batch, reduce_retracing=True)

    def features(self, images, batch_size=100):
        """`[n, 2048]` features of images in [-1, 1], `[n, H, W, 1 or 3]`."""
        images = np.asarray(images, np.float32)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise errors.KganError(
                f"Inception-v3 features need images of shape [n, H, W, 1 or 3] in [-1, 1], "
                f"got {images.shape}."
            )
        outputs = []
        for start in range(0, len(images), batch_size):
            outputs.append(self._extract(tf.constant(images[start : start + batch_size])).numpy())
        return np.concatenate(outputs).astype(np.float64)

    def _extract_batch(self, batch):
        if batch.shape[-1] == 1:
            batch = tf.repeat(batch, 3, axis=-1)
        batch = data_lib.resize_images(batch, (self.image_size, self.image_size))
        return self.model(batch, training=False)


DEFAULT_EPOCHS = {"mnist": 4, "fashion_mnist": 8}
FIRST_USE_EPOCHS = 1
"""Epochs of an evaluator trained on first use (about a minute for 60,000 small images)."""


def read_split(dataset, split, data_dir):
    config = {"name": "tfds", "dataset": dataset, "split": split}
    if data_dir is not None:
        config["data_dir"] = data_dir
    source = data_lib.load(config)
    return (*data_lib.arrays(source), source)


def _reference_file(directory, dataset):
    return os.path.join(directory, f"{dataset}.reference.npz")


def _reference_paths(dataset, path):
    """Where the reference of the evaluator at `path` may be: beside it, then the cache."""
    paths = [_reference_file(cache_dir(), dataset)]
    if path is not None:
        paths.insert(0, _reference_file(os.path.dirname(os.path.abspath(path)), dataset))
    return list(dict.fromkeys(paths))


def _fingerprint(path):
    return f"{_REFERENCE_VERSION}:{_sha256(path)}"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _save_reference(evaluator, dataset, path, images, labels, save_dir=None):
    """The `Reference` of `images`, kept in `save_dir` (default the cache directory)."""
    # Kept as float32: the features are the same whether just computed or read back.
    features = evaluator.features(images).astype(np.float32).astype(np.float64)
    reference = Reference(features, np.asarray(labels),
                          metrics.kth_neighbour_radii(features, REFERENCE_K))
    if path is not None and os.path.isfile(path):
        reference_path = _reference_file(save_dir or cache_dir(), dataset)
        os.makedirs(os.path.dirname(reference_path), exist_ok=True)
        tmp = reference_path + ".partial.npz"
        # Compressed: the features are mostly zeros (ReLU); 5 MB become under 1 MB.
        np.savez_compressed(tmp, features=features.astype(np.float32), labels=labels,
                            radii=reference.radii, fingerprint=_fingerprint(path))
        os.replace(tmp, reference_path)
    return reference


def _load_reference(reference_path, path):
    if path is None or not (os.path.isfile(reference_path) and os.path.isfile(path)):
        return None
    try:
        with np.load(reference_path) as stored:
            if str(stored["fingerprint"]) != _fingerprint(path):
                return None  # another evaluator since
            return Reference(stored["features"].astype(np.float64), stored["labels"],
                             stored["radii"])
    except (OSError, ValueError, KeyError):
        return None  # a damaged file is computed again


def _check_dataset_name(dataset):
    if not isinstance(dataset, str) or not dataset or os.sep in dataset or dataset.startswith("."):
        raise errors.KganError(
            f"An evaluator is keyed by a tensorflow-datasets name such as 'mnist', got "
            f"{dataset!r}."
        )
    return dataset
