"""The default benchmark (issue 19): `shapes`, every row, the shipped checkpoints trained on it."""

import json

import pytest

from inpaint_bench import methods
from inpaint_bench.bench.config import load_sweep
from inpaint_bench.files.paths import REPO_DIR


def test_make_bench_defaults_to_shapes_and_its_sweep_has_every_row_and_both_masks():
    from inpaint_bench.cli import build_parser

    args = build_parser().parse_args(["bench"])
    assert args.dataset == "shapes"
    sweep = load_sweep(REPO_DIR / "benchmarks" / "shapes.yaml")
    assert sweep.datasets == ("shapes",) and sweep.masks == ("center", "wide")
    rows = {m.name for m in sweep.methods}
    assert rows == {n for n in methods.names() if not n.startswith("test_")}


def test_shipped_checkpoints_say_they_were_trained_on_shapes():
    from inpaint_bench.nets.checkpoint_files import CHECKPOINT_DIR
    from inpaint_bench.nets.checkpoints import safetensors_metadata

    manifest = json.loads((CHECKPOINT_DIR / "manifest.json").read_text())
    for name, entry in manifest.items():
        meta = safetensors_metadata(CHECKPOINT_DIR / entry["file"])
        if name.endswith(("_gradient", "_discriminator", "_structure")):
            continue  # auxiliary networks carry their own network config only
        assert meta.get("dataset") == "shapes", (name, meta.get("dataset"))


def test_mean_reverting_methods_take_T_from_their_checkpoint_unless_told():
    from inpaint_bench.nets.checkpoint_files import tiny_checkpoint
    from inpaint_bench.nets.checkpoints import safetensors_metadata

    trained = int(safetensors_metadata(tiny_checkpoint("strdiffusion"))["T"])
    assert methods.build("strdiffusion").sde.T == trained
    other = 100 if trained != 100 else 50
    with pytest.raises(ValueError, match=f"trained with T = {trained}"):
        methods.build("strdiffusion", T=other)
    assert methods.build("irsde", checkpoint=None).sde.T == 100  # untrained: the official T


def test_training_masks_take_a_comma_list_and_refuse_unknown_names():
    from inpaint_bench.bench.train import TRAIN_MASKS, train_masks
    from inpaint_bench.masks import MaskError

    assert train_masks("center,wide") == ("center", "wide")
    assert train_masks("mixed") == TRAIN_MASKS
    with pytest.raises(MaskError, match="bogus"):
        train_masks("center,bogus")


def test_a_warm_started_stage_starts_from_its_init_and_names_it_in_the_export(tmp_path):
    """`train --init FILE` (a second stage, e.g. StrDiffusion's annealing): the run starts from FILE's weights and
    the exported file says where it started, so a shipped checkpoint's metadata tells its whole recipe."""
    import torch

    from inpaint_bench.bench.train import train
    from inpaint_bench.nets.checkpoints import read_state, safetensors_metadata

    common = dict(dataset="shapes", mask="center", batch_size=2, accelerator="cpu", devices=1)
    first = train("i2sb", max_steps=1, out=tmp_path / "one", **common)
    second = train("i2sb", max_steps=1, out=tmp_path / "two", init=str(first), lr=0.0, **common)  # lr 0: no move
    assert safetensors_metadata(second)["init"] == str(first)
    assert "init" not in safetensors_metadata(first)
    a, b = read_state(first), read_state(second)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_resumed_run_continues_from_and_rewrites_last_ckpt(tmp_path):
    """`make tiny-checkpoints` resumes I²SB once: the resumed run must start at the saved step and leave its own
    state in last.ckpt (not in a last-v1.ckpt that the next --resume would not read)."""
    import torch

    from inpaint_bench.bench.train import lightning_checkpoint_types, train

    common = dict(dataset="shapes", mask="center,wide", batch_size=2, out=tmp_path, accelerator="cpu", devices=1,
                  lr=1e-2)  # large steps: the raw weights move away from their EMA
    from inpaint_bench.nets.checkpoints import read_state

    train("i2sb", max_steps=2, **common)
    train("i2sb", max_steps=4, resume=True, **common)
    again = train("i2sb", max_steps=4, resume=True, **common)  # nothing left to train: exports the saved EMA
    folder = tmp_path / "i2sb" / "checkpoints"
    assert sorted(p.name for p in folder.glob("last*.ckpt")) == ["last.ckpt"]
    with lightning_checkpoint_types():
        state = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 4
    ema = {k.removeprefix("ema.module."): v for k, v in state["state_dict"].items() if k.startswith("ema.module.")}
    exported = read_state(again)
    assert all(torch.allclose(exported[k].float(), ema[k].float(), atol=1e-3) for k in exported)
    raw = {k.removeprefix("net."): v for k, v in state["state_dict"].items() if k.startswith("net.")}
    assert not all(torch.allclose(exported[k].float(), raw[k].float(), atol=1e-3) for k in exported)
    logged = sorted(int(line.split(",")[1]) for p in folder.parent.glob("logs/version_*/metrics.csv")
                    for line in p.read_text().splitlines()[1:])
    assert logged == sorted(set(logged))  # no step trained twice


@pytest.mark.parametrize("method, steps, config", [
    ("i2sb", 2, {}),  # EMA every step (torch AveragedModel)
    ("irsde", 10, {"T": 10, "net": {"in_nc": 3, "out_nc": 3, "nf": 8, "depth": 2, "attn_heads": 1,
                                     "attn_dim_head": 8}}),  # ema_pytorch: every 10th step, here at step 10
])
def test_last_ckpt_holds_the_ema_of_its_own_step(tmp_path, method, steps, config):
    """The file exported at the end of a run equals the one re-exported from its `last.ckpt` (`--resume` with no
    step left), tensor for tensor: the checkpoint is saved after the EMA update of its step, not before it (which
    would also lose that update for good in a resumed run)."""
    import torch

    from inpaint_bench.bench.train import train
    from inpaint_bench.nets.checkpoints import read_state

    common = dict(dataset="shapes", mask="center", batch_size=2, size=32, out=tmp_path, accelerator="cpu", devices=1,
                  lr=1e-2, max_steps=steps, method_config=config)
    in_memory = read_state(train(method, **common))
    from_checkpoint = read_state(train(method, resume=True, **common))
    assert in_memory.keys() == from_checkpoint.keys()
    assert all(torch.equal(in_memory[k], from_checkpoint[k]) for k in in_memory)
    if method == "irsde":  # ema_pytorch copies the weights up to step 100: step 10's update must have landed
        from inpaint_bench.bench.train import lightning_checkpoint_types

        with lightning_checkpoint_types():
            state = torch.load(tmp_path / method / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        raw = {k.removeprefix("net."): v for k, v in state["state_dict"].items() if k.startswith("net.")}
        assert all(torch.equal(in_memory[k], raw[k].to(in_memory[k].dtype)) for k in in_memory)
