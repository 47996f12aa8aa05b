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

import contextlib
import dataclasses
import json
import os
import socket
import time
import zipfile

import keras

from kgan import config
from kgan import errors

RECIPE = "recipe.yaml"
LOCK = ".lock"
PREVIOUS = ".previous"
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
    with writing(run_dir, "the run directory"):
        os.makedirs(os.path.join(run_dir, CHECKPOINTS), exist_ok=True)
        atomic_write_text(os.path.join(run_dir, RECIPE), config.dump(recipe))
    return run_dir


@contextlib.contextmanager
def writing(run_dir, what):
    """Turns a failed write (a full disk, a read-only folder) into a KganError that says
    what was kept and how to go on."""
    try:
        yield
    except OSError as exc:
        latest = latest_checkpoint(run_dir) if os.path.isdir(run_dir) else None
        kept = (f"The newest intact checkpoint is {latest['path']} (step {latest['step']}); "
                f"once there is room, `kgan train --resume {run_dir}` continues from it."
                if latest else "No checkpoint had been written yet.")
        raise errors.KganError(
            f"Could not write {what} in {run_dir}: {exc.strerror or exc} "
            f"({getattr(exc, 'filename', None) or run_dir}). {kept}"
        ) from None


def save_checkpoint(gan, run_dir, step, keep):
    """Saves the GAN as `checkpoints/ckpt-<step>.keras` and keeps the newest `keep`.

    The `.keras` file holds weights and optimizer state; `state.json` adds
    what it lacks, the random generators' states (`keras.random.SeedGenerator`
    states are not saved in `.keras` files).
    """
    directory = os.path.join(run_dir, CHECKPOINTS)
    name = f"ckpt-{step:08d}.keras"
    atomic_write(os.path.join(directory, name), gan.save, verify=verify_keras_file)
    state = _read_state(run_dir)
    entries = [e for e in state.get("checkpoints", []) if e["step"] != step]
    entries.append({"file": name, "step": step, "rng_state": _rng_state(gan)})
    entries.sort(key=lambda e: e["step"])
    kept, dropped = entries[-keep:], entries[:-keep]
    state["checkpoints"] = kept
    _write_state(run_dir, state)
    keep_files = {e["file"] for e in kept} | {STATE, STATE + PREVIOUS}
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
    atomic_write(os.path.join(directory, BEST), gan.save, verify=verify_keras_file)
    state = _read_state(run_dir)
    state["best"] = {"file": BEST, "step": step, **scores, "rng_state": _rng_state(gan)}
    _write_state(run_dir, state)
    return os.path.join(directory, BEST)


def best_checkpoint(run_dir):
    """The `best` entry of `state.json` with its `path`, or None if nothing was scored."""
    best = _read_state(run_dir).get("best")
    if best is None or not os.path.isfile(os.path.join(run_dir, CHECKPOINTS, best["file"])):
        return None
    return {**best, "path": os.path.join(run_dir, CHECKPOINTS, best["file"])}


def latest_checkpoint(run_dir, echo=None):
    """`{"path", "step", "rng_state"}` of the newest intact checkpoint, or None.

    A checkpoint file that is missing, empty, truncated or otherwise damaged
    (`verify_keras_file`) is passed over for the next newest; `echo`, when
    given, is told which and why.
    """
    for entry in reversed(_read_state(run_dir, echo).get("checkpoints", [])):
        path = os.path.join(run_dir, CHECKPOINTS, entry["file"])
        problem = verify_keras_file(path) if os.path.exists(path) else None
        if os.path.isfile(path) and problem is None:
            return {**entry, "path": path}
        if echo is not None and problem is not None:
            echo(f"Warning: checkpoint {path} is damaged ({problem}); trying the one before.")
    return None


def restore_checkpoint(entry):
    """Loads a checkpoint's GAN with its optimizers and random-generator states."""
    try:
        gan = keras.models.load_model(entry["path"])
    except Exception as exc:  # noqa: BLE001 - any damage Keras meets in a verified file
        raise errors.KganError(
            f"Checkpoint {entry['path']} could not be loaded ({type(exc).__name__}: {exc}). "
            "Move it aside and resume again: the next newest checkpoint is used."
        ) from None
    _set_rng_state(gan, entry["rng_state"])
    return gan


