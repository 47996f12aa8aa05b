"""Known-answer tests of kgan.metrics and the evaluator plumbing of kgan.evaluator."""

import math
import os
import pathlib

import numpy as np
import pytest

from kgan import errors
from kgan import metrics

PREPARED_TFDS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tensorflow_datasets"


def _gaussian(rng, mean, covariance, n):
    return rng.multivariate_normal(mean, covariance, size=n)


# ---------------------------------------------------------------- Fréchet distance


def test_frechet_distance_of_diagonal_gaussians_is_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert metrics.frechet_distance_from_statistics(
        mu1, np.diag(var1), mu2, np.diag(var2)
    ) == pytest.approx(expected, rel=1e-10)  # 5 + (1 + 1 + 4) = 11


def test_frechet_distance_of_non_commuting_covariances_is_closed_form():
    # For 2x2 matrices tr(M^(1/2)) = sqrt(tr M + 2 sqrt(det M)).
    sigma1 = np.array([[2.0, 0.9], [0.9, 1.0]])
    sigma2 = np.array([[1.0, -0.5], [-0.5, 3.0]])
    product = sigma1 @ sigma2
    trace_sqrt = math.sqrt(np.trace(product) + 2 * math.sqrt(np.linalg.det(product)))
    mu1, mu2 = np.array([0.5, -1.0]), np.array([0.0, 0.0])
    expected = 1.25 + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    assert metrics.frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2) == (
        pytest.approx(expected, rel=1e-10)
    )


def test_frechet_distance_of_samples_approaches_the_gaussians_distance():
    rng = np.random.default_rng(0)
    sigma = np.array([[1.0, 0.6, 0.0], [0.6, 2.0, 0.3], [0.0, 0.3, 0.5]])
    real = _gaussian(rng, [0, 0, 0], sigma, 20_000)
    shifted = _gaussian(rng, [1, 0, 0], sigma, 20_000)
    same = _gaussian(rng, [0, 0, 0], sigma, 20_000)
    assert metrics.frechet_distance(real, shifted) == pytest.approx(1.0, abs=0.05)
    assert metrics.frechet_distance(real, same) < 0.01
    assert metrics.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_stays_real_and_finite_for_singular_covariances():
    rng = np.random.default_rng(1)
    # 20 samples in 64 dimensions with dead (all-zero) features, as ReLU features give.
    real = np.maximum(rng.standard_normal((20, 64)), 0)
    fake = np.maximum(rng.standard_normal((20, 64)), 0)
    real[:, :10] = fake[:, :10] = 0.0
    distance = metrics.frechet_distance(real, fake)
    assert isinstance(distance, float) and math.isfinite(distance) and distance > 0
    assert metrics.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_agrees_with_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    sigma1, sigma2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    expected = np.trace(sigma1 + sigma2 - 2 * linalg.sqrtm(sigma1 @ sigma2).real)
    assert metrics.frechet_distance_from_statistics(
        np.zeros(6), sigma1, np.zeros(6), sigma2
    ) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_rejects_features_of_different_sizes():
    with pytest.raises(errors.KganError, match="same network"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(errors.KganError, match="NaN"):
        metrics.frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))


# ---------------------------------------------------------------- KID


def test_kid_matches_the_closed_form_mmd_of_the_cubic_kernel():
    # In one dimension k(x, y) = (xy + 1)^3, so for independent draws
    # MMD^2 = (m3 - n3)^2 + 3 (m2 - n2)^2 + 3 (m1 - n1)^2 from the moments.
    # U(-1, 1): moments 0, 1/3, 0.  U(-0.5, 1.5): 0.5, 7/12, 5/8.
    expected = (5 / 8) ** 2 + 3 * (7 / 12 - 1 / 3) ** 2 + 3 * 0.5**2  # 1.328125
    rng = np.random.default_rng(0)
    real = rng.uniform(-1.0, 1.0, (10_000, 1))
    fake = rng.uniform(-0.5, 1.5, (10_000, 1))
    kid = metrics.kernel_inception_distance(real, fake)
    assert abs(kid.mean - expected) < 4 * kid.std_error
    assert kid.std_error < 0.05 * expected


