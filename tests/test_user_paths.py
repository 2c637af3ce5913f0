"""What a new user hits first (issue 26): one-image cells, one protocol per page section, your own image folder
through `run` and `leaderboard`, and every printed number carrying its label."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_bench.cli import main

RUN = ["--no-wandb", "--no-progress", "--accelerator", "cpu", "--quiet"]


def run(*args, results):
    return main(["run", *args, "--results", str(results), "--no-wandb", "--no-progress", "--accelerator", "cpu"])


def test_a_one_image_cell_is_kept(tmp_path, capsys):
    assert run("--method", "mean_fill", "--dataset", "tiny", "--limit", "1", "--metrics", "psnr,ssim,psnr_hole",
               results=tmp_path) == 0
    csv = next((tmp_path / "tiny" / "cells").glob("*.images.csv")).read_text().splitlines()
    assert len(csv) == 2 and csv[1].startswith("0,")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "ok" and out["n_images"] == 1


def test_fid_on_one_image_is_refused_before_any_work(tmp_path, capsys):
    assert run("--method", "mean_fill", "--dataset", "tiny", "--limit", "1", "--metrics", "psnr,fid",
               "--features", "untrained", results=tmp_path) == 1
    out = json.loads(capsys.readouterr().out)
    assert "need at least 2" in out["error"] and "--metrics" in out["error"]
    assert not list((tmp_path / "tiny" / "cells").glob("*.images.csv"))


def test_run_prints_untrained_numbers_with_their_label(tmp_path, capsys):
    assert run("--method", "mean_fill", "--dataset", "tiny", "--limit", "2", "--metrics", "psnr,lpips",
               "--features", "untrained", results=tmp_path) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["metrics"]) == {"psnr", "lpips [UNTRAINED-FEATURES]"}
    assert Path(out["results"]).exists()


def _folder(path: Path, n: int = 3) -> Path:
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(path / f"img{i}.png")
    return path


def test_your_own_folder_through_run_lands_in_one_place_inside_the_results(tmp_path, monkeypatch, capsys):
    photos = _folder(tmp_path / "data" / "my photos")
    results = tmp_path / "out" / "results"
    results.parent.mkdir()
    monkeypatch.chdir(results.parent)
    common = ["--method", "mean_fill", "--metrics", "psnr", "--size", "32"]
    assert run(*common, "--dataset", "folder", "--data-root", str(photos), results=results) == 0
    assert run(*common, "--dataset", "folder:../data/my photos", "--mask", "wide", results=results) == 0
    folders = [p for p in results.iterdir() if p.is_dir()]
    assert len(folders) == 1 and re.fullmatch(r"folder-my_photos-[0-9a-f]{8}", folders[0].name)
    assert len(list((folders[0] / "cells").glob("*.json"))) == 2
    assert all(results in p.parents for p in tmp_path.rglob("*.json"))  # nothing written outside the results
    capsys.readouterr()
    assert main(["leaderboard", "--dataset", "folder", "--results", str(results)]) == 0
    assert (folders[0] / "leaderboard.md").exists()
    assert main(["leaderboard", "--dataset", f"folder:{photos}", "--results", str(results)]) == 0


def test_every_plot_grid_and_bin_table_belongs_to_one_protocol(tmp_path):
    """make bench + a run on more images into one results folder: two protocol cards, each with its own
    figures and bins; telea (only in the first) never appears under the second."""
    from inpaint_bench.bench.config import load_sweep
    from inpaint_bench.bench.leaderboard import write_leaderboards
    from inpaint_bench.bench.runner import TrainerOptions, run_sweep
    from inpaint_bench.bench.store import ResultStore

    sweep = tmp_path / "s.yaml"
    sweep.write_text("datasets: [tiny]\nmasks: [wide]\nmethods: [mean_fill, telea]\nmetrics: [psnr, psnr_hole]\n"
                     "limit: 8\nfeatures: untrained\ngrid_images: 2\n")
    store = ResultStore(tmp_path / "r")
    run_sweep(load_sweep(sweep), store, TrainerOptions(accelerator="cpu", progress=False), wandb=False, echo=lambda *a: None)
    assert run("--method", "mean_fill", "--dataset", "tiny", "--limit", "12", "--mask", "wide", "--metrics",
               "psnr,psnr_hole", results=tmp_path / "r") == 0
    write_leaderboards(store, "tiny")
    md = (tmp_path / "r" / "tiny" / "leaderboard.md").read_text()
    sections = md.split("### tiny — protocol")[1:]
    assert len(sections) == 2
    with_telea = [s for s in sections if "telea" in s]
    assert len(with_telea) == 1  # telea's row, bins and figure labels only under its own card
    other = next(s for s in sections if "telea" not in s)
    assert "by hole ratio" in other and "images: 12" in other
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(figures) == len(set(figures))  # no figure shared by two cards
    for section in sections:
        names = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", section)
        suffixes = {re.search(r"_([0-9a-f]{8})\.png$", n).group(1) for n in names}
        assert len(suffixes) == 1  # every figure of a card carries that card's protocol
    html = (tmp_path / "r" / "tiny" / "leaderboard.html").read_text()
    assert html.count("class='card'") == 2


WRAPPER = """import os, sys
from inpaint_bench.methods.base import InpaintMethod
from inpaint_bench.methods.registry import register


