"""Run directories: the resolved recipe, atomic checkpoints, resuming, loading.

Layout of a run directory:

```
runs/<name>-<YYYYmmdd-HHMMSS>/
    recipe.yaml                  the fully resolved recipe
    checkpoints/ckpt-<step>.keras   the whole GAN, optimizers included (last N kept)
    checkpoints/state.json       the checkpoints' steps and random-generator states
    checkpoints/best.keras       the best GAN by FID so far (when `eval.every_epochs` > 0)
    samples/epoch-<NNNN>.png     samples of a fixed noise batch after each epoch
    metrics.csv, tensorboard/
    generator.keras, gan.keras   the final models
```

Every file that a later step reads is written atomically (a temporary file in
the same directory, fsync, `os.replace`), so a run killed at any moment
resumes from its last complete checkpoint.
"""

import dataclasses
import json
import os
import time

import keras

from kgan import config
from kgan import errors

RECIPE = "recipe.yaml"
CHECKPOINTS = "checkpoints"
STATE = "state.json"
FINAL_GAN = "gan.keras"
FINAL_GENERATOR = "generator.keras"
BEST = "best.keras"


@dataclasses.dataclass
class Run:
    """A trained (or training) GAN with its recipe, as `load_run` returns it."""

    run_dir: str
    recipe: dict
    gan: keras.Model
    checkpoint_path: str


def load_run(run_dir, checkpoint="last"):
    """Loads a run's GAN and recipe.

    Example:

    ```python
    run = kgan.runs.load_run("runs/mnist-dcgan-20250101-120000")
    images = run.gan.generate(64, seed=0)
    ```

    Args:
        run_dir: the run directory.
        checkpoint: "last" (the final GAN, or the newest checkpoint of an
            unfinished run), "best" (the checkpoint recorded as best in
            `checkpoints/state.json`), or the path of a `.keras` file.

    Returns:
        A `Run`.
    """
    recipe = read_recipe(run_dir)
    if checkpoint == "last":
        path = os.path.join(run_dir, FINAL_GAN)
        if not os.path.isfile(path):
            latest = latest_checkpoint(run_dir)
            if latest is None:
                raise errors.KganError(
                    f'Run "{run_dir}" has no checkpoint yet: it was stopped before its '
                    "first one. Train longer, or lower checkpoint.every_steps."
                )
            path = latest["path"]
    elif checkpoint == "best":
        best = _read_state(run_dir).get("best")
        if best is None:
            raise errors.KganError(
                f'Run "{run_dir}" records no best checkpoint (nothing has scored its '
                'checkpoints). Use checkpoint="last" or a checkpoint file path.'
            )
        path = os.path.join(run_dir, CHECKPOINTS, best["file"])
    else:
        path = checkpoint
    if not os.path.isfile(path):
        raise errors.KganError(f'Checkpoint "{path}" does not exist.')
    return Run(run_dir=run_dir, recipe=recipe, gan=keras.models.load_model(path),
               checkpoint_path=path)


def read_recipe(run_dir):
    """The resolved recipe of a run, with its plugins imported."""
    path = os.path.join(run_dir, RECIPE)
    if not os.path.isfile(path):
        raise errors.KganError(
            f'"{run_dir}" is not a kgan run directory: it has no {RECIPE}. Give a '
            "directory that `kgan train` created (runs/<name>-<timestamp>/)."
        )
    return config.resolve(path)


def create(recipe, run_dir=None):
    """Makes a fresh run directory and writes the resolved recipe into it."""
    if run_dir is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = os.path.join("runs", f"{recipe['name']}-{stamp}")
    if os.path.exists(os.path.join(run_dir, RECIPE)):
        raise errors.KganError(
            f'Run directory "{run_dir}" already holds a run. Continue it with '
            f"`kgan train --resume {run_dir}`, or choose another --run-dir."
        )
    os.makedirs(os.path.join(run_dir, CHECKPOINTS), exist_ok=True)
    atomic_write_text(os.path.join(run_dir, RECIPE), config.dump(recipe))
    return run_dir