def test_kid_of_a_distribution_with_itself_is_zero_within_its_standard_error():
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((5_000, 16)), rng.standard_normal((5_000, 16))
    kid = metrics.kernel_inception_distance(real, fake, num_subsets=10)
    shifted = metrics.kernel_inception_distance(real, fake + 0.5, num_subsets=10)
    assert 0 < kid.std_error < 0.01
    assert abs(kid.mean) < 4 * kid.std_error
    assert shifted.mean > 20 * shifted.std_error  # measured: 1.02 +- 0.026


def test_kid_estimate_is_the_unbiased_mmd_over_distinct_pairs():
    x = np.array([[0.0], [1.0], [2.0]])
    y = np.array([[1.0], [1.0], [3.0]])

    def k(a, b):
        return (a * b + 1.0) ** 3

    def mean_off_diagonal(s):
        return np.mean([k(s[i, 0], s[j, 0]) for i in range(3) for j in range(3) if i != j])

    cross = np.mean([k(a, b) for a in x[:, 0] for b in y[:, 0]])
    expected = mean_off_diagonal(x) + mean_off_diagonal(y) - 2 * cross
    kid = metrics.kernel_inception_distance(x, y, num_subsets=1)
    assert kid.mean == pytest.approx(expected)
    assert math.isnan(kid.std_error)


def test_kid_asks_for_more_samples_than_subsets_need():
    with pytest.raises(errors.KganError, match="num_subsets"):
        metrics.kernel_inception_distance(np.zeros((10, 2)), np.zeros((10, 2)), num_subsets=10)


# ---------------------------------------------------------------- precision and recall


def test_precision_recall_of_a_hand_computed_case():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])  # k=1 radii: all 1
    fake = np.array([[0.5], [1.5], [10.0], [10.5]])  # k=1 radii: 1, 1, 0.5, 0.5
    # Fake 0.5 and 1.5 lie in real balls, 10 and 10.5 do not: precision 1/2.
    # Real 0, 1, 2 lie within 1 of 0.5 or 1.5; real 3 is 1.5 away: recall 3/4.
    assert metrics.precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 0.75}


def test_shifted_and_narrow_generators_move_precision_and_recall_as_expected():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((1000, 8))
    fake = rng.standard_normal((1000, 8))
    same = metrics.precision_recall(real, fake)
    shifted = metrics.precision_recall(real, fake + 0.7)
    far = metrics.precision_recall(real, fake + 3.0)
    narrow = metrics.precision_recall(real, 0.3 * fake)  # measured: 0.999, 0.009
    assert same["precision"] > 0.85 and same["recall"] > 0.85  # measured: 0.90, 0.89
    assert shifted["precision"] < same["precision"] - 0.1
    assert shifted["recall"] < same["recall"] - 0.1
    assert far["precision"] < 0.01 and far["recall"] < 0.01
    assert narrow["precision"] > 0.98 and narrow["recall"] < 0.1


def test_precision_recall_match_their_definition_on_the_full_distance_matrices():
    # Kynkaanniemi et al.'s definition written out with whole matrices, against
    # kgan's single pass over blocks of the fake-by-real matrix.
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((400, 5)), 0.8 * rng.standard_normal((300, 5)) + 0.8

    def squared(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)

    real_radii = np.sort(squared(real, real), axis=1)[:, 3]  # k = 3; column 0 is itself
    fake_radii = np.sort(squared(fake, fake), axis=1)[:, 3]
    precision = np.mean(np.any(squared(fake, real) <= real_radii[None, :], axis=1))
    recall = np.mean(np.any(squared(real, fake) <= fake_radii[None, :], axis=1))
    got = metrics.precision_recall(real, fake, k=3, batch_size=64)
    assert 0.05 < recall < 0.95 and 0.05 < precision < 0.95  # measured: 0.55, 0.91
    assert got["precision"] == pytest.approx(precision, abs=1e-12)
    assert got["recall"] == pytest.approx(recall, abs=1e-12)


