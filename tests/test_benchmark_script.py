"""bin/benchmark_step.py compares like with like: its loops make the updates they claim."""

import json
import statistics

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import layers as kgan_layers


@pytest.fixture(scope="module")
def bench(bin_script):
    return bin_script("benchmark_step")


def _networks():
    """A tiny G and a D without batch norm or dropout, so updates are deterministic."""
    keras.utils.set_random_seed(1)
    generator = kgan.generator("mlp", latent_dim=4, output_shape=(4, 4, 1), hidden_units=(8,))
    discriminator = kgan.discriminator("mlp", input_shape=(4, 4, 1), hidden_units=(8,))
    return generator, discriminator


def _train_kgan(bench, reuse_fakes, real, steps=2):
    generator, discriminator = _networks()
    gan = kgan.GAN(generator, discriminator, latent_dim=4, seed=3, reuse_fakes=reuse_fakes)
    gan.compile(d_optimizer=bench._adam(), g_optimizer=bench._adam())
    for _ in range(steps):
        gan.train_step(real)
    return generator, discriminator


def _train_by_hand(bench, real, steps=2, **options):
    generator, discriminator = _networks()
    initial = [model.get_weights() for model in (generator, discriminator)]
    step = bench.make_alternating_train_step(
        generator, discriminator, bench._adam(), bench._adam(), latent_dim=4, seed=3,
        **options)
    for _ in range(steps):
        step(real)
    for model, weights in zip((generator, discriminator), initial):
        assert not np.allclose(model.get_weights()[0], weights[0])  # it really trained
    return generator, discriminator


def _assert_same_weights(models_a, models_b):
    for model_a, model_b in zip(models_a, models_b):
        for weight_a, weight_b in zip(model_a.get_weights(), model_b.get_weights()):
            np.testing.assert_allclose(weight_a, weight_b, rtol=1e-4, atol=1e-6)


REAL = tf.random.uniform((6, 4, 4, 1), -1.0, 1.0, seed=0)


def test_hand_written_alternating_step_is_kgans_literal_algorithm_1(bench):
    _assert_same_weights(_train_by_hand(bench, REAL),
                         _train_kgan(bench, reuse_fakes=False, real=REAL))


def test_hand_written_reuse_step_is_kgans_reuse_fakes_update(bench):
    by_hand = _train_by_hand(bench, REAL, reuse_fakes=True)
    _assert_same_weights(by_hand, _train_kgan(bench, reuse_fakes=True, real=REAL))
    # ... and it is a different update from the fresh-noise one.
    with pytest.raises(AssertionError):
        _assert_same_weights(by_hand, _train_by_hand(bench, REAL))


def test_one_discriminator_call_on_real_and_fake_is_the_same_update(bench):
    _assert_same_weights(_train_by_hand(bench, REAL, reuse_fakes=True, concat=True),
                         _train_by_hand(bench, REAL, reuse_fakes=True))


def test_hand_written_k_step_is_kgans_k_step(bench):
    real = tf.random.uniform((12, 4, 4, 1), -1.0, 1.0, seed=1)
    for reuse_fakes in (False, True):
        by_hand = _train_by_hand(bench, real, reuse_fakes=reuse_fakes, d_steps=3)
        generator, discriminator = _networks()
        gan = kgan.GAN(generator, discriminator, latent_dim=4, seed=3, d_steps=3,
                       reuse_fakes=reuse_fakes)
        gan.compile(d_optimizer=bench._adam(), g_optimizer=bench._adam())
        for _ in range(2):
            gan.train_step(real)
        _assert_same_weights(by_hand, (generator, discriminator))


def test_a_paused_fit_runs_exactly_the_steps_of_each_slice(bench):
    generator, discriminator = _networks()
    gan = kgan.GAN(generator, discriminator, latent_dim=4, seed=3)
    gan.compile(d_optimizer=bench._adam(), g_optimizer=bench._adam(), steps_per_execution=2)
    data = tf.data.Dataset.from_tensors((REAL, tf.zeros(6, tf.int32))).repeat()
    run = bench.PausedFit(gan, data, steps_per_execution=2)
    done = []
    for steps in (2, 5, 4):  # 5 is cut to whole executions: 4
        run(steps)
        done.append(int(gan.g_optimizer.iterations.numpy()))
    run.close()
    assert done == [2, 6, 10]
    assert not run._thread.is_alive()


