"""From one machine to a cluster (issue 28): the shipped launch recipes, run here on the loopback address.

`scripts/torchrun/launch.sh` is started once per node (2 nodes × 1 process on 127.0.0.1) and
`scripts/slurm/sweep.sbatch` as a job array of 2 shards whose `srun` is `tests/fake_srun.py` (2 tasks each, with the
variables srun sets), so the command lines users copy are the ones tested. Both must give every digit of one
process's numbers at a fixed thread count (README, Guarantees), with Lightning's TorchElastic / SLURM environment
placing the processes. A node killed mid-cell leaves a failed record with its error; the rerun completes the cell.
"""

import contextlib
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
TORCHRUN = ROOT / "scripts" / "torchrun" / "launch.sh"
SBATCH = ROOT / "scripts" / "slurm" / "sweep.sbatch"
RUN = ["run", "--method", "i2sb", "--config", "{nfe: 3}", "--mask", "center", "--limit", "4", "--metrics",
       "psnr,ssim,psnr_hole", "--features", "untrained", "--no-wandb", "--no-progress", "--batch-size", "2"]
SWEEP = """datasets: [shapes]
masks: [center, wide]
methods: [{name: i2sb, config: {nfe: 3}}, {name: ddnm, config: {steps: 3}}]
metrics: [psnr, ssim, psnr_hole]
features: untrained
limit: 4
batch_size: 2
grid_images: 0
"""
DIES = '''"""Imported at start-up (PYTHONPATH): a method whose first call on rank 1 kills that whole node — its torchrun
agent and itself — once; later runs inpaint with the mean colour."""
import os, signal
from pathlib import Path

from inpaint_bench.methods.base import InpaintMethod
from inpaint_bench.methods.registry import register


@register("test_node_dies")
class NodeDies(InpaintMethod):
    def inpaint(self, image, mask, generator=None):
        marker = Path(os.environ["DIE_MARKER"])
        if os.environ.get("RANK") == "1" and not marker.exists():
            marker.write_text("died")
            os.kill(os.getppid(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
        return image * (1 - mask) + image.mean(dim=(2, 3), keepdim=True) * mask
'''


def _env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHON": sys.executable, "ACCELERATOR": "cpu",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slurm_job_ids(count: int) -> list[str]:
    """A job id per array task, as SLURM gives, such that the port Lightning derives from each (15000 + its last 4
    digits) is free now and differs between the tasks (the sockets are held together while choosing)."""
    held = []
    try:
        while len(held) < count:
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", random.randrange(15000, 25000)))
            except OSError:
                sock.close()
                continue
            held.append(sock)
        return [f"7{sock.getsockname()[1] - 15000:04d}" for sock in held]
    finally:
        for sock in held:
            sock.close()


def _start(command, **env) -> subprocess.Popen:
    """A launcher in its own process group, so that a timed-out test can stop it with all it started."""
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env),
                            start_new_session=True)


def _finish(processes, timeout=600) -> list[subprocess.CompletedProcess]:
    """Wait for all while reading their pipes (a full pipe would block a child that writes a lot); on a timeout
    every process is killed and its output so far is in the error."""
    done = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(other.pid, signal.SIGKILL)
            stderr = "\n".join(p.communicate()[1][-3000:] for p in processes)
            raise AssertionError(f"timed out; stderr:\n{stderr}") from None
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _one_process(*args):
    out = subprocess.run([sys.executable, "-m", "inpaint_bench.cli", *args, "--accelerator", "cpu"],
                         capture_output=True, text=True, timeout=600, env=_env())
    assert out.returncode == 0, out.stderr[-2000:]


