"""Plugin registries and plugin loading: names, duplicates, entry points, files."""

import importlib.metadata
import textwrap

import pytest

import kgan
from kgan import errors
from kgan import plugins


def test_unknown_name_lists_known_names_and_the_closest():
    widgets = kgan.Registry("widget")
    widgets.register("sprocket", object())
    widgets.register("gear", object())
    with pytest.raises(errors.UnknownPluginError) as info:
        widgets.get("sprokcet")
    message = str(info.value)
    assert 'Unknown widget "sprokcet". Did you mean "sprocket"?' in message
    assert "Known widgets: gear, sprocket." in message
    assert isinstance(info.value, kgan.KganError) and isinstance(info.value, LookupError)
    with pytest.raises(errors.UnknownPluginError) as info:
        widgets.get("zzz")
    assert "Did you mean" not in str(info.value)


def test_registering_a_name_twice_names_both_places():
    widgets = kgan.Registry("widget")

    @widgets.register("gear")
    def first():
        pass

    def second():
        pass

    with pytest.raises(errors.DuplicatePluginError) as info:
        widgets.register("gear", second)
    message = str(info.value)
    assert f"the first from code at {__file__}:{first.__code__.co_firstlineno}" in message
    assert f"the second from code at {__file__}:{second.__code__.co_firstlineno}" in message
    assert widgets.get("gear") is first  # the first registration stands

    # Two instances of one class are two different plugins, too.
    widgets.register("part", object())
    with pytest.raises(errors.DuplicatePluginError):
        widgets.register("part", object())


def test_registering_the_same_object_again_is_harmless():
    widgets = kgan.Registry("widget")

    class Gear:
        pass

    widgets.register("gear", Gear)
    widgets.register("gear", Gear)
    assert widgets.names() == ["gear"]


def test_membership_iteration_and_patterns():
    assert "hinge" in kgan.LOSSES and "hinj" not in kgan.LOSSES
    assert list(kgan.LOSSES) == sorted(kgan.LOSSES.names())
    assert {"minimax", "non_saturating", "least_squares", "hinge"} <= set(kgan.LOSSES)
    assert kgan.LOSSES.names("w*") == ["wasserstein", "wasserstein_gp"]
    assert kgan.ARCHITECTURES.names() == sorted(kgan.ARCHITECTURES.names())
    assert {"mlp", "dcgan"} <= set(kgan.ARCHITECTURES)
    assert len(kgan.LOSSES) == len(kgan.LOSSES.names())


def test_built_ins_arrive_through_entry_points_with_descriptions():
    # (test_losses.py imports kgan_plugins.losses directly, maybe before the
    # entry points load: the origin must not depend on that order.)
    entry = kgan.LOSSES.entry("hinge")
    assert entry.origin == "built-in 'losses'"
    assert entry.description.startswith("Hinge loss")
    assert kgan.ARCHITECTURES.entry("dcgan").origin == "built-in 'dcgan'"


def test_decorator_in_user_code(restore_registries):
    @kgan.register_loss("scaled_hinge")
    class ScaledHinge(kgan.GANLoss):
        """Hinge loss with a margin."""

        probabilistic = False

        def __init__(self, margin=1.0):
            self.margin = margin

        def discriminator_loss(self, real_logits, fake_logits):
            return (self.margin - real_logits) + (self.margin + fake_logits)

        def generator_loss(self, fake_logits):
            return -fake_logits

    assert "scaled_hinge" in kgan.LOSSES
    entry = kgan.LOSSES.entry("scaled_hinge")
    assert entry.origin == "code" and entry.description == "Hinge loss with a margin."
    loss = kgan.get_loss({"name": "scaled_hinge", "margin": 2.0})
    assert isinstance(loss, ScaledHinge) and loss.margin == 2.0 and loss.name == "scaled_hinge"


def test_bare_decorator_registers_under_the_class_name():
    widgets = kgan.Registry("widget")

    @widgets.register
    class Gear:
        pass

    assert widgets.get("Gear") is Gear


@pytest.mark.parametrize("name", ["", 3])
def test_bad_names_are_refused(name):
    with pytest.raises(kgan.KganError, match="non-empty string name"):
        kgan.Registry("widget").register(name, object())
    with pytest.raises(kgan.KganError, match="non-empty string name"):
        kgan.Registry("widget").register(obj=object())  # no name, no __name__


# --- Entry points --------------------------------------------------------------


class _Distribution:
    def __init__(self, name):
        self.name = name


class _EntryPoint:
    def __init__(self, name, value, load):
        self.name, self.value, self.dist, self._load = name, value, _Distribution("acme"), load

    def load(self):
        return self._load()


def _broken():
    raise ImportError("No module named 'acme_missing_dependency'")


