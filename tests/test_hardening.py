"""Fault injection: bad inputs, corrupt and concurrent results, changed or malicious weights, hostile labels, DDP
edge cases. Each test fails on the behaviour issue 17 reported (see the Guarantees section of README.md)."""

import csv
import errno
import io
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from test_bench import BASE, QUIET, sweep_file

from inpaint_bench.bench import runner
from inpaint_bench.bench.config import ConfigError, load_sweep
from inpaint_bench.bench.runner import TrainerOptions, run_sweep
from inpaint_bench.bench.store import ResultsFolderError, ResultStore
from inpaint_bench.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
FAST = {**BASE, "masks": ["center"], "limit": 2, "metrics": ["psnr"], "grid_images": 0}


def quiet_sweep(tmp_path, **changes):
    return load_sweep(sweep_file(tmp_path, **{**FAST, **changes}))


def run_quiet(sweep, store):
    lines = []
    run_sweep(sweep, store, QUIET, wandb=False, echo=lines.append)
    return lines


# 1. mask folders ------------------------------------------------------------------------------------------------
def test_mask_folder_reads_one_level_so_a_backup_subfolder_cannot_shift_the_masks(tmp_path):
    from inpaint_bench.masks.folder import FolderMasks

    folder = tmp_path / "masks"
    (folder / "backup").mkdir(parents=True)
    hole = torch.zeros(64, 64, dtype=torch.uint8)
    hole[10:20, 10:20] = 255
    Image.fromarray(hole.numpy()).save(folder / "b_first.png")
    Image.fromarray(torch.zeros(64, 64, dtype=torch.uint8).numpy()).save(folder / "backup" / "a_old.png")
    masks = FolderMasks(folder, 64)
    assert [f.name for f in masks.files] == ["b_first.png"]
    assert masks(0).sum() == 100


# 2. weights: wrong method, changed files -----------------------------------------------------------------------
def test_a_checkpoint_trained_for_another_method_is_refused():
    from inpaint_bench.methods import build
    from inpaint_bench.nets.checkpoints import CheckpointError

    ddpm = ROOT / "inpaint_bench/assets/checkpoints/ddpm_tiny.safetensors"
    with pytest.raises(CheckpointError, match="trained for method 'ddpm'"):
        build("i2sb", checkpoint=str(ddpm))
    with pytest.raises(CheckpointError, match="trained for method 'i2sb'"):
        build("repaint", checkpoint=str(ROOT / "inpaint_bench/assets/checkpoints/i2sb_tiny.safetensors"))


def test_cells_record_weight_hashes_and_changed_weights_rerun_the_cell(tmp_path):
    from safetensors.torch import load_file, save_file

    from inpaint_bench.nets.checkpoints import safetensors_metadata

    ckpt = tmp_path / "i2sb_copy.safetensors"
    shipped = ROOT / "inpaint_bench/assets/checkpoints/i2sb_tiny.safetensors"
    ckpt.write_bytes(shipped.read_bytes())
    sweep = quiet_sweep(tmp_path, methods=[{"name": "i2sb", "config": {"nfe": 2, "checkpoint": str(ckpt)}}])
    store = ResultStore(tmp_path / "results")
    run_quiet(sweep, store)
    cell = next((tmp_path / "results/tiny/cells").glob("*.json"))
    recorded = json.loads(cell.read_text())["weights"]
    import hashlib

    assert recorded[str(ckpt.resolve())] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert "skip (done)" in run_quiet(sweep, store)[0]  # unchanged weights: nothing recomputed
    state = load_file(str(ckpt))
    state["out.2.bias"] = state["out.2.bias"] + 0.01  # the same path, other weights
    save_file(state, str(ckpt), metadata=safetensors_metadata(shipped))
    lines = run_quiet(sweep, store)
    assert lines[0].startswith("ok")  # recomputed, not "skip (done)"
    assert len(list((tmp_path / "results/tiny/cells/superseded").glob("*.json"))) == 1  # the old result is kept


