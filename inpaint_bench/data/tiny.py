"""Build the embedded tiny dataset: deterministic crops of the photos scikit-image and scikit-learn ship.

`python -m inpaint_bench.data.tiny` rewrites `assets/tiny/` and `assets/tiny/manifest.json` (sha256 of each
image's decoded pixels, so the check does not depend on the PNG encoder). The shipped files are the dataset;
this script documents and reproduces them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from ..files import paths

SIZE = 64
COUNTS = {"train": 64, "test": 32}
SEEDS = {"train": 1, "test": 2}
SKIMAGE_PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                  "hubble_deep_field.jpg", "ihc.png"]
SKLEARN_PHOTOS = ["china.jpg", "flower.jpg"]


def source_photos() -> list[Image.Image]:
    import skimage.data
    import sklearn.datasets

    found = [Path(skimage.data.__file__).parent / f for f in SKIMAGE_PHOTOS]
    found += [Path(sklearn.datasets.__file__).parent / "images" / f for f in SKLEARN_PHOTOS]
    return [Image.open(p).convert("RGB") for p in found]


def crops(photos: list[Image.Image], n: int, seed: int) -> list[Image.Image]:
    """`n` square crops, side 30–80 % of the photo's shorter side, resized to SIZE with PIL Lanczos."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        photo = photos[i % len(photos)]
        w, h = photo.size
        side = int(rng.uniform(0.3, 0.8) * min(w, h))
        left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        out.append(photo.crop((left, top, left + side, top + side)).resize((SIZE, SIZE), Image.Resampling.LANCZOS))
    return out


def pixel_sha256(path: Path) -> str:
    with Image.open(path) as img:
        return hashlib.sha256(np.asarray(img.convert("RGB")).tobytes()).hexdigest()


def build(out: Path = paths.ASSETS_DIR / "tiny") -> dict:
    photos = source_photos()
    manifest = {"size": SIZE, "source": "scikit-image + scikit-learn sample photos", "files": {}}
    for split, n in COUNTS.items():
        (out / split).mkdir(parents=True, exist_ok=True)
        names = []
        for i, img in enumerate(crops(photos, n, SEEDS[split])):
            rel = f"{split}/{i:04d}.png"
            img.save(out / rel, optimize=False)
            names.append(rel)
            manifest["files"][rel] = pixel_sha256(out / rel)
        (out / f"{split}.txt").write_text("\n".join(names) + "\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    print(f"wrote {len(build()['files'])} images to {paths.ASSETS_DIR / 'tiny'}")