def verify_keras_file(path):
    """None if `path` is a complete `.keras` file, else what is wrong with it.

    Checks what a truncated or interrupted write leaves: an empty file, a
    broken zip archive, members that fail their CRC, or missing members.
    """
    try:
        if os.path.getsize(path) == 0:
            return "an empty file"
        if not zipfile.is_zipfile(path):
            return "not a zip archive: truncated or overwritten"
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                return f"its member {bad} fails its CRC check"
            missing = {"config.json", "model.weights.h5"} - set(archive.namelist())
            if missing:
                return f"it lacks {', '.join(sorted(missing))}"
    except (OSError, zipfile.BadZipFile) as exc:
        return f"unreadable: {exc}"
    return None


@contextlib.contextmanager
def lock(run_dir):
    """Holds `RUN_DIR/.lock` while the block trains the run: one writer per run directory.

    The lock is an advisory `flock` that the operating system releases when
    its process ends, however it ends, so a run killed mid-way leaves no
    stale lock behind. Where `fcntl` is missing (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    path = os.path.join(run_dir, LOCK)
    with writing(run_dir, "its lock file"):
        file = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            raise errors.KganError(
                f'Run directory "{run_dir}" is being trained already, by {holder}. Wait for '
                "it to finish (or stop it) before resuming; two writers would overwrite "
                "each other's checkpoints. A lock left by a process that died is free again."
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"process {os.getpid()} on {socket.gethostname()}, since "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        file.flush()
        yield
    finally:
        file.close()


def save_final(gan, run_dir):
    """Writes gan.keras and generator.keras (the EMA generator when the run keeps one).

    generator.keras is written first: gan.keras marks the run finished.
    """
    with writing(run_dir, "the final models"):
        atomic_write(os.path.join(run_dir, FINAL_GENERATOR), gan.sampler.save,
                     verify=verify_keras_file)
        atomic_write(os.path.join(run_dir, FINAL_GAN), gan.save, verify=verify_keras_file)


def atomic_write(path, write, verify=None):
    """Calls `write(tmp_path)`, then moves the synced file to `path` in one step.

    `verify(tmp_path)`, when given, returns None for a good file or what is
    wrong with it; a bad file is removed and `path` left as it was.
    """
    directory, name = os.path.split(os.path.abspath(path))
    tmp_path = os.path.join(directory, ".partial-" + name)
    try:
        write(tmp_path)
        with open(tmp_path, "rb") as file:
            os.fsync(file.fileno())
        problem = verify(tmp_path) if verify is not None else None
        if problem is not None:
            raise errors.KganError(f"Writing {path} failed: the written file is {problem}.")
    except BaseException:
        _remove(tmp_path)
        raise
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


def _read_state(run_dir, echo=None):
    """The checkpoints' state; a damaged state.json falls back to the copy kept before it."""
    path = os.path.join(run_dir, CHECKPOINTS, STATE)
    if not os.path.isfile(path):
        return {}
    try:
        return _read_json(path)
    except ValueError as exc:
        previous = path + PREVIOUS
        try:
            state = _read_json(previous)
        except (OSError, ValueError):
            raise errors.KganError(
                f"{path} is damaged ({exc}) and there is no intact copy of the state before "
                f"it ({previous}), so the checkpoints' random-generator states are lost and the "
                "run cannot resume exactly. Start a new run, or restore the file from a backup."
            ) from None
        if echo is not None:
            echo(f"Warning: {path} is damaged ({exc}); using {previous}, the state as it "
                 "was one checkpoint earlier.")
        return state


def _read_json(path):
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def _write_state(run_dir, state):
    """Writes state.json atomically, keeping the last intact one as state.json.previous."""
    path = os.path.join(run_dir, CHECKPOINTS, STATE)
    if os.path.isfile(path):
        try:
            atomic_write_text(path + PREVIOUS, json.dumps(_read_json(path), indent=1))
        except ValueError:
            pass  # a damaged state is not worth keeping; the previous copy stays
    atomic_write_text(path, json.dumps(state, indent=1))


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