# 3. corrupt cell files ------------------------------------------------------------------------------------------
def test_a_corrupt_cell_json_is_moved_aside_rerun_and_the_leaderboards_are_still_written(tmp_path):
    sweep = quiet_sweep(tmp_path, methods=["mean_fill", "test_half"])
    store = ResultStore(tmp_path / "results", warn=(warnings := []).append)
    run_quiet(sweep, store)
    cells = sorted((tmp_path / "results/tiny/cells").glob("*.json"))
    cells[0].write_text('{"cell_id": "x", "status": "ok" "row"')  # truncated mid-write by another tool
    lines = run_quiet(sweep, store)
    assert sum(line.startswith("ok") for line in lines) == 1 and any("skip (done)" in x for x in lines)
    assert any(str(cells[0]) in w and "corrupt" in w for w in warnings)  # the file is named
    assert len(list((tmp_path / "results/tiny/cells/corrupt").glob("*.json"))) == 1
    md = (tmp_path / "results/tiny/leaderboard.md").read_text()
    assert "| mean_fill |" in md and "| test_half |" in md


# 4. DDP edge cases ----------------------------------------------------------------------------------------------
def test_fewer_images_than_processes_uses_one_process_per_image_or_says_why(monkeypatch):
    notes = []
    assert runner._devices(TrainerOptions(devices=4), 2, notes.append) == 2 and "2 process(es)" in notes[0]
    assert runner._devices(TrainerOptions(devices=2), 5, notes.append) == 2
    monkeypatch.setenv("LOCAL_RANK", "0")  # an external launcher fixed the world size
    with pytest.raises(ValueError, match="every process needs at least one image"):
        runner._devices(TrainerOptions(devices=4), 2, notes.append)


def test_the_recorded_ddp_failure_is_the_first_real_error_with_its_rank(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    folder = store.cell_path("tiny", "abc").parent
    folder.mkdir(parents=True)
    (folder / ".abc.rank1.error").write_text(json.dumps(
        {"rank": 1, "time": 1.0, "error": "MethodOutputError: NaN on rank 1", "traceback": "tb1"}))

    class FakeTrainer:
        global_rank, world_size = 0, 2

    monkeypatch.setattr(runner.time, "sleep", lambda s: None)
    try:
        raise RuntimeError("[../third_party/gloo/...] Connection closed by peer [127.0.0.1]:1234")
    except RuntimeError as err:
        record = runner._failure(store, "tiny", "abc", {"cell_id": "abc"}, err, FakeTrainer())
    assert record["error"] == "MethodOutputError: NaN on rank 1" and record["failed_rank"] == 1
    assert {e["rank"] for e in record["all_rank_errors"]} == {0, 1}


def test_only_rank_zero_prints_and_writes_leaderboards(tmp_path, monkeypatch):
    sweep = quiet_sweep(tmp_path, methods=["mean_fill"])
    store = ResultStore(tmp_path / "results")
    run_quiet(sweep, store)
    for f in (tmp_path / "results/tiny").glob("leaderboard.*"):
        f.unlink()
    monkeypatch.setenv("RANK", "1")
    assert run_quiet(sweep, store) == []
    assert not list((tmp_path / "results/tiny").glob("leaderboard.*"))


# 5. malicious pickles -------------------------------------------------------------------------------------------
class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("force_unsafe", [False, True])
def test_malicious_pickles_are_refused_on_every_loading_path(tmp_path, monkeypatch, force_unsafe):
    from inpaint_bench.bench.train import checked_resume
    from inpaint_bench.files import weights
    from inpaint_bench.nets.checkpoints import CheckpointError, read_state

    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": Payload(marker)}, evil)
    with pytest.raises(CheckpointError):  # method checkpoints
        read_state(evil)
    with pytest.raises(ValueError, match="refusing to resume"):  # train --resume (Lightning's last.ckpt)
        checked_resume(evil)
    hub = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    entry = weights.get("resnet50")
    evil_metric = hub / entry.file
    evil_metric.write_bytes(evil.read_bytes())
    monkeypatch.setattr(weights.WeightFile, "require", lambda self: evil_metric)  # skip the hash, test the load
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):  # metric weights
        entry.load_state_dict()
    assert not marker.exists()


def test_unpinned_weight_files_are_pinned_on_first_use_and_a_changed_file_is_refused(tmp_path):
    from inpaint_bench.files import weights

    entry = weights.get("inception_torchscript")  # no published hash
    entry.path().parent.mkdir(parents=True, exist_ok=True)
    entry.path().write_bytes(b"first version")
    assert entry.require() == entry.path()
    assert json.loads(weights.pins_path().read_text())[str(entry.path().resolve())]
    entry.path().write_bytes(b"tampered version")
    with pytest.raises(weights.WeightsCorrupt, match="changed"):
        entry.require()


