import hashlib
import json
import lzma
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_bench import masks
from inpaint_bench.masks.frozen import MASK_SETS_DIR, pack, read_manifest, read_set
from inpaint_bench.masks.spec import MaskError

# Mean hole ratio of LaMa's generators, measured by simulating the upstream algorithm (shared/REFERENCE.md).
LAMA_MEANS = {"narrow": 0.29, "medium": 0.24, "wide": 0.27}
EXPECTED_NAMES = {"center", "half", "expand", "wide", "narrow", "medium", "freeform_10_20", "freeform_20_30",
                  "freeform_30_40", "ev2li", "nn2"} | {f"ratio_{lo:02d}_{lo + 10:02d}" for lo in range(0, 60, 10)}


def test_every_paper_mask_type_is_registered():
    assert set(masks.names()) == EXPECTED_NAMES


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_shape_binary_and_hole_ratio_in_documented_range(name):
    m = masks.generate(name, 200, size=256, seed=3)
    assert m.shape == (200, 1, 256, 256) and m.dtype == torch.float32
    assert ((m == 0) | (m == 1)).all()
    ratio = m.flatten(1).mean(1)
    lo, hi = masks.spec(name).hole_range
    assert ratio.min() >= lo - 1e-9 and ratio.max() <= hi + 1e-9, (ratio.min(), ratio.max())
    if name.startswith(("freeform", "ratio")):
        assert ratio.max() < hi and ratio.min() > 0  # strictly inside the bucket
    if name in LAMA_MEANS:
        assert abs(ratio.mean().item() - LAMA_MEANS[name]) < 0.035, ratio.mean()
        assert ratio.min() > 0 and ratio.max() <= 0.5


def test_geometric_masks_are_exact():
    c = masks.generate("center", 1, 256)[0, 0]
    assert c[64:192, 64:192].eq(1).all() and c.sum() == 128 * 128
    e = masks.generate("expand", 1, 256)[0, 0]
    assert e[96:160, 96:160].eq(0).all() and (1 - e).sum() == 64 * 64
    assert masks.generate("ev2li", 1, 8)[0, 0, :, 0].tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    n = masks.generate("nn2", 1, 4)[0, 0]
    assert n.tolist() == [[0, 1, 0, 1], [1, 1, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1]]
    assert masks.generate("half", 1, 64)[0, 0, :, 32:].eq(1).all()


def test_mask_i_does_not_depend_on_n_start_or_global_rng():
    a = masks.generate("wide", 10, seed=7)
    torch.manual_seed(123)
    np.random.seed(123)
    b = masks.generate("wide", 4, seed=7, start=6)
    assert torch.equal(a[6:], b)
    assert not torch.equal(masks.generate("wide", 1, seed=8), a[:1])  # the seed matters


def test_bit_identical_across_processes_and_thread_counts():
    code = ("import hashlib, torch; torch.set_num_threads({t}); from inpaint_bench import masks; "
            "print(hashlib.sha256(masks.generate('narrow', 20, seed=1).numpy().tobytes()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code.format(t=t)], capture_output=True, text=True,
                              check=True).stdout.strip() for t in (1, 2)}
    here = hashlib.sha256(masks.generate("narrow", 20, seed=1).numpy().tobytes()).hexdigest()
    assert digests == {here}


def test_frozen_sets_exist_compact_and_described():
    manifest = read_manifest()
    assert set(manifest) == EXPECTED_NAMES
    total = sum(p.stat().st_size for p in MASK_SETS_DIR.iterdir())
    assert total < 25e6
    for e in manifest.values():
        assert e["n"] >= 1000 and e["size"] == 256 and e["seed"] == 0
        assert {"sha256", "generator_version", "hole_mean", "hole_min", "hole_max"} <= set(e)


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_frozen_set_equals_regeneration(name):
    n = 100
    frozen = masks.load(name, n=n)
    assert torch.equal(frozen, masks.generate(name, n, seed=0))


@pytest.mark.slow
def test_full_frozen_sets_equal_regeneration():
    from inpaint_bench.masks.tools import build

    assert build(folder=MASK_SETS_DIR, echo=lambda s: None) == 0


def test_checksum_mismatch_names_the_file(tmp_path):
    shutil.copy(MASK_SETS_DIR / "manifest.json", tmp_path)
    entry = read_manifest()["center"]
    bad = np.zeros((entry["n"], 256, 256), bool)
    (tmp_path / entry["file"]).write_bytes(lzma.compress(pack(bad)))
    with pytest.raises(MaskError, match="center.bits.xz"):
        read_set("center", tmp_path)


