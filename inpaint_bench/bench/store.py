"""The results store: one JSON per cell under `<root>/<dataset>/cells/<cell_id>.json`, written atomically."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import uuid
from pathlib import Path

from ..files.atomic import atomic_write


class ResultsFolderError(OSError):
    """The results folder cannot be written (a file, read-only, full); raised before any compute."""


REQUIRED_KEYS = ("cell_id", "status", "config", "row")


class ResultStore:
    """Cell JSONs under `<root>/<dataset>/cells/`. A file that does not parse, or lacks the keys every cell has,
    is moved to `cells/corrupt/` (named in a warning) and its cell counts as not done, so it is re-run; a result
    whose weight files changed since (`weights` in the JSON) is moved to `cells/superseded/` and re-run."""

    def __init__(self, root: str | Path = "results", warn=None):
        self.root = Path(root)
        self.warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))

    def cell_path(self, dataset: str, cell_id: str) -> Path:
        return self.root / dataset / "cells" / f"{cell_id}.json"

    def check_writable(self, dataset: str) -> None:
        """Fail fast, before a cell computes anything, when its results folder cannot take a file."""
        folder = self.root / dataset / "cells"
        try:
            if self.root.exists() and not self.root.is_dir():
                raise ResultsFolderError(f"results folder {self.root} is a file; pass --results with a folder")
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-probe.{os.getpid()}.{uuid.uuid4().hex}"  # own name: processes probe at once
            atomic_write(probe, b"ok")
            probe.unlink()
        except ResultsFolderError:
            raise
        except OSError as err:
            raise ResultsFolderError(f"cannot write results into {folder}: {err.strerror or err}. "
                                     "Choose another --results folder or free space / fix permissions.") from err

    def read_cell(self, path: Path) -> dict | None:
        try:
            result = json.loads(path.read_text())
            if not isinstance(result, dict) or any(k not in result for k in REQUIRED_KEYS):
                raise ValueError(f"missing keys {[k for k in REQUIRED_KEYS if k not in result]}"
                                 if isinstance(result, dict) else "not a JSON object")
        except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
            self._move_aside(path, "corrupt", f"{type(err).__name__}: {err}")
            return None
        return result

    def _move_aside(self, path: Path, kind: str, why: str) -> None:
        target = path.parent / kind / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except FileNotFoundError:  # another process (a DDP sibling) moved it first
            return
        self.warn(f"{kind} cell file {path} ({why}) moved to {target}; its cell will be re-run")

    def done(self, dataset: str, cell_id: str) -> bool:
        """Done = its JSON exists, parses, says ok, and every weight file it recorded still has its sha256
        (failed cells are retried on the next run)."""
        from ..files.provenance import changed_files

        path = self.cell_path(dataset, cell_id)
        if not path.exists():
            return False
        result = self.read_cell(path)
        if result is None or result.get("status") != "ok":
            return False
        changed = changed_files(result.get("weights", {}))
        if changed:
            self._move_aside(path, "superseded", f"weights changed since: {', '.join(changed)}")
            return False
        return True

    def relabel(self, dataset: str, cell_id: str, row: str) -> None:
        """Give a finished cell the row label its sweep now uses (a label is not part of the cell's id)."""
        path = self.cell_path(dataset, cell_id)
        result = self.read_cell(path) if path.exists() else None
        if result is not None and result.get("row") != row:
            self.write(dataset, cell_id, {**result, "row": row})

    def write(self, dataset: str, cell_id: str, result: dict) -> Path:
        path = self.cell_path(dataset, cell_id)
        atomic_write(path, (json.dumps(result, indent=1, sort_keys=True, default=str) + "\n").encode())
        return path

    def images_path(self, dataset: str, cell_id: str) -> Path:
        return self.root / dataset / "cells" / f"{cell_id}.images.csv"

    def write_images(self, dataset: str, cell_id: str, columns: dict[str, list], keys: list[str]) -> Path:
        """The per-image rows of a cell as CSV beside its JSON (index, key, hole ratio, cost, each per-image
        metric; empty = not scored), for binning by hole ratio, pairing methods image by image, plotting."""
        import csv
        import io
        import math

        names = ["index", "key"] + [c for c in columns if c != "index"]
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(names)
        for row, index in enumerate(columns["index"]):
            values = [columns[c][row] for c in names[2:]]
            writer.writerow([int(index), keys[int(index)]] + ["" if isinstance(v, float) and math.isnan(v) else
                                                             f"{v:.10g}" for v in values])
        path = self.images_path(dataset, cell_id)
        atomic_write(path, buf.getvalue().encode())
        return path

    def read_images(self, dataset: str, cell_id: str) -> list[dict]:
        import csv

        path = self.images_path(dataset, cell_id)
        if not path.exists():
            return []
        with open(path, newline="") as f:
            return [{k: (v if k == "key" else float(v) if v != "" else math.nan) for k, v in row.items()}
                    for row in csv.DictReader(f)]

    def read_all(self, dataset: str) -> list[dict]:
        folder = self.root / dataset / "cells"
        if not folder.is_dir():
            return []
        return [r for p in sorted(folder.glob("*.json")) if (r := self.read_cell(p)) is not None]
