"""Sharded sweeps for job arrays (issue 28, item 2) and the dry-run NFE that balances them."""

import os
import re
import signal
import subprocess
import sys
from collections import Counter

import pytest

from inpaint_bench.bench.config import load_sweep
from inpaint_bench.bench.shards import parse_shard, partition

SWEEP = ("datasets: [shapes]\nmasks: [center, wide, half]\nmethods: [mean_fill, telea, navier_stokes, "
         "{name: ddnm, config: {steps: 2}}]\nmetrics: [psnr, psnr_hole]\nlimit: 6\ngrid_images: 0\n")


def test_every_cell_is_in_exactly_one_shard_and_the_partition_is_reproducible(tmp_path):
    (tmp_path / "s.yaml").write_text(SWEEP)
    cells = load_sweep(tmp_path / "s.yaml").cells()
    for count in (1, 2, 3, 5, 20):
        shards = partition(cells, count)
        ids = [c.cell_id() for s in shards for c in s]
        assert sorted(ids) == sorted(c.cell_id() for c in cells)  # a cover, no cell twice
        again = partition(list(reversed(cells)), count)  # another process, another listing order: the same shards
        assert [{c.cell_id() for c in s} for s in shards] == [{c.cell_id() for c in s} for s in again]
    assert max(map(len, partition(cells, 3))) - min(map(len, partition(cells, 3))) <= 1  # equal costs: balanced


def test_shards_balance_expected_cost_not_cell_counts():
    class Cell:
        def __init__(self, name, cost):
            self.name, self.cost = name, cost

        def cell_id(self):
            return self.name

    cells = [Cell("big", 100)] + [Cell(f"small{i}", 10) for i in range(10)]
    shards = partition(cells, 2, cost=lambda c: c.cost)
    loads = sorted(sum(c.cost for c in s) for s in shards)
    assert loads == [100, 100] and sorted(map(len, shards)) == [1, 10]


@pytest.mark.parametrize("text", ["3/3", "1", "-1/2", "a/b", "2/0"])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="I/N"):
        parse_shard(text)


def test_dry_run_counts_the_configured_steps():
    from inpaint_bench.bench.config import MethodSpec
    from inpaint_bench.bench.plan import dry_run_nfe

    assert dry_run_nfe(MethodSpec("i2sb", {"nfe": 7})) == (7, {})
    assert dry_run_nfe(MethodSpec("ddnm", {"steps": 13})) == (13, {})
    # RePaint's jump schedule at t_T 20, jumps of 5 × 2: 20 steps down plus 3 × 5 re-noised steps back down
    assert dry_run_nfe(MethodSpec("repaint", {"t_T": 20, "jump_length": 5, "jump_n_sample": 2}))[0] == 35
    assert dry_run_nfe(MethodSpec("telea")) == (0, {})


