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


OFFICIAL_AUGMENT = {  # what each recipe's official training loader does (file and line in the recipe's comment)
    "i2sb_inpaint_center": {"crop": None, "hflip": True, "vflip": False, "transpose": False},
    "i2sb_inpaint_freeform1020": {"crop": None, "hflip": True, "vflip": False, "transpose": False},
    "i2sb_inpaint_freeform2030": {"crop": None, "hflip": True, "vflip": False, "transpose": False},
    "asyncdsb_places2": {"crop": None, "hflip": True, "vflip": False, "transpose": False},
    "irsde_celebahq": {"crop": 128, "hflip": True, "vflip": True, "transpose": True},
    "strdiffusion_places2": {"crop": None, "hflip": True, "vflip": True, "transpose": True},
    "ddpm_tiny": {"crop": None, "hflip": False, "vflip": False, "transpose": False},  # departs, said in the recipe
}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_print_config_shows_each_recipes_augmentation(recipe, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--config", str(recipe), "--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["data"]["init_args"]["augment"] == OFFICIAL_AUGMENT[recipe.stem]
    text = recipe.read_text()
    assert "Data" in text and ("line" in text or "Departure" in text)  # the upstream file and line, or the reason


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


def test_options_before_the_net_name_stay_with_the_plain_trainer():
    """The Makefile's `train --dataset shapes … NET` is the plain trainer; only --config/--print_config is a recipe."""
    from inpaint_bench.cli import build_parser, is_recipe_training

    argv = ["train", "--dataset", "shapes", "--size", "32", "--resume", "--export-tiny", "i2sb", "--mask", "center"]
    assert not is_recipe_training(argv)
    args = build_parser().parse_args(argv)
    assert (args.method, args.size, args.mask, args.resume) == ("i2sb", 32, "center", True)
    assert is_recipe_training(["train", "--config", "configs/ddpm_tiny.yaml"])
    assert is_recipe_training(["train", "--config=configs/ddpm_tiny.yaml", "--trainer.max_steps", "2"])
    assert not is_recipe_training(["bench", "--config", "x.yaml"])