def test_main_prints_one_row_per_size_and_variant_and_every_variant_trains(bench, tmp_path,
                                                                           capsys):
    variants = ["tutorial", "alternating-k2@constant", "kgan-k2@constant",
                "kgan-reuse-spe2@tutorial"]
    json_path = tmp_path / "bench.json"
    argv = ["--variants", ",".join(variants), "--batch-size", "4,2", "--image-size", "8",
            "--latent-dim", "8", "--num-examples", "48", "--steps", "2", "--rounds", "2",
            "--warmup-steps", "1", "--json", str(json_path)]
    results = bench.main(argv)
    output = capsys.readouterr().out
    assert "command: python bin/benchmark_step.py " + " ".join(argv) in output
    assert "cpu: " in output.splitlines()[1]

    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["m", "jit"])
    assert lines[header].split()[:5] == ["m", "jit", "variant", "images/s", "(min..max)"]
    assert set(lines[header + 1]) == {"-"}
    rows = [line.split() for line in lines[header + 2 : header + 2 + 2 * len(variants)]]
    assert [(row[0], row[2]) for row in rows] == [
        (m, v) for m in ("4", "2") for v in variants]
    for row in rows:
        assert row[1] == "off" and len(row) == len(bench.TABLE_HEADER)
        images_per_s, ms_per_step = float(row[3]), float(row[5])
        assert images_per_s > 0 and ms_per_step > 0
        assert row[-1] == "yes"  # both networks' weights moved
        assert float(row[-3]) > 0 and float(row[-2]) > 0  # GFLOP per step, GFLOP/s
    # The tutorial's ratio to itself is 1; kgan-k2 has its hand-written twin, the
    # reuse variant none in this run.
    assert rows[0][7] == "1.000" and rows[0][8] == "1.000"
    assert float(rows[2][10]) > 0 and rows[2][11].startswith("(")
    assert rows[3][10] == "-"
    # The input checks time the k = 1 streams: the tutorial's (pipeline) and the reuse
    # variant's, at each size; not the k = 2 constant one.
    assert output.count("input 'pipeline' alone: first batch") == 2
    assert output.count("input 'tutorial' alone: first batch") == 2
    assert "input 'constant' alone" not in output

    assert [row["variant"] for row in results] == variants * 2
    assert all(row["weights_changed"] for row in results)
    # k = 2 consumes two minibatches a step: images/s counts both.
    assert results[1]["d_steps"] == 2 and results[0]["d_steps"] == 1
    written = json.loads(json_path.read_text())
    assert [row["batch_size"] for row in written["results"]] == [4] * 4 + [2] * 4
    assert written["results"][2]["twin"] == "alternating-k2@constant"
    assert written["results"][2]["vs_twin_paired"] == pytest.approx(statistics.median(
        a / b for a, b in zip(results[2]["rounds_images_per_s"],
                              results[1]["rounds_images_per_s"])))
    assert len(written["results"][0]["rounds_images_per_s"]) == 2
    # The paired medians come with their bootstrap intervals, in the JSON and printed
    # after the table: kgan-k2 against the tutorial and its twin, the reuse variant
    # against the tutorial only (no twin in this run).
    low, high = written["results"][2]["vs_twin_paired_ci"]
    assert low <= written["results"][2]["vs_twin_paired"] <= high
    assert written["results"][3]["vs_twin_paired_ci"] is None
    block = lines[lines.index(
        "95% confidence intervals of the paired medians (bootstrap over the rounds):") + 1:]
    assert block[0].split()[:3] == ["4", "off", "alternating-k2@constant"]
    assert block[1].split()[2] == "kgan-k2@constant" and "x twin" in block[1]
    assert block[2].split()[2] == "kgan-reuse-spe2@tutorial" and "x twin" not in block[2]


