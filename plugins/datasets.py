"""Built-in datasets: tensorflow-datasets, image folders and numpy arrays.

Images come out as float32 in [-1, 1] (the range of a tanh generator) with
their integer labels. The toy distributions are in `toy_datasets.py`.
"""

import difflib
import os
import socket

import numpy as np
import tensorflow as tf

import kgan
from kgan import data
from kgan import errors
from kgan import validation

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


@kgan.register_dataset("tfds")
def tfds_dataset(
    dataset, split="train", image_size=None, data_dir=None, download=True,
    image_key="image", label_key="label",
):
    """Any image dataset of tensorflow-datasets, by name and split.

    Args:
        dataset: the tfds name, e.g. "mnist", "cifar10", "celeb_a/..." .
        split: a tfds split, slices included ("train", "test[:10%]").
        image_size: resize to N x N or [H, W]; needed when images vary in size.
        data_dir: where prepared data live; defaults to `TFDS_DATA_DIR`, then
            tfds' own default (~/tensorflow_datasets).
        download: download and prepare the data if they are not there yet
            (needs internet; offline, point `data_dir`/`TFDS_DATA_DIR` at a
            prepared copy instead).
        image_key: the feature holding the image.
        label_key: the feature holding the class label (absent -> labels -1).
    """
    import tensorflow_datasets as tfds

    image_size = validation.image_size(image_size, "data.image_size")
    data_dir = data_dir or os.environ.get("TFDS_DATA_DIR") or None
    if data_dir is not None:
        data_dir = os.path.abspath(os.path.expanduser(str(data_dir)))
    builder = _tfds_builder(tfds, dataset, data_dir)
    if not builder.is_prepared():
        _tfds_prepare(builder, dataset, data_dir, download)

    features = builder.info.features
    image_features = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    if image_key not in image_features:
        if image_key == "image" and len(image_features) == 1:
            image_key = image_features[0]
        else:
            raise errors.KganError(
                f'data.image_key: tfds dataset "{dataset}" has no image feature '
                f'"{image_key}". Its image features: {", ".join(image_features) or "none"} '
                f'(all features: {", ".join(features.keys())}). kgan reads image datasets.'
            )
    label = features[label_key] if label_key in features.keys() else None
    num_classes = label.num_classes if isinstance(label, tfds.features.ClassLabel) else None
    class_names = tuple(label.names) if num_classes else None

    try:
        num_examples = builder.info.splits[split].num_examples
    except Exception:  # tfds raises several types for a bad split string.
        raise errors.KganError(
            f'data.split: tfds dataset "{dataset}" has no split "{split}". Its splits: '
            f'{", ".join(builder.info.splits.keys())} (slices such as "train[:10%]" '
            "work too)."
        ) from None

    height, width, channels = features[image_key].shape
    if image_size is None and (height is None or width is None):
        raise errors.KganError(
            f'tfds dataset "{dataset}" has images of varying size: set data.image_size '
            "(e.g. 64) to resize them."
        )
    sample_shape = (*(image_size or (height, width)), channels)

    def to_pairs(examples):  # one example, or a batch of them
        x = data.scale_images(examples[image_key])
        if image_size is not None:
            x = data.resize_images(x, image_size)
        leading = tf.shape(x)[:-3]
        y = tf.cast(examples[label_key], tf.int32) if num_classes else tf.fill(leading, -1)
        return tf.ensure_shape(x, [None] * (len(x.shape) - 3) + list(sample_shape)), y

    keys = [image_key] + ([label_key] if num_classes else [])
    batches = None if image_size else _tfds_batches(tfds, builder, split, keys)
    if batches is not None:
        dataset_ = batches.map(to_pairs, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    else:
        dataset_ = builder.as_dataset(split=split, shuffle_files=False).map(
            to_pairs, num_parallel_calls=tf.data.AUTOTUNE
        )
    return data.DataSource(
        dataset=dataset_,
        sample_shape=sample_shape,
        num_examples=num_examples,
        num_classes=num_classes,
        name=f"tfds:{dataset}/{split}",
        class_names=class_names,
    )


@kgan.register_dataset("images")
def images(path, image_size=None, channels=3, interpolation="bilinear",
           crop_to_aspect_ratio=False):
    """A folder of images (BMP, GIF, JPEG, PNG), one sub-folder per class if labelled.

    Args:
        path: the folder. With sub-folders of images, each is a class
            (labels 0.. in sorted order) and images at the top are ignored;
            without, every image below `path` is used, with label -1.
        image_size: resize to N x N or [H, W]; defaults to the first image's size.
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        interpolation: resize method ("bilinear", "nearest", "bicubic", "area", ...).
        crop_to_aspect_ratio: crop instead of distorting when aspect ratios differ.
    """
    image_size = validation.image_size(image_size, "data.image_size")
    validation.choice(channels, "data.channels", tuple(_COLOR_MODES))
    validation.choice(interpolation, "data.interpolation", _INTERPOLATIONS)
    folder = os.path.abspath(os.path.expanduser(str(path)))
    if not os.path.isdir(folder):
        raise errors.MissingFileError(
            f"data.path: the image folder {path!r} does not exist (looked for {folder}). "
            "Give a folder of images, optionally with one sub-folder per class."
        )
    class_dirs = sorted(
        d for d in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, d)) and _first_image(os.path.join(folder, d))
    )
    if class_dirs:
        files = [(f, label) for label, d in enumerate(class_dirs)
                 for f in _images_below(os.path.join(folder, d))]
    else:
        files = [(f, -1) for f in _images_below(folder)]
    if not files:
        raise errors.KganError(
            f"data.path: no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}."
        )
    good, bad = [], []
    for file, label in files:
        size = _decodable_size(file)
        (good if size else bad).append((file, label))
        if size and image_size is None:
            image_size = size
    if not good:
        raise errors.KganError(
            f"data.path: none of the {len(files)} images in {folder} can be decoded (the "
            f"first: {bad[0][0]}). Check that they are image files."
        )
    notes = ()
    if bad:
        shown = ", ".join(os.path.relpath(f, folder) for f, _ in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        notes = (f"{len(bad)} of the {len(files)} images in {folder} cannot be decoded and are "
                 f"left out: {shown}{more}.",)
    paths = tf.constant([f for f, _ in good])
    labels = tf.constant([label for _, label in good], tf.int32)

    def load(file, label):
        pixels = tf.io.decode_image(tf.io.read_file(file), channels=channels,
                                    expand_animations=False)
        pixels = tf.cast(pixels, tf.float32)
        if crop_to_aspect_ratio:
            import keras

            pixels = keras.preprocessing.image.smart_resize(pixels, image_size,
                                                            interpolation=interpolation)
        else:
            pixels = tf.image.resize(pixels, image_size, method=interpolation)
        return tf.ensure_shape(_scale_clipped(pixels), (*image_size, channels)), label

    dataset = tf.data.Dataset.from_tensor_slices((paths, labels)).map(load)
    num_examples = len(good)
    return data.DataSource(
        dataset=dataset,
        sample_shape=(*image_size, channels),
        num_examples=num_examples,
        num_classes=len(class_dirs) or None,
        name=f"images:{folder}",
        class_names=tuple(class_dirs) or None,
        notes=notes,
    )


@kgan.register_dataset("arrays")
def arrays(path, key=None, labels=None, scale="auto", image_size=None):
    """Examples from a numpy `.npy` or `.npz` file.

    The scaling rule (`scale: auto`): integer arrays are pixels 0..255 and are
    mapped to [-1, 1]; float arrays must already lie in [-1, 1] and are kept.
    `scale: uint8` forces the 0..255 mapping; `scale: none` keeps any values
    (vectors in natural units). Arrays of shape [N, H, W] are grayscale images
    and get a channel axis; [N] becomes [N, 1].

    Args:
        path: the `.npy` or `.npz` file.
        key: the array of examples in a `.npz`; defaults to its only array, or
            to "x", "images", "x_train" or "image".
        labels: integer labels: a key of the `.npz` or a `.npy` file; by
            default the partner of `key` ("y", "labels", "y_train", "label")
            when the `.npz` has it.
        scale: "auto", "uint8" or "none", as above.
        image_size: resize images to N x N or [H, W].
    """
    scale = validation.choice(scale, "data.scale", ("auto", "uint8", "none"))
    image_size = validation.image_size(image_size, "data.image_size")
    file = os.path.abspath(os.path.expanduser(str(path)))
    if not os.path.isfile(file):
        raise errors.KganError(
            f"data.path: the array file {path!r} does not exist (looked for {file}). "
            "Give a .npy or .npz file."
        )
    x, y = _read_arrays(file, path, key, labels)
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim == 3:
        x = x[..., None]
    x = _scale_array(x, scale, path)
    if image_size is not None:
        if x.ndim != 4:
            raise errors.KganError(
                f"data.image_size: {path} holds arrays of shape {x.shape[1:]}, not images "
                "[H, W, C], so they cannot be resized. Remove data.image_size."
            )
        x = data.resize_images(x, image_size).numpy()
    num_classes = int(y.max()) + 1 if y is not None and len(y) else None
    if y is None:
        y = np.full((len(x),), -1, np.int32)
    return data.DataSource(
        dataset=tf.data.Dataset.from_tensor_slices((x, y)),
        sample_shape=tuple(x.shape[1:]),
        num_examples=len(x),
        num_classes=num_classes,
        name=f"arrays:{file}",
    )


def _tfds_batches(tfds, builder, split, keys, batch_size=1024):
    """The split's examples (`keys` only), parsed and decoded a batch at a time, or None.

    The same examples in the same order as `builder.as_dataset(split,
    shuffle_files=False)`, read three to four times as fast: tfds parses and
    decodes one example at a time, and for MNIST's 60,000 that per-example
    work was most of a run's start-up (1.1-1.4 s against 3.8-5.2 s). Only
    TFRecord files of top-level scalar features (an encoded image, an integer
    label) are read this way; anything else gives None, and tfds reads it.
    """
    info = builder.info
    if info.file_format != tfds.core.FileFormat.TFRECORD:
        return None
    serialized = info.features.get_serialized_info()
    specs = {}
    for key in keys:
        tensor_info = serialized.get(key)
        if (not isinstance(tensor_info, tfds.features.TensorInfo) or tensor_info.shape != ()
                or tensor_info.tf_dtype not in (tf.string, tf.int64)):
            return None
        specs[key] = tf.io.FixedLenFeature([], tensor_info.tf_dtype)
    records = None
    for instruction in info.splits[split].file_instructions:
        shard = tf.data.TFRecordDataset(instruction.filename).skip(instruction.skip)
        shard = shard.take(instruction.take)
        records = shard if records is None else records.concatenate(shard)
    if records is None:
        return None

    def parse(serialized_examples):
        examples = tf.io.parse_example(serialized_examples, specs)
        return {key: _decode_batch(tfds, info.features[key], examples[key]) for key in keys}

    return records.batch(batch_size).map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def _decode_batch(tfds, feature, batch):
    """`feature.decode_batch_example(batch)`, without tfds' deprecation warning.

    tfds' generic batch decoding (an image's) reads its own deprecated
    `FeatureConnector.dtype`, which logs a warning into every run's start; this
    maps `decode_example` over the batch as it does, given `tf_dtype` instead.
    """
    if type(feature).decode_batch_example is not tfds.features.FeatureConnector.decode_batch_example:
        return feature.decode_batch_example(batch)
    return tf.map_fn(feature.decode_example, batch, fn_output_signature=feature.tf_dtype,
                     parallel_iterations=10)


def _tfds_builder(tfds, name, data_dir):
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        known = tfds.list_builders(with_community_datasets=False)
        base = str(name).split("/")[0].split(":")[0]
        close = difflib.get_close_matches(base, known, n=5, cutoff=0.6)
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise errors.KganError(
            f'data.dataset: tensorflow-datasets has no dataset "{name}".{hint} See '
            "https://www.tensorflow.org/datasets/catalog for all "
            f"{len(known)} names, or use data.name: images / arrays for your own files."
        ) from None
    except Exception as exc:  # Bad versions or configs ("mnist:9.9.9").
        raise errors.KganError(
            f'data.dataset: tensorflow-datasets cannot open "{name}": '
            f"{type(exc).__name__}: {exc}"
        ) from None


def _tfds_prepare(builder, name, data_dir, download):
    where = data_dir or "tfds' default directory"

    def not_prepared(reason):
        return errors.KganError(
            f'tfds dataset "{name}" is not prepared in {where} (looked for '
            f"{builder.data_dir}), and {reason}. Point kgan at prepared data: set "
            "TFDS_DATA_DIR to a directory that holds it (e.g. `export "
            "TFDS_DATA_DIR=../shared/tensorflow_datasets`; see "
            "../shared/datasets/README.md) or set data.data_dir, or prepare it where "
            f"there is internet (`tfds build {name}`) and copy the directory over."
        )

    if not download:
        raise not_prepared("data.download is false")
    if not _internet_expected():
        raise not_prepared("there is no internet connection to download it")
    try:
        builder.download_and_prepare()
    except Exception as exc:  # Network, checksum and manual-download failures alike.
        raise not_prepared(f"downloading it failed ({type(exc).__name__}: {exc})") from exc


def _internet_expected():
    # A proxy may be the only way out; let tfds try it rather than guess.
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        return True
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=3).close()
        return True
    except OSError:
        return False


