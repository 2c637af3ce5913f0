"""The results store: one JSON per cell under `<root>/<dataset>/cells/<cell_id>.json`, written atomically."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .. import __version__, paths
from ..masks.frozen import atomic_write


def code_version() -> str:
    """Package version plus the git commit when running from a checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.REPO_DIR, capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


class ResultStore:
    def __init__(self, root: str | Path = "results"):
        self.root = Path(root)

    def cell_path(self, dataset: str, cell_id: str) -> Path:
        return self.root / dataset / "cells" / f"{cell_id}.json"

    def done(self, dataset: str, cell_id: str) -> bool:
        """A cell counts as done when its JSON exists and says ok (failed cells are retried on the next run)."""
        path = self.cell_path(dataset, cell_id)
        if not path.exists():
            return False
        try:
            return json.loads(path.read_text()).get("status") == "ok"
        except json.JSONDecodeError:
            return False

    def write(self, dataset: str, cell_id: str, result: dict) -> Path:
        path = self.cell_path(dataset, cell_id)
        atomic_write(path, (json.dumps(result, indent=1, sort_keys=True, default=str) + "\n").encode())
        return path

    def read_all(self, dataset: str) -> list[dict]:
        folder = self.root / dataset / "cells"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