def test_build_writes_and_verifies(tmp_path):
    from inpaint_bench.masks.tools import build

    log = []
    assert build(["ratio_10_20"], n=20, folder=tmp_path, echo=log.append) == 0
    assert build(["ratio_10_20"], n=20, folder=tmp_path, echo=log.append) == 0
    assert "written" in log[0] and "verified" in log[1]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["ratio_10_20"]["sha256"] == hashlib.sha256(pack(read_set("ratio_10_20", tmp_path))).hexdigest()


def test_scaled_masks_follow_the_256_definition():
    big = masks.generate("wide", 3, size=256, seed=0)
    small = masks.generate("wide", 3, size=64, seed=0)
    pooled = (torch.nn.functional.avg_pool2d(big, 4) >= 0.5).float()
    assert torch.equal(small, pooled)
    source = masks.mask_source("wide", size=64)  # frozen path
    assert torch.equal(source(1), small[1])


def test_unknown_name_lists_valid_names():
    with pytest.raises(MaskError, match="center"):
        masks.generate("centre", 1)


def _save(folder, arrays):
    folder.mkdir(exist_ok=True)
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(folder / f"{i:03d}.png")


def test_folder_masks_both_polarities_and_bad_input(tmp_path):
    hole = np.zeros((32, 32), np.uint8)
    hole[8:12, 8:12] = 255
    _save(tmp_path / "hole", [hole])
    _save(tmp_path / "keep", [255 - hole])
    a = masks.mask_source(f"folder:{tmp_path / 'hole'}", size=32)(0)
    b = masks.mask_source(f"folder:{tmp_path / 'keep'}", size=32, polarity="keep")(0)
    c = masks.mask_source(f"repaint:{tmp_path / 'keep'}", size=32)(0)
    assert torch.equal(a, b) and torch.equal(a, c) and a.sum() == 16
    with pytest.raises(MaskError, match="inverted"):
        masks.mask_source(f"folder:{tmp_path / 'keep'}", size=32)(0)
    with pytest.raises(MaskError, match="--resize-masks"):
        masks.mask_source(f"folder:{tmp_path / 'hole'}", size=16)(0)
    assert masks.mask_source(f"folder:{tmp_path / 'hole'}", size=16, resize=True)(0).sum() == 4
    gray = hole.copy()
    gray[0, 0] = 128
    _save(tmp_path / "gray", [gray])
    with pytest.raises(MaskError, match="not binary"):
        masks.mask_source(f"folder:{tmp_path / 'gray'}", size=32)(0)
    with pytest.raises(MaskError, match="has 1 masks"):
        masks.mask_source(f"folder:{tmp_path / 'hole'}", size=32)(5)


def test_nvidia_masks_binned_by_ratio(tmp_path):
    small = np.zeros((64, 64), np.uint8)
    small[:10, :10] = 255  # 2.4 % hole
    big = np.zeros((64, 64), np.uint8)
    big[:, :20] = 255  # 31 % hole
    _save(tmp_path / "nv", [small, big])
    src = masks.mask_source(f"nvidia:{tmp_path / 'nv'}:ratio_30_40", size=32)
    assert len(src) == 1 and src(0).mean().item() == pytest.approx(0.3125)


def test_regenerated_masks_beyond_the_frozen_set_are_bit_exact_across_processes():
    import subprocess
    import sys

    from inpaint_bench.masks import generate_one
    from inpaint_bench.masks.frozen import FrozenSource

    source = FrozenSource("wide", 256)
    assert source.frozen_n == 1000
    here = [generate_one("wide", i, 256, 0) for i in (0, 1000, 2823)]
    code = ("import hashlib, numpy as np; from inpaint_bench.masks import generate_one; "
            "print(' '.join(hashlib.sha256(np.packbits(generate_one('wide', i, 256, 0))).hexdigest() "
            "for i in (0, 1000, 2823)))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    import hashlib

    assert there == [hashlib.sha256(np.packbits(m)).hexdigest() for m in here]
    assert np.array_equal(source(0)[0].numpy() > 0, here[0]) and np.array_equal(source(2823)[0].numpy() > 0, here[2])


def test_frozen_manifest_with_an_edited_count_is_refused(tmp_path):
    import json

    from inpaint_bench.masks.frozen import read_set, write_set

    masks = np.zeros((4, 256, 256), bool)
    masks[:, :10, :10] = True
    write_set("center", masks, seed=0, folder=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["center"]["n"] = 8  # the edit that used to return 8 garbage masks
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    read_set.cache_clear()
    with pytest.raises(MaskError, match="need"):
        read_set("center", tmp_path)
    read_set.cache_clear()
