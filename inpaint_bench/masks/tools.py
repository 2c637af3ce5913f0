"""Freeze, preview and summarise the mask sets (front-end: `inpaint-bench masks`, `cli/masks.py`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from .frozen import DEFAULT_N, MASK_SETS_DIR, pack, read_manifest, write_set
from .generate import generate_one, names, spec


def regenerate(name: str, n: int = DEFAULT_N, seed: int = 0) -> np.ndarray:
    return np.stack([generate_one(name, i, 256, seed) for i in range(n)])


def build(selected: list[str] | None = None, n: int = DEFAULT_N, force: bool = False, folder: Path | None = None,
          echo=print) -> int:
    """Regenerate each set; write missing ones, verify existing ones bit for bit. Returns the number of mismatches."""
    folder = folder or MASK_SETS_DIR
    manifest, bad = read_manifest(folder), 0
    for name in selected or names():
        masks = regenerate(name, n)
        digest = hashlib.sha256(pack(masks)).hexdigest()
        old = manifest.get(name)
        if old and old["n"] == n and old["sha256"] == digest:
            echo(f"{name:16s} verified  sha256 {digest[:12]}  ({n} masks, bit-identical to the frozen set)")
        elif old and not force:
            bad += 1
            echo(f"{name:16s} MISMATCH  regenerated {digest[:12]} ≠ frozen {old['sha256'][:12]}: the generator "
                 "changed; bump GENERATOR_VERSION and rerun with --force")
        else:
            entry = write_set(name, masks, seed=0, folder=folder)
            echo(f"{name:16s} written   sha256 {digest[:12]}  mean hole {entry['hole_mean']:.3f}")
    return bad


def stats_table(folder: Path | None = None) -> str:
    """Markdown table of the frozen sets' hole ratios."""
    manifest = read_manifest(folder or MASK_SETS_DIR)
    rows = ["| mask | n | mean hole | min | max | documented range | what it is |", "|---|---|---|---|---|---|---|"]
    for name in names():
        s, e = spec(name), manifest.get(name)
        lo, hi = s.hole_range
        cells = [f"{e['n']}", f"{e['hole_mean']:.3f}", f"{e['hole_min']:.3f}", f"{e['hole_max']:.3f}"] if e else ["—"] * 4
        rows.append(f"| `{name}` | " + " | ".join(cells) + f" | {lo:.2f}–{hi:.2f} | {s.doc} |")
    return "\n".join(rows)


def preview(name: str, out: Path, n: int = 16, size: int = 128, columns: int = 8) -> Path:
    """A grid PNG of the first `n` masks (white = hole): a registered type, or your own masks
    (`folder:PATH`, `repaint:PATH`, `nvidia:PATH`; resized to the preview size)."""
    if ":" in name:
        from .source import mask_source

        source = mask_source(name, size, resize=True)
        n = min(n, len(source))
        tiles = [source(i)[0].numpy().astype(bool) for i in range(n)]
    else:
        tiles = [generate_one(name, i, size) for i in range(n)]
    rows = (n + columns - 1) // columns
    grid = np.full((rows * (size + 2) + 2, columns * (size + 2) + 2), 128, np.uint8)
    for i, m in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[2 + r * (size + 2) : 2 + r * (size + 2) + size, 2 + c * (size + 2) : 2 + c * (size + 2) + size] = m * 255
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    return out