def test_precision_recall_do_not_depend_on_the_batch_size():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((300, 4)), rng.standard_normal((250, 4)) + 0.3
    small = metrics.precision_recall(real, fake, batch_size=7)
    assert small == metrics.precision_recall(real, fake, batch_size=1000)


def _exact_squared(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)


def test_radii_are_the_exact_kth_neighbour_distances_far_from_the_origin():
    # float32 |a|^2 + |b|^2 - 2 a.b at |a|^2 ~ 1e12 is off by about 1e5, far more than
    # these distances (about 1e-2): the float32 pass must centre, bound and check.
    rng = np.random.default_rng(7)
    features = 1e6 + 0.1 * rng.standard_normal((300, 6))
    expected = np.sort(_exact_squared(features, features), axis=1)[:, 3]
    np.testing.assert_allclose(metrics.kth_neighbour_radii(features, k=3, batch_size=64),
                               expected, rtol=1e-9)


def test_radii_of_repeated_rows_are_exactly_zero():
    rows = np.repeat(np.random.default_rng(8).standard_normal((10, 4)), 5, axis=0)
    assert np.all(metrics.kth_neighbour_radii(rows, k=3) == 0.0)  # 4 copies of each row
    assert np.all(metrics.kth_neighbour_radii(rows, k=5) > 0.0)


def test_radii_refuse_too_few_rows_and_non_finite_features():
    with pytest.raises(errors.KganError, match=r"k=3 need more than 3 rows .* got 3"):
        metrics.kth_neighbour_radii(np.zeros((3, 2)), k=3)
    with pytest.raises(errors.KganError, match="NaN or infinite"):
        metrics.kth_neighbour_radii(np.array([[0.0], [1.0], [np.inf], [2.0], [3.0]]), k=1)


def test_a_fake_exactly_on_a_balls_edge_counts_as_inside():
    # Radii set to exact distances of chosen pairs: each pair's distance equals its
    # radius to the last bit, so float32 alone cannot tell inside (<=) from outside.
    # Integer features: every float64 distance is exact, whatever the summation order.
    rng = np.random.default_rng(9)
    real = rng.integers(-20, 21, (200, 16)).astype(np.float64)
    fake = rng.integers(-20, 21, (150, 16)).astype(np.float64) + 3.0
    distances = _exact_squared(fake, real)
    # Forty real balls reaching exactly their nearest fake; the others reach none.
    targets = rng.permutation(200)[:40]
    real_radii = np.full(200, 0.5)
    real_radii[targets] = distances[:, targets].min(axis=0)
    expected = np.mean(np.any(distances <= real_radii[None, :], axis=1))
    assert 10 / 150 <= expected <= 40 / 150  # the nearest fakes of 40 balls, some shared
    got = metrics.precision_recall(real, fake, real_radii=real_radii)
    assert got["precision"] == expected
    # The next float64 below each radius leaves every fake just outside.
    below = np.nextafter(real_radii, 0.0)
    assert metrics.precision_recall(real, fake, real_radii=below)["precision"] == 0.0


def test_precision_recall_decide_ties_exactly_as_their_definition():
    # Small integer features: many distances tie with radii (to the last bit, as
    # every float64 sum here is exact), on both sides, precision's and recall's.
    rng = np.random.default_rng(10)
    real = rng.integers(0, 4, (300, 6)).astype(np.float64)
    fake = rng.integers(0, 4, (250, 6)).astype(np.float64) + (rng.random((250, 6)) < 0.3)
    distances = _exact_squared(fake, real)
    real_radii = np.sort(_exact_squared(real, real), axis=1)[:, 3]
    fake_radii = np.sort(_exact_squared(fake, fake), axis=1)[:, 3]
    ties = np.sum(distances == real_radii[None, :]) + np.sum(distances == fake_radii[:, None])
    assert ties > 1000
    np.testing.assert_array_equal(metrics.kth_neighbour_radii(real, k=3), real_radii)
    got = metrics.precision_recall(real, fake, k=3, batch_size=100)
    assert got == {"precision": np.mean(np.any(distances <= real_radii[None, :], axis=1)),
                   "recall": np.mean(np.any(distances <= fake_radii[:, None], axis=0))}