def _good():
    @kgan.register_loss("acme_loss")
    class AcmeLoss(kgan.GANLoss):
        def discriminator_loss(self, real_logits, fake_logits):
            return fake_logits - real_logits

        def generator_loss(self, fake_logits):
            return -fake_logits


@pytest.fixture
def fake_entry_points(monkeypatch, restore_registries):
    """Replaces the installed `kgan.plugins` entry points with a broken and a good one."""
    points = [
        _EntryPoint("broken", "acme.broken_plugin", _broken),
        _EntryPoint("good", "acme.good_plugin", _good),
    ]

    def entry_points(group=None, **kwargs):
        assert group == plugins.ENTRY_POINT_GROUP
        return points

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    monkeypatch.setattr(plugins, "_failures", [])
    return points


def test_an_entry_point_module_imported_early_keeps_its_origin(fake_entry_points):
    _good()  # imported by user code before any registry lookup: origin "code"...
    assert kgan.LOSSES._entries["acme_loss"].origin == "code"
    already_imported = _EntryPoint("good", "acme.good_plugin", lambda: None)
    already_imported.module = __name__  # where AcmeLoss was defined
    fake_entry_points[1] = already_imported
    with pytest.warns(UserWarning):
        kgan.plugins.load_entry_points()
    # ...until its entry point claims it.
    assert kgan.LOSSES.entry("acme_loss").origin.startswith("entry point 'good = ")


def test_a_broken_entry_point_is_reported_and_does_not_break_the_others(fake_entry_points):
    with pytest.warns(UserWarning, match="entry point 'broken = acme.broken_plugin'"):
        assert "acme_loss" in kgan.LOSSES  # the first lookup loads the entry points

    assert kgan.LOSSES.entry("acme_loss").origin == (
        "entry point 'good = acme.good_plugin' of package acme"
    )
    [failure] = plugins.failures()
    assert failure.source == "entry point 'broken = acme.broken_plugin' of package acme"
    assert "acme_missing_dependency" in failure.error
    with pytest.raises(errors.UnknownPluginError) as info:
        kgan.LOSSES.get("acme_broken_loss")
    assert "plugin entry point 'broken = acme.broken_plugin' of package acme failed" in str(
        info.value
    )
    assert plugins.failures() == [failure]  # loaded once, reported once


# --- Plugin files and modules --------------------------------------------------

PLUGIN_FILE = '''
import kgan

@kgan.register_loss("file_loss")
class FileLoss(kgan.GANLoss):
    """A loss from a plugin file."""

    def discriminator_loss(self, real_logits, fake_logits):
        return fake_logits - real_logits

    def generator_loss(self, fake_logits):
        return -fake_logits
'''


def test_plugin_file_loads_once_relative_to_base_dir(tmp_path, restore_registries):
    (tmp_path / "my_plugins.py").write_text(PLUGIN_FILE)
    module = plugins.load("my_plugins.py", base_dir=str(tmp_path))
    entry = kgan.LOSSES.entry("file_loss")
    assert entry.origin == f"file {tmp_path / 'my_plugins.py'}"
    assert entry.description == "A loss from a plugin file."
    assert plugins.load(str(tmp_path / "my_plugins.py")) is module  # no second import


def test_plugin_files_with_one_name_in_two_folders_are_both_loaded(tmp_path, restore_registries):
    for folder, name in (("a", "loss_a"), ("b", "loss_b")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "plugin.py").write_text(PLUGIN_FILE.replace("file_loss", name))
        plugins.load(f"{folder}/plugin.py", base_dir=str(tmp_path))
    assert "loss_a" in kgan.LOSSES and "loss_b" in kgan.LOSSES


def test_plugin_file_clashing_with_user_code_names_both_origins(tmp_path, restore_registries):
    @kgan.register_loss("file_loss")
    class Mine(kgan.GANLoss):
        pass

    (tmp_path / "clash.py").write_text(PLUGIN_FILE)
    with pytest.raises(errors.DuplicatePluginError) as info:
        plugins.load(str(tmp_path / "clash.py"))
    assert "the first from code at" in str(info.value)
    assert f"the second from file {tmp_path / 'clash.py'}" in str(info.value)


@pytest.mark.parametrize(
    "spec, content, match",
    [
        ("missing.py", None, "does not exist"),
        ("broken.py", "import acme_missing_dependency\n", "ModuleNotFoundError"),
        ("syntax.py", "def (:\n", "SyntaxError"),
        ("acme_missing_module", None, 'Could not import plugin module "acme_missing_module"'),
    ],
)
def test_plugin_load_errors(tmp_path, spec, content, match):
    if content is not None:
        (tmp_path / spec).write_text(textwrap.dedent(content))
    with pytest.raises(kgan.KganError, match=match):
        plugins.load(spec, base_dir=str(tmp_path))
