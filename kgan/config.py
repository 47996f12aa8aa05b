"""Recipes: one set of commented defaults, YAML recipes on top, `--set` overrides.

A recipe is a YAML file that states only what differs from `DEFAULTS`:

```yaml
name: mnist-dcgan
data: {name: tfds, dataset: mnist}
train: {epochs: 5, batch_size: 64}
```

`resolve("recipes/mnist.yaml", ["train.epochs=1"])` returns the complete,
validated recipe as a plain dict. Every mistake is a `KganError` that names the
key path, the bad value and the fix.
"""

import contextlib
import copy
import math
import os
import re

import yaml

from kgan import architectures
from kgan import data
from kgan import errors
from kgan import losses
from kgan import optimizers
from kgan import plugins
from kgan import regularizers
from kgan import validation

DEFAULTS_YAML = """\
name: null            # run name: runs/<name>-<timestamp>/; null means the recipe file's name
seed: 0               # seeds weight initialisation, training noise and data order
deterministic: false  # deterministic TF ops: bit-exact reruns and resumes, slower, no XLA
plugins: []           # Python files (relative to the recipe) or modules to import first
regularizers: []      # regularisers of D (and G), in order, e.g. [r1, {name: diffaugment}]

data:                 # a registered dataset (see `kgan plugins`); other keys are its parameters
  name: tfds
  dataset: mnist
  split: train

model:
  latent_dim: 100     # size of the noise vector z ~ N(0, I)
  conditional: false  # labels into G and D (cgan, acgan); the classes are the dataset's
  ema_decay: null     # e.g. 0.999: sample, evaluate and export an average of G's weights
  generator:          # a registered architecture; other keys are its generator options
    name: dcgan
  discriminator:      # a registered architecture; other keys are its discriminator options
    name: dcgan       # (the whole section null: no discriminator, for direct losses: mmd)

loss:                 # a registered loss; other keys are its parameters
  name: non_saturating

train:
  epochs: 20             # passes of steps_per_epoch steps; a checkpoint and samples after each
  steps_per_epoch: null  # generator updates per epoch; null means one pass over the data
  batch_size: 64         # minibatch size m; each step reads k * m real examples
  d_steps: 1             # k, discriminator updates per generator update (Algorithm 1)
  d_optimizer:           # any Keras optimizer by name, with its constructor arguments
    name: adam           # adam: kgan.optimizers.Adam, Keras' Adam in one fused kernel a variable
    learning_rate: 2.0e-4
    beta_1: 0.5
  g_optimizer:
    name: adam
    learning_rate: 2.0e-4
    beta_1: 0.5
  reuse_fakes: false     # G's update reuses the last D update's noise and G(z) (faster)
  class_loss_weight: 1.0 # weight of AC-GAN's auxiliary classification loss
  class_loss_on_fakes: true  # AC-GAN's D also classifies fakes (paper); false: reals only
  strategy: default      # default (one device), mirrored (local GPUs) or multi_worker (TF_CONFIG)
  precision: float32     # float32, mixed_float16 (GPUs; loss scaling) or mixed_bfloat16
  jit_compile: auto      # XLA compilation of the training step: auto, true or false
  steps_per_execution: 1 # training steps per call into the compiled graph

checkpoint:
  every_steps: 500    # a checkpoint every this many steps, and one at every epoch end
  keep: 3             # how many of the newest checkpoints to keep

samples:
  num: 64             # size of the fixed noise batch drawn at every epoch end
  seed: 0             # seed of that noise batch

log:
  every_steps: 50     # TensorBoard scalars every this many steps

eval:
  every_epochs: 0     # FID, KID, modes... every N epochs; keeps checkpoints/best.keras; 0: off
  num_samples: 2000   # generated samples per evaluation (fewer: faster, noisier, larger FID)
  seed: 0             # noise seed of those samples, the same each time so epochs compare
  final_num_samples: null  # samples of the final generator's evaluation; null: num_samples
"""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 loader that also reads `1e-4` (no dot) as a float, as YAML 1.2 does,
    and refuses a key given twice in one mapping (PyYAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, seen[key], key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key, first, second):
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

class _Dumper(yaml.SafeDumper):
    """Writes lists of scalars on one line: `hidden_units: [128, 128]`."""


