"""Where a sweep's masks come from: the frozen sets (checksum verified), or a folder of the user's own masks.
Imports are deferred, so `import inpaint_bench.masks` stays cheap (no torch)."""

from __future__ import annotations


def load(name: str, n: int | None = None, size: int = 256):
    """The frozen set `name` from mask_sets/ (checksum verified), first `n` masks, scaled to `size`."""
    from .frozen import load_frozen

    return load_frozen(name, n=n, size=size)


def mask_source(name: str, size: int = 256, seed: int = 0, polarity: str = "hole", resize: bool = False):
    """A callable index -> float tensor [1, size, size]: mask `index` of the named set.

    `folder:PATH`, `repaint:PATH` and `nvidia:PATH[:ratio_LO_HI]` read masks from disk (sorted, paired by
    index; `polarity` and `resize` apply to `folder:`). Registered names use the frozen set when it holds that
    seed and index, and regenerate otherwise (the two are bit-identical, which the tests check).
    """
    if ":" in name:
        from .folder import from_name

        return from_name(name, size, polarity=polarity, resize=resize)
    from .frozen import FrozenSource

    return FrozenSource(name, size=size, seed=seed)
