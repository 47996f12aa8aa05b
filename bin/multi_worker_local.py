"""Try multi-worker training on one machine: N local `kgan train` workers.

Starts N worker processes on 127.0.0.1, on ports free right now, each with its
own `TF_CONFIG`, all running

    kgan train RECIPE --set train.strategy=multi_worker [KGAN_TRAIN_ARGS...]

Worker 0 is the chief and writes the run directory; the others train in
temporary directories that they remove. Output lines are prefixed with the
worker's number. If a worker fails, or the timeout passes, all are stopped.
On several machines, set `TF_CONFIG` yourself and run `kgan train` on each
(README, "Scaling out").

Example:

    python bin/multi_worker_local.py recipes/ring2d.yaml --workers 2 --cpu \\
        --set train.epochs=1 --run-dir runs/ring2d-2workers
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

KGAN_TRAIN = "from kgan.cli import main; main(prog_name='kgan')"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other arguments (e.g. --set KEY=VALUE, --run-dir DIR, --quiet) go to "
        "`kgan train` on every worker.",
    )
    parser.add_argument("recipe", metavar="RECIPE", help="the recipe YAML file")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="number of local workers (default 2)")
    parser.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                        help="stop every worker after this long (default 3600)")
    parser.add_argument("--cpu", action="store_true",
                        help="hide GPUs from the workers (several workers on one GPU "
                        "would compete for its memory)")
    args, train_args = parser.parse_known_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    ports = _free_ports(args.workers)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    command = [sys.executable, "-c", KGAN_TRAIN, "train", args.recipe,
               "--set", "train.strategy=multi_worker", *train_args]
    print(f"Starting {args.workers} workers on {', '.join(cluster['worker'])}: "
          f"kgan train {args.recipe} --set train.strategy=multi_worker "
          f"{' '.join(train_args)}".rstrip(), flush=True)
    workers = []
    try:
        for index in range(args.workers):
            env = dict(os.environ, TF_CONFIG=json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}))
            if args.cpu:
                env["CUDA_VISIBLE_DEVICES"] = ""
            worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1)
            threading.Thread(target=_echo, args=(index, worker.stdout), daemon=True).start()
            workers.append(worker)
        status = _wait(workers, args.timeout)
    except KeyboardInterrupt:
        status = 130
    finally:
        _stop(workers)
    if status == 124:
        print(f"Stopped: the workers ran past --timeout {args.timeout:g} s.", file=sys.stderr)
    elif status:
        print(f"A worker failed (exit status {status}); stopped them all.", file=sys.stderr)
    return status


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _echo(index, stream):
    for line in stream:
        print(f"[worker {index}] {line}", end="", flush=True)


def _wait(workers, timeout):
    """0 when every worker succeeds; a failed worker's status; 124 on the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        codes = [worker.poll() for worker in workers]
        failed = [code for code in codes if code not in (None, 0)]
        if failed:
            return failed[0]
        if all(code == 0 for code in codes):
            return 0
        if time.monotonic() > deadline:
            return 124
        time.sleep(0.5)


def _stop(workers):
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


if __name__ == "__main__":
    sys.exit(main())
