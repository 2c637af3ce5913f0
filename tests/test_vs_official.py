"""`benchmarks/vs_official.py` without the official checkouts: each family says where to fetch its code, skips,
and the table still comes out (the timings themselves need the checkouts: README, Cost)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "vs_official.py"


def test_missing_checkouts_are_named_with_their_source_and_skipped(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--upstream", str(tmp_path), "--families", "repaint,i2sb",
                          "--out", str(tmp_path / "table.md")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    table = (tmp_path / "table.md").read_text()
    assert f"skipped: no checkout at {tmp_path / 'RePaint'} (git clone https://github.com/andreas128/RePaint" in table
    assert "git clone https://github.com/NVlabs/I2SB" in table and "| family | setting |" in table