def _shard_process(sweep, results, index, count):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "inpaint_bench.cli", "sweep", str(sweep), "--results", str(results),
                             "--shard", f"{index}/{count}", "--no-wandb", "--no-progress", "--accelerator", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_three_shards_at_once_one_killed_and_restarted_compute_every_cell_once(tmp_path):
    """Every finished computation prints one `ok` line: over all shard processes (the killed one's included) each
    cell is computed exactly once, nothing is lost, and the merged leaderboard equals a one-process sweep's."""
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP)
    n_cells = len(load_sweep(sweep).cells())
    procs = [_shard_process(sweep, tmp_path / "r", i, 3) for i in range(3)]
    victim, outputs, lines = procs[1], [], []
    for line in victim.stdout:  # kill shard 1 right after its first finished cell
        lines.append(line)
        if line.startswith("ok "):
            break
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    outputs.append("".join(lines))
    for p in (procs[0], procs[2]):
        outputs.append(p.communicate(timeout=600)[0])
    restarted = _shard_process(sweep, tmp_path / "r", 1, 3)
    outputs.append(restarted.communicate(timeout=600)[0])
    assert restarted.returncode == 0 and procs[0].returncode == 0 and procs[2].returncode == 0, outputs
    computed = Counter(re.match(r"ok\s+(.+?)   ", line)[1] for out in outputs for line in out.splitlines()
                       if line.startswith("ok "))
    assert len(computed) == n_cells and set(computed.values()) == {1}, computed
    single = tmp_path / "single"
    one = subprocess.run([sys.executable, "-m", "inpaint_bench.cli", "sweep", str(sweep), "--results", str(single),
                          "--no-wandb", "--no-progress", "--accelerator", "cpu"], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert one.returncode == 0, one.stdout[-2000:]
    merged = subprocess.run([sys.executable, "-m", "inpaint_bench.cli", "leaderboard", "--dataset", "shapes",
                             "--results", str(tmp_path / "r")], capture_output=True, text=True, timeout=600)
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert len(list((tmp_path / "r" / "shapes" / "cells").glob("*.json"))) == n_cells
    ours = (tmp_path / "r" / "shapes" / "leaderboard.csv").read_text().splitlines()
    theirs = (single / "shapes" / "leaderboard.csv").read_text().splitlines()
    keep = lambda rows: sorted(r for r in rows if ",s/img," not in r)  # noqa: E731
    assert keep(ours) == keep(theirs)


def test_plan_prints_every_cell_with_its_forwards_and_hours(tmp_path, capsys):
    from inpaint_bench.cli import main

    (tmp_path / "s.yaml").write_text(SWEEP)
    assert main(["plan", str(tmp_path / "s.yaml"), "--seconds-per-nfe", "0.5"]) == 0
    out = capsys.readouterr().out
    ddnm = [line for line in out.splitlines() if line.startswith("shapes") and "ddnm(steps=2)" in line]
    assert len(ddnm) == 3  # one per mask
    cells = ddnm[0].split()
    assert cells[-4:] == ["6", "2", "12", f"{12 * 0.5 / 3600:.3g}"]  # images, NFE, forwards, hours
    assert "12 cells, 36 network forwards" in out  # only the ddnm rows have a network
    (summary,) = [line.split() for line in out.splitlines() if line.startswith("  ddnm(steps=2)")]
    assert summary[1:] == ["3", "cells", "36", "forwards", f"{36 * 0.5 / 3600:.3g}", "h"]  # the per-row sums


def test_plan_measures_a_forward_inside_the_sampler():
    from inpaint_bench.bench.config import MethodSpec
    from inpaint_bench.bench.plan import measured_seconds_per_forward

    seconds, what = measured_seconds_per_forward(MethodSpec("ddnm", {"steps": 5}), 32, 2)
    assert 0 < seconds < 60 and what == "configured weights"
    seconds, _ = measured_seconds_per_forward(MethodSpec("i2sb", {"nfe": 1}), 32, 2)  # one forward: still timed
    assert seconds > 0


def test_plan_times_the_published_architecture_when_the_weights_are_absent(monkeypatch, tmp_path):
    """`plan --measure` without the official file: the method is built with its published architecture and random
    weights (the cost of a forward does not depend on the weights), labelled so; outside that context the missing
    file is still an error. The sweep's images come from the split's documented size."""
    from inpaint_bench import methods
    from inpaint_bench.bench.config import MethodSpec
    from inpaint_bench.bench.plan import _timed_method, cell_images
    from inpaint_bench.files.weights import WeightsMissing
    from inpaint_bench.nets.ddpm_unet import DDPMConfig, DDPMUNet

    monkeypatch.setenv("INPAINT_BENCH_HOME", str(tmp_path))
    spec = MethodSpec("ddnm", {"checkpoint": "ddnm_celeba_hq", "arch": "ddpm", "steps": 2})
    method, what = _timed_method(spec)
    assert what == "configured architecture, random weights"
    published = sum(p.numel() for p in DDPMUNet(DDPMConfig.celeba_hq()).parameters())
    assert sum(p.numel() for p in method.net.parameters()) == published
    with pytest.raises(WeightsMissing, match="celeba_hq.ckpt"):
        methods.build("ddnm", checkpoint="ddnm_celeba_hq", arch="ddpm")
    (tmp_path / "c.yaml").write_text("datasets: [celebahq]\nmasks: [center]\nmethods: [mean_fill]\nmetrics: [psnr]\n")
    monkeypatch.setenv("INPAINT_BENCH_DATA_CELEBAHQ", str(tmp_path / "absent"))
    (cell,) = load_sweep(tmp_path / "c.yaml").cells()
    assert cell_images(cell) == 2824  # CelebA-HQ's test split, as documented
