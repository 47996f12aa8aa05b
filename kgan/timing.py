"""Where a run's wall-clock goes: start-up, training steps, and the work between them.

`TimeSplit` adds up a run's seconds by phase:

- start-up: from when the process began to load kgan (TensorFlow's import, the data,
  the networks, the evaluator) to the first training step, and that first
  step itself, in which TensorFlow traces and optimises the step's graph;
- training: every other step, each `train_function` call of `fit`;
- the callbacks' work between steps, each named for what it does: in-training
  evaluation, checkpoints, sample grids, logs (metrics, health, progress);
- the end: the final weights, the plots, the final evaluation and the report.

`kgan train` prints the split with its summary and keeps it in
`summary.json`, so that what is not training can be seen and shrunk.

Example:

```python
split = kgan.timing.TimeSplit()
callbacks = [split.timed(checkpointer, "checkpoints"), ...]
with split.fitting():
    gan.fit(dataset, callbacks=[split.step_timer(), *callbacks])
with split.phase("end"):
    ...
split.seconds()  # {"start-up": 21.4, "training": 612.0, "checkpoints": 3.1, ...}
```
"""

import contextlib
import time

import keras

from kgan import _startup

START_UP = "start-up"
TRAINING = "training"
_HOOKS = tuple(
    f"on_{stage}_{event}" for stage in ("train", "test", "predict") for event in ("begin", "end")
) + tuple(
    f"on_{stage}_batch_{event}" for stage in ("train", "test", "predict")
    for event in ("begin", "end")
) + ("on_epoch_begin", "on_epoch_end")


def load_start_time():
    """When this process began to load kgan (seconds since the epoch), before TensorFlow.

    A run's start-up counts from here, so that it counts TensorFlow's import
    (all but Python's own few tens of milliseconds before it). Not the
    process's start as Linux records it: a shell running `pip install -e . &&
    kgan train ...` runs kgan in the very process that started pip first (it
    execs the last command), and start-up then counted the install.
    """
    return _startup.LOADING_STARTED


class TimeSplit:
    """Seconds spent in each phase of a run.

    Args:
        started: when the run started (seconds since the epoch); default
            when this process began to load kgan (`load_start_time`).
    """

    def __init__(self, started=None):
        self.started = started or load_start_time()
        self._seconds = {}
        self._fit_started = None
        self._in_callbacks = 0.0
        self._first_step = None

    def add(self, name, seconds):
        self._seconds[name] = self._seconds.get(name, 0.0) + seconds

    def add_callback_seconds(self, name, seconds):
        """Counts a callback's seconds under `name`, and out of the `fit` they ran in."""
        self.add(name, seconds)
        self._in_callbacks += seconds

    @contextlib.contextmanager
    def phase(self, name):
        """Counts the block's wall-clock seconds under `name`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    @contextlib.contextmanager
    def fitting(self):
        """Around `fit`: its seconds less its callbacks' are training (or start-up)."""
        if START_UP not in self._seconds:
            self.add(START_UP, time.time() - self.started)
        start, in_callbacks = time.perf_counter(), self._in_callbacks
        try:
            yield
        finally:
            total = time.perf_counter() - start - (self._in_callbacks - in_callbacks)
            first, self._first_step = self._first_step or 0.0, 0.0
            self.add(START_UP, first)
            self.add(TRAINING, total - first)

    def timed(self, callback, name):
        """`callback` wrapped so that the seconds of its hooks count under `name`."""
        return _TimedCallback(callback, name, self)

    def step_timer(self):
        """A callback that times the run's first step, which traces the step's graph."""
        return _FirstStep(self)

    def seconds(self):
        """`{phase: seconds}`, start-up and training first, then the rest by size."""
        rest = sorted((k for k in self._seconds if k not in (START_UP, TRAINING)),
                      key=lambda k: -self._seconds[k])
        return {k: round(self._seconds[k], 2) for k in (START_UP, TRAINING, *rest)
                if k in self._seconds}


def format_split(seconds):
    """`{phase: seconds}` as one line: `training 612 s (91%), evaluation 30 s (4%), ...`."""
    total = sum(seconds.values()) or 1.0
    return ", ".join(f"{name} {value:.0f} s ({100 * value / total:.0f}%)"
                     for name, value in seconds.items())


class _TimedCallback(keras.callbacks.Callback):
    """Runs another callback's hooks, counting their seconds under one name."""

    def __init__(self, callback, name, split):
        super().__init__()
        self.callback = callback
        self.name = name
        self.split = split
        # Hooks the wrapped callback leaves as Keras' no-ops stay unset, so
        # that Keras can still dispatch batches asynchronously around them.
        for hook in _HOOKS:
            if not _overrides(callback, hook):
                continue
            setattr(self, hook, self._timed_hook(getattr(callback, hook)))

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def _timed_hook(self, hook):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return hook(*args, **kwargs)
            finally:
                self.split.add_callback_seconds(self.name, time.perf_counter() - start)

        return timed


class _FirstStep(keras.callbacks.Callback):
    """Times the first training step of the first `fit`."""

    def __init__(self, split):
        super().__init__()
        self.split = split
        self._start = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.split._first_step is None and self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._start is not None:
            self.split._first_step = time.perf_counter() - self._start
            self._start = None
            # From now on this callback does nothing: Keras may dispatch freely.
            self.on_train_batch_begin = self.on_train_batch_end = _nothing


def _overrides(callback, hook):
    return getattr(type(callback), hook) is not getattr(keras.callbacks.Callback, hook)


def _nothing(*args, **kwargs):
    pass
