"""`inpaint-bench train METHOD`: train a method on a dataset and export its weights (`bench/train.py`)."""

from __future__ import annotations

from pathlib import Path

from ..bench.train import TRAINABLE, train


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a method through the Lightning Trainer and export safetensors")
    p.add_argument("method", choices=TRAINABLE)
    p.add_argument("--dataset", default="shapes")
    p.add_argument("--data-root", default=None)
    p.add_argument("--size", type=int, default=None, help="image side (default: the dataset's benchmark size)")
    p.add_argument("--mask", default=None, help="a mask name, a comma list of names (e.g. center,wide: those types in turn), or "
                   "'mixed' (box + irregular types in turn); "
                   "required for i2sb/asyncdsb (one model per mask type, as the official runs), default mixed otherwise")
    p.add_argument("--max-steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--out", type=Path, default=Path("runs/train"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from <out>/<method>/checkpoints/last.ckpt")
    p.add_argument("--wandb", action="store_true")
    p.add_argument("--accelerator", default="auto")
    p.add_argument("--devices", default="auto")
    p.add_argument("--export-tiny", action="store_true", help="write the shipped tiny checkpoint in the package")
    p.add_argument("--method-config", default=None, help="extra method config as YAML, e.g. '{target: eq4}'")
    p.add_argument("--init", default=None, help="warm-start the UNet from a checkpoint (path, registry key, or i2sb_tiny)")
    p.add_argument("--augment", default=None, help="train-time augmentation as YAML, e.g. '{crop: 128, hflip: true, "
                   "vflip: true, transpose: true}' (data/augment.py)")

    def run(a) -> int:
        from ..bench.config import load_yaml

        path = train(a.method, a.dataset, a.mask, a.max_steps, a.batch_size, a.out, a.seed, a.resume, a.wandb,
                     a.accelerator, a.devices, a.export_tiny, a.lr, a.data_root, a.init,
                     load_yaml(a.method_config) if a.method_config else None,
                     load_yaml(a.augment) if a.augment else None, a.size)
        print(f"exported {path}")
        return 0

    p.set_defaults(func=run)

    f = sub.add_parser("train-features", help="train the shapes feature network (FID/KID/distance on shapes)")
    f.add_argument("--max-steps", type=int, default=6000)
    f.add_argument("--batch-size", type=int, default=64)
    f.add_argument("--lr", type=float, default=2e-3)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--out", type=Path, default=Path("runs/features"))
    f.add_argument("--resume", action="store_true", help="continue from <out>/shapes_features/checkpoints/last.ckpt")
    f.add_argument("--export-tiny", action="store_true", help="write the shipped file in the package")

    def run_features(a) -> int:
        from ..bench.train_features import train_features

        path = train_features(a.out, a.max_steps, a.batch_size, a.lr, a.seed, export_tiny=a.export_tiny,
                              resume=a.resume)
        print(f"exported {path}")
        return 0

    f.set_defaults(func=run_features)
