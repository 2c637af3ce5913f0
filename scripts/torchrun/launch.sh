#!/usr/bin/env bash
# One node of a multi-node inpaint-bench job through torchrun. Run this same line on every node, each with its
# NODE_RANK; the inpaint-bench arguments follow (a sweep, or one `run`):
#
#   NNODES=2 NODE_RANK=0 GPUS=8 MASTER_ADDR=node0.cluster MASTER_PORT=29500 \
#     scripts/torchrun/launch.sh sweep benchmarks/places2.yaml          # on node0
#   NNODES=2 NODE_RANK=1 GPUS=8 MASTER_ADDR=node0.cluster MASTER_PORT=29500 \
#     scripts/torchrun/launch.sh sweep benchmarks/places2.yaml          # on node1
#
# torchrun starts GPUS processes per node; Lightning reads its environment (TorchElasticEnvironment) and the suite
# gathers every process's per-image rows, so the numbers equal one process's (README, Guarantees). A sweep may be
# sharded as well (`--shard I/N`), one torchrun job per shard. tests/test_cluster.py runs this file, 2 nodes × 1
# process on 127.0.0.1 with ACCELERATOR=cpu.
set -euo pipefail

: "${NNODES:?set NNODES, the number of nodes}"
: "${NODE_RANK:?set NODE_RANK, this node's index from 0}"
: "${MASTER_ADDR:?set MASTER_ADDR, node 0's address}"
MASTER_PORT="${MASTER_PORT:-29500}"
GPUS="${GPUS:-1}"                     # processes (GPUs) on this node
ACCELERATOR="${ACCELERATOR:-gpu}"     # cpu: gloo, for a test on one machine
PYTHON="${PYTHON:-python}"            # the interpreter of the venv that holds inpaint-bench

exec "$PYTHON" -m torch.distributed.run \
  --nnodes "$NNODES" --node-rank "$NODE_RANK" --nproc-per-node "$GPUS" \
  --master-addr "$MASTER_ADDR" --master-port "$MASTER_PORT" \
  -m inpaint_bench.cli "$@" \
  --accelerator "$ACCELERATOR" --devices "$GPUS" --num-nodes "$NNODES" --strategy ddp
