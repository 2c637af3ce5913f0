"""The papers' protocol options against their references: torchvision's Resize + CenterCrop (I²SB's ImageNet
transform), I²SB's truncating uint8 conversion, Palette's mask file layout, I²SB's image list with its label file."""

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_bench.data.images import resize_center_crop


@pytest.mark.parametrize("wh", [(333, 250), (250, 333), (256, 256), (511, 300)])
def test_bilinear_policy_equals_torchvision_resize_and_center_crop(wh):
    from torchvision import transforms

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    theirs = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(256)])(img)
    assert np.array_equal(np.asarray(resize_center_crop(img, 256, "bilinear")), np.asarray(theirs))
    if wh != (256, 256):
        assert not np.array_equal(np.asarray(resize_center_crop(img, 256, "bicubic")), np.asarray(theirs))


def test_floor_quantisation_is_i2sbs_truncating_uint8_conversion_and_keeps_exact_levels():
    from inpaint_bench.data.images import to_uint8
    from inpaint_bench.metrics.suite import floor_levels

    x = torch.tensor([-1.0, -0.999, 0.0, 0.00390, 0.5, 0.99, 1.0]).view(1, 1, 1, 7).expand(1, 3, 1, 7)
    i2sb = ((x + 1) * 127.5).clamp(0, 255).to(torch.uint8)  # convert_to_numpy in I²SB's compute_metrices.py
    assert np.array_equal(to_uint8(floor_levels(x))[0, ..., 0], i2sb[0, 0].numpy())
    levels = torch.arange(256, dtype=torch.float32).view(1, 1, 1, 256).expand(1, 3, 1, 256) / 127.5 - 1
    assert np.array_equal(to_uint8(floor_levels(levels))[0, ..., 0], np.arange(256).reshape(1, 256))
    assert not np.array_equal(to_uint8(x)[0, ..., 0], i2sb[0, 0].numpy())  # rounding differs: a real option


def test_floor_quantisation_changes_pixel_metrics_as_the_protocol_says():
    from inpaint_bench.metrics import MetricSuite

    g = torch.Generator().manual_seed(0)
    target = (torch.randint(0, 256, (2, 3, 16, 16), generator=g).float() / 127.5 - 1)
    pred = (target + 0.004 * torch.randn(2, 3, 16, 16, generator=g)).clamp(-1, 1)
    mask = torch.ones(2, 1, 16, 16)
    rounded, floored = MetricSuite(["psnr"]), MetricSuite(["psnr"], quantize="floor")
    for s in (rounded, floored):
        s.update(pred, target, mask, torch.arange(2))
    assert rounded.compute()["psnr"] != floored.compute()["psnr"]


def _palette_npz(path, n=3):
    rng = np.random.default_rng(1)
    masks = {k: rng.random((n, 256, 256)) < p for k, p in
             [("10-20% freeform", 0.15), ("20-30% freeform", 0.25), ("30-40% freeform", 0.35)]}
    np.savez(path, **{k: np.packbits(v.astype(np.uint8), axis=None) for k, v in masks.items()})
    return masks


def test_palette_npz_loader_reads_mask_i_of_each_bucket_as_i2sb_unpacks_it(tmp_path):
    from inpaint_bench.masks import mask_source
    from inpaint_bench.masks.spec import MaskError

    masks = _palette_npz(tmp_path / "imagenet_freeform_masks.npz")
    source = mask_source(f"palette:{tmp_path / 'imagenet_freeform_masks.npz'}:freeform_20_30", 256)
    with np.load(tmp_path / "imagenet_freeform_masks.npz") as data:  # I²SB's load_masks, for 3 masks
        theirs = np.unpackbits(data["20-30% freeform"], axis=None)[: 3 * 256 * 256].reshape(3, 256, 256)
    for i in range(3):
        assert np.array_equal(source(i)[0].numpy().astype(np.uint8), theirs[i])
        assert np.array_equal(theirs[i].astype(bool), masks["20-30% freeform"][i])
    assert len(source.checksum()) == 64
    with pytest.raises(MaskError, match="has none"):
        source(3)
    with pytest.raises(MaskError, match="FREEFORM_URL"):
        mask_source(f"palette:{tmp_path / 'missing.npz'}:freeform_10_20", 256)


def test_i2sb_image_list_with_its_separate_label_file_gives_labels(tmp_path):
    from inpaint_bench.data import build_datamodule
    from inpaint_bench.data.folder import DatasetError

    root = tmp_path / "imagenet"
    names = []
    for wnid, label in (("n01440764", 0), ("n01443537", 1)):
        (root / "val" / wnid).mkdir(parents=True)
        for k in range(2):
            Image.new("RGB", (300, 280), (label * 100, k * 50, 10)).save(root / "val" / wnid / f"v{k}.JPEG")
            names.append((f"/fast2/data/imagenet/val/{wnid}/v{k}.JPEG", label))
    (tmp_path / "fn.txt").write_text("\n".join(n for n, _ in names) + "\n")  # absolute paths from another machine
    (tmp_path / "label.txt").write_text("\n".join(str(lbl) for _, lbl in names) + "\n")
    dm = build_datamodule("imagenet", root=root, split="test", size=64, split_file=tmp_path / "fn.txt",
                          label_file=tmp_path / "label.txt", resize="bilinear")
    items = [dm.dataset[i] for i in range(4)]
    assert [it["label"] for it in items] == [0, 0, 1, 1]
    assert items[0]["key"] == "val/n01440764/v0.JPEG"
    (tmp_path / "bad.txt").write_text("0\n1\n")
    with pytest.raises(DatasetError, match="2 labels for 4 images"):
        _ = build_datamodule("imagenet", root=root, split="test", size=64, split_file=tmp_path / "fn.txt",
                             label_file=tmp_path / "bad.txt").dataset
