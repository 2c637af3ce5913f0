"""Train-time augmentation and the order of training samples, both a function of (seed, epoch, index).

`Augment` is the data pipeline of the official training loaders, built on albumentations: a random crop (IR-SDE's
and StrDiffusion's `GT_size`), a horizontal flip (all of them), a vertical flip and a transpose (IR-SDE's
`util.augment(rot=True)`, whose "rot90" is `img.transpose(1, 0, 2)`), each with probability 0.5. The image and
its mask move together (the mask is albumentations' `mask` target), and nothing is interpolated: every transform
moves whole pixels.

Reproducible across resumes: item i of epoch e is augmented with a generator seeded by SeedSequence([seed, e, i]),
and `EpochSampler` visits the items of epoch e in a permutation seeded by (seed, e). A run resumed from a
mid-epoch checkpoint starts its sampler after the samples already consumed, so it sees the batches an unbroken
run would have seen. Only `train_dataloader()` uses them: test and predict loaders are never augmented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


@dataclass(frozen=True)
class Augment:
    crop: int | None = None  # random crop to crop × crop after loading at the DataModule's size (None: no crop)
    hflip: bool = False  # horizontal flip, p = 0.5
    vflip: bool = False  # vertical flip, p = 0.5 (IR-SDE / StrDiffusion `use_rot`)
    transpose: bool = False  # swap rows and columns, p = 0.5 (IR-SDE / StrDiffusion `use_rot`: their rot90)

    def active(self) -> bool:
        return self.crop is not None or self.hflip or self.vflip or self.transpose

    def compose(self):
        import albumentations as A

        steps = [A.RandomCrop(self.crop, self.crop)] if self.crop is not None else []
        steps += [t(p=0.5) for on, t in ((self.hflip, A.HorizontalFlip), (self.vflip, A.VerticalFlip),
                                          (self.transpose, A.Transpose)) if on]
        return A.Compose(steps)


def item_seed(seed: int, epoch: int, index: int, transform: int) -> int:
    """The seed of one transform of item `index` in `epoch`."""
    return int(np.random.SeedSequence([seed, epoch, index, transform]).generate_state(1)[0])


class AugmentedDataset(Dataset):
    """A DataModule's dataset seen through `Augment`: indexed by (index, epoch) pairs from `EpochSampler`."""

    def __init__(self, dataset, augment: Augment, seed: int = 0):
        self.dataset, self.augment, self.seed = dataset, augment, seed
        self.pipeline = augment.compose() if augment.active() else None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key) -> dict:
        index, epoch = key
        item = dict(self.dataset[index])
        if self.pipeline is None:
            return item
        if self.augment.crop is not None and self.augment.crop > min(item["image"].shape[-2:]):
            raise ValueError(f"augment crop {self.augment.crop} is larger than the images "
                             f"({list(item['image'].shape[-2:])}); set data size ≥ crop")
        for k, transform in enumerate(self.pipeline.transforms):  # one stream each: albumentations would give
            transform.set_random_seed(item_seed(self.seed, epoch, index, k))  # them all the same seed
        targets = {"image": item["image"].permute(1, 2, 0).numpy()}
        if "mask" in item:
            targets["mask"] = item["mask"][0].numpy()
        out = self.pipeline(**targets)
        item["image"] = torch.from_numpy(np.ascontiguousarray(out["image"])).permute(2, 0, 1).contiguous()
        if "mask" in item:
            item["mask"] = torch.from_numpy(np.ascontiguousarray(out["mask"]))[None].contiguous()
        return item


class EpochSampler(Sampler):
    """Yields (index, epoch) for every item of an epoch, in a permutation seeded by (seed, epoch) when `shuffle`.
    Lightning calls `set_epoch` at the start of each epoch; `skip` drops the first samples of `epoch` (those a
    resumed run already trained on), once."""

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True, epoch: int = 0, skip: int = 0):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, epoch
        self.skip, self.skip_epoch = skip, epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.n))
        state = np.random.SeedSequence([self.seed, epoch]).generate_state(2, np.uint32)
        g = torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self):
        skip = self.skip if self.epoch == self.skip_epoch else 0  # a checkpoint at an epoch's end resumes in the next
        self.skip = 0
        return iter([(i, self.epoch) for i in self.order(self.epoch)[skip:]])

    def __len__(self) -> int:
        return self.n
