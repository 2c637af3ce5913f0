"""What the parity generators and tests share: deterministic weights, fixture files, upstream provenance.

A fixture is `fixtures/<family>.safetensors` (inputs, recorded noise, official outputs) plus `fixtures/<family>.json`
(the upstream repository and commit, the settings of every recorded run). Network weights are not stored: they are
recomputed from a seed by `parity_weights` on both sides, and their sha256 is recorded so a change of recipe shows.
The official code never enters this repository; `generate.py` imports it from a checkout passed by path.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zlib
from pathlib import Path

import torch

FIXTURE_DIR = Path(__file__).parent / "fixtures"


def tiny_adm_kwargs(size: int = 16, learn_sigma: bool = False) -> dict:
    """guided-diffusion `create_model` arguments of the small ADM UNet the I²SB, RePaint and DDNM fixtures use."""
    return dict(image_size=size, num_channels=32, num_res_blocks=1, channel_mult="1,2", learn_sigma=learn_sigma,
                class_cond=False, use_checkpoint=False, attention_resolutions=str(size // 2), num_heads=1,
                num_head_channels=32, num_heads_upsample=-1, use_scale_shift_norm=True, dropout=0.0,
                resblock_updown=True, use_fp16=False, use_new_attention_order=False)


def parity_weights(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random float32 weights for a state dict layout, the same for any module that has these keys and shapes.

    Each tensor comes from its own generator seeded by (seed, crc32(key)), so key order does not matter:
    matrices and kernels N(0, 1/fan_in), 1-D `weight`s (norm scales) 1 + N(0, 0.1²), biases N(0, 0.1²).
    """
    out = {}
    for key, shape in shapes.items():
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        x = torch.randn(tuple(shape), generator=g, dtype=torch.float64)
        if len(shape) >= 2:
            x = x / (torch.tensor(shape[1:]).prod().item() ** 0.5)
        elif key.endswith("weight"):
            x = 1 + 0.1 * x
        else:
            x = 0.1 * x
        out[key] = x.float()
    return out


def weights_sha256(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().float().contiguous().numpy().tobytes())
    return h.hexdigest()


def tensor_sha256(x: torch.Tensor) -> str:
    return hashlib.sha256(x.detach().contiguous().numpy().tobytes()).hexdigest()


def upstream_commit(path: Path) -> str:
    """HEAD of the checkout, or the hash in its `COMMIT` file (an exported tree: `git archive` + `git rev-parse`)."""
    if (path / "COMMIT").exists():
        return (path / "COMMIT").read_text().strip()
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def load_module(name: str, path: Path):
    """Import one upstream file by path, without running its package's `__init__` (which may pull in more)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class RecordedRandnLike:
    """Context manager: wrap torch.randn_like so every draw the official code makes is kept, in order."""

    def __init__(self):
        self.draws: list[torch.Tensor] = []

    def __enter__(self):
        self._original = torch.randn_like

        def recording(x, *args, **kwargs):
            out = self._original(x, *args, **kwargs)
            self.draws.append(out.detach().clone())
            return out

        torch.randn_like = recording
        return self

    def __exit__(self, *exc):
        torch.randn_like = self._original
        return False


def save_fixture(family: str, tensors: dict[str, torch.Tensor], header: dict, out_dir: Path = FIXTURE_DIR) -> Path:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{family}.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    header = {**header, "tensors_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (out_dir / f"{family}.json").write_text(json.dumps(header, indent=1, sort_keys=True) + "\n")
    return path


def load_fixture(family: str, out_dir: Path = FIXTURE_DIR) -> tuple[dict[str, torch.Tensor], dict]:
    """The fixture's tensors and header; the tensor file must be the one the header was written with."""
    from safetensors.torch import load_file

    path = out_dir / f"{family}.safetensors"
    header = json.loads((out_dir / f"{family}.json").read_text())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != header["tensors_sha256"]:
        raise RuntimeError(f"{path} does not match {family}.json (sha256 {digest}); regenerate with generate.py")
    return load_file(str(path)), header
