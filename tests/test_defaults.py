"""Every registered method builds with no config from the shipped tiny checkpoints and really inpaints."""

import pytest
import torch

from inpaint_bench import methods
from inpaint_bench.data import build_datamodule
from inpaint_bench.diffusion.noise import sample_generators
from inpaint_bench.methods import run_inpaint

FAST = {"i2sb": {"nfe": 10}, "asyncdsb": {"nfe": 10}, "repaint": {"t_T": 25, "jump_n_sample": 1},
        "ddnm": {"steps": 25, "clip_x0": True}, "isdiff_repaint": {"ddim_steps": 25},
        "isdiff_ddnm": {"steps": 25, "clip_x0": True},  # the tiny prior diverges unclipped (methods/ddnm.py)
        "irsde": {}, "strdiffusion": {"u_max": 2}}
LEARNED = set(FAST)
ROWS = sorted(LEARNED | {"telea", "navier_stokes", "mean_fill"})


def default_batch(n=4, mask="center"):
    """Test scenes of the default dataset (shapes), the one the shipped checkpoints are trained on."""
    return next(iter(build_datamodule("shapes", mask=mask, batch_size=n).predict_dataloader()))


def test_the_registry_holds_every_row():
    # (other test modules register throw-away methods named test_*)
    assert sorted(n for n in methods.names() if not n.startswith("test_")) == ROWS


@pytest.mark.parametrize("name", ROWS)
def test_method_inpaints_the_default_dataset_from_its_shipped_default(name):
    torch.manual_seed(0)
    method = methods.build(name, **FAST.get(name, {}))
    b = default_batch()
    out, drift = run_inpaint(method, b["image"], b["mask"], sample_generators(0, b["key"]))
    hole = b["mask"].expand_as(out).bool()
    error = (out - b["image"])[hole].abs().mean().item()
    noise_error = (torch.rand_like(out) * 2 - 1 - b["image"])[hole].abs().mean().item()
    assert torch.isfinite(out).all()
    assert torch.equal(out[~hole], b["image"][~hole])
    assert error < 0.75 * noise_error, (error, noise_error)  # every row, StrDiffusion's 32² networks too
    if name in LEARNED:
        assert method.nfe > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LEARNED))
def test_full_official_defaults_run(name):
    method = methods.build(name)
    b = default_batch(1)
    out, _ = run_inpaint(method, b["image"], b["mask"], sample_generators(0, b["key"]))
    assert torch.isfinite(out).all() and method.nfe > 0


def test_every_shipped_benchmark_sweep_loads_and_names_only_keys_its_methods_accept():
    from pathlib import Path

    from inpaint_bench.bench.config import load_sweep
    from inpaint_bench.methods.registry import METHODS, config_keys

    files = sorted((Path(__file__).parents[1] / "benchmarks").glob("*.yaml"))
    assert {f.stem for f in files} >= {"shapes", "tiny", "smoke", "celebahq", "places2", "imagenet"}
    for f in files:
        sweep = load_sweep(f)
        for spec in sweep.methods:
            unknown = set(spec.config) - set(config_keys(METHODS.get(spec.name)))
            assert not unknown, f"{f.name}: {spec.name} has no key(s) {sorted(unknown)}"


def test_one_row_can_use_a_configuration_per_mask_type(tmp_path):
    import pytest
    import yaml

    from inpaint_bench.bench.config import ConfigError, load_sweep

    base = {"datasets": ["tiny"], "masks": ["center", "wide"], "metrics": ["psnr"]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**base, "methods": [
        {"name": "i2sb", "label": "i2sb", "masks": ["center"], "config": {"nfe": 2}},
        {"name": "i2sb", "label": "i2sb", "masks": ["wide"], "config": {"nfe": 3}}]}))
    cells = load_sweep(path).cells()
    assert [(c.mask, c.method.config["nfe"]) for c in cells] == [("center", 2), ("wide", 3)]
    path.write_text(yaml.safe_dump({**base, "methods": [
        {"name": "i2sb", "label": "i2sb", "masks": ["center"], "config": {"nfe": 2}},
        {"name": "i2sb", "label": "i2sb", "masks": ["center", "wide"], "config": {"nfe": 3}}]}))
    with pytest.raises(ConfigError, match="share the leaderboard row"):
        load_sweep(path)
    path.write_text(yaml.safe_dump({**base, "methods": [{"name": "i2sb", "masks": ["half"]}]}))
    with pytest.raises(ConfigError, match="does not run"):
        load_sweep(path)
