#!/usr/bin/env python3
"""A stand-in for `srun` inside an allocation, for tests on one machine: start SLURM_NNODES × SLURM_NTASKS_PER_NODE
copies of the command, each with the variables srun gives its task (SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID,
SLURM_NTASKS, SLURM_STEP_ID, SLURM_NODELIST), wait for all and exit with the worst status — which is all that
Lightning's SLURMEnvironment and the suite read. `--kill-on-bad-exit=1` (srun's -K) is honoured: the first task
that fails stops the others, as srun does, instead of leaving its DDP peers waiting in a collective."""

import os
import subprocess
import sys
import time

args = sys.argv[1:]
kill_on_bad_exit = False
while args and args[0].startswith("-"):
    option = args.pop(0)
    if option.split("=")[0] not in ("--kill-on-bad-exit", "-K"):
        sys.exit(f"fake_srun: option {option} is not supported")
    kill_on_bad_exit = option in ("-K", "--kill-on-bad-exit") or option.split("=")[1] != "0"

nodes, per_node = int(os.environ["SLURM_NNODES"]), int(os.environ["SLURM_NTASKS_PER_NODE"])
tasks = []
for rank in range(nodes * per_node):
    env = {**os.environ, "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank % per_node),
           "SLURM_NODEID": str(rank // per_node), "SLURM_NTASKS": str(nodes * per_node), "SLURM_STEP_ID": "0",
           "SLURM_NODELIST": "127.0.0.1"}
    tasks.append(subprocess.Popen(args, env=env))
while any(task.poll() is None for task in tasks):
    if kill_on_bad_exit and any(task.poll() not in (None, 0) for task in tasks):
        for task in tasks:
            if task.poll() is None:
                task.kill()
    time.sleep(0.1)
sys.exit(max(task.wait() for task in tasks))
