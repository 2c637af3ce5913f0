"""The suite against the official samplers on the same work: same network weights, inputs, threads and device.

For each family with official code, the official network is built from its own repository and filled with the same
deterministic weights as the suite's (`tests/parity/parity_common.parity_weights`, the layouts the parity tests
check), and both samplers inpaint the same batch. Timings alternate official / suite, `--repeats` times each, and
the minimum of each is kept (this machine is noisy); the ratio is suite ÷ official, so < 1 means the suite is faster.
The suite runs as a user runs it: its own per-image generators (`sample_generators`, `noise: cpu`); the official code
draws from the global RNG as it does.

    python benchmarks/vs_official.py --upstream /tmp/up [--families repaint,ddnm,irsde,i2sb,strdiffusion] [--repeats 5]

`--upstream DIR` holds the checkouts (or `git archive` exports) under their repository names: RePaint, DDNM,
image-restoration-sde, I2SB, StrDiffusion (+ `--deps DIR` with I²SB's own packages, see tests/parity/README.md). A missing one
is named with where to fetch it, and its family is skipped. Nothing from upstream is copied here: it is imported
from the path given.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "parity"))

from parity_common import load_module, parity_weights, tiny_adm_kwargs, upstream_commit  # noqa: E402

from inpaint_bench.diffusion.noise import sample_generators  # noqa: E402
from inpaint_bench.nets.checkpoints import load_into  # noqa: E402
from inpaint_bench.nets.unet import UNetConfig  # noqa: E402

REPOS = {"repaint": ("RePaint", "https://github.com/andreas128/RePaint"),
         "ddnm": ("DDNM", "https://github.com/wyhuai/DDNM"),
         "irsde": ("image-restoration-sde", "https://github.com/Algolzw/image-restoration-sde"),
         "i2sb": ("I2SB", "https://github.com/NVlabs/I2SB"),
         "strdiffusion": ("StrDiffusion", "https://github.com/htyjers/StrDiffusion")}
SEED = 3


def inputs(batch: int, size: int):
    """A batch of images in [−1, 1] and one rectangular hole (1 = hole), the same for every family."""
    g = torch.Generator().manual_seed(SEED)
    image = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(batch, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 8: 5 * size // 8] = 1
    return image, mask


def suite_call(method, image, mask):
    keys = [f"img{i}" for i in range(len(image))]
    return lambda: method.inpaint(image * (1 - mask), mask, sample_generators(SEED, keys))


def same_weights(official: torch.nn.Module, suite: torch.nn.Module, seed: int) -> None:
    weights = parity_weights({k: tuple(v.shape) for k, v in official.state_dict().items()}, seed)
    official.load_state_dict(weights)
    load_into(suite, weights, "parity weights")


# --- families: each returns (official_call, suite_call, NFE, setting) ----------------------------------------------
def repaint(up: Path, batch: int, size: int):
    """RePaint's `p_sample_loop` (t_T 50, jumps 5 × 2: NFE 95) on a learned-σ ADM UNet."""
    sys.path.insert(0, str(up))
    from conf_mgt import Default_Conf
    from guided_diffusion.script_util import create_gaussian_diffusion, create_model

    from inpaint_bench.methods.repaint import RePaint

    jump = dict(t_T=50, n_sample=1, jump_length=5, jump_n_sample=2)
    conf = Default_Conf()
    conf.update({"inpa_inj_sched_prev": True, "inpa_inj_sched_prev_cumnoise": False, "diffusion_steps": 1000,
                 "schedule_jump_params": dict(jump)})
    kwargs = tiny_adm_kwargs(size, learn_sigma=True)
    model = create_model(**kwargs, conf=conf).eval()
    diffusion = create_gaussian_diffusion(steps=1000, learn_sigma=True, noise_schedule="linear",
                                          timestep_respacing=str(jump["t_T"]), conf=conf)
    method = RePaint(checkpoint=None, net=UNetConfig.from_guided_diffusion(**kwargs).to_dict(), t_T=jump["t_T"],
                     jump_length=jump["jump_length"], jump_n_sample=jump["jump_n_sample"]).eval()
    same_weights(model, method.net, 41)
    image, mask = inputs(batch, size)
    keep = 1 - mask

    def official():
        with torch.no_grad():
            return diffusion.p_sample_loop(model, tuple(image.shape), clip_denoised=True, conf=conf, progress=False,
                                           model_kwargs={"gt": image, "gt_keep_mask": keep})

    return official, suite_call(method, image, mask), 95, "t_T 50, jump 5 × 2"