def test_known_real_radii_give_the_figures_computed_without_them():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((200, 3))
    radii = metrics.kth_neighbour_radii(real, k=3)
    np.testing.assert_allclose(
        radii, np.sort(((real[:, None] - real[None]) ** 2).sum(axis=2), axis=1)[:, 3],
        rtol=1e-12)
    for shift in (0.0, 0.5, 1.0):
        fake = rng.standard_normal((150, 3)) + shift
        assert (metrics.precision_recall(real, fake, real_radii=radii)
                == metrics.precision_recall(real, fake))
    # Radii that are not the real set's change the answer: they are used, not recomputed.
    far = real + 100.0
    assert metrics.precision_recall(real, far)["precision"] == 0.0
    assert metrics.precision_recall(real, far, real_radii=np.full(200, np.inf))["precision"] == 1.0
    assert metrics.precision_recall(real, real + 0.01, real_radii=np.zeros(200))["precision"] == 0.0
    with pytest.raises(errors.KganError, match=r"one radius per real sample, shape \(200,\)"):
        metrics.precision_recall(real, real, real_radii=radii[:10])


# ---------------------------------------------------------------- mode coverage


def test_samples_of_one_class_cover_one_mode_with_kl_log_num_classes():
    coverage = metrics.class_coverage(np.full(500, 3), num_classes=10)
    assert coverage["classes_covered"] == 1
    assert coverage["class_kl"] == pytest.approx(math.log(10))
    assert coverage["class_histogram"][3] == 1.0


def test_uniform_predictions_cover_every_class_with_zero_kl():
    coverage = metrics.class_coverage(np.arange(1000) % 10, num_classes=10)
    assert coverage["classes_covered"] == 10
    assert coverage["class_kl"] == pytest.approx(0.0, abs=1e-12)


def test_class_coverage_counts_a_class_from_its_minimum_share():
    # 2 samples of class 9 in 1,000 is 0.2%, under the default share of 1%.
    predicted = np.concatenate([np.arange(998) % 9, [9, 9]])
    assert metrics.class_coverage(predicted, 10)["classes_covered"] == 9
    assert metrics.class_coverage(predicted, 10, min_share=0.002)["classes_covered"] == 10


def test_class_kl_is_measured_against_the_data_class_histogram():
    data = np.array([3.0, 1.0])  # counts: the data are 75% / 25%
    probabilities = np.array([[0.9, 0.1]] * 75 + [[0.2, 0.8]] * 25)
    assert metrics.class_coverage(probabilities, 2, data)["class_kl"] == pytest.approx(0.0)
    half = metrics.class_coverage(np.array([0, 1]), 2, data)["class_kl"]
    assert half == pytest.approx(0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25))


def test_class_coverage_rejects_classes_out_of_range():
    with pytest.raises(errors.KganError, match="0..9"):
        metrics.class_coverage(np.array([0, 10]), 10)


# ---------------------------------------------------------------- 2-D toys


def _ring(num_modes=8, radius=2.0):
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_samples_from_the_true_ring_cover_all_modes_with_99_percent_high_quality():
    rng = np.random.default_rng(0)
    modes, std = _ring(), 0.02
    samples = modes[rng.integers(8, size=2500)] + std * rng.standard_normal((2500, 2))
    result = metrics.toy_mode_metrics(samples, modes, std)
    assert result["modes_covered"] == 8
    # A 2-D Gaussian stays within 3 std with probability 1 - exp(-4.5) = 0.9889.
    assert result["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)


def test_a_collapsed_toy_generator_covers_one_mode():
    rng = np.random.default_rng(1)
    modes, std = _ring(), 0.02
    collapsed = modes[2] + std * rng.standard_normal((2500, 2))
    result = metrics.toy_mode_metrics(collapsed, modes, std)
    assert result["modes_covered"] == 1 and result["mode_counts"][2] > 2400


def test_toy_samples_between_modes_are_low_quality_and_cover_nothing():
    modes, std = _ring(), 0.02
    between = 2.0 * np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0.2, 0.5, 100)])
    result = metrics.toy_mode_metrics(between, modes, std)
    assert result == {"modes_covered": 0, "num_modes": 8, "high_quality_share": 0.0,
                      "mode_counts": [0] * 8}


