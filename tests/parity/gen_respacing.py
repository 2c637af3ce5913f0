"""Respacing fixture from openai/guided-diffusion: `respace.space_timesteps(1000, str(count))` for every count
1..1000, the step lists RePaint, DDNM's DDPM prior and IS-Diff take out of 1,000 training steps. Stored as one
short sha256 per count (the sorted list as comma-separated text), so the test names every count that differs;
the whole table is 16 kB instead of half a million integers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from parity_common import FIXTURE_DIR, upstream_commit

T = 1000


def list_digest(steps) -> str:
    return hashlib.sha256(",".join(map(str, sorted(steps))).encode()).hexdigest()[:16]


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    from guided_diffusion.respace import space_timesteps

    digests = {str(count): list_digest(space_timesteps(T, str(count))) for count in range(1, T + 1)}
    header = {"repository": "openai/guided-diffusion", "commit": upstream_commit(upstream),
              "function": "guided_diffusion/respace.py space_timesteps(1000, str(count))", "T": T,
              "digest": "sha256 of ','.join(sorted steps), first 16 hex digits", "digests": digests}
    path = out_dir / "respacing.json"
    path.write_text(json.dumps(header, indent=1, sort_keys=True) + "\n")
    return path
