"""Generate parity fixtures by running an official implementation from a local checkout.

    python tests/parity/generate.py i2sb --upstream /path/to/NVlabs/I2SB

The checkout is imported, never copied: each family's `gen_<family>.py` builds the official network with
`parity_weights`, runs the official sampler on fixed inputs while recording every noise draw, and saves inputs,
noise and outputs with the upstream commit (`parity_common.save_fixture`). See tests/parity/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

FAMILIES = ("i2sb", "irsde", "strdiffusion", "strdiffusion_dloss", "repaint", "ddnm", "lama_masks", "respacing")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("family", choices=FAMILIES)
    p.add_argument("--upstream", type=Path, required=True, help="a git checkout of the official repository")
    p.add_argument("--deps", type=Path, default=None, help="extra site folder with the upstream's own dependencies")
    p.add_argument("--out", type=Path, default=None, help="fixture folder (default tests/parity/fixtures)")
    a = p.parse_args(argv)
    sys.path[:0] = [str(a.upstream.resolve())] + ([str(a.deps.resolve())] if a.deps else [])
    module = importlib.import_module(f"gen_{a.family}")
    path = module.generate(a.upstream.resolve(), **({"out_dir": a.out} if a.out else {}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