def _torchrun_nodes(args, env=None, timeout=600) -> list[subprocess.CompletedProcess]:
    """Both nodes of a 2-node torchrun job, started at once as the recipe says (each with its NODE_RANK)."""
    common = dict(NNODES="2", GPUS="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), **(env or {}))
    nodes = [_start(["bash", str(TORCHRUN), *args], NODE_RANK=str(rank), **common) for rank in (0, 1)]
    return _finish(nodes, timeout)


def _cells(results: Path) -> dict:
    cells = {}
    for f in (results / "shapes" / "cells").glob("*.json"):
        record = json.loads(f.read_text())
        per_image = f.with_name(f.stem + ".images.csv")
        rows = list(csv.DictReader(per_image.open())) if per_image.exists() else None
        cells[f.stem] = (record, rows)
    return cells


def _per_image(rows, metrics=("psnr", "ssim", "psnr_hole")):
    return [(r["index"], *(r[m] for m in metrics)) for r in rows]


def test_two_torchrun_nodes_on_loopback_equal_one_process(tmp_path):
    _one_process(*RUN, "--results", str(tmp_path / "one"))
    nodes = _torchrun_nodes([*RUN, "--results", str(tmp_path / "two")])
    assert [n.returncode for n in nodes] == [0, 0], nodes[0].stderr[-3000:] + nodes[1].stderr[-3000:]
    assert nodes[0].stdout.count('"status": "ok"') == 1 and '"status"' not in nodes[1].stdout  # rank 0 reports
    ((one, one_rows),), ((two, two_rows),) = _cells(tmp_path / "one").values(), _cells(tmp_path / "two").values()
    assert (two["launcher"], two["devices"], two["num_nodes"]) == ("torchelastic", 2, 2)
    assert (one["launcher"], one["devices"]) in {("single", 1), ("lightning", 1)}
    assert two["metrics"] == one["metrics"]  # every digit
    assert _per_image(two_rows) == _per_image(one_rows)


def test_the_sbatch_array_under_the_slurm_environment_equals_one_process(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)
    _one_process("sweep", str(sweep), "--results", str(tmp_path / "one"), "--no-wandb", "--no-progress")
    allocation = dict(SRUN=str(ROOT / "tests" / "fake_srun.py"), SLURM_NNODES="2", SLURM_NTASKS_PER_NODE="1",
                      SLURM_JOB_NAME="inpaint-bench", SLURM_ARRAY_TASK_COUNT="2", SLURM_CPUS_PER_TASK="1")
    tasks = [_start(["bash", str(SBATCH), str(sweep), "--results", str(tmp_path / "array"), "--no-wandb",
                     "--no-progress"], SLURM_ARRAY_TASK_ID=str(i), SLURM_JOB_ID=job_id, **allocation)
             for i, job_id in enumerate(_slurm_job_ids(2))]  # Lightning derives each task's port from its job id
    outs = _finish(tasks)
    assert [t.returncode for t in outs] == [0, 0], "".join(t.stderr[-3000:] for t in outs)
    computed = [line for t in outs for line in t.stdout.splitlines() if line.startswith("ok ")]
    assert len(computed) == 4 and len(set(computed)) == 4  # each of the 4 cells in exactly one shard, once
    one, array = _cells(tmp_path / "one"), _cells(tmp_path / "array")
    assert array.keys() == one.keys() and len(one) == 4
    for cell_id, (record, rows) in array.items():
        assert (record["launcher"], record["devices"], record["num_nodes"]) == ("slurm", 2, 2)
        assert record["metrics"] == one[cell_id][0]["metrics"]
        assert _per_image(rows) == _per_image(one[cell_id][1])
    merged = subprocess.run([sys.executable, "-m", "inpaint_bench.cli", "leaderboard", "--results",
                             str(tmp_path / "array"), "--dataset", "shapes"], capture_output=True,
                            text=True, timeout=300, env=_env())
    assert merged.returncode == 0, merged.stderr[-2000:]
    table = (tmp_path / "array" / "shapes" / "leaderboard.md").read_text()
    assert all(row in table for row in ("i2sb(nfe=3)", "ddnm(steps=3)"))


def test_a_node_that_dies_mid_cell_is_recorded_and_a_rerun_completes_it(tmp_path):
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "sitecustomize.py").write_text(DIES)
    env = {"PYTHONPATH": str(tmp_path / "plugin"), "DIE_MARKER": str(tmp_path / "died")}
    args = ["run", "--method", "test_node_dies", "--mask", "center", "--limit", "4", "--metrics", "psnr",
            "--no-wandb", "--no-progress", "--batch-size", "1", "--results", str(tmp_path / "r")]
    first = _torchrun_nodes(args, env)
    assert (tmp_path / "died").exists() and first[1].returncode != 0 and first[0].returncode != 0
    ((record, _),) = _cells(tmp_path / "r").values()
    assert record["status"] == "failed" and record["failed_rank"] == 1 and record["lost_ranks"] == [1], record
    assert record["error"].startswith("rank(s) 1 stopped without reporting an error")
    assert any(s in record["error"] for s in ("Connection closed by peer", "Connection reset by peer"))
    second = _torchrun_nodes(args, env)
    assert [n.returncode for n in second] == [0, 0], second[0].stderr[-3000:]
    ((record, rows),) = _cells(tmp_path / "r").values()
    assert record["status"] == "ok" and record["devices"] == 2 and len(rows) == 4


def test_a_task_that_fails_stops_its_srun_step_instead_of_leaving_its_peer_waiting(tmp_path):
    """The sbatch recipe runs srun with --kill-on-bad-exit: rank 1 exits at start-up, rank 0 (waiting for it to
    join DDP) is stopped and the array task fails at once, rather than holding its GPUs until the time limit."""
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "sitecustomize.py").write_text(
        'import os\nif os.environ.get("SLURM_PROCID") == "1":\n    os._exit(3)\n')
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)
    task = _start(["bash", str(SBATCH), str(sweep), "--results", str(tmp_path / "r"), "--no-wandb",
                   "--no-progress"], PYTHONPATH=str(tmp_path / "plugin"), SRUN=str(ROOT / "tests" / "fake_srun.py"),
                  SLURM_NNODES="2", SLURM_NTASKS_PER_NODE="1", SLURM_JOB_ID=_slurm_job_ids(1)[0])
    (done,) = _finish([task], timeout=180)
    assert done.returncode != 0 and not list((tmp_path / "r").glob("shapes/cells/*.json"))
