"""`inpaint-bench stats build --folder DIR --out FILE.npz`: FID reference statistics of an image folder.

Writes clean-fid's format (`mu`, `sigma`), which `reference: stats:FILE` reads. For I²SB's ImageNet protocol:
`inpaint-bench stats build --folder <imagenet>/val --size 256 --mode legacy_pytorch --out fid_imagenet_256_val.npz`
(the 50,000 validation images; I²SB resizes with torchvision's bilinear Resize(256) + CenterCrop, chosen with
`--resize bilinear`).
"""

from __future__ import annotations

from pathlib import Path


def build_stats(folder: Path, out: Path, size: int = 256, mode: str = "legacy_pytorch", untrained: bool = False,
                batch: int = 32, quiet: bool = False, resize: str = "bicubic") -> dict:
    """`metrics.reference.build_stats` with a rich progress bar (hidden with `quiet`)."""
    from rich.progress import Progress

    from ..metrics.reference import build_stats as build

    with Progress(disable=quiet) as bar:
        def progress(total: int, label: str):
            task = bar.add_task(label, total=total)
            return lambda k: bar.advance(task, k)

        return build(folder, out, size, mode, untrained, batch, resize, progress)


def add_parser(sub) -> None:
    from ..metrics.inception import MODES

    p = sub.add_parser("stats", help="FID reference statistics (clean-fid .npz) of an image folder")
    ssub = p.add_subparsers(dest="stats_command", required=True)
    b = ssub.add_parser("build", help="features of every image under --folder → mu, sigma in --out")
    b.add_argument("--folder", type=Path, required=True)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--size", type=int, default=256, help="benchmark size the images are resized to first")
    b.add_argument("--mode", choices=MODES, default="legacy_pytorch")
    b.add_argument("--untrained-features", action="store_true", help="labelled random features (offline tests)")
    b.add_argument("--resize", choices=("bicubic", "bilinear"), default="bicubic",
                   help="bilinear: torchvision Resize + CenterCrop, as I²SB builds its reference")
    b.add_argument("--quiet", action="store_true")

    def run(a) -> int:
        info = build_stats(a.folder, a.out, a.size, a.mode, a.untrained_features, quiet=a.quiet, resize=a.resize)
        print(f"wrote {info['out']}: {info['n_images']} images, {info['mode']}, {info['size']}²")
        return 0

    b.set_defaults(func=run)