def test_a_mode_needs_its_minimum_share_of_high_quality_samples():
    modes, std = _ring(), 0.02
    samples = np.concatenate([np.repeat(modes[:1], 990, axis=0), np.repeat(modes[1:2], 10, axis=0)])
    assert metrics.toy_mode_metrics(samples, modes, std)["modes_covered"] == 2  # 1% >= 0.8%
    assert metrics.toy_mode_metrics(samples, modes, std, min_share=0.02)["modes_covered"] == 1


# ---------------------------------------------------------------- evaluator plumbing
# A tiny evaluator trained for a few steps on two synthetic classes of 8x8
# images (top half bright, or bottom half bright) stands in for the real one.

import keras  # noqa: E402

import kgan  # noqa: E402
from kgan import data as data_lib  # noqa: E402
from kgan import evaluator as evaluator_lib  # noqa: E402
from kgan import quality  # noqa: E402

_TOP = np.where(np.arange(8)[:, None] < 4, 1.0, -1.0) * np.ones((8, 8))
TEMPLATES = np.stack([_TOP, -_TOP])[..., None].astype(np.float32)  # [2, 8, 8, 1]


def _two_class_images(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(2, size=n)
    images = TEMPLATES[labels] + 0.3 * rng.standard_normal((n, 8, 8, 1))
    return np.clip(images, -1, 1).astype(np.float32), labels.astype(np.int32)


@pytest.fixture(scope="module")
def tiny_evaluator():
    keras.utils.set_random_seed(0)
    classifier = evaluator_lib.build_classifier((8, 8, 1), 2, feature_units=16)
    classifier.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    images, labels = _two_class_images(512, seed=0)
    classifier.fit(images, labels, batch_size=64, epochs=2, verbose=0)
    return evaluator_lib.Evaluator(classifier, "two_class", {"test_accuracy": None})


def _template_generator(latent_dim, kernel_scale, bias_scale):
    """A tanh Dense generator: output tanh(z . W + b) with W, b built from the top template."""
    generator = keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(64, activation="tanh"),
        keras.layers.Reshape((8, 8, 1)),
    ])
    kernel = np.zeros((latent_dim, 64), np.float32)
    kernel[0] = kernel_scale * _TOP.reshape(-1)
    generator.layers[0].set_weights([kernel, bias_scale * _TOP.reshape(-1).astype(np.float32)])
    return generator


def test_evaluator_is_cached_under_kgan_cache_dir_and_reloads_the_same_features(
    tiny_evaluator, tmp_path, monkeypatch
):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path))
    path = evaluator_lib.cache_path("two_class")
    assert path == str(tmp_path / "evaluators" / "two_class.keras")
    tiny_evaluator.save(path)
    loaded = evaluator_lib.load_evaluator("two_class")
    images, labels = _two_class_images(64, seed=1)
    np.testing.assert_allclose(loaded.features(images), tiny_evaluator.features(images),
                               atol=1e-5)
    assert loaded.info["test_accuracy"] is None and len(loaded.info["sha256"]) == 64
    assert np.mean(loaded.predict_classes(images) == labels) > 0.95


def test_default_cache_dir_is_under_the_home_cache(monkeypatch):
    monkeypatch.delenv("KGAN_CACHE_DIR", raising=False)
    assert evaluator_lib.cache_path("mnist") == os.path.expanduser(
        os.path.join("~", ".cache", "kgan", "evaluators", "mnist.keras")
    )


