"""Downloads for `inpaint-bench fetch [NAME …]` (front-end: `cli/fetch.py`): download the weight files the suite uses into the folder and name it expects.

For a machine with internet. Every metric weight and every official checkpoint with a public URL (`--list` shows
them all, with their target paths). A transfer shows a progress bar (tqdm), resumes a partial `<file>.part` with an
HTTP Range request, and is verified before it is moved into place: against the published sha256 prefix where one
exists (torchvision-style names), otherwise the sha256 is printed and pinned on first use
(`files/weights.check_first_use`). Sources without a direct URL (Google Drive, Baidu pan) get a message naming the page
and the target path. The transfer is hand-written around `urllib` rather than `torch.hub.download_url_to_file`,
because that one cannot resume a partial file.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from . import weights

CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A download that failed or does not verify; the message says what to do."""


def catalogue() -> dict[str, weights.WeightFile]:
    """Every fetchable entry by key: the metric weights, then the method checkpoints."""
    return {**weights.WEIGHTS, **weights.CHECKPOINTS}


def direct_url(entry: weights.WeightFile) -> bool:
    return entry.url.startswith(("http://", "https://"))


def download(url: str, target: Path, progress: bool = True, timeout: float = 60.0) -> Path:
    """`url` into `target.part` (resumed if present), returned when the transfer is complete."""
    from tqdm import tqdm

    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the partial file is already complete
            return part
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        raise FetchError(f"{url}: {getattr(err, 'reason', err)}; check the connection and rerun to resume") from None
    with response:
        resumed = response.status == 206
        total = response.headers.get("Content-Length")
        total = int(total) + (have if resumed else 0) if total else None
        mode = "ab" if resumed else "wb"
        with open(part, mode) as f, tqdm(total=total, initial=have if resumed else 0, unit="B", unit_scale=True,
                                         desc=target.name, disable=not progress) as bar:
            try:
                while chunk := response.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            except (OSError, urllib.error.URLError) as err:
                raise FetchError(f"{url}: transfer interrupted after {part.stat().st_size} bytes ({err}); rerun "
                                 f"`inpaint-bench fetch` to resume from {part}") from None
    if total is not None and part.stat().st_size < total:
        raise FetchError(f"{url}: transfer ended at {part.stat().st_size} of {total} bytes; rerun to resume")
    return part


def fetch_one(entry: weights.WeightFile, progress: bool = True, echo=print) -> Path:
    """Make `entry`'s file present and verified; returns its path."""
    target = entry.path()
    if target.exists():
        entry.require()  # verifies the hash (published prefix or the first-use pin)
        echo(f"{entry.key:32s} present  {target}")
        return target
    if not direct_url(entry):
        raise FetchError(f"{entry.key}: no direct download; get {entry.file} from {entry.url} and put it at "
                         f"{target}")
    part = download(entry.url, target, progress)
    digest = weights.sha256_of(part)
    if entry.sha256_prefix and not digest.startswith(entry.sha256_prefix):
        part.unlink()
        raise FetchError(f"{entry.key}: downloaded file has sha256 {digest[:12]}…, expected {entry.sha256_prefix}…; "
                         f"it was removed — rerun, or check {entry.url}")
    part.replace(target)
    entry.require()  # pins the sha256 on first use where none is published
    echo(f"{entry.key:32s} fetched  {target}  sha256 {digest}")
    return target
