"""Training on several devices or machines: the strategies `train.strategy` names.

* `default`: one device (TensorFlow's default placement).
* `mirrored`: `tf.distribute.MirroredStrategy` over every local GPU, or over
  every logical CPU on a machine without one.
* `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy` over the
  machines (workers) that the `TF_CONFIG` environment variable lists; every
  worker runs the same command, and only the chief writes the run directory.

The batch stays global whatever the strategy: `train.batch_size` is the
minibatch size m of Algorithm 1, split evenly across the replicas, the noise
of each replica is its slice of one global draw (`kgan.noise.replica_slice`)
and the gradients are summed across replicas of losses scaled by 1/replicas.
A run on any number of replicas therefore makes the updates of a run on one
device, up to floating-point rounding.

Example:

```python
with kgan.distribute.strategy("mirrored").scope():
    gan = kgan.GAN(generator, discriminator, latent_dim=100)
    gan.compile(...)
gan.fit(dataset, epochs=5)
```
"""

import contextlib
import json
import os
import shutil
import tempfile

import tensorflow as tf

from kgan import errors

STRATEGIES = ("default", "mirrored", "multi_worker")

_TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)

# TensorFlow can start a process's collective-ops server once, so the
# multi-worker strategy is made once and shared.
_multi_worker_strategy = None
# Mirrored strategies over the same devices number their collective
# operations from the same start; two of them in one process (two runs, or
# tests) would clash in TensorFlow's shared collective state. One per device set.
_mirrored_strategies = {}


def strategy(name, devices=None):
    """The `tf.distribute.Strategy` that `train.strategy` names.

    Args:
        name: "default", "mirrored" or "multi_worker".
        devices: for "mirrored", the devices to mirror over (e.g.
            `["/gpu:0", "/gpu:1"]`); None means every local GPU, or every
            logical CPU when there is no GPU.

    Returns:
        A strategy; build and compile the GAN in its `scope()`.

    Raises:
        KganError: for an unknown name, or a missing or malformed `TF_CONFIG`
            with "multi_worker".
    """
    global _multi_worker_strategy
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if devices is None:
            devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
                d.name for d in tf.config.list_logical_devices("CPU")
            ]
        key = tuple(devices)
        if key not in _mirrored_strategies:
            _mirrored_strategies[key] = tf.distribute.MirroredStrategy(devices)
        return _mirrored_strategies[key]
    if name == "multi_worker":
        tf_config()  # a clear error now rather than TensorFlow's later
        if _multi_worker_strategy is None:
            try:
                _multi_worker_strategy = tf.distribute.MultiWorkerMirroredStrategy()
            except RuntimeError as exc:
                if "program startup" not in str(exc):
                    raise
                raise errors.KganError(
                    "train.strategy multi_worker must start before TensorFlow runs anything "
                    "in this process (TensorFlow sets up a worker's collective operations "
                    'only then). Call kgan.distribute.strategy("multi_worker") first in your '
                    "program, before resolving recipes or building models; `kgan train` "
                    "does this itself."
                ) from None
        return _multi_worker_strategy
    raise errors.KganError(
        f"Unknown strategy {name!r}.{errors.did_you_mean(str(name), STRATEGIES)} "
        f"Known strategies: {', '.join(STRATEGIES)}."
    )


