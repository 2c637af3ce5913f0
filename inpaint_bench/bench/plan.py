"""What a sweep will cost before it runs: network evaluations per image from a dry run, cells' expected work.

`dry_run_nfe(spec)` runs the method once, as configured, on one 32² `shapes` scene with a centre hole — with
untrained tiny networks in place of its checkpoints that answer with zeros after their first call (the step
schedule does not depend on the weights, so the count is the configured one, in a fraction of a second). Two methods decide some steps from their networks' outputs (StrDiffusion's
resampling, IS-Diff's re-sampling attempts); their dry-run count is marked as varying.
"""

from __future__ import annotations

import functools
import json

import torch

NETWORK_FILES = ("checkpoint", "gradient_checkpoint", "structure_checkpoint", "discriminator_checkpoint")
ARCHITECTURES = ("net", "structure_net", "discriminator_net", "classifier_net", "classifier")
VARYING = {"strdiffusion": "resampling", "isdiff_repaint": "re-sampling attempts", "isdiff_ddnm": "re-sampling attempts"}
DRY_SIZE = 32


def dry_config(name: str, config: dict) -> dict:
    """`config` with every network untrained and tiny; IR-SDE/StrDiffusion keep the T their checkpoint has."""
    from ..methods.registry import METHODS, config_keys

    valid = set(config_keys(METHODS.get(name)))
    dry = {k: v for k, v in config.items() if k not in ARCHITECTURES}
    dry.update({k: None for k in NETWORK_FILES if k in valid})
    if "T" in valid and config.get("T") is None:
        dry["T"] = _checkpoint_T(name, config.get("checkpoint", "tiny"))
    return dry


def _checkpoint_T(name: str, checkpoint) -> int:
    from ..methods.irsde import OFFICIAL_T, trained_T
    from ..nets.checkpoint_files import resolve_checkpoint

    try:
        path = resolve_checkpoint(checkpoint, name)
    except (FileNotFoundError, OSError):  # official weights not downloaded: the official T
        return OFFICIAL_T
    return (trained_T(path) if path is not None else None) or OFFICIAL_T


@functools.lru_cache(maxsize=256)
def _dry_run(name: str, config_json: str) -> tuple[int, tuple]:
    from .. import masks, methods
    from ..data.shapes import ShapesDataset
    from ..diffusion.noise import sample_generators
    from ..methods.base import run_inpaint

    method = methods.build(name, **dry_config(name, json.loads(config_json))).eval()
    method.for_mask(masks.spec("center").family)
    for child in method.children():
        if any(True for _ in child.parameters()):
            _answer_with_zeros(child)
    image = ShapesDataset("test", DRY_SIZE)[0]["image"][None]
    mask = masks.mask_source("center", size=DRY_SIZE, seed=0)(0)[None].float()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        run_inpaint(method, image, mask, sample_generators(0, ["plan"]))
    return int(method.nfe), tuple(sorted(method.aux_nfe.items()))


def _answer_with_zeros(network: torch.nn.Module) -> None:
    """After one real forward per input shape, the network returns zeros of its output's shape: the dry run then
    costs the sampler's arithmetic, not thousands of forwards (the count is what it measures)."""
    forward, shapes = network.forward, {}

    def counted(*args, **kwargs):
        key = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
        if key not in shapes:
            out = forward(*args, **kwargs)
            shapes[key] = (out.shape, out.dtype) if isinstance(out, torch.Tensor) else None
            return out
        if shapes[key] is None:  # not a single tensor: keep the real network
            return forward(*args, **kwargs)
        shape, dtype = shapes[key]
        return torch.zeros(shape, dtype=dtype)

    network.forward = counted


def dry_run_nfe(spec) -> tuple[int, dict]:
    """(NFE per image, auxiliary network calls per image by network) of a MethodSpec; 0 for classical rows."""
    nfe, aux = _dry_run(spec.name, json.dumps(spec.config, sort_keys=True, default=str))
    return nfe, dict(aux)


