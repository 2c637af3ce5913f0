"""`inpaint-bench masks build | show | stats`: freeze, preview and summarise the mask sets (`masks/tools.py`)."""

from __future__ import annotations

from pathlib import Path

from ..masks.frozen import DEFAULT_N
from ..masks.tools import build, preview, stats_table


def _file_name(name: str) -> str:
    """A preview file name for any mask name (`folder:/a/b` → `folder_a_b`)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")[-80:]


def add_parser(sub) -> None:
    p = sub.add_parser("masks", help="build, preview and summarise the frozen mask sets")
    msub = p.add_subparsers(dest="masks_command", required=True)
    b = msub.add_parser("build", help="regenerate mask_sets/, write missing sets, verify existing ones bit for bit")
    b.add_argument("names", nargs="*", help="mask names (default: all)")
    b.add_argument("--n", type=int, default=DEFAULT_N)
    b.add_argument("--force", action="store_true", help="overwrite sets that no longer match the generator")
    b.set_defaults(func=lambda a: 1 if build(a.names or None, a.n, a.force) else 0)
    s = msub.add_parser("show", help="write a preview grid PNG of a mask type")
    s.add_argument("name")
    s.add_argument("--out", type=Path, default=None)
    s.add_argument("--n", type=int, default=16)
    s.set_defaults(func=lambda a: print(preview(a.name, a.out or Path("mask_previews") / f"{_file_name(a.name)}.png",
                                                a.n)))
    t = msub.add_parser("stats", help="print the hole-ratio table of the frozen sets")
    t.set_defaults(func=lambda a: print(stats_table()))