class _FakeTime:
    """A clock that only the variants' own steps move: each step adds its variant's cost."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def process_time(self):
        return 2 * self.now


def _fake_variants(bench, clock, calls):
    def runner(name, seconds_a_step):
        def run(steps):
            calls.append((name, steps))
            clock.now += seconds_a_step * steps
        return run

    return [bench.Variant("a", runner("a", 0.01), None, None),
            bench.Variant("b", runner("b", 0.04), None, None),
            bench.Variant("c", runner("c", 0.01), None, None, steps_multiple=2)]


@pytest.mark.parametrize("interleave, order", [
    ("rounds", [("a", 4), ("b", 4), ("c", 4)]),
    ("steps", [("a", 1), ("b", 1), ("c", 2), ("a", 1), ("b", 1), ("c", 2),
               ("a", 1), ("b", 1), ("a", 1), ("b", 1)]),
])
def test_a_round_runs_each_variants_steps_and_counts_only_its_own_time(
        bench, monkeypatch, interleave, order):
    clock, calls = _FakeTime(), []
    monkeypatch.setattr(bench, "time", clock)
    variants = _fake_variants(bench, clock, calls)
    args = bench.parse_args(["--steps", "4", "--interleave", interleave])
    for _ in range(2):
        bench.timed_round(variants, args)
    # Taking turns a step at a time (a variant of two steps a call, two at a time) or in
    # one go, every variant runs its 4 steps a round, and is timed for its own alone.
    assert calls == order * 2
    for variant, seconds_a_step in zip(variants, (0.01, 0.04, 0.01)):
        assert variant.seconds == pytest.approx([4 * seconds_a_step] * 2)
        assert variant.cpu_seconds == pytest.approx([8 * seconds_a_step] * 2)
    assert variants[1].rates(args) == pytest.approx([4 * 64 / 0.16] * 2)


def test_median_interval_brackets_the_median_repeats_and_narrows_with_rounds(bench):
    rng = np.random.default_rng(3)
    few, many = rng.normal(1.0, 0.05, 8), rng.normal(1.0, 0.05, 200)
    low, high = bench.median_interval(few)
    assert low <= np.median(few) <= high and low < high
    assert bench.median_interval(few) == (low, high)  # seeded: a run's figures repeat
    many_low, many_high = bench.median_interval(many)
    assert many_high - many_low < (high - low) / 2
    # A wider confidence gives a wider interval.
    loose_low, loose_high = bench.median_interval(few, confidence=0.5)
    assert low <= loose_low <= loose_high <= high


def test_flop_counts_say_what_each_step_computes(bench):
    args = bench.parse_args(["--batch-size", "4", "--latent-dim", "8"])
    flops = {name: bench.step_flops(name, args, (8, 8, 1))
             for name in ("tutorial", "alternating", "alternating-reuse", "kgan", "kgan-reuse")}
    # kgan's steps compute what the hand-written loops of the same mathematics do
    # (the metrics add a fraction of a percent at most) ...
    assert flops["kgan"] == pytest.approx(flops["alternating"], rel=0.01)
    assert flops["kgan-reuse"] == pytest.approx(flops["alternating-reuse"], rel=0.01)
    # ... reusing G's forward pass saves work, and the simultaneous update does
    # the least: no second D pass on the fakes after D's update.
    assert flops["tutorial"] < flops["kgan-reuse"] < flops["kgan"]


def test_kgan_variants_train_with_kgan_adam_unless_named_keras_adam(bench):
    args = bench.parse_args(["--variants", "tutorial,alternating-reuse,kgan-reuse,"
                             "kgan-reuse-k2-keras-adam", "--batch-size", "4",
                             "--image-size", "8", "--latent-dim", "8", "--num-examples", "16"])
    variants = bench._make_variants(args, bench._source(args), {}, jit=False)
    kgan_runs = [variant.run for variant in variants[2:]]
    assert [type(run.gan.g_optimizer) for run in kgan_runs] == [
        kgan.optimizers.Adam, keras.optimizers.Adam]
    assert [type(run.gan.d_optimizer) for run in kgan_runs] == [
        kgan.optimizers.Adam, keras.optimizers.Adam]
    # The hand-written twin is the same loop whatever kgan's optimizer.
    assert [bench._twin(name) for name in args.variants[2:]] == [
        "alternating-reuse", "alternating-reuse-k2"]
    assert "Keras' Adam" in bench._description("kgan-reuse-keras-adam", "pipeline")


def test_bad_variant_names_are_refused(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--variants", "kgan,simultanous"])
    assert "unknown variant 'simultanous'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args(["--variants", "kgan-spe3", "--steps", "4"])


def _tiny_recipe_and_benchmark(tmp_path, bin_script):
    """A tiny ring2d recipe's path, and bin/benchmark_recipe.py as a module."""
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        "data: {name: ring2d, num_examples: 256}\n"
        "model: {latent_dim: 2, generator: {name: mlp, hidden_units: [8], "
        "output_activation: linear}, discriminator: {name: mlp, hidden_units: [8]}}\n"
        "train: {batch_size: 16}\nsamples: {num: 16}\n")
    return recipe, bin_script("benchmark_recipe")