def ddnm(up: Path, batch: int, size: int):
    """DDNM's `ddnm_diffusion` (the SVD path `evaluation.sh` runs for inpainting; 100 steps, time travel 10 × 2
    is off: T_sampling 100) on a learned-σ ADM UNet; the suite's `update: svd`."""
    from gen_ddnm import _cpu_only

    _cpu_only()
    sys.path.insert(0, str(up))
    from guided_diffusion.script_util import create_model

    from inpaint_bench.methods.ddnm import DDNM

    svd_ddnm = load_module("ddnm_svd_ddnm", up / "functions/svd_ddnm.py")
    operators = load_module("ddnm_svd_operators", up / "functions/svd_operators.py")
    steps = 100
    kwargs = tiny_adm_kwargs(size, learn_sigma=True)
    model = create_model(**kwargs).eval()
    method = DDNM(checkpoint=None, net=UNetConfig.from_guided_diffusion(**kwargs).to_dict(), steps=steps, eta=0.85,
                  update="svd").eval()
    same_weights(model, method.net, 51)
    image, mask = inputs(batch, size)
    hole = torch.nonzero(mask[0].reshape(-1) == 1).long().reshape(-1) * 3  # pixel-major, RGB, as DDNM's main
    a_funcs = operators.Inpainting(3, size, torch.cat([hole, hole + 1, hole + 2]), "cpu")
    y = a_funcs.A(image)
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64).float()
    config = types.SimpleNamespace(diffusion=types.SimpleNamespace(num_diffusion_timesteps=1000),
                                   time_travel=types.SimpleNamespace(T_sampling=steps, travel_length=1,
                                                                     travel_repeat=1))

    def official():
        with torch.no_grad():
            return svd_ddnm.ddnm_diffusion(torch.randn_like(image), model, betas, 0.85, a_funcs, y, config=config)

    return official, suite_call(method, image, mask), steps, "100 steps, η 0.85, SVD path"


def irsde(up: Path, batch: int, size: int):
    """IR-SDE's `reverse_sde` (T 100, cosine, λ 30/255) on a small ConditionalUNet (nf 8, depth 3)."""
    sys.path.insert(0, str(up / "codes/config/inpainting"))
    from models.modules.DenoisingUNet_arch import ConditionalUNet

    from inpaint_bench.methods.irsde import IRSDE

    sde_utils = load_module("irsde_sde_utils", up / "codes/utils/sde_utils.py")
    net_kwargs = dict(in_nc=3, out_nc=3, nf=8, depth=3)
    net = ConditionalUNet(**net_kwargs).eval()
    method = IRSDE(checkpoint=None, T=100, net=net_kwargs).eval()  # the official attention: 4 heads of 32
    same_weights(net, method.net, 21)
    image, mask = inputs(batch, size)
    y0, keep = (image + 1) / 2, 1 - mask
    lq = y0 * keep + (1 - keep)  # the white hole the official `mask_to` writes
    sde = sde_utils.IRSDE(max_sigma=30, T=100, schedule="cosine", eps=0.005, device="cpu")
    sde.set_model(net)

    def official():
        with torch.no_grad():
            sde.set_mu(lq)
            return sde.reverse_sde(sde.noise_state(lq), save_states=False)

    return official, suite_call(method, image, mask), 100, "T 100, nf 8 depth 3"