_Dumper.add_representer(
    list,
    lambda dumper, items: dumper.represent_sequence(
        "tag:yaml.org,2002:seq",
        items,
        flow_style=not any(isinstance(item, (list, dict)) for item in items),
    ),
)

DEFAULTS = yaml.load(DEFAULTS_YAML, Loader=_Loader)
"""The defaults as a dict; `DEFAULTS_YAML` is the same with a comment on each key."""

# Sections whose keys are a plugin's parameters: `name` picks the plugin and the
# plugin itself validates the rest. A recipe that names a different plugin
# drops the default's parameters instead of inheriting them.
OPEN_SECTIONS = (
    "data",
    "model.generator",
    "model.discriminator",
    "loss",
    "train.d_optimizer",
    "train.g_optimizer",
)

# Keys whose allowed types the default value cannot tell.
_TYPES = {
    "name": (str, type(None)),
    "eval.final_num_samples": (int, type(None)),
    "train.steps_per_epoch": (int, type(None)),
    "model.ema_decay": (float, type(None)),
    "train.jit_compile": (str, bool),
}
_CHOICES = {
    "train.strategy": ("default", "mirrored", "multi_worker"),
    "train.precision": ("float32", "mixed_float16", "mixed_bfloat16"),
    "train.jit_compile": ("auto", True, False),
}
# The keys that the model and the input pipeline take: checked by their rules.
_RULES = {
    "model.latent_dim": validation.latent_dim,
    "model.ema_decay": validation.ema_decay,
    "train.batch_size": validation.batch_size,
    "train.d_steps": validation.d_steps,
    "train.class_loss_weight": validation.class_loss_weight,
}
# The keys that only the training loop reads (train.py, the callbacks).
_MINIMUM = {
    "train.epochs": 1,
    "train.steps_per_epoch": 1,
    "train.steps_per_execution": 1,
    "checkpoint.every_steps": 1,
    "checkpoint.keep": 1,
    "samples.num": 1,
    "log.every_steps": 1,
    "eval.every_epochs": 0,
    "eval.num_samples": 20,
    "eval.final_num_samples": 20,
}


def resolve(path, overrides=()):
    """Reads a recipe, applies `--set` overrides, and returns the full recipe.

    Plugins named under `plugins:` are imported first, so the recipe can use
    the datasets, architectures and losses they register.

    Args:
        path: the recipe's YAML file.
        overrides: `"key.path=value"` strings; values are read as YAML scalars.

    Returns:
        A dict with every key of `DEFAULTS`, validated.

    Raises:
        KganError: naming the file, line or key path at fault.
    """
    recipe = read(path)
    for key_path, value in parse_overrides(overrides):
        set_path(recipe, key_path, value)
    return validate(recipe, base_dir=os.path.dirname(os.path.abspath(path)),
                    default_name=os.path.splitext(os.path.basename(path))[0])


