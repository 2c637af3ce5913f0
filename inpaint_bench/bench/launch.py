"""Who started this process, and which sweep it belongs to: Lightning's own DDP children, torchrun or SLURM.

A sweep's processes share one token (`SWEEP_TOKEN`), so that they join their rank 0's claim on a cell while another
sweep writing into the same folder skips it. Lightning's children inherit the launcher's token; an external launch
derives it from the job's identity, the same in every process of that job and different for any job running at the
same time: SLURM's job and step id, torchrun's run id with its master address and port.
"""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager

SWEEP_TOKEN = "INPAINT_BENCH_SWEEP_TOKEN"
LAUNCHER_PID = "INPAINT_BENCH_LAUNCHER_PID"  # set by a process before Lightning starts its DDP children


def global_rank() -> int:
    """This process's rank in a Lightning / torchrun / SLURM launch (0 when not distributed)."""
    for var in ("RANK", "SLURM_PROCID"):
        if var in os.environ:
            return int(os.environ[var])
    return int(os.environ.get("NODE_RANK", 0)) * 1000 + int(os.environ.get("LOCAL_RANK", 0))


def launched_externally() -> bool:
    """True when torchrun / SLURM / a Lightning DDP parent started this process (the world size is fixed)."""
    return any(v in os.environ for v in ("LOCAL_RANK", "RANK", "SLURM_PROCID", "TORCHELASTIC_RUN_ID"))


def own_child() -> bool:
    """True in a DDP process that Lightning started from this command (it re-runs the command line with the
    launching process's environment), as opposed to torchrun / SLURM processes and the launcher itself."""
    return os.environ.get(LAUNCHER_PID) not in (None, str(os.getpid()))


def external_job_token() -> str | None:
    """The identity every process of one external launch shares (None when not externally launched)."""
    env = os.environ
    if "SLURM_PROCID" in env and "SLURM_JOB_ID" in env:
        return f"slurm:{env['SLURM_JOB_ID']}.{env.get('SLURM_STEP_ID', '')}"
    if "TORCHELASTIC_RUN_ID" in env and "MASTER_PORT" in env:
        return f"torchrun:{env['TORCHELASTIC_RUN_ID']}@{env.get('MASTER_ADDR', '')}:{env['MASTER_PORT']}"
    return None


def join_sweep() -> None:
    """Give this process its sweep's token: a new one in a launcher, the job's under torchrun / SLURM; Lightning's
    children already hold their launcher's."""
    if SWEEP_TOKEN in os.environ:
        return
    token = external_job_token() if launched_externally() else uuid.uuid4().hex
    if token is not None:
        os.environ[SWEEP_TOKEN] = token


@contextmanager
def claim(folder, cell_id: str, wait_for_owner_s: float = 30.0):
    """Yields whether this sweep should run the cell: a per-cell file lock in `folder`, so two sweeps into one
    folder share the work instead of computing a cell twice. The processes of one sweep (one token) all run it,
    whichever of them took the lock; a process without a token does not lock.

    The lock holder writes its token next to the lock right after taking it; a process that finds the lock taken
    waits (up to `wait_for_owner_s`) for that token to appear rather than reading an empty file as "another sweep"
    (which would leave its own sweep's peers waiting for it in a collective)."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    token = os.environ.get(SWEEP_TOKEN)
    if token is None:
        yield True
        return
    owner = folder / f".{cell_id}.owner"
    lock = FileLock(str(folder / f".{cell_id}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield _owner_token(owner, wait_for_owner_s) == token
        return
    try:
        owner.write_text(token)
        yield True
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _owner_token(owner, wait_s: float) -> str | None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            text = owner.read_text()
        except OSError:
            text = ""
        if text or time.monotonic() > deadline:
            return text or None
        time.sleep(0.05)