@pytest.mark.parametrize("interleave", ["rounds", "steps"])
def test_benchmark_recipe_times_each_variation_of_a_recipe(tmp_path, bin_script, capsys,
                                                          interleave):
    recipe, module = _tiny_recipe_and_benchmark(tmp_path, bin_script)
    results = module.main([str(recipe), "", "train.steps_per_execution=2", "--steps", "4",
                           "--rounds", "2", "--warmup-steps", "2", "--interleave", interleave])
    assert [r["variation"] for r in results] == ["", "train.steps_per_execution=2"]
    assert results[0]["paired"] == 1.0 and results[1]["paired"] > 0
    assert all(r["min"] <= r["steps_per_s"] <= r["max"] for r in results)
    assert "round 2/2" in capsys.readouterr().out


def test_benchmark_recipe_takes_turns_only_within_one_process(tmp_path, bin_script, capsys):
    recipe, module = _tiny_recipe_and_benchmark(tmp_path, bin_script)
    with pytest.raises(SystemExit):
        module.main([str(recipe), "", "--processes", "--interleave", "steps"])
    assert "--interleave steps takes turns within one process" in capsys.readouterr().err


def test_benchmark_recipe_can_time_each_variation_as_its_own_kgan_train(tmp_path, bin_script,
                                                                       capsys):
    # --processes: a fresh `kgan train` per variation per round, for what is set per process.
    recipe, module = _tiny_recipe_and_benchmark(tmp_path, bin_script)
    results = module.main([str(recipe), "", "train.steps_per_execution=2", "--steps", "8",
                           "--rounds", "2", "--processes"])
    assert [r["variation"] for r in results] == ["", "train.steps_per_execution=2"]
    assert results[0]["paired"] == 1.0 and results[1]["paired"] > 0
    assert all(0 < r["min"] <= r["steps_per_s"] <= r["max"] for r in results)
    assert "round 2/2" in capsys.readouterr().out


def test_benchmark_recipe_times_the_recipe_with_keras_own_layers_beside_it(tmp_path, bin_script):
    recipe, module = _tiny_recipe_and_benchmark(tmp_path, bin_script)
    recipe.write_text(recipe.read_text().replace(
        "generator: {name: mlp, hidden_units: [8],", "generator: {name: mlp, hidden_units: [8], "
        "batch_norm: true,"))
    results = module.main([str(recipe), "", "--keras-layers", "--steps", "4", "--rounds", "2",
                           "--warmup-steps", "2"])
    assert [r["variation"] for r in results] == ["", module.KERAS_LAYERS]
    assert results[1]["paired"] > 0

    def kinds():
        g = kgan.generator("mlp", latent_dim=2, output_shape=(2,), hidden_units=[4],
                           batch_norm=True)
        d = kgan.discriminator("cgan", input_shape=(8, 8, 1), num_classes=3, base_filters=2)
        return {type(layer) for net in (g, d) for layer in net._flatten_layers()}

    with module._keras_layers():
        assert {keras.layers.BatchNormalization, keras.layers.Dot} <= kinds()
    assert {kgan_layers.BatchNormalization, kgan_layers.RowDot} <= kinds()
    assert keras.layers.BatchNormalization not in kinds()


def test_benchmark_recipe_times_the_recipe_with_keras_own_adam_beside_it(tmp_path, bin_script):
    recipe, module = _tiny_recipe_and_benchmark(tmp_path, bin_script)
    results = module.main([str(recipe), "", "--keras-adam", "--steps", "4", "--rounds", "2",
                           "--warmup-steps", "2"])
    assert [r["variation"] for r in results] == ["", module.KERAS_ADAM]
    assert results[1]["paired"] > 0
    low, high = results[1]["paired_ci"]
    assert low <= results[1]["paired"] <= high

    def built():
        return type(kgan.optimizers.make_optimizer({"name": "adam"}, "train.g_optimizer"))

    with module._keras_adam():
        assert built() is keras.optimizers.Adam
    assert built() is kgan.optimizers.Adam


def test_benchmark_recipe_keras_layers_need_one_process(tmp_path, bin_script, capsys):
    recipe, module = _tiny_recipe_and_benchmark(tmp_path, bin_script)
    with pytest.raises(SystemExit):
        module.main([str(recipe), "", "--keras-layers", "--processes"])
    assert "leave out --processes" in capsys.readouterr().err