# 6. escaping ----------------------------------------------------------------------------------------------------
def test_hostile_labels_are_escaped_in_all_four_leaderboard_formats(tmp_path):
    label = r"a|b & <script>alert(1)</script> \input{/etc/passwd} #$%_=1"
    sweep = quiet_sweep(tmp_path, methods=[{"name": "mean_fill", "label": label}, "test_half"])
    run_quiet(sweep, ResultStore(tmp_path / "results"))
    folder = tmp_path / "results/tiny"
    md = (folder / "leaderboard.md").read_text()
    row = next(line for line in md.splitlines() if "alert" in line)
    header = next(line for line in md.splitlines() if line.startswith("| method"))
    assert len(re.findall(r"(?<!\\)\|", row)) == len(re.findall(r"(?<!\\)\|", header))  # no shifted columns
    assert "<script>" not in md
    tex = (folder / "leaderboard.tex").read_text()
    assert r"\input" not in tex.replace(r"\textbackslash{}input", "") and "<script>" not in tex
    assert r"\&" in tex and r"\#" in tex and r"\$" in tex
    html_text = (folder / "leaderboard.html").read_text()
    assert "<script>alert" not in html_text and "&lt;script&gt;alert(1)" in html_text
    rows = list(csv.DictReader(io.StringIO((folder / "leaderboard.csv").read_text())))
    assert label in {r["method"] for r in rows}  # CSV quoting keeps the label whole