_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                   "gaussian", "mitchellcubic")


def _images_below(folder):
    """Every image file below `folder`, in sorted order (folders too)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files)
                  if f.lower().endswith(IMAGE_EXTENSIONS)]
    return found


def _decodable_size(file):
    """`(height, width)` of an image file that decodes whole, or None."""
    from PIL import Image

    try:
        with Image.open(file) as image:
            image.load()
            return (image.height, image.width)
    except Exception:  # noqa: BLE001 - PIL raises many kinds for a broken file
        return None


def _first_image(folder):
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file in sorted(files):
            if file.lower().endswith(IMAGE_EXTENSIONS):
                return os.path.join(root, file)
    return None


def _scale_clipped(x):
    return tf.clip_by_value(data.scale_images(x), -1.0, 1.0)


_DEFAULT_KEYS = {"x": "y", "images": "labels", "x_train": "y_train", "image": "label"}


def _read_arrays(file, path, key, labels):
    try:
        loaded = np.load(file, allow_pickle=False)
    except Exception as exc:
        raise errors.KganError(
            f"data.path: cannot read {path} as numpy data ({type(exc).__name__}: {exc}). "
            "Save it with np.save / np.savez."
        ) from None
    if isinstance(loaded, np.ndarray):
        if key is not None:
            raise errors.KganError(
                f"data.key: {path} is a .npy file holding one array; data.key is only "
                "for .npz files. Remove it."
            )
        x = loaded
        y = None
    else:
        names = list(loaded.keys())
        if key is None:
            candidates = [k for k in _DEFAULT_KEYS if k in names]
            if len(names) == 1:
                key = names[0]
            elif candidates:
                key = candidates[0]
            else:
                raise errors.KganError(
                    f"data.key: {path} holds several arrays ({', '.join(names)}); set "
                    "data.key to the one with the examples."
                )
        if key not in names:
            raise errors.KganError(
                f'data.key: {path} has no array "{key}".{errors.did_you_mean(key, names)} '
                f"Its arrays: {', '.join(names)}."
            )
        x = loaded[key]
        if labels is None and _DEFAULT_KEYS.get(key) in names:
            labels = _DEFAULT_KEYS[key]
        y = None
        if labels is not None and not str(labels).endswith(".npy"):
            if labels not in names:
                raise errors.KganError(
                    f'data.labels: {path} has no array "{labels}".'
                    f"{errors.did_you_mean(labels, names)} Its arrays: {', '.join(names)}."
                )
            y = loaded[labels]
    if labels is not None and str(labels).endswith(".npy"):
        labels_file = os.path.abspath(os.path.expanduser(str(labels)))
        if not os.path.isfile(labels_file):
            raise errors.KganError(
                f"data.labels: the label file {labels!r} does not exist (looked for "
                f"{labels_file})."
            )
        y = np.load(labels_file, allow_pickle=False)
    if y is not None:
        if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
            raise errors.KganError(
                f"data.labels must be {len(x)} integer class labels, one per example, got "
                f"an array of dtype {y.dtype} and shape {y.shape}."
            )
        y = y.astype(np.int32)
    return x, y


def _scale_array(x, scale, path):
    if scale == "none":
        return x.astype(np.float32)
    if x.size == 0:
        raise errors.KganError(f"data.path: {path} holds no examples.")
    low, high = x.min(), x.max()
    if scale == "uint8" or np.issubdtype(x.dtype, np.integer):
        if low < 0 or high > 255:
            raise errors.KganError(
                f"data.path: {path} holds integers in [{low}, {high}], not pixels 0..255. "
                "Set data.scale: none to keep the values as they are."
            )
        return (x.astype(np.float32) / 127.5 - 1.0).astype(np.float32)
    if not np.issubdtype(x.dtype, np.floating):
        raise errors.KganError(
            f"data.path: {path} holds {x.dtype} values; kgan reads integer pixels "
            "0..255 or floats."
        )
    if low < -1 or high > 1:
        raise errors.KganError(
            f"data.path: {path} holds floats in [{low:.4g}, {high:.4g}], outside [-1, 1]. "
            "Save images as uint8 0..255 or floats in [-1, 1], or set data.scale: none "
            "for vectors in their natural units."
        )
    return x.astype(np.float32)