def i2sb(up: Path, batch: int, size: int):
    """I²SB's `ddpm_sampling` (SDE, NFE 20, β_max 1) on a 3-channel ADM UNet."""
    sys.path.insert(0, str(up))
    from gen_i2sb import _official_runner  # stubs ipdb, as the fixture generator does
    from guided_diffusion.script_util import create_model

    from inpaint_bench.methods.i2sb import I2SB

    kwargs = tiny_adm_kwargs(size, learn_sigma=False)
    shapes = {k: tuple(v.shape) for k, v in create_model(**kwargs).state_dict().items()}
    weights = parity_weights(shapes, 13)
    run, opt, _ = _official_runner(Path(tempfile.mkdtemp()), 1.0, weights, kwargs)
    opt.ot_ode = False
    run.net.eval()
    method = I2SB(checkpoint=None, net=UNetConfig.from_guided_diffusion(**kwargs).to_dict(), nfe=20,
                  ot_ode=False, use_ema=False).eval()
    load_into(method.net, weights, "parity weights")
    image, mask = inputs(batch, size)

    def official():
        with torch.no_grad():
            return run.ddpm_sampling(opt, image * (1 - mask), mask=mask, cond=None, clip_denoise=False, nfe=20,
                                     verbose=False)

    return official, suite_call(method, image, mask), 20, "SDE, NFE 20"


SCRIPT = [0.5, 0.7, 0.3, 0.4, 0.9]  # discriminator scores per resampling window, as tests/parity/gen_strdiffusion.py


class Scripted(torch.nn.Module):
    """The same discriminator decisions on both sides (the k-th call at one t returns SCRIPT[k]): both samplers then
    resample the same number of times whatever their noise, so they do the same work."""

    def __init__(self, per_image: bool):
        super().__init__()
        self.per_image, self.calls = per_image, []

    def forward(self, t, *inputs, group=None):
        self.calls.append(int(t.reshape(-1)[0]))
        score = SCRIPT[min(self.calls.count(self.calls[-1]) - 1, len(SCRIPT) - 1)]
        return torch.full((len(inputs[0]) if self.per_image else 1, 1), score)


def strdiffusion(up: Path, batch: int, size: int):
    """StrDiffusion's texture `reverse_sde` with the structure SDE and resampling (T 100, jumps 5, u 3–6) on small
    texture / structure UNets (nf 8, depth 3), a scripted discriminator on both sides; gray and edge maps are given
    to both (the official test loader computes them, outside its sampler). Batch 1: the official resampling rule
    takes one decision per batch."""
    from gen_strdiffusion import _stub_environment

    from inpaint_bench.methods.strdiffusion import (
        StrDiffusion,  # first: its torchmetrics needs the real matplotlib
    )

    _stub_environment()  # CUDA ops loader, .cuda(), lmdb (imported by the official files, unused here)
    root = up / "test/texture/config/inpainting"
    sys.path.insert(0, str(root))
    from models.modules.DenoisingUNet_arch import ConditionalUNet, ConditionalUNets

    texture_sde = load_module("strdiff_sde_utils", root / "utils/sde_utils.py")
    structure_sde = load_module("strdiff_str_sde_utils", root / "str_utils/sde_utils.py")
    gt_dataset = load_module("strdiff_gt_dataset", root / "data/GT_dataset.py")
    texture_kwargs, structure_kwargs = dict(in_nc=3, out_nc=3, nf=8, depth=3), dict(in_nc=1, out_nc=1, nf=8, depth=3)
    texture, structure = ConditionalUNet(**texture_kwargs).eval(), ConditionalUNets(**structure_kwargs).eval()
    T = 100
    method = StrDiffusion(checkpoint=None, structure_checkpoint=None, discriminator_checkpoint=None,
                          net={**texture_kwargs, "guide_channels": 1}, structure_net=structure_kwargs, T=T, jump=5, re=5, u_max=6,
                          u_min=3).eval()
    same_weights(texture, method.net, 31)
    same_weights(structure, method.structure_net, 32)
    image, mask = inputs(1, size)
    gt, keep = (image + 1) / 2, 1 - mask
    edge, gray = gt_dataset.image_to_edge(gt[0], sigma=2.0)
    gray, edge = gray[None], edge[None]
    method.structures = lambda y0, keep, training: (gray * keep, edge * keep)
    sde, s_sde = texture_sde.IRSDE(device="cpu", max_sigma=30, T=T, schedule="cosine", eps=0.005), \
        structure_sde.IRSDE(device="cpu", max_sigma=30, T=T, schedule="cosine", eps=0.005)
    sde.set_model(texture)
    s_sde.set_model(structure)

    def official():
        with torch.no_grad():
            sde.set_mu(gt * keep)
            s_sde.set_mu(edge * keep)
            return sde.reverse_sde(sde.noise_state(gt * keep), GT=gt, mask=keep, S_sde=s_sde, S_GT=gray,
                                   S_LQ=s_sde.noise_state(edge * keep), dis=Scripted(per_image=False),
                                   S_LQs=edge * keep)

    run_suite = suite_call(method, image, mask)

    def suite():
        method.discriminator = Scripted(per_image=True)
        return run_suite()

    return official, suite, T, "T 100 + the same resampling (jumps 5, u 3–6, scripted D), batch 1"