def test_csv_text_fields_cannot_start_a_spreadsheet_formula():
    from inpaint_bench.bench.render.csv_table import csv_text

    assert csv_text("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_text("i2sb") == "i2sb"


# 7. file-system errors ------------------------------------------------------------------------------------------
def test_results_path_that_is_a_file_fails_before_any_compute_with_one_line(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    rc = main(["sweep", str(sweep_file(tmp_path, **FAST, methods=["mean_fill"])), "--results", str(target),
               "--no-wandb", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "is a file" in err[0]


def test_unwritable_results_folder_is_refused_up_front(tmp_path, monkeypatch):
    from inpaint_bench.bench import store as store_module

    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store_module, "atomic_write", read_only)
    with pytest.raises(ResultsFolderError, match="Read-only file system"):
        run_quiet(quiet_sweep(tmp_path, methods=["test_explodes"]), ResultStore(tmp_path / "results"))


def test_processes_probing_one_results_folder_at_once_do_not_fail_each_other(tmp_path, monkeypatch):
    """Every process of a DDP / SLURM sweep probes the folder; a peer's probe between this one's write and unlink
    (as CI saw: one rank stopped with 'No such file or directory', its peer waited in a collective) must pass."""
    from inpaint_bench.bench import store as store_module

    store, write, peers = ResultStore(tmp_path / "results"), store_module.atomic_write, []

    def write_then_a_peer_probes(path, data):
        write(path, data)
        if not peers:
            peers.append(path)
            store.check_writable("shapes")  # the other process, in between

    monkeypatch.setattr(store_module, "atomic_write", write_then_a_peer_probes)
    store.check_writable("shapes")
    assert peers and list((tmp_path / "results" / "shapes" / "cells").iterdir()) == []


def test_disk_full_leaves_no_temp_file_and_keeps_the_old_file(tmp_path, monkeypatch):
    from inpaint_bench.files import atomic

    path = tmp_path / "cell.json"
    atomic.atomic_write(path, b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        atomic.atomic_write(path, b"new" * 1000)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["cell.json"]


# 8. concurrent sweeps -------------------------------------------------------------------------------------------
def test_a_cell_claimed_by_another_sweep_is_skipped_and_a_ddp_sibling_joins_it(tmp_path, monkeypatch):
    from inpaint_bench.bench import launch

    folder = ResultStore(tmp_path).cell_path("tiny", "abc").parent
    folder.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from filelock import FileLock
        lock = FileLock({str(folder / '.abc.lock')!r}); lock.acquire()
        print("held", flush=True); time.sleep(1.0)  # a sibling looking now finds the lock but no owner yet
        Path({str(folder / '.abc.owner')!r}).write_text("other-sweep")
        time.sleep(60)""")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv(launch.SWEEP_TOKEN, "other-sweep")
        with launch.claim(folder, "abc") as mine:
            assert mine is True  # a DDP process of the sweep that holds it: waits for the owner, then joins
        monkeypatch.setenv(launch.SWEEP_TOKEN, "this-sweep")
        with launch.claim(folder, "abc") as mine:
            assert mine is False  # another sweep is computing it
    finally:
        holder.kill()
        holder.wait()
    with launch.claim(folder, "abc") as mine:
        assert mine is True  # released when its holder died


def test_the_processes_of_one_external_launch_share_a_sweep_token(monkeypatch):
    """torchrun and SLURM processes are not children of one launcher: their token comes from the job's identity,
    equal across the job's ranks and different for another job running at the same time."""
    from inpaint_bench.bench import launch

    def token(**env):
        for var in ("SLURM_PROCID", "SLURM_JOB_ID", "SLURM_STEP_ID", "TORCHELASTIC_RUN_ID", "MASTER_ADDR",
                    "MASTER_PORT", "RANK", "LOCAL_RANK", launch.SWEEP_TOKEN):
            monkeypatch.delenv(var, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        launch.join_sweep()
        return launch.os.environ.get(launch.SWEEP_TOKEN)

    slurm = [token(SLURM_PROCID=str(r), SLURM_JOB_ID="77", SLURM_STEP_ID="0") for r in range(3)]
    assert len(set(slurm)) == 1 and token(SLURM_PROCID="0", SLURM_JOB_ID="78", SLURM_STEP_ID="0") != slurm[0]
    elastic = [token(RANK=str(r), LOCAL_RANK="0", TORCHELASTIC_RUN_ID="none", MASTER_ADDR="n0", MASTER_PORT="29500")
               for r in range(2)]
    assert len(set(elastic)) == 1
    assert token(RANK="0", TORCHELASTIC_RUN_ID="none", MASTER_ADDR="n0", MASTER_PORT="29501") != elastic[0]
    assert token() != token()  # a launcher: a fresh token per sweep


# 9. input validation --------------------------------------------------------------------------------------------
BAD_SWEEPS = [
    ({"methods": [{"name": "i2sb", "config": {"nfe": "four"}}]}, "i2sb.nfe: got 'four'"),
    ({"limit": "two"}, "limit: got 'two'"),
    ({"limit": -3}, "limit must be a positive integer"),
    ({"size": 0}, "size must be a positive integer"),
    ({"metrics": "psnr"}, "metrics: got 'psnr', expected a list"),
    ({"seeds": []}, "'seeds' must list at least one entry"),
    ({"metrics": []}, "metrics must list at least one metric"),
    ({"masks": ["centre"]}, "unknown mask 'centre'"),
    ({"methods": ["i2sbb"]}, "unknown method 'i2sbb'"),
    ({"methods": ["mean_fill", {"name": "telea", "label": "mean_fill"}]}, "share the leaderboard row"),
    ({"methods": ["mean_fill", {"name": "mean_fill", "label": "again"}]}, "listed twice"),
    ({"batch_size": 0}, "batch_size must be"),
]


@pytest.mark.parametrize("change, message", BAD_SWEEPS)
def test_invalid_sweeps_are_refused_before_any_work(tmp_path, capsys, change, message):
    path = sweep_file(tmp_path, **{**FAST, "methods": ["mean_fill"], **change})
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_sweep(path)
    assert main(["sweep", str(path), "--results", str(tmp_path / "r"), "--no-wandb", "--no-progress"]) == 2
    assert message.split("'")[0] in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_yaml_one_one_floats_are_read_as_numbers_where_a_float_belongs(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**FAST, "methods": ["x"]}).replace("- x", "- {name: i2sb, config: {beta_max: 1.0e30}}"))
    assert load_sweep(path).methods[0].config["beta_max"] == 1e30


@pytest.mark.parametrize("text, message", [("datasets: [tiny\nmasks: x", "not valid YAML at line"),
                                           ("- just\n- a list", "must be a mapping")])
def test_bad_yaml_and_non_mappings_get_a_message_not_a_traceback(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_sweep(path)


def test_run_refuses_typos_and_leaderboard_refuses_unknown_or_escaping_datasets(tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", "--method", "mean_fil", "--results", str(results), "--no-wandb"]) == 2
    assert "unknown method 'mean_fil'" in capsys.readouterr().err and not results.exists()
    assert main(["run", "--method", "mean_fill", "--mask", "centr", "--results", str(results), "--no-wandb"]) == 2
    assert main(["run", "--method", "mean_fill", "--size", "0", "--results", str(results), "--no-wandb"]) == 2
    assert not results.exists()
    assert main(["leaderboard", "--dataset", "../../x", "--results", str(results)]) == 2
    assert main(["leaderboard", "--dataset", "places2", "--results", str(results)]) == 2
    assert not list(tmp_path.rglob("leaderboard.*"))


# 10. every flag a message or the README names exists ---------------------------------------------------------------
EXTERNAL_FLAGS = {
    "--simplified": "DDNM's own command line (the official demo path)",
    "--cond-x1": "I²SB's own training flag", "--l2-norm": "I²SB's own training flag (weight decay)",
    "--upstream": "tests/parity/generate.py", "--deps": "tests/parity/generate.py",
    "--target": "pip install --target", "--no-deps": "pip install --no-deps", "--short": "git rev-parse --short",
    "--change": "the duplicates tool", "--help": "argparse", "--array": "sbatch --array (a SLURM job array)",
    "--kill-on-bad-exit": "srun --kill-on-bad-exit (scripts/slurm/sweep.sbatch)",
}


LIGHTNING_CLI_NAMESPACES = ("--trainer.", "--model.", "--data.", "--train.")


def _all_cli_flags() -> set[str]:
    import argparse

    flags = set()

    def walk(parser):
        for action in parser._actions:
            flags.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)

    walk(build_parser())
    return flags


def test_every_flag_named_in_messages_or_the_readme_exists():
    import ast

    texts = [(ROOT / "README.md").read_text()]
    for path in (ROOT / "inpaint_bench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
    named = {f for text in texts for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9_.-]*[a-z0-9]", text)}
    lightning_cli = {"--config", "--print_config", *(n.rstrip(".") for n in LIGHTNING_CLI_NAMESPACES)}
    named = {f for f in named if f not in lightning_cli and not f.startswith(LIGHTNING_CLI_NAMESPACES)}
    missing = sorted(named - _all_cli_flags() - set(EXTERNAL_FLAGS))
    assert not missing, f"flags named in messages or README that no inpaint-bench command has: {missing}"


def test_each_readme_section_appears_once():
    """An edit that pasted an old copy of half the README back in (it happened once) leaves two sections with one
    title, the stale one contradicting the new."""
    from collections import Counter

    titles = Counter(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("## "))
    assert not [t for t, n in titles.items() if n > 1], titles


# 11. labels -----------------------------------------------------------------------------------------------------
def test_renamed_labels_show_on_re_render_and_clashing_stored_labels_are_kept_apart(tmp_path):
    from inpaint_bench.bench.leaderboard import write_leaderboards

    store = ResultStore(tmp_path / "results", warn=(warnings := []).append)
    run_quiet(quiet_sweep(tmp_path, methods=[{"name": "mean_fill", "label": "old name"}]), store)
    renamed = quiet_sweep(tmp_path, methods=[{"name": "mean_fill", "label": "new name"}])
    assert "skip (done)" in run_quiet(renamed, store)[0]
    md = (tmp_path / "results/tiny/leaderboard.md").read_text()
    assert "| new name |" in md and "old name" not in md
    run_quiet(quiet_sweep(tmp_path, methods=[{"name": "test_half", "label": "new name"}]), store)
    write_leaderboards(store, "tiny")  # two stored cells, other methods, one label
    md = (tmp_path / "results/tiny/leaderboard.md").read_text()
    table = md.split("differences (row − column)")[0]  # the table, not the paired matrix that repeats labels
    assert table.count("| new name [") == 2 and any("several method configs" in w for w in warnings)


def test_cells_record_the_sha256_of_the_exact_masks_and_one_flipped_bit_changes_it(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(2):
        m = torch.zeros(64, 64, dtype=torch.uint8)
        m[8 + i : 30, 8:40] = 255
        Image.fromarray(m.numpy()).save(folder / f"{i:04d}.png")

    def masks_sha(results):
        sweep = quiet_sweep(tmp_path, methods=["mean_fill"], masks=[f"folder:{folder}"])
        run_quiet(sweep, ResultStore(results))
        return json.loads(next((results / "tiny/cells").glob("*.json")).read_text())["protocol"]["masks_sha256"]

    first = masks_sha(tmp_path / "a")
    m = np.asarray(Image.open(folder / "0001.png")).copy()
    m[50, 50] = 255
    Image.fromarray(m).save(folder / "0001.png")
    assert masks_sha(tmp_path / "b") != first
