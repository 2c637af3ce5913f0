"""Time 10,000 masks at 256²: generated from the seed, and loaded from the frozen sets (checksum verified).

Run: .venv/bin/python benchmarks/perf_masks.py   (target from the issue: under 10 s each)
"""

from __future__ import annotations

import time

from inpaint_bench import masks
from inpaint_bench.masks.frozen import read_manifest, read_set

N = 10_000


def main() -> None:
    print(f"{'what':34s} {'masks':>7s} {'seconds':>8s} {'ms/mask':>8s}")
    for name in ("narrow", "wide", "freeform_20_30", "ratio_40_50", "center"):
        t = time.perf_counter()
        masks.generate(name, N, size=256)
        dt = time.perf_counter() - t
        print(f"{'generate ' + name:34s} {N:7d} {dt:8.2f} {dt / N * 1e3:8.3f}")
    names = [n for n, e in read_manifest().items() if masks.spec(n).random]
    read_set.cache_clear()
    t, total = time.perf_counter(), 0
    while total < N:  # cold loads (decompress + sha256 + unpack), cache cleared each pass
        for name in names:
            total += len(masks.load(name))
        read_set.cache_clear()
    dt = time.perf_counter() - t
    print(f"{'load frozen (all random sets)':34s} {total:7d} {dt:8.2f} {dt / total * 1e3:8.3f}")


if __name__ == "__main__":
    main()
