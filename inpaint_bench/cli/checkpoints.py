"""`inpaint-bench checkpoints list | verify`: every method checkpoint the suite knows, where it goes, its hash."""

from __future__ import annotations

from ..files import weights
from ..nets.checkpoint_files import CHECKPOINT_DIR


def entries() -> list[weights.WeightFile]:
    names = sorted(p.name.removesuffix("_tiny.safetensors") for p in CHECKPOINT_DIR.glob("*_tiny.safetensors"))
    return [weights.shipped(n) for n in names] + list(weights.CHECKPOINTS.values())


def add_parser(sub) -> None:
    p = sub.add_parser("checkpoints", help="list or verify the method checkpoints (tiny shipped + official)")
    p.add_argument("action", choices=("list", "verify"))

    def run(a) -> int:
        bad = 0
        for w in entries():
            path = w.path()
            line = f"{w.key:28s} {w.architecture:32s} {path}"
            if a.action == "list":
                print(f"{line}\n{'':28s} from {w.url}; {w.describe_hash()}; {w.used_for}")
                continue
            if not path.exists():
                print(f"{line}  MISSING")
                continue
            try:
                w.require()
                print(f"{line}  ok sha256 {weights.sha256_of(path)}")
            except weights.WeightsCorrupt as err:
                bad += 1
                print(f"{line}  CORRUPT: {err}")
        return 1 if bad else 0

    p.set_defaults(func=run)
