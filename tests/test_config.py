"""Recipes: defaults in one place, merging, overrides, and every kind of bad input."""

import textwrap

import pytest
import yaml

from kgan import config
from kgan.errors import KganError


def write(tmp_path, text, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def resolve_text(tmp_path, text, overrides=()):
    return config.resolve(write(tmp_path, text), overrides)


def error_of(tmp_path, text, overrides=()):
    with pytest.raises(KganError) as info:
        resolve_text(tmp_path, text, overrides)
    return str(info.value)


def test_empty_recipe_resolves_to_the_defaults_named_after_its_file(tmp_path):
    resolved = config.resolve(write(tmp_path, "", name="my_run.yaml"))
    assert resolved == {**config.DEFAULTS, "name": "my_run"}


def test_every_default_leaf_outside_plugin_sections_is_commented():
    # "All defaults in one place, each commented": a key without a comment is a
    # key whose meaning users must guess.
    commented_sections = {"data:", "generator:", "discriminator:", "loss:", "d_optimizer:",
                          "g_optimizer:"}
    for line in config.DEFAULTS_YAML.splitlines():
        key = line.strip().split(" ")[0]
        parent_is_plugin_section = line.startswith("    ") or (
            line.startswith("  ") and key in ("name:", "dataset:", "split:")
        )
        if not line.strip() or line.strip().endswith(":") or parent_is_plugin_section:
            continue
        if key in commented_sections:
            continue
        assert "#" in line, f"uncommented default: {line!r}"


def test_recipe_overrides_only_what_it_states(tmp_path):
    resolved = resolve_text(tmp_path, """
        train: {epochs: 3, d_optimizer: {learning_rate: 1e-3}}
    """)
    assert resolved["train"]["epochs"] == 3
    assert resolved["train"]["batch_size"] == config.DEFAULTS["train"]["batch_size"]
    # `1e-3` (YAML 1.2 style, no dot) is a float, and the default beta_1 stays.
    assert resolved["train"]["d_optimizer"] == {"name": "adam", "learning_rate": 1e-3,
                                               "beta_1": 0.5}


def test_naming_another_plugin_drops_the_default_plugins_parameters(tmp_path):
    resolved = resolve_text(tmp_path, """
        data: {name: ring2d}
        train: {d_optimizer: {name: sgd, learning_rate: 0.01}}
    """)
    assert resolved["data"] == {"name": "ring2d"}
    assert resolved["train"]["d_optimizer"] == {"name": "sgd", "learning_rate": 0.01}


def test_overrides_are_parsed_as_yaml_scalars_and_applied(tmp_path):
    resolved = resolve_text(tmp_path, "train: {epochs: 3}", [
        "train.epochs=7",
        "train.g_optimizer.learning_rate=5e-4",
        "model.generator.base_filters=16",
        "deterministic=true",
        "train.steps_per_epoch=null",
    ])
    assert resolved["train"]["epochs"] == 7
    assert resolved["train"]["g_optimizer"]["learning_rate"] == 5e-4
    assert resolved["model"]["generator"] == {"name": "dcgan", "base_filters": 16}
    assert resolved["deterministic"] is True
    assert resolved["train"]["steps_per_epoch"] is None


def test_dump_round_trips(tmp_path):
    resolved = resolve_text(tmp_path, "model: {generator: {name: mlp, hidden_units: [8, 8]}}")
    assert yaml.safe_load(config.dump(resolved)) == resolved
    assert "hidden_units: [8, 8]" in config.dump(resolved)


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    message = error_of(tmp_path, "train:\n  epochs: 3\n  batch_size: [64\n")
    assert "not valid YAML at line 4, column 1" in message


def test_unknown_key_suggests_the_closest_one(tmp_path):
    message = error_of(tmp_path, "train: {d_optimzer: {name: adam}}")
    assert "Unknown recipe key `train.d_optimzer`" in message
    assert 'Did you mean "d_optimizer"' in message


def test_unknown_key_from_an_override_is_reported_the_same_way(tmp_path):
    message = error_of(tmp_path, "", ["train.epoch=3"])
    assert "`train.epoch`" in message and 'Did you mean "epochs"' in message


@pytest.mark.parametrize("text, overrides, expected", [
    ("train: {batch_size: '64'}", [], "`train.batch_size` must be int, got '64'"),
    ("", ["train.epochs=three"], "`train.epochs` must be int, got 'three'"),
    ("train: {epochs: 1.5}", [], "`train.epochs` must be int, got 1.5"),
    ("deterministic: 1", [], "`deterministic` must be bool"),
    ("train: 5", [], "`train` must be a section"),
    ("plugins: my_plugin.py", [], "plugins must be a list"),
    ("loss: {name: 3}", [], "`loss.name` must be a string"),
])
def test_wrong_types_name_the_key_path(tmp_path, text, overrides, expected):
    assert expected in error_of(tmp_path, text, overrides)


@pytest.mark.parametrize("override, expected", [
    ("train.d_steps=0", "Recipe key `train.d_steps`: d_steps (k, discriminator updates per "
                        "generator update) must be an integer >= 1, got 0"),
    ("train.batch_size=0", "`train.batch_size`: batch_size (m, the minibatch size) must be an "
                           "integer >= 1, got 0"),
    ("train.epochs=-1", "`train.epochs` must be at least 1"),
    ("model.latent_dim=0", "`model.latent_dim`: latent_dim (size of the noise vector z) must "
                           "be an integer >= 1"),
    ("model.ema_decay=1.5", "`model.ema_decay`: ema_decay must be a number > 0.0 and < 1.0"),
    ("train.d_optimizer.learning_rate=-2e-4",
     "`train.d_optimizer.learning_rate` must be positive, got -0.0002"),
    ("train.strategy=mirored", 'must be one of default, mirrored, multi_worker; got \'mirored\'. '
                               'Did you mean "mirrored"'),
    ("train.jit_compile=sometimes", "`train.jit_compile` must be one of auto, true, false"),
])
def test_impossible_values_are_refused(tmp_path, override, expected):
    assert expected in error_of(tmp_path, "", [override])


@pytest.mark.parametrize("override, expected", [
    ("loss.name=hinje", 'Recipe key `loss`: Unknown loss "hinje". Did you mean "hinge"?'),
    ("model.generator.name=dcgam", 'Unknown architecture "dcgam"'),
    ("data.name=ring", 'Unknown dataset "ring"'),
    ("train.g_optimizer.name=adamm", 'unknown optimizer "adamm". Did you mean "adam"'),
    ("train.g_optimizer.beta1=0.5", "train.g_optimizer`: Keras' Adam optimizer rejected"),
    ("loss.gp_weight=3", "Recipe key `loss`"),
])
def test_unknown_plugins_and_options_list_what_exists(tmp_path, override, expected):
    assert expected in error_of(tmp_path, "", [override])


def test_unknown_plugin_lists_the_known_ones(tmp_path):
    message = error_of(tmp_path, "loss: {name: nope}")
    for name in ("hinge", "minimax", "non_saturating", "wasserstein"):
        assert name in message


def test_malformed_override_is_refused(tmp_path):
    assert "is not KEY=VALUE" in error_of(tmp_path, "", ["train.epochs"])


def test_missing_recipe_file(tmp_path):
    with pytest.raises(KganError, match="does not exist"):
        config.resolve(str(tmp_path / "nope.yaml"))


def test_recipe_plugins_load_relative_to_the_recipe(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my_losses.py").write_text(textwrap.dedent('''
        import tensorflow as tf
        import kgan

        @kgan.register_loss("test_config_softplus")
        class Softplus(kgan.GANLoss):
            """A loss that only this test registers."""
            def discriminator_loss(self, real_logits, fake_logits):
                return tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits)
            def generator_loss(self, fake_logits):
                return tf.nn.softplus(-fake_logits)
    '''))
    path = write(tmp_path / "sub", """
        plugins: [my_losses.py]
        loss: {name: test_config_softplus}
    """)
    resolved = config.resolve(path)
    assert resolved["loss"] == {"name": "test_config_softplus"}
    assert resolved["plugins"] == [str(tmp_path / "sub" / "my_losses.py")]


def test_missing_plugin_file_names_the_path(tmp_path):
    message = error_of(tmp_path, "plugins: [nowhere.py]")
    assert "Recipe key `plugins`" in message and 'Plugin file "nowhere.py" does not exist' in message
