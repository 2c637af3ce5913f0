#!/usr/bin/env python3
"""A stand-in for `srun` inside an allocation, for tests on one machine: start SLURM_NNODES × SLURM_NTASKS_PER_NODE
copies of the command, each with the variables srun gives its task (SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID,
SLURM_NTASKS, SLURM_STEP_ID, SLURM_NODELIST), wait for all and exit with the worst status — which is all that
Lightning's SLURMEnvironment and the suite read."""

import os
import subprocess
import sys

nodes, per_node = int(os.environ["SLURM_NNODES"]), int(os.environ["SLURM_NTASKS_PER_NODE"])
tasks = []
for rank in range(nodes * per_node):
    env = {**os.environ, "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank % per_node),
           "SLURM_NODEID": str(rank // per_node), "SLURM_NTASKS": str(nodes * per_node), "SLURM_STEP_ID": "0",
           "SLURM_NODELIST": "127.0.0.1"}
    tasks.append(subprocess.Popen(sys.argv[1:], env=env))
sys.exit(max(task.wait() for task in tasks))
