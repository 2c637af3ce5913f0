"""Respacing against guided-diffusion's own `space_timesteps(1000, str(count))` for every count 1..1000
(fixture: gen_respacing.py). round(i·stride) instead of the accumulated stride differs at 278 of these counts."""

import json

from gen_respacing import list_digest
from parity_common import FIXTURE_DIR

from inpaint_bench.diffusion.gaussian import space_timesteps

FIXTURE = json.loads((FIXTURE_DIR / "respacing.json").read_text())


def test_space_timesteps_matches_guided_diffusion_for_every_count():
    differ = [count for count in range(1, FIXTURE["T"] + 1)
              if list_digest(space_timesteps(FIXTURE["T"], count)) != FIXTURE["digests"][str(count)]]
    assert differ == [], f"{len(differ)} counts differ from guided-diffusion, e.g. {differ[:5]}"
