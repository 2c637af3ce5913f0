"""Datasets: image folders with split files, and the benchmark DataModules."""

from .datamodules import DATASETS, InpaintDataModule, build_datamodule
from .folder import DatasetError, ImageFolderDataset, Split, read_split_file
from .images import ImageReadError, load_rgb, resize_center_crop, to_tensor, to_uint8

__all__ = [
    "DATASETS",
    "DatasetError",
    "ImageFolderDataset",
    "ImageReadError",
    "InpaintDataModule",
    "Split",
    "build_datamodule",
    "load_rgb",
    "read_split_file",
    "resize_center_crop",
    "to_tensor",
    "to_uint8",
]
