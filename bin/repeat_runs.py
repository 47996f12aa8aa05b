#!/usr/bin/env python
"""Trains one recipe several times with the same seed and says whether the weights repeat.

    python bin/repeat_runs.py recipes/grid2d.yaml --set train.epochs=10 --runs 6 --at-once 3 --busy 1
    python bin/repeat_runs.py recipes/grid2d.yaml --set train.epochs=10 \\
        --set train.steps_per_execution=10 --runs 6 --at-once 3 --busy 1

Each run is `kgan train RECIPE --set ...` in its own process (the code path a user
takes), `--at-once` of them at a time, beside `--busy` processes that only spin (a shared,
busy machine). Afterwards every run's final GAN is loaded and its weights hashed
(`weights_digest`). Prints each run's digest and how many runs match the first one; exits
with status 1 when one does not. docs/python.md, "What each seed controls", reports what
this measured.
"""

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kgan  # noqa: E402, F401 - before TensorFlow: kgan picks its CPU kernels
from kgan import runs  # noqa: E402

_SPIN = "while True: pass"
_KGAN = "from kgan.cli import main; main()"  # the `kgan` command, with this Python


def weights_digest(run_dir):
    """SHA-1 (12 hex digits) of the bytes of every weight of a run's final GAN, in order."""
    digest = hashlib.sha1()
    for variable in runs.load_run(run_dir).gan.weights:
        digest.update(variable.numpy().tobytes())
    return digest.hexdigest()[:12]


def train_command(recipe, run_dir, overrides):
    command = [sys.executable, "-c", _KGAN, "train", recipe, "--quiet", "--run-dir", run_dir]
    for override in overrides:
        command += ["--set", override]
    return command


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--at-once", type=int, default=1, help="runs trained at the same time")
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside them")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the run directories in DIR (run-0, run-1, ...), e.g. to "
                        "compare a run that drifted with one that did not; default: deleted")
    args = parser.parse_args(argv)
    print(f"command: python bin/repeat_runs.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    spinners = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(args.busy)]
    digests = []
    try:
        with _scratch(args.keep) as scratch:
            for first in range(0, args.runs, args.at_once):
                batch = range(first, min(first + args.at_once, args.runs))
                run_dirs = [os.path.join(scratch, f"run-{i}") for i in batch]
                processes = [subprocess.Popen(train_command(args.recipe, d, args.overrides),
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                              text=True)
                             for d in run_dirs]
                for process in processes:
                    _, errors = process.communicate()
                    if process.returncode:
                        raise SystemExit(f"kgan train failed (exit status "
                                         f"{process.returncode}):\n{errors}")
                for i, run_dir in zip(batch, run_dirs):
                    digests.append(weights_digest(run_dir))
                    print(f"run {i}: weights {digests[-1]}", flush=True)
    finally:
        for spinner in spinners:
            spinner.kill()
    same = sum(d == digests[0] for d in digests)
    print(f"{same} of {len(digests)} runs have the first run's weights")
    return 0 if same == len(digests) else 1


@contextlib.contextmanager
def _scratch(keep):
    if keep is None:
        with tempfile.TemporaryDirectory() as scratch:
            yield scratch
        return
    os.makedirs(keep, exist_ok=True)
    yield keep


if __name__ == "__main__":
    sys.exit(main())
