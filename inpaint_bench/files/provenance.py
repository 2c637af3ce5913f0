"""Which code and which weight files produced a result: `code_version()` names the code; `recording()` collects
the weight files a computation read, with their sha256 (recorded in each cell's JSON and checked on resume).

Every loader of weights (`nets/checkpoints.read_state`, `files/weights.WeightFile.require`, the shipped tiny
checkpoints) calls `note_file`; `recording()` collects what was read while it is open. The sha256 is cached per
(path, mtime, size), so a large file is hashed once per process.
"""

from __future__ import annotations

import functools
import subprocess
from contextlib import contextmanager
from pathlib import Path

from .hashing import sha256_of
from .paths import REPO_DIR

VERSION = "0.1.0"  # the package version (`inpaint_bench.__version__`), as in pyproject.toml

_open: list[dict[str, str]] = []


@contextmanager
def recording():
    """Collect {resolved path: sha256} of every weight file read inside the block."""
    files: dict[str, str] = {}
    _open.append(files)
    try:
        yield files
    finally:
        _open.remove(files)


def note_file(path) -> None:
    if not _open:
        return
    path = Path(path).resolve()
    digest = sha256_of(path)
    for files in _open:
        files[str(path)] = digest


def changed_files(recorded: dict[str, str]) -> list[str]:
    """The recorded files that are gone or whose sha256 is no longer the recorded one."""
    out = []
    for name, digest in (recorded or {}).items():
        path = Path(name)
        if not path.exists() or sha256_of(path) != digest:
            out.append(name)
    return out


def reused(build):
    """Decorator: `build(*key)` once per process and key (metric networks: once per sweep, not per cell). On reuse
    the weight files the build read are noted again, so every cell records them; if one changed since, it is
    built again from the file as it is now."""
    built: dict = {}

    @functools.wraps(build)
    def get(*key):
        entry = built.get(key)
        if entry is not None and not changed_files(entry[1]):
            for path in entry[1]:
                note_file(path)
            return entry[0]
        with recording() as files:
            value = build(*key)
        built[key] = (value, dict(files))
        return value

    get.cache_clear = built.clear
    return get


def code_version() -> str:
    """Package version plus the git commit when running from a checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{VERSION}+{commit}" if commit else VERSION