def save_checkpoint(gan, run_dir, step, keep):
    """Saves the GAN as `checkpoints/ckpt-<step>.keras` and keeps the newest `keep`.

    The `.keras` file holds weights and optimizer state; `state.json` adds
    what it lacks, the random generators' states (`keras.random.SeedGenerator`
    states are not saved in `.keras` files).
    """
    directory = os.path.join(run_dir, CHECKPOINTS)
    name = f"ckpt-{step:08d}.keras"
    atomic_write(os.path.join(directory, name), gan.save)
    state = _read_state(run_dir)
    entries = [e for e in state.get("checkpoints", []) if e["step"] != step]
    entries.append({"file": name, "step": step, "rng_state": _rng_state(gan)})
    entries.sort(key=lambda e: e["step"])
    kept, dropped = entries[-keep:], entries[:-keep]
    state["checkpoints"] = kept
    atomic_write_text(os.path.join(directory, STATE), json.dumps(state, indent=1))
    keep_files = {e["file"] for e in kept} | {STATE}
    for entry in dropped:
        _remove(os.path.join(directory, entry["file"]))
    for leftover in os.listdir(directory):  # partial files of a killed run
        if leftover.startswith(".partial-") or (
            leftover.startswith("ckpt-") and leftover not in keep_files
        ):
            _remove(os.path.join(directory, leftover))
    return os.path.join(directory, name)


def save_best(gan, run_dir, step, scores):
    """Saves the GAN as `checkpoints/best.keras` and records it as best.

    `scores` (e.g. `{"fid": 12.3}`) is recorded with the step in the `best`
    entry of `state.json`, where `load_run(run_dir, "best")` looks.
    """
    directory = os.path.join(run_dir, CHECKPOINTS)
    atomic_write(os.path.join(directory, BEST), gan.save)
    state = _read_state(run_dir)
    state["best"] = {"file": BEST, "step": step, **scores, "rng_state": _rng_state(gan)}
    atomic_write_text(os.path.join(directory, STATE), json.dumps(state, indent=1))
    return os.path.join(directory, BEST)


def best_checkpoint(run_dir):
    """The `best` entry of `state.json` with its `path`, or None if nothing was scored."""
    best = _read_state(run_dir).get("best")
    if best is None or not os.path.isfile(os.path.join(run_dir, CHECKPOINTS, best["file"])):
        return None
    return {**best, "path": os.path.join(run_dir, CHECKPOINTS, best["file"])}


def latest_checkpoint(run_dir):
    """`{"path", "step", "rng_state"}` of the newest complete checkpoint, or None."""
    for entry in reversed(_read_state(run_dir).get("checkpoints", [])):
        path = os.path.join(run_dir, CHECKPOINTS, entry["file"])
        if os.path.isfile(path):
            return {**entry, "path": path}
    return None


def restore_checkpoint(entry):
    """Loads a checkpoint's GAN with its optimizers and random-generator states."""
    gan = keras.models.load_model(entry["path"])
    _set_rng_state(gan, entry["rng_state"])
    return gan


def save_final(gan, run_dir):
    atomic_write(os.path.join(run_dir, FINAL_GAN), gan.save)
    # The generator to sample from: the EMA one when the run keeps one.
    atomic_write(os.path.join(run_dir, FINAL_GENERATOR), gan.sampler.save)


def atomic_write(path, write):
    """Calls `write(tmp_path)`, then moves the synced file to `path` in one step."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp_path = os.path.join(directory, ".partial-" + name)
    write(tmp_path)
    with open(tmp_path, "rb") as file:
        os.fsync(file.fileno())
    os.replace(tmp_path, path)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def atomic_write_text(path, text):
    def write(tmp_path):
        with open(tmp_path, "w", encoding="utf-8") as file:
            file.write(text)

    atomic_write(path, write)


def _read_state(run_dir):
    path = os.path.join(run_dir, CHECKPOINTS, STATE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _rng_variables(gan):
    # Model state beyond its weights is the seed generators' states (the GAN's
    # training noise, dropout layers' masks).
    weights = {id(v) for v in gan.weights}
    return [v for v in gan.variables if id(v) not in weights]


def _rng_state(gan):
    return [[v.path, v.numpy().tolist()] for v in _rng_variables(gan)]


def _set_rng_state(gan, rng_state):
    variables = _rng_variables(gan)
    if len(variables) != len(rng_state):
        raise errors.KganError(
            f"The checkpoint records {len(rng_state)} random-generator states but the "
            f"model has {len(variables)}; the recipe or a plugin changed since the "
            "checkpoint was written."
        )
    for variable, (_, value) in zip(variables, rng_state):
        variable.assign(value)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