def read(path):
    """Parses a recipe file into a dict, with file, line and column on errors."""
    if not os.path.isfile(path):
        raise errors.KganError(
            f'Recipe file "{path}" does not exist. Give the path of a YAML recipe; '
            "kgan's own are in its recipes/ folder (e.g. recipes/mnist.yaml)."
        )
    with open(path, "rb") as file:
        raw = file.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise errors.KganError(
            f'Recipe "{path}" is not UTF-8 text: byte {exc.start} (line {line}) is '
            f"{raw[exc.start:exc.start + 1]!r}. Save the file as UTF-8 (recipes are YAML text)."
        ) from None
    try:
        recipe = yaml.load(text, Loader=_Loader)
    except _DuplicateKey as exc:
        raise errors.KganError(
            f'Recipe "{path}" gives the key `{exc.key}` twice in one section, at line '
            f"{exc.first.line + 1} and line {exc.second.line + 1}; YAML would silently keep "
            "the second. Merge the two into one."
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise errors.KganError(
            f'Recipe "{path}" is not valid YAML at {where}: {problem}. Fix the syntax '
            "there (check indentation, colons and brackets)."
        ) from None
    if recipe is None:
        return {}
    if not isinstance(recipe, dict):
        raise errors.KganError(
            f'Recipe "{path}" must be a YAML mapping of keys such as `train:` and '
            f"`model:`, but it holds a {type(recipe).__name__}."
        )
    return recipe


def parse_overrides(overrides):
    """Splits `"key.path=value"` strings into `(key_path, value)` pairs."""
    parsed = []
    for override in overrides:
        key_path, sep, text = override.partition("=")
        key_path = key_path.strip()
        if not sep or not key_path:
            raise errors.KganError(
                f'Override "{override}" is not KEY=VALUE. Write it as, e.g., '
                "--set train.epochs=5."
            )
        try:
            value = yaml.load(text, Loader=_Loader) if text.strip() else None
        except yaml.YAMLError:
            raise errors.KganError(
                f'The value of override "{override}" is not a YAML scalar or list. '
                "Quote strings that contain YAML syntax."
            ) from None
        parsed.append((key_path, value))
    return parsed


def set_path(recipe, key_path, value):
    """Sets `recipe[a][b][c] = value` for the key path `a.b.c`."""
    *parents, leaf = key_path.split(".")
    node = recipe
    for depth, key in enumerate(parents):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise errors.KganError(
                f"Cannot set {key_path}: {'.'.join(parents[: depth + 1])} is a "
                f"{type(child).__name__}, not a section."
            )
        node = child
    node[leaf] = value


def validate(recipe, base_dir=".", default_name="kgan"):
    """Merges `recipe` into the defaults and checks every key, type and plugin."""
    recipe = copy.deepcopy(recipe)
    recipe["plugins"] = load_plugins(recipe.get("plugins", []), base_dir)
    resolved = _merge(DEFAULTS, recipe, "")
    if resolved["name"] is None:
        resolved["name"] = default_name
    _check_finite(resolved, "")
    for key, value in resolved["data"].items():
        if data.is_path_parameter(key, value) and not os.path.isabs(os.path.expanduser(value)):
            resolved["data"][key] = os.path.normpath(os.path.join(base_dir, value))
    _check_values(resolved)
    _check_plugins(resolved)
    return resolved


def load_plugins(specs, base_dir):
    """Imports a recipe's `plugins:`; returns them with file paths made absolute."""
    if specs is None:
        return []
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        raise errors.KganError(
            f"plugins must be a list of Python file paths or module names, got {specs!r}."
        )
    loaded = []
    for spec in specs:
        with at("plugins"):
            module = plugins.load(spec, base_dir)
        is_file = spec.endswith(".py") or "/" in spec or os.sep in spec
        loaded.append(os.path.abspath(module.__file__) if is_file else spec)
    return loaded


def dump(recipe):
    """The recipe as YAML text, keys in the defaults' order."""
    return yaml.dump(recipe, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def get_path(recipe, key_path):
    node = recipe
    for key in key_path.split("."):
        node = node[key]
    return node


@contextlib.contextmanager
def at(key_path):
    """Prefixes a `KganError` raised inside with the recipe key it concerns."""
    try:
        yield
    except errors.KganError as exc:
        raise type(exc)(f"Recipe key `{key_path}`: {exc}") from None


def _merge(defaults, recipe, prefix):
    if not isinstance(recipe, dict):
        raise errors.KganError(
            f"Recipe key `{prefix[:-1]}` must be a section (a mapping of keys), got "
            f"{recipe!r}. Its keys: {', '.join(defaults)}."
        )
    merged = copy.deepcopy(defaults)
    for key, value in recipe.items():
        path = prefix + str(key)
        if key not in defaults:
            raise errors.KganError(
                f"Unknown recipe key `{path}`.{errors.did_you_mean(key, defaults)} "
                f"Keys of {'`' + prefix[:-1] + '`' if prefix else 'a recipe'}: "
                f"{', '.join(defaults)}."
            )
        if path == "model.discriminator" and value is None:
            merged[key] = None  # no discriminator: a direct loss
        elif path in OPEN_SECTIONS:
            merged[key] = _merge_open_section(defaults[key], value, path)
        elif isinstance(defaults[key], dict):
            merged[key] = _merge(defaults[key], value, path + ".")
        else:
            _check_type(path, value, defaults[key])
            merged[key] = value
    return merged


def _merge_open_section(default, value, path):
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise errors.KganError(
            f"Recipe key `{path}` must be a name or a mapping such as "
            f"{{name: {default['name']}, ...}}, got {value!r}."
        )
    if not isinstance(value.get("name", default["name"]), str):
        raise errors.KganError(
            f"Recipe key `{path}.name` must be a string, got {value['name']!r}."
        )
    if value.get("name", default["name"]) != default["name"]:
        return dict(value)
    return {**default, **value}


def _check_type(path, value, default):
    allowed = _TYPES.get(path) or (type(default),)
    if float in allowed:
        allowed = allowed + (int,)
    is_bool = isinstance(value, bool)
    if not isinstance(value, allowed) or (is_bool and bool not in allowed):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
        raise errors.KganError(
            f"Recipe key `{path}` must be {names}, got {value!r} "
            f"({type(value).__name__}). Default: {default!r}."
        )


def _check_finite(node, prefix):
    """Refuses NaN and infinite numbers anywhere in a recipe, naming the key path."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        path = f"{prefix}.{key}" if isinstance(node, dict) and prefix else (
            f"{prefix}[{key}]" if not isinstance(node, dict) else str(key))
        if isinstance(value, float) and not math.isfinite(value):
            raise errors.KganError(
                f"Recipe key `{path}` is {value!r}; recipes take finite numbers only. "
                "Write the value you mean (e.g. 1.0e-4)."
            )
        if isinstance(value, (dict, list)):
            _check_finite(value, path)


def _check_values(recipe):
    for path, rule in _RULES.items():
        with at(path):
            rule(get_path(recipe, path))
    for path, minimum in _MINIMUM.items():
        value = get_path(recipe, path)
        if value is not None and value < minimum:
            raise errors.KganError(
                f"Recipe key `{path}` must be at least {minimum}, got {value!r}."
            )
    for path, choices in _CHOICES.items():
        value = get_path(recipe, path)
        if (type(value), value) not in {(type(c), c) for c in choices}:
            raise errors.KganError(
                f"Recipe key `{path}` must be one of "
                f"{', '.join(str(c).lower() if isinstance(c, bool) else c for c in choices)};"
                f" got {value!r}.{errors.did_you_mean(value, [str(c) for c in choices])}"
            )
    _check_steps_per_execution(recipe)
    for role in ("d_optimizer", "g_optimizer"):
        rate = recipe["train"][role].get("learning_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate <= 0:
            raise errors.KganError(
                f"Recipe key `train.{role}.learning_rate` must be positive, got {rate!r}."
            )


def _check_steps_per_execution(recipe):
    """Callbacks see every N-th step only: the step counts they act on must be multiples of N."""
    spe = recipe["train"]["steps_per_execution"]
    if spe == 1:
        return
    for path in ("train.steps_per_epoch", "checkpoint.every_steps", "log.every_steps"):
        value = get_path(recipe, path)
        if value is not None and value % spe:
            raise errors.KganError(
                f"Recipe key `{path}` is {value}, not a multiple of train.steps_per_execution "
                f"({spe}): kgan sees the step count only every {spe} steps, so it would never "
                f"act at step {value}. Make {path} a multiple of {spe} (e.g. "
                f"{max(spe, value - value % spe)}) or set train.steps_per_execution: 1."
            )


def _check_plugins(recipe):
    data.check_config(recipe["data"])  # its messages name the data.<key>
    for role in ("generator", "discriminator"):
        if recipe["model"][role] is None:
            continue
        options = dict(recipe["model"][role])
        name = options.pop("name")
        with at(f"model.{role}.name"):
            architectures.ARCHITECTURES.entry(name)
        with at(f"model.{role}"):
            architectures.check_options(name, role, options)
    with at("loss"):
        loss = losses.get_loss(recipe["loss"])
    with at("model.discriminator"):
        losses.check_fits(loss, has_discriminator=recipe["model"]["discriminator"] is not None)
    specs = recipe["regularizers"]
    for index, spec in enumerate(specs):
        with at(f"regularizers[{index}]"):
            if not isinstance(spec, (str, dict)):
                raise errors.KganError(
                    f"each regularizer is a name or {{name: ..., params}}, got {spec!r}."
                )
            regularizers.get_regularizer(spec)
        if isinstance(spec, str):
            specs[index] = {"name": spec}
    if recipe["model"]["discriminator"] is None:
        if specs:
            raise errors.KganError(
                f"Recipe key `regularizers`: {specs[0]['name']} regularises a "
                "discriminator, but this recipe has none (model.discriminator: null). "
                "Remove it."
            )
    else:
        with at("regularizers"):
            brought, chosen = regularizers.resolve(loss, specs)
        with at("train.batch_size"):
            regularizers.Regularizers(brought + chosen).check_batch_size(
                recipe["train"]["batch_size"])
    optimizers.build(recipe)
