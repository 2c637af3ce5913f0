import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_bench.data import DatasetError, ImageReadError, build_datamodule, load_rgb
from inpaint_bench.data.tiny import COUNTS, SEEDS, crops, pixel_sha256, source_photos
from inpaint_bench.files import paths


def test_tiny_dataset_matches_its_manifest_and_rebuilds_bit_for_bit():
    root = paths.ASSETS_DIR / "tiny"
    manifest = json.loads((root / "manifest.json").read_text())
    assert len(manifest["files"]) == sum(COUNTS.values()) == 96
    for rel, digest in manifest["files"].items():
        assert pixel_sha256(root / rel) == digest, rel
    rebuilt = crops(source_photos(), COUNTS["test"], SEEDS["test"])
    for i, img in enumerate(rebuilt):
        assert hashlib.sha256(np.asarray(img).tobytes()).hexdigest() == manifest["files"][f"test/{i:04d}.png"]


def test_tiny_datamodule_yields_the_convention_and_is_deterministic():
    dm = build_datamodule("tiny", mask="center", batch_size=5)
    batches = [next(iter(dm.predict_dataloader())) for _ in range(2)]
    b = batches[0]
    assert b["image"].shape == (5, 3, 64, 64) and b["mask"].shape == (5, 1, 64, 64)
    assert b["image"].min() >= -1 and b["image"].max() <= 1 and b["image"].std() > 0.1
    assert b["mask"].mean().item() == pytest.approx(0.25)
    assert b["index"].tolist() == [0, 1, 2, 3, 4] and b["key"][0] == "test/0000.png"
    assert torch.equal(batches[0]["image"], batches[1]["image"])
    assert len(dm.dataset) == 32


def _write_images(folder, specs):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, (mode, size) in specs.items():
        w, h = size
        if mode == "RGB":
            img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
        elif mode == "L":
            img = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L")
        elif mode == "RGBA":
            img = Image.fromarray(rng.integers(0, 256, (h, w, 4), dtype=np.uint8), "RGBA")
        elif mode == "I;16":
            img = Image.fromarray(np.full((h, w), 65535, dtype=np.uint16))
        img.save(folder / name)


def test_image_modes_convert_to_rgb_correctly(tmp_path):
    _write_images(tmp_path, {"g.png": ("L", (9, 7)), "a.png": ("RGBA", (9, 7)), "w.png": ("I;16", (9, 7))})
    assert load_rgb(tmp_path / "g.png").mode == "RGB"
    # a fully white 16-bit image must stay white, not clip to a wrong value
    assert np.asarray(load_rgb(tmp_path / "w.png")).min() == 255
    # transparent pixels are composited over white
    Image.fromarray(np.zeros((4, 4, 4), np.uint8), "RGBA").save(tmp_path / "clear.png")
    assert np.asarray(load_rgb(tmp_path / "clear.png")).min() == 255


def test_places2_layout_odd_sizes_and_split(tmp_path):
    val = tmp_path / "val_256"
    _write_images(val, {f"Places365_val_{i:08d}.jpg": (m, s) for i, (m, s) in enumerate(
        [("RGB", (300, 200)), ("L", (97, 131)), ("RGB", (256, 256)), ("RGB", (40, 90))], start=1)})
    _write_images(val, {"Places365_val_00000005.png": ("RGBA", (123, 77))})
    dm = build_datamodule("places2", root=tmp_path, size=32, mask="half", batch_size=2)
    items = [dm.dataset[i] for i in range(len(dm.dataset))]
    assert len(items) == 5 and [it["key"] for it in items][0] == "val_256/Places365_val_00000001.jpg"
    for it in items:
        assert it["image"].shape == (3, 32, 32) and -1 <= it["image"].min() and it["image"].max() <= 1
        assert it["mask"][0, :, 16:].eq(1).all() and it["mask"][0, :, :16].eq(0).all()
    # an explicit split file wins and its order is respected
    (tmp_path / "mine.txt").write_text("val_256/Places365_val_00000003.jpg\nval_256/Places365_val_00000001.jpg\n")
    dm2 = build_datamodule("places2", root=tmp_path, size=32, split_file=tmp_path / "mine.txt")
    assert [dm2.dataset[i]["key"] for i in range(2)] == [
        "val_256/Places365_val_00000003.jpg", "val_256/Places365_val_00000001.jpg"]