@register("test_fails_on_rank1")
class FailsOnRank1(InpaintMethod):
    def inpaint(self, image, mask, generator=None):
        if os.environ.get("LOCAL_RANK") == "1":
            raise RuntimeError("boom on rank 1")
        return image


from inpaint_bench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _ddp_run(tmp_path, method, limit):
    import subprocess
    import sys

    script = tmp_path / "cli.py"
    script.write_text(WRAPPER)
    return subprocess.run([sys.executable, str(script), "run", "--method", method, "--dataset", "tiny", "--limit",
                           str(limit), "--metrics", "psnr", "--devices", "4", "--strategy", "ddp", *RUN[:-1],
                           "--results", str(tmp_path / "r")], capture_output=True, text=True, timeout=600)


def test_ddp_with_fewer_images_than_processes_shrinks_in_every_process(tmp_path):
    out = _ddp_run(tmp_path, "mean_fill", 3)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count('"status"') == 1  # rank 0 reports, once
    record = json.loads(next((tmp_path / "r" / "tiny" / "cells").glob("*[0-9a-f].json")).read_text())
    assert record["status"] == "ok" and record["n_images"] == 3 and record["devices"] == 3


def test_a_rank_failure_exits_with_a_proper_code_and_one_line(tmp_path):
    out = _ddp_run(tmp_path, "test_fails_on_rank1", 2)
    assert out.returncode == 1, (out.returncode, out.stderr[-2000:])
    assert [line for line in out.stderr.splitlines() if "the cell failed" in line] == [
        next(line for line in out.stderr.splitlines() if "the cell failed" in line)]
    record = json.loads(next((tmp_path / "r" / "tiny" / "cells").glob("*[0-9a-f].json")).read_text())
    assert record["status"] == "failed" and record["failed_rank"] == 1 and "boom on rank 1" in record["error"]


def test_train_prints_no_framework_noise_and_no_negative_epoch(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "inpaint_bench.cli", "train", "ddpm", "--max-steps", "2", "--batch-size",
                          "2", "--out", str(tmp_path), "--accelerator", "cpu", "--devices", "1"],
                         capture_output=True, text=True, timeout=600, env={**__import__("os").environ, "COLUMNS": "120"})
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    for noise in ("GPU available", "TPU available", "Tip:", "litlogger", "LeafSpec", "Seed set", "/-2", "v_num",
                  "stopped: `max_steps"):
        assert noise not in text, noise
    assert "exported" in text


def test_wandb_loggers_do_not_pass_the_ignored_anonymous_setting(tmp_path, monkeypatch):
    from inpaint_bench.bench import wandb_log

    monkeypatch.setenv("WANDB_MODE", "offline")
    assert "anonymous" not in wandb_log.logger("x", tmp_path)._wandb_init


def test_doctor_never_cuts_a_path(monkeypatch, capsys):
    from inpaint_bench.cli.doctor import main as doctor
    from inpaint_bench.files import paths

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("INPAINT_BENCH_HOME", "/a/rather/long/cache/folder/that/would/not/fit/in/eighty/columns")
    doctor()
    out = capsys.readouterr().out
    assert "…" not in out and str(paths.cache_dir()) in out


# 6. silent acceptances → a clear line ---------------------------------------------------------------------------

def test_a_key_given_twice_in_a_sweep_file_is_refused(tmp_path):
    from inpaint_bench.bench.config import ConfigError, load_sweep

    path = tmp_path / "s.yaml"
    path.write_text("datasets: [tiny]\nmasks: [center]\nmasks: [wide]\nmethods: [mean_fill]\n")
    with pytest.raises(ConfigError, match="line 3.*duplicate key 'masks'"):
        load_sweep(path)


def test_exif_orientation_is_applied(tmp_path):
    from inpaint_bench.data.images import load_rgb

    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white, stored landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(arr).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    img = np.asarray(load_rgb(tmp_path / "phone.jpg"))
    assert img.shape == (40, 20, 3) and img[:20].mean() > 200 and img[20:].mean() < 50  # upright: white on top


def test_resize_masks_refuses_to_stretch_a_non_square_mask(tmp_path):
    from inpaint_bench.masks.folder import FolderMasks
    from inpaint_bench.masks.spec import MaskError

    (tmp_path / "m").mkdir()
    Image.fromarray(np.pad(np.full((10, 10), 255, np.uint8), ((5, 5), (20, 20)))).save(tmp_path / "m" / "0.png")
    with pytest.raises(MaskError, match="not square"):
        FolderMasks(tmp_path / "m", 32, resize=True)(0)