def test_a_missing_evaluator_says_how_to_train_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="kgan evaluator train kmnist"):
        evaluator_lib.load_evaluator("kmnist")


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_kgan_ships_mnist_and_fashion_mnist_evaluators_with_their_checksums(dataset):
    path = evaluator_lib.packaged_path(dataset)
    loaded = evaluator_lib.load_evaluator(dataset, path)
    assert loaded.info["dataset"] == dataset and loaded.info["seed"] == 0
    assert loaded.info["test_accuracy"] > (0.99 if dataset == "mnist" else 0.90)
    assert len(loaded.info["sha256"]) == 64


def test_a_damaged_evaluator_file_is_refused(tiny_evaluator, tmp_path):
    path = str(tmp_path / "two_class.keras")
    tiny_evaluator.save(path)
    with open(path, "r+b") as file:
        file.seek(100)
        file.write(b"\0\0\0\0")
    with pytest.raises(kgan.KganError, match="does not match the SHA-256"):
        evaluator_lib.load_evaluator("two_class", path)


def test_real_images_score_a_small_fid_and_noise_a_large_one(tiny_evaluator):
    real = tiny_evaluator.features(_two_class_images(1000, seed=2)[0])
    more_real = tiny_evaluator.features(_two_class_images(1000, seed=3)[0])
    noise = np.random.default_rng(4).uniform(-1, 1, (1000, 8, 8, 1))
    fid_real = metrics.frechet_distance(real, more_real)
    fid_noise = metrics.frechet_distance(real, tiny_evaluator.features(noise))
    assert fid_noise > 20 * fid_real


def test_evaluate_generator_finds_a_collapsed_generator_and_a_two_class_one(tiny_evaluator):
    reference = _two_class_images(400, seed=5)
    collapsed = _template_generator(2, kernel_scale=0.0, bias_scale=3.0)  # always "top"
    both = _template_generator(2, kernel_scale=5.0, bias_scale=0.0)  # sign(z0) picks the class
    results = {
        name: quality.evaluate_generator(
            generator, "two_class", num_samples=400, evaluator=tiny_evaluator,
            reference=reference, num_kid_subsets=4,
        )
        for name, generator in (("collapsed", collapsed), ("both", both))
    }
    assert results["collapsed"]["classes_covered"] == 1
    assert results["both"]["classes_covered"] == 2
    assert results["collapsed"]["class_kl"] == pytest.approx(
        metrics.kl_divergence([1, 0], np.bincount(reference[1]) / 400), abs=1e-6
    )
    assert results["both"]["class_kl"] < 0.02
    assert results["both"]["recall"] > results["collapsed"]["recall"]
    assert results["both"]["fid"] < results["collapsed"]["fid"]
    assert set(results["both"]) >= {"fid", "kid", "kid_std_error", "precision", "recall",
                                    "classes_covered", "num_classes", "class_kl", "num_samples"}


def test_evaluate_generator_on_a_toy_counts_modes_and_high_quality_samples():
    modes = _ring()
    source = data_lib.DataSource(
        dataset=__import__("tensorflow").data.Dataset.from_tensor_slices(
            (np.repeat(modes, 50, axis=0).astype(np.float32), np.zeros(400, np.int32))
        ).shuffle(400, seed=0),
        sample_shape=(2,), num_examples=400, num_classes=8, name="ring", modes=modes, std=0.02,
    )
    collapsed = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    collapsed.layers[0].set_weights([np.zeros((2, 2), np.float32), modes[3].astype(np.float32)])
    results = quality.evaluate_generator(collapsed, source, num_samples=400,
                                               num_kid_subsets=4)
    assert results["modes_covered"] == 1 and results["num_modes"] == 8
    assert results["high_quality_share"] == 1.0
    assert results["precision"] == 1.0 and results["recall"] < 0.2


