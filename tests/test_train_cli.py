"""Training through LightningCLI: every recipe in configs/ resolves with --print_config (types checked by
jsonargparse), and a tiny recipe trains and exports with --trainer.* / --model.* / --data.* overrides."""

from pathlib import Path

import pytest
import yaml

from inpaint_bench.cli import main

RECIPES = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


def test_there_is_a_recipe_for_every_official_training_run():
    assert {r.stem for r in RECIPES} >= {"i2sb_inpaint_center", "i2sb_inpaint_freeform1020",
                                         "i2sb_inpaint_freeform2030", "asyncdsb_places2", "irsde_celebahq",
                                         "strdiffusion_places2", "ddpm_tiny"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_print_config_resolves_every_recipe(recipe, capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "--config", str(recipe), "--print_config"])
    assert done.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["class_path"].startswith("inpaint_bench.methods.")
    assert "max_steps" in printed["trainer"] and "mask" in printed["train"]


def test_a_recipe_trains_and_exports_with_command_line_overrides(tmp_path):
    from inpaint_bench.nets.checkpoints import safetensors_metadata

    rc = main(["train", "--config", "configs/ddpm_tiny.yaml", "--trainer.max_steps", "2", "--data.batch_size", "2",
               "--model.lr", "1e-4", "--trainer.accelerator", "cpu", "--trainer.devices", "1",
               "--train.out", str(tmp_path)])
    assert rc == 0
    meta = safetensors_metadata(tmp_path / "ddpm" / "ddpm.safetensors")
    assert meta["method"] == "ddpm" and meta["recipe"] == "LightningCLI"
    assert (tmp_path / "ddpm" / "checkpoints" / "last.ckpt").exists()


def test_a_wrongly_typed_override_is_refused(capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "--config", "configs/ddpm_tiny.yaml", "--model.lr", "fast", "--print_config"])
    assert done.value.code != 0