def test_mask_files_in_subfolders_are_not_ignored_silently(tmp_path, capsys):
    """Mask folders are one level deep (a backup subfolder never shifts mask i ↔ image i), and say so."""
    from inpaint_bench.masks.folder import FolderMasks

    (tmp_path / "m" / "old").mkdir(parents=True)
    for path in (tmp_path / "m" / "0.png", tmp_path / "m" / "old" / "1.png"):
        Image.fromarray(np.pad(np.full((8, 8), 255, np.uint8), 12)).save(path)
    assert len(FolderMasks(tmp_path / "m", 32)) == 1
    assert "its subfolders (old) are not read" in capsys.readouterr().err


def test_no_hole_masks_and_a_limit_above_the_split_get_a_note(tmp_path, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(3):
        hole = np.zeros((64, 64), np.uint8)
        if i:
            hole[20:40, 20:40] = 255
        Image.fromarray(hole).save(masks / f"{i}.png")
    photos = _folder(tmp_path / "photos", 3)
    assert run("--method", "mean_fill", "--dataset", f"folder:{photos}", "--size", "64", "--limit", "10", "--mask",
               f"folder:{masks}", "--metrics", "psnr", results=tmp_path / "r") == 0
    out = capsys.readouterr().out
    assert "note: limit 10, but folder test has 3 image(s)" in out
    assert "note: 1 of 3 mask(s) have no hole" in out
    assert json.loads(out[out.index("{"):])["status"] == "ok"


# 7. messages that name what is wrong ---------------------------------------------------------------------------

def test_masks_show_previews_your_own_mask_folder(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    for i in range(3):
        Image.fromarray(np.pad(np.full((8, 8), 255, np.uint8), 12 + i)).save(tmp_path / "m" / f"{i}.png")
    out = tmp_path / "p.png"
    assert main(["masks", "show", f"folder:{tmp_path / 'm'}", "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 100


def test_score_names_the_file_of_another_size(tmp_path, capsys):
    for side in ("pred", "ref"):
        (tmp_path / side).mkdir()
        for name, size in (("a.png", (32, 32)), ("b.png", (48, 32))):
            Image.new("RGB", size).save(tmp_path / side / name)
    assert main(["score", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "ref"), "--metrics", "psnr"]) == 2
    assert "b.png is 48×32" in capsys.readouterr().err


def test_unreadable_files_are_named(tmp_path):
    import pickle

    from inpaint_bench.data.images import ImageReadError, load_rgb
    from inpaint_bench.nets.checkpoints import CheckpointError, read_state

    Image.new("L", (6000, 6000)).save(tmp_path / "huge.png")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
        with pytest.raises(ImageReadError, match="huge.png.*too large"):
            load_rgb(tmp_path / "huge.png")
    (tmp_path / "net.safetensors").write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(CheckpointError, match="net.safetensors is not a valid safetensors file"):
        read_state(tmp_path / "net.safetensors")


def test_a_safetensors_file_without_architecture_metadata_says_so(tmp_path):
    from safetensors.torch import save_file

    from inpaint_bench.nets.checkpoints import CheckpointError, load_unet
    from inpaint_bench.nets.unet import UNetConfig, UNetModel

    small = UNetModel(UNetConfig(image_size=16, model_channels=32, channel_mult=(1, 2), num_res_blocks=1,
                                 attention_resolutions=(2,)))
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, str(tmp_path / "net.safetensors"))
    with pytest.raises(CheckpointError, match="no unet_config in its metadata"):
        load_unet(tmp_path / "net.safetensors")


def test_bad_devices_step_counts_and_missing_folders_are_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--method", "mean_fill", "--devices", "two"])
    assert "'two' is not a number of devices" in capsys.readouterr().err
    assert run("--method", "i2sb", "--config", "{nfe: 0}", results=tmp_path) == 2
    assert "i2sb nfe must be a whole number ≥ 1, got 0" in capsys.readouterr().err
    assert run("--method", "mean_fill", "--dataset", f"folder:{tmp_path / 'nowhere'}", results=tmp_path) == 2
    err = capsys.readouterr().err
    assert "no folder" in err and "nowhere" in err and "--data-root" not in err
    assert not (tmp_path / "shapes").exists()


def test_plots_give_every_row_its_own_style_and_headline_hole_psnr():
    from inpaint_bench.bench.plots import axis_label, quality_metric, style

    styles = {(style(k)["color"], style(k)["marker"]) for k in range(14)}
    assert len(styles) == 14 and len({style(k)["marker"] for k in range(14)}) >= 12
    assert quality_metric([{"metrics": {"psnr": 1, "psnr_hole": 2, "fid": 3}}]) == "psnr_hole"
    assert axis_label("psnr_hole") == "hole PSNR (dB)"
