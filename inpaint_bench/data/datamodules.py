"""LightningDataModules for the benchmark datasets: CelebA-HQ, Places2, ImageNet and the embedded tiny set.

Every DataModule yields `{image, mask, index, key}` (+ `label` for ImageNet) with image *i* of the split paired
with mask *i* of the chosen mask set. Which images form each split, and where that list comes from, is written
in each class's docstring; any split can be replaced by an explicit `split_file`.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from ..files import paths
from ..registry import Registry
from .augment import Augment, AugmentedDataset, EpochSampler
from .folder import DatasetError, ImageFolderDataset, Split, read_label_file, read_split_file
from .images import list_images

DATASETS: Registry[type[InpaintDataModule]] = Registry("dataset")


class InpaintDataModule(L.LightningDataModule):
    """Base class: a split of an image folder, resized to `size`, paired with a mask set.

    Subclasses set `name`, `default_size`, `layout` (the expected folder layout, shown in errors) and implement
    `derive_split(root, split)`; a split file `root/splits/<split>.txt` or an explicit `split_file` wins over it.
    """

    name = "base"
    default_size = 256
    layout = ""
    split_sizes: dict[str, int] = {}  # documented image counts of the built-in splits (for planning without the data)

    def __init__(
        self,
        root: str | Path | None = None,  # dataset folder; default INPAINT_BENCH_DATA_<NAME> or <cache>/data/<name>
        split: str = "test",  # which split to serve
        size: int | None = None,  # benchmark resolution (square)
        mask: str = "center",  # mask-set name from inpaint_bench.masks
        mask_seed: int = 0,  # seed of the mask set
        batch_size: int = 8,
        num_workers: int = 0,
        split_file: str | Path | None = None,  # explicit list of images, overrides the built-in split
        limit: int | None = None,  # keep only the first `limit` images of the split
        mask_polarity: str = "hole",  # folder: masks: white = hole ("hole") or white = keep ("keep")
        resize_masks: bool = False,  # folder:/repaint: masks of another size are resized (nearest) instead of refused
        label_file: str | Path | None = None,  # one label per line for `split_file`'s images (I²SB's layout)
        resize: str = "bicubic",  # image resize policy: bicubic (the suite's) or bilinear (torchvision, I²SB's)
        augment: Augment | None = None,  # train-time crop / flips (train_dataloader only), see data/augment.py
        seed: int = 0,  # seed of the training order and of the augmentation, per (seed, epoch, index)
    ):
        super().__init__()
        self.root = self._resolve_root(root)
        self.split_name, self.size = split, size or self.default_size
        self.mask_name, self.mask_seed = mask, mask_seed
        self.batch_size, self.num_workers = batch_size, num_workers
        self.split_file, self.limit = split_file, limit
        self.mask_polarity, self.resize_masks = mask_polarity, resize_masks
        self.label_file, self.resize = label_file, resize
        self.augment, self.seed = augment or Augment(), seed
        if self.augment.active() and split == "test":
            raise DatasetError("augment is for training: the test split is never augmented (use split: train)")
        self._dataset: ImageFolderDataset | None = None

    def _resolve_root(self, root) -> Path:
        root = Path(root).expanduser() if root is not None else paths.data_root(self.name)
        env = f"INPAINT_BENCH_DATA_{self.name.upper()}"
        if root is None or not root.is_dir():
            where = f"{root}" if root is not None else f"{paths.cache_dir() / 'data' / self.name}"
            raise DatasetError(
                f"{self.name} dataset folder not found at {where}. Pass --data-root DIR or set {env}. "
                f"Expected layout:\n{self.layout}"
            )
        return root

    def derive_split(self, root: Path, split: str) -> Split:
        raise NotImplementedError

    def load_split(self) -> Split:
        if self.split_file is not None:
            split = read_split_file(Path(self.split_file).expanduser(), self.root, self.split_name)
            if self.label_file is not None:
                if split.labels:
                    raise DatasetError(f"{self.split_file} has labels on its lines and a label_file was given too")
                split = Split(split.name, split.files, read_label_file(Path(self.label_file).expanduser(),
                                                                       len(split.files)))
        elif (self.root / "splits" / f"{self.split_name}.txt").exists():
            split = read_split_file(self.root / "splits" / f"{self.split_name}.txt", self.root, self.split_name)
        else:
            split = self.derive_split(self.root, self.split_name)
        missing = [f for f in split.files[:1000] if not (self.root / f).exists()]
        if missing:
            raise DatasetError(
                f"{len(missing)} image(s) of split {self.split_name!r} are missing under {self.root}, "
                f"e.g. {missing[0]}. Expected layout:\n{self.layout}"
            )
        if self.limit is not None:
            split = Split(split.name, split.files[: self.limit], split.labels[: self.limit] if split.labels else None)
        return split

    @property
    def dataset(self) -> ImageFolderDataset:
        if self._dataset is None:
            from .. import masks

            source = masks.mask_source(self.mask_name, size=self.size, seed=self.mask_seed,
                                       polarity=self.mask_polarity, resize=self.resize_masks)
            self._dataset = ImageFolderDataset(self.root, self.load_split(), self.size, source, self.resize)
        return self._dataset

    def setup(self, stage: str | None = None) -> None:
        self.dataset  # noqa: B018 — fail early, on every rank, with a clear error

    def _loader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        """Shuffled per (seed, epoch), augmented per (seed, epoch, index); a resumed run continues where the
        checkpoint's epoch stopped (its sampler skips the samples already trained on)."""
        epoch, skip = self._resume_position()
        sampler = EpochSampler(len(self.dataset), self.seed, shuffle=True, epoch=epoch, skip=skip)
        return DataLoader(AugmentedDataset(self.dataset, self.augment, self.seed), batch_size=self.batch_size,
                          sampler=sampler, num_workers=self.num_workers)

    def _resume_position(self) -> tuple[int, int]:
        """(epoch, samples of it already consumed) of the Trainer this DataModule is attached to: non-zero after
        `fit(ckpt_path=…)` restored a mid-epoch checkpoint (Lightning restores the loops before asking for data)."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 0
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed  # completed lags by one on_train_batch_end
        return trainer.current_epoch, done * self.batch_size * trainer.world_size

    def test_dataloader(self) -> DataLoader:
        return self._loader()

    def predict_dataloader(self) -> DataLoader:
        return self._loader()


def _split_from_folder(root: Path, folder: str, split: str) -> Split:
    if not (root / folder).is_dir():
        raise DatasetError(f"folder {root / folder} for split {split!r} does not exist")
    return Split(split, tuple(f"{folder}/{f}" for f in list_images(root / folder)))


@DATASETS.register("tiny")
class TinyDataModule(InpaintDataModule):
    """The tiny dataset that ships with the package: 64 train + 32 test crops at 64×64.

    Deterministic crops of the sample photos shipped by scikit-image and scikit-learn (see `data/tiny.py`);
    no download, byte-identical everywhere. The default dataset of every command and test.
    """

    name = "tiny"
    default_size = 64
    layout = "inpaint_bench/assets/tiny/{train,test}/NNNN.png with split files train.txt, test.txt"

    def __init__(self, root=None, **kwargs):
        super().__init__(root=root or paths.ASSETS_DIR / "tiny", **kwargs)

    def derive_split(self, root: Path, split: str) -> Split:
        path = root / f"{split}.txt"
        if not path.exists():
            raise DatasetError(f"tiny dataset has no split {split!r}; valid: train, test")
        return read_split_file(path, root, split)


@DATASETS.register("celebahq")
class CelebAHQDataModule(InpaintDataModule):
    """CelebA-HQ (30,000 faces), at 256².

    Split: the CelebAMask-HQ convention — each CelebA-HQ image inherits the official CelebA partition of its
    source image (`list_eval_partition.txt`, 0 = train, 1 = val, 2 = test) through
    `CelebA-HQ-to-CelebA-mapping.txt`, giving 24,183 / 2,993 / 2,824 images. LaMa-style 28k/2k lists can be
    used instead with `split_file`.
    """

    name = "celebahq"
    layout = (
        "  <root>/CelebA-HQ-img/0.jpg … 29999.jpg\n"
        "  <root>/CelebA-HQ-to-CelebA-mapping.txt   (from CelebAMask-HQ)\n"
        "  <root>/list_eval_partition.txt           (from CelebA)\n"
        "  or <root>/splits/<split>.txt listing relative image paths"
    )
    PARTITIONS = {"train": "0", "val": "1", "test": "2"}
    split_sizes = {"train": 24183, "val": 2993, "test": 2824}

    def derive_split(self, root: Path, split: str) -> Split:
        mapping, partition = root / "CelebA-HQ-to-CelebA-mapping.txt", root / "list_eval_partition.txt"
        if split not in self.PARTITIONS:
            raise DatasetError(f"celebahq has no split {split!r}; valid: {', '.join(self.PARTITIONS)}")
        if not (mapping.exists() and partition.exists()):
            raise DatasetError(f"celebahq split needs {mapping.name} and {partition.name} in {root}:\n{self.layout}")
        part_of = dict(line.split()[:2] for line in partition.read_text().splitlines() if line.strip())
        files = []
        for line in mapping.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and part_of.get(fields[2]) == self.PARTITIONS[split]:
                files.append(f"CelebA-HQ-img/{int(fields[0])}.jpg")
        return Split(split, tuple(sorted(files, key=lambda f: int(Path(f).stem))))


@DATASETS.register("places2")
class Places2DataModule(InpaintDataModule):
    """Places2 (Places365-Standard, small 256×256 images).

    Split `test`: the first 6,000 images of `val_256/` in sorted order (Places365_val_00000001.jpg …
    Places365_val_00006000.jpg). AsyncDSB evaluates on 6,000 Places2 test images at 256² but published no list;
    this fixed, documented list is the suite's. Split `train`: every image under `data_256/`.
    """

    name = "places2"
    layout = "  <root>/val_256/Places365_val_00000001.jpg …\n  <root>/data_256/<letter>/<category>/*.jpg (train)"
    TEST_SIZE = 6000
    split_sizes = {"test": TEST_SIZE, "val": 36500}

    def derive_split(self, root: Path, split: str) -> Split:
        if split == "test":
            full = _split_from_folder(root, "val_256", split)
            return Split(split, full.files[: self.TEST_SIZE])
        if split == "val":
            return _split_from_folder(root, "val_256", split)
        if split == "train":
            return _split_from_folder(root, "data_256", split)
        raise DatasetError(f"places2 has no split {split!r}; valid: test, val, train")


@DATASETS.register("imagenet")
class ImageNetDataModule(InpaintDataModule):
    """ImageNet-1k validation in class folders; keeps labels (sorted WordNet-id order) for classifier accuracy.

    Split `test`: 10,000 images, the last 10 in sorted order of each of the 1,000 class folders. This follows the
    pattern of I²SB's `dataset/val_faster_imagefolder_10k_fn.txt` (10 per class); to use that exact list, pass it
    as `split_file` (its absolute paths are re-rooted) with labels appended, or place it at `splits/test.txt`.
    Split `val`: all 50,000 images; `train`: `<root>/train/<wnid>/…` (for training recipes).
    """

    name = "imagenet"
    layout = "  <root>/val/n01440764/ILSVRC2012_val_00000293.JPEG … (1,000 class folders, torchvision layout)"
    PER_CLASS = 10
    split_sizes = {"test": 1000 * PER_CLASS, "val": 50000}

    def derive_split(self, root: Path, split: str) -> Split:
        if split not in ("test", "val", "train"):
            raise DatasetError(f"imagenet has no split {split!r}; valid: test, val, train")
        val = root / ("train" if split == "train" else "val")
        classes = sorted(p.name for p in val.iterdir() if p.is_dir()) if val.is_dir() else []
        if not classes:
            raise DatasetError(f"no class folders in {val}:\n{self.layout}")
        files, labels = [], []
        for label, wnid in enumerate(classes):
            images = list_images(val / wnid)
            chosen = images[-self.PER_CLASS :] if split == "test" else images
            files += [f"{val.name}/{wnid}/{f}" for f in chosen]
            labels += [label] * len(chosen)
        return Split(split, tuple(files), tuple(labels))


@DATASETS.register("shapes")
class ShapesDataModule(InpaintDataModule):
    """Procedural scenes of coloured shapes at 32² (`data/shapes.py`): rendered from a seed, nothing on disk.
    Splits `test` (256 scenes) and `train` (20,000)."""

    name = "shapes"
    default_size = 32
    layout = "(procedural: rendered by inpaint_bench/data/shapes.py, no files)"

    def _resolve_root(self, root) -> Path:
        return paths.ASSETS_DIR

    @property
    def dataset(self):
        if self._dataset is None:
            from .. import masks
            from .shapes import ShapesDataset

            if self.split_file is not None:
                raise DatasetError("the shapes dataset is procedural: it has no split files")
            source = masks.mask_source(self.mask_name, size=self.size, seed=self.mask_seed,
                                       polarity=self.mask_polarity, resize=self.resize_masks)
            self._dataset = ShapesDataset(self.split_name, self.size, source, self.limit)
        return self._dataset


@DATASETS.register("folder")
class FolderDataModule(InpaintDataModule):
    """Your own images: every image under `root` (recursively, sorted by path) is the `test` split, unless
    `root/splits/<split>.txt` or a `split_file` (optionally with a `label_file`) says otherwise. Default size 256
    (`size` to change it; the suite's resize policy applies). In a sweep: `datasets: ["folder:PATH"]`."""

    name = "folder"
    default_size = 256
    layout = "  <root>/any/folders/image.png … (or <root>/splits/test.txt listing them, one per line, + label)"

    def __init__(self, root=None, **kwargs):
        if root is None:
            raise DatasetError("the folder dataset needs its folder: datasets: [\"folder:PATH\"] in a sweep, "
                               "--dataset folder:PATH (or --dataset folder --data-root PATH) on run")
        super().__init__(root=root, **kwargs)

    def _resolve_root(self, root) -> Path:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise DatasetError(f"image folder {path} does not exist (folder:PATH names your own image folder)")
        return path

    def derive_split(self, root: Path, split: str) -> Split:
        if split != "test":
            raise DatasetError(f"folder dataset {root}: split {split!r} needs {root}/splits/{split}.txt or a "
                               "split_file; without one every image is the test split")
        files = tuple(list_images(root))
        if not files:
            raise DatasetError(f"no images under {root}")
        return Split(split, files)


def build_datamodule(name: str, **kwargs) -> InpaintDataModule:
    """The DataModule registered as `name` (tiny, celebahq, places2, imagenet, folder); `folder:PATH` is the
    folder dataset rooted at PATH."""
    if name.startswith("folder:"):
        return FolderDataModule(root=name.removeprefix("folder:"), **{k: v for k, v in kwargs.items() if k != "root"})
    return DATASETS.get(name)(**kwargs)