def test_inception_features_plumbing_with_random_weights():
    # No Inception-v3 weights on the test machines: random weights, 75 x 75 inputs.
    inception = evaluator_lib.InceptionFeatures(weights=None, image_size=75)
    gray, _ = _two_class_images(6, seed=6)
    features = inception.features(gray, batch_size=4)  # grayscale: repeated to RGB
    assert features.shape == (6, 2048) and np.all(np.isfinite(features))
    assert not np.allclose(features[0], features[1])
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_inception_features_name_a_missing_weights_file(tmp_path):
    with pytest.raises(kgan.KganError, match="does not exist"):
        evaluator_lib.InceptionFeatures(weights=tmp_path / "nope.h5")
    with pytest.raises(kgan.KganError, match="at least 75"):
        evaluator_lib.InceptionFeatures(weights=None, image_size=28)


def test_kgan_evaluate_prints_a_table_and_writes_json_for_a_toy_run(tmp_path):
    import json

    from click.testing import CliRunner

    from kgan import cli, config, runs, train

    recipe = config.resolve(
        os.path.join(os.path.dirname(__file__), "..", "recipes", "ring2d.yaml"),
        ["model.generator.hidden_units=[8]", "model.discriminator.hidden_units=[8]",
         "data.num_examples=1000"],
    )
    run_dir = runs.create(recipe, str(tmp_path / "run"))
    runs.save_final(train.build_gan(recipe, (2,)), run_dir)
    result = CliRunner().invoke(cli.main, ["evaluate", run_dir, "-n", "400"])
    assert result.exit_code == 0, result.output
    assert "modes_covered" in result.output and "high_quality_share" in result.output
    with open(os.path.join(run_dir, "evaluation.json"), encoding="utf-8") as file:
        saved = json.load(file)
    assert saved["num_modes"] == 8 and saved["num_samples"] == 400
    assert 0 <= saved["modes_covered"] <= 8 and saved["fid"] > 0


# --- The Parzen-window estimate of the 2014 paper's Table 1 -------------------------


def test_parzen_log_likelihoods_are_the_gaussian_mixture_densities():
    rng = np.random.default_rng(0)
    samples, data = rng.normal(size=(50, 3)), rng.normal(size=(7, 3))
    sigma = 0.8
    expected = [
        np.log(np.mean([np.prod(np.exp(-0.5 * ((x - s) / sigma) ** 2)
                                / (sigma * np.sqrt(2 * np.pi))) for s in samples]))
        for x in data
    ]
    np.testing.assert_allclose(metrics.parzen_log_likelihoods(samples, data, sigma), expected,
                               rtol=1e-10)


def test_parzen_sigma_is_the_bandwidth_under_which_validation_is_likeliest():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(400, 2))
    sigmas = [0.01, 0.3, 3.0]
    near = samples[:20] + 1e-3 * rng.normal(size=(20, 2))  # on top of samples: narrow wins
    assert metrics.parzen_sigma(samples, near, sigmas)[0] == 0.01
    fresh = rng.normal(size=(200, 2))  # new draws from the same Gaussian: a middle bandwidth
    chosen, means = metrics.parzen_sigma(samples, fresh, sigmas)
    assert chosen == 0.3 and means[1] == max(means)


def test_the_parzen_protocol_scores_real_digits_above_noise(monkeypatch):
    if "TFDS_DATA_DIR" not in os.environ and not PREPARED_TFDS.is_dir():
        pytest.skip("needs the prepared MNIST tensorflow-datasets data")
    monkeypatch.setenv("TFDS_DATA_DIR", os.environ.get("TFDS_DATA_DIR", str(PREPARED_TFDS)))
    real, _ = data_lib.arrays(data_lib.load(
        {"name": "tfds", "dataset": "mnist", "split": "train[:1000]"}))
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype("float32")
    estimates = {}
    for name, images in (("real", real), ("noise", noise)):
        monkeypatch.setattr(quality, "generate", lambda *args, images=images: images)
        estimates[name] = quality.parzen_estimate(None, "mnist", num_samples=1000,
                                                  num_validation=200)
    real_estimate = estimates["real"]
    assert real_estimate["parzen_sigma"] in quality.PARZEN_SIGMAS
    noise_estimate = estimates["noise"]["parzen_log_likelihood"]
    assert real_estimate["parzen_log_likelihood"] > noise_estimate + 100
    assert 0 < real_estimate["parzen_std_error"] < 5
