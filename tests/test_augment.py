"""Train-time augmentation (albumentations): image and mask move together, the test split is never augmented,
every item is a function of (seed, epoch, index), and a resumed run trains on the batches an unbroken one does."""

import hashlib

import lightning as L
import pytest
import torch

from inpaint_bench.data import build_datamodule
from inpaint_bench.data.augment import Augment, AugmentedDataset, EpochSampler
from inpaint_bench.data.folder import DatasetError

FULL = Augment(crop=24, hflip=True, vflip=True, transpose=True)  # shapes: 32² by default


def test_image_and_mask_stay_aligned_under_crop_and_flips():
    """A mask drawn from the image's own pixels (red channel > 0) still marks the same pixels afterwards."""
    dm = build_datamodule("shapes", split="train", limit=16)
    base = dm.dataset
    derived = [{**base[i], "mask": (base[i]["image"][:1] > 0).float()} for i in range(16)]
    seen = set()
    for epoch in range(3):
        for i in range(len(derived)):
            out = AugmentedDataset(derived, FULL, seed=0)[(i, epoch)]
            assert out["image"].shape == (3, 24, 24) and out["mask"].shape == (1, 24, 24)
            assert torch.equal(out["mask"], (out["image"][:1] > 0).float())
            seen.add(hashlib.sha256(out["image"].numpy().tobytes()).hexdigest())
    assert len(seen) > 16  # epochs differ: crops and flips are drawn anew per (epoch, index)


def test_each_transform_moves_whole_pixels_as_the_official_augment_does():
    """A flip / transpose / crop of an arange image is the same numpy slicing IR-SDE's util.augment applies."""
    image = torch.arange(3 * 8 * 8, dtype=torch.float32).reshape(3, 8, 8) / 192 - 1
    outs = {tuple(AugmentedDataset([{"image": image}], Augment(hflip=True, vflip=True, transpose=True))[(0, e)]
                  ["image"].flatten().tolist()) for e in range(40)}
    expected = set()
    for h in (False, True):
        for v in (False, True):
            for t in (False, True):
                x = image.flip(-1) if h else image
                x = x.flip(-2) if v else x
                x = x.transpose(-1, -2) if t else x
                expected.add(tuple(x.flatten().tolist()))
    assert outs <= expected and len(outs) == 8  # all eight, nothing else, nothing interpolated
    crop = AugmentedDataset([{"image": image}], Augment(crop=4))[(0, 0)]["image"]
    found = [(r, c) for r in range(5) for c in range(5) if torch.equal(crop, image[:, r:r + 4, c:c + 4])]
    assert len(found) == 1


def test_the_test_split_is_never_augmented():
    with pytest.raises(DatasetError, match="never augmented"):
        build_datamodule("shapes", split="test", augment=FULL)
    dm = build_datamodule("shapes", split="train", limit=4, batch_size=4, augment=FULL, size=64)
    plain = build_datamodule("shapes", split="train", limit=4, batch_size=4, size=64)
    batch = next(iter(dm.predict_dataloader()))
    assert torch.equal(batch["image"], next(iter(plain.predict_dataloader()))["image"])  # predict: untouched
    assert next(iter(dm.train_dataloader()))["image"].shape[-1] == 24  # train: cropped


def test_the_order_is_a_function_of_seed_and_epoch():
    a, b = EpochSampler(10, seed=3), EpochSampler(10, seed=3)
    b.set_epoch(1)
    first, second = list(a), list(b)
    assert sorted(i for i, _ in first) == list(range(10)) and {e for _, e in second} == {1}
    assert [i for i, _ in first] != [i for i, _ in second]
    assert list(EpochSampler(10, seed=3)) == first
    skipping = EpochSampler(10, seed=3, skip=4)
    assert list(skipping) == first[4:] and list(skipping) == first  # the skip applies once


class Recorder(L.LightningModule):
    """Records what each training step saw: the keys and a checksum of the augmented pixels."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def training_step(self, batch, batch_idx):
        self.seen.append((tuple(batch["key"]), hashlib.sha256(batch["image"].numpy().tobytes()).hexdigest()[:12]))
        return (self.w - batch["image"].mean()) ** 2

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(tmp_path, steps, resume):
    from lightning.pytorch.callbacks import ModelCheckpoint

    from inpaint_bench.bench.train import fit

    dm = build_datamodule("shapes", split="train", limit=24, batch_size=4, augment=FULL, seed=7)
    model = Recorder()
    ckpt = ModelCheckpoint(dirpath=tmp_path, save_last=True, every_n_train_steps=1, enable_version_counter=False)
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, callbacks=[ckpt], enable_progress_bar=False,
                        enable_model_summary=False)
    fit(trainer, model, dm, tmp_path / "last.ckpt", resume)
    return model.seen


@pytest.mark.parametrize("stop", [4, 6])  # mid-epoch (6 batches an epoch) and at the epoch's end
def test_a_resumed_run_trains_on_the_batches_of_an_unbroken_one(tmp_path, stop):
    unbroken = _fit(tmp_path / "a", 10, resume=False)
    first = _fit(tmp_path / "b", stop, resume=False)
    rest = _fit(tmp_path / "b", 10, resume=True)
    assert len(unbroken) == 10 and first + rest == unbroken