def tf_config():
    """The cluster and task of this worker, from `TF_CONFIG`, checked.

    Returns:
        `{"cluster": {"worker": ["host:port", ...], ...}, "task": {"type": ..., "index": ...}}`.

    Raises:
        KganError: naming what is wrong with `TF_CONFIG` and how to set it.
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        _bad_tf_config("is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        _bad_tf_config(f"is not valid JSON ({exc})")
    if not isinstance(config, dict):
        _bad_tf_config(f"must be a JSON object, got {text!r}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        _bad_tf_config('has no "cluster" object listing the workers\' "host:port" addresses')
    for job, addresses in cluster.items():
        if job not in ("chief", "worker"):
            _bad_tf_config(
                f'lists a "{job}" job; multi_worker training has only "worker" jobs '
                '(and optionally one "chief")'
            )
        if not isinstance(addresses, list) or not addresses or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            _bad_tf_config(f'has cluster "{job}": {addresses!r}, not a list of "host:port"')
    if len(cluster.get("chief", [])) > 1:
        _bad_tf_config(f"lists {len(cluster['chief'])} chiefs; a cluster has at most one")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        _bad_tf_config(
            'needs a "task" naming this worker\'s job among the cluster\'s '
            f"({', '.join(cluster)}), e.g. \"task\": {{\"type\": \"worker\", \"index\": 0}}; "
            f"got {task!r}"
        )
    index = task.get("index", 0)
    count = len(cluster[task["type"]])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        _bad_tf_config(
            f'has task index {index!r}, but the cluster lists {count} "{task["type"]}" '
            f"address(es): the index is 0 to {count - 1}, a different one on each machine"
        )
    return {"cluster": cluster, "task": {"type": task["type"], "index": index}}


def is_chief(strategy_name):
    """Whether this process writes the run directory (always, but for non-chief workers).

    The chief is the `"chief"` task, or worker 0 when the cluster has none,
    as in Keras and TensorFlow.
    """
    if strategy_name != "multi_worker":
        return True
    config = tf_config()
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["index"] == 0


def task_name():
    """This worker's task as `TF_CONFIG` names it, e.g. "worker 1"."""
    task = tf_config()["task"]
    return f"{task['type']} {task['index']}"


@contextlib.contextmanager
def scratch_dir():
    """A temporary directory for a non-chief worker's files, removed afterwards.

    Every worker runs the same callbacks (their saving and sampling take part
    in collective operations), but only the chief's files are kept, as in
    Keras' multi-worker convention.
    """
    path = tempfile.mkdtemp(prefix="kgan-worker-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def check_batch_size(distribution, batch_size):
    """Raises a `KganError` unless `batch_size` splits evenly across the replicas."""
    replicas = distribution.num_replicas_in_sync
    if batch_size % replicas:
        lower = batch_size // replicas * replicas
        choices = f"{lower} or {lower + replicas}" if lower else str(replicas)
        raise errors.KganError(
            f"Recipe key `train.batch_size`: {batch_size} does not split evenly across "
            f"the {replicas} replicas of train.strategy; each replica takes an equal "
            f"share of every minibatch. Use a multiple of {replicas}, e.g. {choices}."
        )


def loss_scale():
    """The factor of each replica's mean loss that makes summed gradients the global mean's.

    Gradients are summed over replicas, so each replica's mean over its share
    of the batch is scaled by 1 / replicas.
    """
    replica = tf.distribute.get_replica_context()
    return 1.0 / (replica.num_replicas_in_sync if replica else 1)


def step_logs(metrics):
    """The logs that a train or test step returns: each metric's current result.

    Under a multi-worker strategy Keras 3 averages the logs of the workers
    with `strategy.reduce("MEAN", value, axis=0)`, which rejects scalars
    (tensorflow/tensorflow#72388); there each result is given as a
    one-element vector, which that reduction turns into the scalar mean.
    """
    logs = {metric.name: metric.result() for metric in metrics}
    if in_multi_worker_mode(tf.distribute.get_strategy()):
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def in_multi_worker_mode(distribution):
    """Whether `distribution` spans several workers (Keras' own test for it)."""
    return isinstance(
        distribution, tf.distribute.MultiWorkerMirroredStrategy
    ) and distribution.extended._in_multi_worker_mode()


def _bad_tf_config(problem):
    raise errors.KganError(
        f"train.strategy multi_worker reads the cluster from the TF_CONFIG environment "
        f"variable, which {problem}. Set TF_CONFIG on every machine to the same cluster "
        f"and that machine's own task, e.g. {_TF_CONFIG_EXAMPLE} on the first machine "
        'and "index": 1 on the second, then run the same `kgan train` command on each '
        "(bin/multi_worker_local.py starts workers on one machine to try it out)."
    )
