"""Dataset plugins and the training input pipeline (`kgan.data`)."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kgan
from kgan import data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def tfds_data_dir(monkeypatch):
    """`TFDS_DATA_DIR`, defaulting to the prepared data beside the repository."""
    path = os.environ.get("TFDS_DATA_DIR") or os.path.join(
        REPO, "..", "shared", "tensorflow_datasets"
    )
    if not os.path.isdir(os.path.join(path, "mnist")):
        pytest.skip(f"No prepared MNIST in {path}; set TFDS_DATA_DIR.")
    monkeypatch.setenv("TFDS_DATA_DIR", path)
    return path


def indexed_source(num_examples):
    """A source whose i-th example is the vector [i, i] with label i."""
    x = np.repeat(np.arange(num_examples, dtype=np.float32)[:, None], 2, axis=1)
    y = np.arange(num_examples, dtype=np.int32)
    return data.DataSource(
        tf.data.Dataset.from_tensor_slices((x, y)), (2,), num_examples, name="indexed"
    )


def take(dataset, n):
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(n)]


def test_builtin_datasets_are_registered():
    assert {"tfds", "images", "arrays", "gaussian1d", "ring2d", "grid2d"} <= set(kgan.DATASETS)
    assert kgan.DATASETS.entry("ring2d").origin.startswith("built-in")
    assert kgan.register_dataset is data.register_dataset


@pytest.mark.parametrize("in_memory", [True, False])
def test_equal_arguments_give_equal_batches_and_another_seed_others(in_memory):
    source = data.load({"name": "ring2d", "num_examples": 64}, seed=1)
    first, steps = data.pipeline(source, 4, 2, seed=3, in_memory=in_memory)
    second, _ = data.pipeline(source, 4, 2, seed=3, in_memory=in_memory)
    other, _ = data.pipeline(source, 4, 2, seed=4, in_memory=in_memory)
    assert steps == 64 // 8
    a, b, c = take(first, 10), take(second, 10), take(other, 10)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0][0])


@pytest.mark.parametrize("in_memory", [True, False])
def test_batch_order_ignores_the_global_seed(in_memory):
    # keras.utils.set_random_seed(0) once made the file-backed shuffle fail to trace.
    source = data.load({"name": "ring2d", "num_examples": 64}, seed=1)
    orders = []
    for global_seed in (None, 0, 123):
        tf.random.set_seed(global_seed)  # None clears it
        dataset, _ = data.pipeline(source, 4, 2, seed=3, in_memory=in_memory)
        orders.append(np.concatenate([x for x, _ in take(dataset, 10)]))
    np.testing.assert_array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(orders[0], orders[2])


@pytest.mark.parametrize("in_memory", [True, False])
def test_the_stream_runs_without_the_autotuner(in_memory):
    # With tf.data's autotuner on, each `fit` of multi-second steps outlived
    # its last step by up to ~10 s (the tuner thread's wake-up period).
    source = data.load({"name": "ring2d", "num_examples": 64}, seed=1)
    dataset, _ = data.pipeline(source, 4, 2, seed=3, in_memory=in_memory)
    assert dataset.options().autotune.enabled is False
    assert len(take(dataset, 3)) == 3


@pytest.mark.parametrize("in_memory", [True, False])
def test_start_step_resumes_the_exact_sequence_across_an_epoch_boundary(in_memory):
    source = indexed_source(100)  # 16 rows a step -> 6 steps a pass, 4 rows dropped.
    fresh, steps = data.pipeline(source, 8, 2, seed=0, in_memory=in_memory)
    assert steps == 6
    reference = take(fresh, 20)
    for start in (4, 6, 13):  # inside the first pass, at a boundary, in the third
        resumed, _ = data.pipeline(source, 8, 2, seed=0, start_step=start, in_memory=in_memory)
        for (x, y), (x_ref, y_ref) in zip(take(resumed, 20 - start), reference[start:]):
            np.testing.assert_array_equal(x, x_ref)
            np.testing.assert_array_equal(y, y_ref)


def test_each_epoch_is_a_fresh_permutation_in_one_endless_dataset():
    source = indexed_source(48)
    dataset, steps = data.pipeline(source, 6, 2, seed=0)  # 12 rows, 4 steps a pass
    assert dataset.cardinality() == tf.data.INFINITE_CARDINALITY
    assert dataset.element_spec[0].shape == (12, 2)
    batches = take(dataset, 5 * steps)  # runs through four epoch boundaries
    passes = [np.concatenate([y for _, y in batches[i : i + steps]]) for i in range(0, 5 * steps, steps)]
    for labels in passes:
        np.testing.assert_array_equal(np.sort(labels), np.arange(48))
    assert len({tuple(labels) for labels in passes}) == 5
    assert not np.array_equal(passes[0], np.arange(48))


def test_steps_per_epoch_is_passed_through_without_changing_the_sequence():
    source = indexed_source(48)
    default, steps = data.pipeline(source, 4, 1, seed=0)
    custom, custom_steps = data.pipeline(source, 4, 1, seed=0, steps_per_epoch=5)
    assert (steps, custom_steps) == (12, 5)
    for (x, _), (x_custom, _) in zip(take(default, 15), take(custom, 15)):
        np.testing.assert_array_equal(x, x_custom)


def test_tfds_mnist_is_scaled_to_unit_range_with_labels(tfds_data_dir):
    source = data.load({"name": "tfds", "dataset": "mnist", "split": "test[:256]"}, seed=0)
    assert source.sample_shape == (28, 28, 1)
    assert (source.num_examples, source.num_classes) == (256, 10)
    dataset, steps = data.pipeline(source, 32, 2, seed=0)
    assert steps == 4
    x, y = next(iter(dataset))
    assert x.shape == (64, 28, 28, 1) and x.dtype == tf.float32
    assert float(tf.reduce_min(x)) == -1.0 and float(tf.reduce_max(x)) == 1.0
    assert y.dtype == tf.int32 and set(y.numpy()) <= set(range(10)) and len(set(y.numpy())) > 3


@pytest.mark.parametrize("dataset, split, count", [("mnist", "test[:3000]", 3000),
                                                   ("mnist", "train[59000:]", 1000),
                                                   ("fashion_mnist", "test[7000:8000]", 1000)])
def test_tfds_reads_the_examples_tfds_reads_in_its_order(tfds_data_dir, dataset, split, count):
    # kgan parses and decodes a batch at a time; tfds one example at a time.
    import tensorflow_datasets as tfds

    x, y = data.arrays(data.load({"name": "tfds", "dataset": dataset, "split": split}))
    examples = tfds.builder(dataset).as_dataset(split=split, shuffle_files=False)
    images, labels = zip(*((e["image"].numpy(), e["label"].numpy()) for e in examples))
    np.testing.assert_array_equal(x, np.asarray(images, np.float32) / 127.5 - 1.0)
    np.testing.assert_array_equal(y, labels)
    assert len(y) == count and len(set(labels)) == 10


def test_tfds_reading_logs_no_deprecation_warning(tfds_data_dir, monkeypatch):
    # tfds' own generic batch decoding reads its deprecated `dtype` and logs
    # a warning (up to 10 a process) into the start of every run.
    from tensorflow_datasets.core.features import feature

    warned = []
    monkeypatch.setattr(feature, "log_tf_warning", warned.append)
    data.arrays(data.load({"name": "tfds", "dataset": "mnist", "split": "test[:100]"}))
    assert warned == []


def test_tfds_resizes_when_asked(tfds_data_dir):
    source = data.load(
        {"name": "tfds", "dataset": "mnist", "split": "test[:8]", "image_size": 32}, seed=0
    )
    x, _ = next(iter(source.dataset))
    assert source.sample_shape == (32, 32, 1) and x.shape == (32, 32, 1)
    assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0


def test_tfds_without_prepared_data_fails_fast_saying_how_to_point_at_it(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(kgan.KganError, match="data.download is false") as info:
        data.load({"name": "tfds", "dataset": "mnist", "download": False}, seed=0)
    assert "TFDS_DATA_DIR" in str(info.value) and "datasets/README.md" in str(info.value)
    # Offline, the default download=True must not attempt (and hang on) a download.
    kgan.DATASETS.names()  # loads the built-in plugins through their entry point
    from kgan_plugins import datasets as builtin_datasets

    monkeypatch.setattr(builtin_datasets, "_internet_expected", lambda: False)
    with pytest.raises(kgan.KganError, match="no internet connection.*TFDS_DATA_DIR"):
        data.load({"name": "tfds", "dataset": "mnist"}, seed=0)


def test_tfds_unknown_name_lists_close_names():
    with pytest.raises(kgan.KganError, match='data.dataset.*"mnsit".*Close names: mnist'):
        data.load({"name": "tfds", "dataset": "mnsit"}, seed=0)


def test_tfds_unknown_split_lists_splits(tfds_data_dir):
    with pytest.raises(kgan.KganError, match="data.split.*Its splits: train, test"):
        data.load({"name": "tfds", "dataset": "mnist", "split": "valid"}, seed=0)


def write_png(path, value, size=(6, 4), mode="RGB"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new(mode, size, value).save(path)


def test_image_folder_with_class_folders_keeps_labels_and_resizes(tmp_path):
    for i in range(3):
        write_png(tmp_path / "cats" / f"{i}.png", (0, 0, 0))
        write_png(tmp_path / "dogs" / f"{i}.png", (255, 255, 255), size=(9, 7))
    source = data.load({"name": "images", "path": str(tmp_path), "image_size": 8}, seed=0)
    assert (source.num_examples, source.num_classes) == (6, 2)
    assert source.class_names == ("cats", "dogs") and source.sample_shape == (8, 8, 3)
    pairs = [(x.numpy(), int(y)) for x, y in source.dataset]
    assert sorted(y for _, y in pairs) == [0, 0, 0, 1, 1, 1]
    for x, y in pairs:
        np.testing.assert_allclose(x, -1.0 if y == 0 else 1.0, atol=1e-6)
    dataset, steps = data.pipeline(source, 2, 1, seed=0)
    assert steps == 3 and next(iter(dataset))[0].shape == (2, 8, 8, 3)


def test_image_folder_without_classes_takes_first_image_size_and_channels(tmp_path):
    for i in range(4):
        write_png(tmp_path / f"{i}.png", 128, size=(5, 3), mode="L")
    source = data.load({"name": "images", "path": str(tmp_path), "channels": 1}, seed=0)
    assert source.sample_shape == (3, 5, 1) and source.num_classes is None
    x, y = next(iter(source.dataset))
    assert x.shape == (3, 5, 1) and int(y) == -1
    np.testing.assert_allclose(x.numpy(), 128 / 127.5 - 1, atol=1e-6)


def test_corrupt_images_among_good_ones_are_left_out_and_named(tmp_path):
    for i in range(3):
        write_png(tmp_path / f"{i}.png", 255, size=(4, 4), mode="L")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (tmp_path / "empty.png").write_bytes(b"")
    source = data.load({"name": "images", "path": str(tmp_path), "channels": 1}, seed=0)
    assert source.num_examples == 3
    assert len(list(source.dataset)) == 3  # the pipeline never meets the bad files
    assert source.notes == (
        f"2 of the 5 images in {tmp_path} cannot be decoded and are left out: "
        "broken.jpg, empty.png.",)


def test_a_folder_of_only_corrupt_images_is_refused_naming_one(tmp_path):
    (tmp_path / "a.png").write_bytes(b"PNG? no")
    with pytest.raises(kgan.KganError, match=r"none of the 1 images .* can be decoded .*a\.png"):
        data.load({"name": "images", "path": str(tmp_path)}, seed=0)


def test_shared_cifar_folder_loads_when_present():
    folder = os.path.join(REPO, "..", "shared", "datasets", "cifar10-jpeg-test")
    if not os.path.isdir(folder):
        pytest.skip("no shared CIFAR-10 folder")
    source = data.load({"name": "images", "path": folder}, seed=0)
    assert source.sample_shape == (32, 32, 3)
    assert (source.num_examples, source.num_classes) == (10_000, 10)


def test_missing_image_folder_is_a_clear_error(tmp_path):
    with pytest.raises(kgan.KganError, match="data.path.*does not exist"):
        data.load({"name": "images", "path": str(tmp_path / "nope")}, seed=0)
    with pytest.raises(kgan.KganError, match="data.path: no images"):
        data.load({"name": "images", "path": str(tmp_path)}, seed=0)


def test_arrays_scale_uint8_pixels_and_keep_labels(tmp_path):
    pixels = np.array([[[0, 255], [255, 0]]] * 4, np.uint8)  # [N, H, W]
    np.savez(tmp_path / "digits.npz", x_train=pixels, y_train=np.arange(4))
    source = data.load({"name": "arrays", "path": str(tmp_path / "digits.npz")}, seed=0)
    assert source.sample_shape == (2, 2, 1) and source.num_classes == 4
    x, y = zip(*[(x.numpy(), int(y)) for x, y in source.dataset])
    np.testing.assert_array_equal(x[0][..., 0], [[-1, 1], [1, -1]])
    assert list(y) == [0, 1, 2, 3]


def test_arrays_floats_must_be_in_unit_range_unless_scale_none(tmp_path):
    np.save(tmp_path / "ok.npy", np.linspace(-1, 1, 20, dtype=np.float32).reshape(10, 2))
    source = data.load({"name": "arrays", "path": str(tmp_path / "ok.npy")}, seed=0)
    assert source.sample_shape == (2,) and source.num_classes is None
    assert int(next(iter(source.dataset))[1]) == -1
    np.save(tmp_path / "wide.npy", np.linspace(0, 5, 20).reshape(10, 2))
    with pytest.raises(kgan.KganError, match=r"outside \[-1, 1\].*data.scale: none"):
        data.load({"name": "arrays", "path": str(tmp_path / "wide.npy")}, seed=0)
    source = data.load(
        {"name": "arrays", "path": str(tmp_path / "wide.npy"), "scale": "none"}, seed=0
    )
    assert float(next(iter(source.dataset.skip(9)))[0][1]) == 5.0


def test_arrays_bad_key_lists_the_arrays(tmp_path):
    np.savez(tmp_path / "d.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    with pytest.raises(kgan.KganError, match="data.key.*several arrays"):
        data.load({"name": "arrays", "path": str(tmp_path / "d.npz")}, seed=0)
    with pytest.raises(kgan.KganError, match='data.key.*"c".*Its arrays: a, b'):
        data.load({"name": "arrays", "path": str(tmp_path / "d.npz"), "key": "c"}, seed=0)


@pytest.mark.parametrize(
    "config, num_modes, dim",
    [
        ({"name": "gaussian1d", "mean": -2.0, "std": 0.5}, 1, 1),
        ({"name": "ring2d", "std": 0.3}, 8, 2),
        ({"name": "grid2d", "std": 0.3}, 25, 2),
    ],
)
def test_toy_distributions_match_their_modes_and_density(config, num_modes, dim):
    source = data.load({**config, "num_examples": 2000}, seed=7)
    assert source.modes.shape == (num_modes, dim) and source.sample_shape == (dim,)
    x, y = (t.numpy() for t in source.dataset.batch(2000).get_single_element())
    if num_modes > 1:
        # Each sample lies within 5 standard deviations of its labelled mode,
        # and every mode is populated.
        distance = np.linalg.norm(x - source.modes[y], axis=1)
        assert distance.max() < 5 * source.std * np.sqrt(dim)
        assert set(y) == set(range(num_modes))
    else:
        assert np.all(y == -1)
        assert abs(x.mean() + 2.0) < 0.05 and abs(x.std() - 0.5) < 0.05
    # The log density integrates to 1 over a fine grid covering every mode.
    lo, hi = source.modes.min() - 8 * source.std, source.modes.max() + 8 * source.std
    if dim == 1:
        grid = np.linspace(lo, hi, 4001)
        total = np.trapezoid(np.exp(source.log_density(grid[:, None])), grid)
    else:
        ticks = np.linspace(lo, hi, 301)
        points = np.stack(np.meshgrid(ticks, ticks), -1).reshape(-1, 2)
        total = np.exp(source.log_density(points)).sum() * (ticks[1] - ticks[0]) ** 2
    assert abs(total - 1.0) < 0.02
    # Samples are far likelier under the true density than under a shifted copy.
    assert source.log_density(x).mean() > source.log_density(x + 3 * source.std).mean() + 1


def test_toys_are_deterministic_in_the_seed():
    def first(run_seed, **params):
        source = data.load({"name": "ring2d", **params}, seed=run_seed)
        return next(iter(source.dataset))[0].numpy()

    np.testing.assert_array_equal(first(0), first(0))
    assert not np.array_equal(first(0), first(1))
    np.testing.assert_array_equal(first(0, seed=5), first(1, seed=5))  # data.seed wins


def test_unknown_parameter_names_its_key_with_a_suggestion():
    with pytest.raises(kgan.KganError, match=r'data.stdd.*Did you mean "std"\?.*num_modes'):
        data.load({"name": "ring2d", "stdd": 0.1}, seed=0)
    with pytest.raises(kgan.KganError, match='data.name.*Did you mean "ring2d"'):
        data.load({"name": "rings2d"}, seed=0)
    with pytest.raises(kgan.KganError, match="data.name` is missing"):
        data.load({"std": 1.0}, seed=0)
    with pytest.raises(kgan.KganError, match="data.dataset is required"):
        data.load({"name": "tfds"}, seed=0)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"name": "ring2d", "std": 0}, "data.std must be a number > 0"),
        ({"name": "gaussian1d", "std": -1.0}, "data.std must be a number > 0"),
        ({"name": "grid2d", "grid_size": 0}, "data.grid_size must be an integer >= 1"),
        ({"name": "ring2d", "num_examples": 2.5}, "data.num_examples must be an integer"),
        ({"name": "gaussian1d", "mean": "four"}, "data.mean must be a finite number"),
        ({"name": "images", "path": ".", "image_size": "big"}, "data.image_size must be"),
        ({"name": "images", "path": ".", "channels": 2}, "data.channels must be one of"),
    ],
)
def test_bad_parameter_values_are_clear_errors(config, message):
    with pytest.raises(kgan.KganError, match=message):
        data.load(config, seed=0)


def test_bad_pipeline_arguments_are_clear_errors():
    source = indexed_source(10)
    with pytest.raises(kgan.KganError, match=r"batch_size \(m, .*\) must be an integer >= 1"):
        data.pipeline(source, 0, 1, seed=0)
    with pytest.raises(kgan.KganError, match=r"d_steps \(k, .*\) must be an integer >= 1"):
        data.pipeline(source, 4, 0, seed=0)
    with pytest.raises(kgan.KganError, match="has 10 examples, fewer than one training step"):
        data.pipeline(source, 4, 3, seed=0)


def test_batch_takes_k_times_m_rows_and_drops_the_remainder():
    dataset = data.batch(tf.data.Dataset.range(20), batch_size=3, d_steps=2)
    assert [len(b) for b in dataset] == [6, 6, 6]
    with pytest.raises(kgan.KganError, match="batch_size"):
        data.batch(tf.data.Dataset.range(20), batch_size=0)


def test_a_user_dataset_plugin_receives_the_run_seed():
    @kgan.register_dataset("test_uniform2d")
    def uniform2d(num_examples=16, seed=0):
        """Points uniform in [-1, 1]^2."""
        x = np.random.default_rng(seed).uniform(-1, 1, (num_examples, 2)).astype(np.float32)
        y = np.full(num_examples, -1, np.int32)
        return data.DataSource(tf.data.Dataset.from_tensor_slices((x, y)), (2,), num_examples)

    x3 = next(iter(data.load({"name": "test_uniform2d"}, seed=3).dataset))[0].numpy()
    np.testing.assert_array_equal(x3, np.random.default_rng(3).uniform(-1, 1, (16, 2))[0].astype(np.float32))