def test_imagenet_keeps_labels_and_takes_last_ten_per_class(tmp_path):
    for wnid in ("n01", "n02"):
        _write_images(tmp_path / "val" / wnid, {f"ILSVRC2012_val_{i:08d}.JPEG": ("RGB", (20, 20)) for i in range(12)})
    dm = build_datamodule("imagenet", root=tmp_path, size=16)
    split = dm.dataset.split
    assert len(split.files) == 20 and split.labels == (0,) * 10 + (1,) * 10
    assert split.files[0] == "val/n01/ILSVRC2012_val_00000002.JPEG"
    assert dm.dataset[15]["label"] == 1


def test_celebahq_split_from_mapping_files(tmp_path):
    _write_images(tmp_path / "CelebA-HQ-img", {f"{i}.jpg": ("RGB", (30, 30)) for i in range(4)})
    (tmp_path / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx orig_idx orig_file\n0 1 000002.jpg\n1 2 000003.jpg\n2 3 000004.jpg\n3 4 000005.jpg\n")
    (tmp_path / "list_eval_partition.txt").write_text("000002.jpg 0\n000003.jpg 2\n000004.jpg 1\n000005.jpg 2\n")
    dm = build_datamodule("celebahq", root=tmp_path, size=16)
    assert dm.dataset.split.files == ("CelebA-HQ-img/1.jpg", "CelebA-HQ-img/3.jpg")


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="INPAINT_BENCH_DATA_PLACES2"):
        build_datamodule("places2")
    with pytest.raises(DatasetError, match="val_256"):
        build_datamodule("places2", root=tmp_path).setup()
    (tmp_path / "val_256").mkdir()
    with pytest.raises(DatasetError, match="empty"):
        build_datamodule("places2", root=tmp_path).setup()
    (tmp_path / "val_256" / "broken.jpg").write_bytes(b"not a jpeg")
    dm = build_datamodule("places2", root=tmp_path)
    with pytest.raises(ImageReadError, match="broken.jpg"):
        dm.dataset[0]
    with pytest.raises(KeyError, match="valid names"):
        build_datamodule("nope")


def test_mask_pairing_does_not_depend_on_batch_size():
    pairs = {}
    for bs in (1, 3, 32):
        dm = build_datamodule("tiny", mask="center", batch_size=bs)
        keys, sums = [], []
        for b in dm.predict_dataloader():
            keys += b["key"]
            sums += (b["image"] * b["mask"]).sum((1, 2, 3)).tolist()
        pairs[bs] = (keys, sums)
    assert pairs[1] == pairs[3] == pairs[32]


def test_shapes_dataset_is_procedural_deterministic_and_structured():
    import numpy as np

    from inpaint_bench.data import build_datamodule
    from inpaint_bench.data.shapes import pixels_sha256, render

    a, b = render("test", 0), render("test", 0)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert pixels_sha256("test", 0) == pixels_sha256("test", 0) != pixels_sha256("test", 1)
    assert not np.array_equal(render("train", 0), render("test", 0))  # the splits are disjoint draws
    assert not any(np.array_equal(render("val", 0), render(s, i)) for s in ("train", "test") for i in range(4))
    # shapes make sharp edges: many neighbouring pixels differ by a lot (a smooth photo crop has few such jumps)
    jumps = [np.mean(np.abs(np.diff(render("test", i).astype(int), axis=1)).max(-1) > 40) for i in range(16)]
    assert np.mean(jumps) > 0.01
    dm = build_datamodule("shapes", split="test", mask="center", batch_size=4, limit=8)
    item = dm.dataset[3]
    assert item["image"].shape == (3, 32, 32) and item["mask"].shape == (1, 32, 32)
    assert len(dm.dataset) == 8 and item["key"] == "shapes/v1/test/00003"
    assert (item["image"] + 1).mul(127.5).round().byte().permute(1, 2, 0).numpy().tolist() == render("test", 3).tolist()
    assert len(build_datamodule("shapes", split="val", mask="center").dataset) == 256  # for choosing settings