FAMILIES = {"repaint": repaint, "ddnm": ddnm, "irsde": irsde, "i2sb": i2sb, "strdiffusion": strdiffusion}


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(official, suite, repeats: int) -> tuple[float, float]:
    official(), suite()  # warm-up: allocator, lazy buffers
    times = {"official": [], "suite": []}
    for _ in range(repeats):
        times["official"].append(timed(official))
        times["suite"].append(timed(suite))
    return min(times["official"]), min(times["suite"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", type=Path, required=True, help="folder holding the official checkouts")
    p.add_argument("--deps", type=Path, default=None, help="extra site folder with I²SB's own packages")
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None,
                   help="also write the table here (benchmarks/results/vs_official.md, included by `make perf`)")
    a = p.parse_args(argv)
    if a.deps:
        sys.path.insert(0, str(a.deps.resolve()))
    torch.set_num_threads(a.threads)
    names = a.families.split(",")
    if len(names) > 1:  # one process per family: RePaint, DDNM and I²SB each ship their own `guided_diffusion`
        lines = [f"suite vs official, batch {a.batch} at {a.size}², {a.threads} thread(s), {platform.processor() or 'CPU'}"
                 f" ({os.cpu_count()} cores), torch {torch.__version__}, min of {a.repeats} (alternating); "
                 "ratio = suite ÷ official", "", "| family | setting | NFE | official s | suite s | ratio | upstream commit |",
                 "|---|---|---|---|---|---|---|"]
        print("\n".join(lines), flush=True)
        args = argv if argv is not None else sys.argv[1:]
        rest = [x for i, x in enumerate(args) if x != "--families" and (i == 0 or args[i - 1] != "--families")]
        rest = [x for i, x in enumerate(rest) if x != "--out" and (i == 0 or rest[i - 1] != "--out")]
        for name in names:
            row = subprocess.run([sys.executable, __file__, *rest, "--families", name], capture_output=True,
                                 text=True, check=False)
            table = [line for line in row.stdout.splitlines() if line.startswith("|")]
            lines += table or [f"| {name} | failed: {(row.stderr.strip().splitlines() or ['?'])[-1]} | | | | | |"]
            print("\n".join(lines[-1:]), flush=True)
        if a.out:
            a.out.write_text("\n".join(lines) + "\n")
            print(f"wrote {a.out}")
        return 0
    (name,) = names
    folder, url = REPOS[name]
    up = (a.upstream / folder).resolve()
    if not up.is_dir():
        print(f"| {name} | skipped: no checkout at {up} (git clone {url} {up}) | | | | | |")
        return 0
    with contextlib.redirect_stdout(io.StringIO()):  # the official constructors print their schedules
        official, suite, nfe, setting = FAMILIES[name](up, a.batch, a.size)
    t_official, t_suite = measure(official, suite, a.repeats)
    print(f"| {name} | {setting} | {nfe} | {t_official:.3f} | {t_suite:.3f} | {t_suite / t_official:.3f} "
          f"| {upstream_commit(up)[:12]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
