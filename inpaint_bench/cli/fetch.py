"""`inpaint-bench fetch [NAME …]`: download weight files into the cache (`files/fetch.py` does the work)."""

from __future__ import annotations

import argparse

from ..files import weights
from ..files.fetch import FetchError, catalogue, direct_url, fetch_one


def add_parser(sub) -> None:
    names = "\n".join(f"  {k:32s} {w.file}  ({'download' if direct_url(w) else 'manual'}: {w.used_for})"
                      for k, w in catalogue().items())
    p = sub.add_parser("fetch", help="download weight files into the cache (needs internet)",
                       description=f"Files (NAME):\n{names}", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", metavar="NAME", help="what to fetch (default: every metric weight)")
    p.add_argument("--all", action="store_true", help="every file with a direct URL (metric weights + checkpoints)")
    p.add_argument("--list", action="store_true", help="list every file, its target path and whether it is present")
    p.add_argument("--no-progress", action="store_true")

    def run(a) -> int:
        table = catalogue()
        if a.list:
            for key, w in table.items():
                state = "present" if w.path().exists() else ("download" if direct_url(w) else "manual step")
                print(f"{key:32s} {state:12s} {w.path()}\n{'':32s} from {w.url}")
            return 0
        unknown = [n for n in a.names if n not in table]
        if unknown:
            raise KeyError(f"unknown file(s) {unknown}; `inpaint-bench fetch --list` shows them all")
        chosen = a.names or ([k for k, w in table.items() if direct_url(w)] if a.all else list(weights.WEIGHTS))
        failed = 0
        for key in chosen:
            try:
                fetch_one(table[key], progress=not a.no_progress)
            except (FetchError, weights.WeightsCorrupt) as err:
                failed += 1
                print(f"{key:32s} FAILED   {err}")
        return 1 if failed else 0

    p.set_defaults(func=run)