def cell_images(cell) -> int | None:
    """Images a cell scores: its limit, or the split's size — counted when the data is here, else the split's
    documented size (`split_sizes` of its DataModule); None when unknown."""
    from .config import cell_datamodule

    p = cell.protocol
    try:
        n = len(cell_datamodule(cell).dataset)
    except Exception:  # the dataset is not on this machine: its documented size, else the limit
        from ..data import DATASETS

        n = DATASETS.get(p.dataset).split_sizes.get(p.split) if p.dataset in DATASETS else None
        if n is None:
            return p.limit
    return min(n, p.limit) if p.limit else n


def cell_size(cell) -> int:
    """The cell's image side: the protocol's, else its dataset's benchmark size."""
    from ..data import DATASETS

    return cell.protocol.size or DATASETS.get(cell.protocol.dataset).default_size


def cell_forwards(cell) -> float:
    """Expected network forwards of a cell (images × (NFE + auxiliary calls)); a cell of unknown size counts as
    one image, a classical row as one forward per image (its work is not zero)."""
    nfe, aux = dry_run_nfe(cell.method)
    return (cell_images(cell) or 1) * max(1, nfe + sum(aux.values()))


class _Enough(Exception):
    """Raised from a network hook once enough forwards were timed."""


def measured_seconds_per_forward(spec, size: int, batch: int, device: str = "cpu", forwards: int = 3) -> tuple[float, str]:
    """Seconds per network forward (per batch of `batch` images at `size`²) of the method as configured, timed
    inside its own sampler: from its first network call to its (forwards + 1)-th, so the sampler's arithmetic
    between calls is included. With its weights missing, the same method with untrained networks (labelled)."""
    import time

    from .. import masks

    method, what = _timed_method(spec)
    method = method.to(device).eval()
    method.for_mask(masks.spec("center").family)
    calls: list[float] = []

    def hook(*_):
        calls.append(time.perf_counter())
        if len(calls) > forwards:
            raise _Enough

    handles = [net.register_forward_pre_hook(hook) for net in _networks(method)]
    image = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    mask = masks.mask_source("center", size=size, seed=0)(0)[None].float().expand(batch, -1, -1, -1).to(device)
    finished = False
    try:
        from ..methods.base import run_inpaint

        run_inpaint(method, image, mask, None)
        finished = True
    except _Enough:
        pass
    finally:
        for h in handles:
            h.remove()
    end = time.perf_counter()
    if not calls:
        return 0.0, what
    done = len(calls) if finished else len(calls) - 1  # the forward stopped at its start did not run
    return (end - calls[0]) / max(1, done), what


def _timed_method(spec):
    """The method to time and what its networks are: its configured weights; without them the published
    architecture with random weights (the same cost per forward); failing that, untrained tiny networks."""
    from .. import methods
    from ..files.weights import architecture_only

    try:
        return methods.build(spec.name, **spec.config), "configured weights"
    except (FileNotFoundError, OSError):
        pass
    try:
        with architecture_only():
            return methods.build(spec.name, **spec.config), "configured architecture, random weights"
    except (FileNotFoundError, OSError, ValueError, KeyError):
        return methods.build(spec.name, **dry_config(spec.name, spec.config)), "untrained tiny networks"


def _networks(module) -> list:
    """The networks a method calls: its children with parameters, looking inside a child that is itself a method
    (IS-Diff's base)."""
    from ..methods.base import InpaintMethod

    out = []
    for child in module.children():
        if isinstance(child, InpaintMethod):
            out += _networks(child)
        elif any(True for _ in child.parameters()):
            out.append(child)
    return out


def plan_rows(sweep, seconds_per_forward=None) -> list[dict]:
    """One row per cell: images, NFE per image, auxiliary calls, forwards, and hours when a per-forward time
    (seconds for one image; a callable of the cell, or a number) is given."""
    rows = []
    for cell in sweep.cells():
        nfe, aux = dry_run_nfe(cell.method)
        images = cell_images(cell)
        forwards = (images or 0) * (nfe + sum(aux.values()))
        per = seconds_per_forward(cell) if callable(seconds_per_forward) else seconds_per_forward
        rows.append({"dataset": cell.protocol.dataset, "mask": cell.mask, "row": cell.method.row(), "seed": cell.seed,
                     "images": images, "nfe": nfe, "aux": aux, "forwards": forwards,
                     "varies": VARYING.get(cell.method.name), "hours": None if per is None or images is None
                     else forwards * per / 3600})
    return rows
