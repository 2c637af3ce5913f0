"""StrDiffusion: structure-guided texture diffusion (Liu et al., CVPR 2024), on IR-SDE.

Official code: github.com/htyjers/StrDiffusion (verified against commit 557668f, tests/parity). Equation map
(`../shared/papers/001_…`):
  Eqs 1–4   mean-reverting SDE for the texture y        diffusion/irsde.py (shared with IR-SDE)
  Eq 10     optimal structure state x*_{t−1}            IRSDESchedule.optimal_reverse on the structure schedule δ
  Eqs 11/24 structure-guided texture target ỹ*_{t−1}   diffusion/irsde.py: structure_guided_target
  Eq 12     SPADE after each downsampling stage         nets/irsde_unet.py: SPADEBlock (guide_channels=1)
  Eq 13     L1 weighted 10 hole / 1 known (MatchingLoss) StrDiffusion.losses (texture and structure)
  Eqs 14–16 discriminator L_dis + λ_tri L_tri           StrDiffusion.discriminator_loss, nets/discriminator.py
  Eq 17     forward re-noising with θ_{t−1+j}           StrDiffusion.resample
  Alg 1     adaptive resampling                         StrDiffusion.resample, resampling_decision

What the official code does, and the suite with it (choices are parameters):
- Structure diffusion is gray → masked edges (gray2edge, Remark 1 / Sec 3.4.1): x₀ = `rgb2gray` of the 8-bit
  image, μ_x = Canny edges × keep (σ 3 in training, σ 2 at test, scaled with H/256). Texture: μ_y = image × keep
  (a black hole); network input (y_t − μ_y, μ_y) plus the structure through SPADE. The structure SDE uses the
  texture's schedule (δ = θ). At test time the official code takes the edges of the full image; the suite's
  methods never see the hole, so there the edges come from the known pixels only (`canny_edges(known=…)`).
- `target="eq24"` (default) trains the texture net on the paper's Eq 24; the official training script uses the
  plain IR-SDE target (Eq 4): `target="eq4"`. The target matters for training only.
- Discriminator: (texture, structure) at time t (`discriminator_time="t"`, official; "t-1" is the paper's
  notation), trained on times 2..T with real (y*_{t−1}, x*_{t−1}), fake (y_t, x*_{t−1}), anchor
  y*_{t−1}·keep + y_t·(1 − keep), softplus losses + TripletMarginLoss on the [B, 1] scores. At sampling it sees
  the texture's known region (y × keep) and the structure, as the official test code.
- Sampling: t = T … int(`early_stage`·T) (inclusive) runs both nets: the known structure is reset from a forward
  sample at t − 1 of (gray × keep, μ_x) before each step; the texture step is guided by the structure after its
  step and before the next reset. For t < int(0.4T) the texture is guided by its own channel mean.
- Resampling at t % `jump` == 0 in the early stage: Δ = D(y_{t−1}, x_{t−1}) (fixed); up to `u_max` − 1
  iterations re-noise the structure `re` steps forward (θ_{t−1+j}), denoise back (known region reset before each
  step), re-denoise the texture from y_t and score. `accept="official"` (HEAD, default, the published checkpoints
  were tuned with it): i < `u_min`: accept a better pair else average old and new; i ≥ `u_min`: accept a better
  pair else stop. `accept="paper"` (Algorithm 1): accept a better pair else stop. Defaults per T from the
  official table: T = 400 → jump 5, re 5, u_max 6, u_min 3; T = 100 → 2, 2, 25, 4 (another T: the nearer).
- Cost: NFE = 2·(T − int(0.4T) + 1) + (int(0.4T) − 1) + resampling calls (`re` structure calls and one texture
  call per iteration); discriminator calls are counted apart (`aux_nfe`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..diffusion import per_sample_randn
from ..diffusion.irsde import IRSDESchedule, structure_guided_target
from ..diffusion.noise import ReplayNoise, fork_generator
from ..nets.checkpoint_files import export_unet, resolve_checkpoint
from ..nets.checkpoints import load_into, load_network, read_state, unet_state
from ..nets.discriminator import DiscriminatorConfig, TimeDiscriminator
from ..nets.irsde_unet import ConditionalUNet, IRUNetConfig
from .ema import ema_pytorch_update, make_ema
from .irsde import MeanRevertingMethod, from_unit, l1_weighted, to_unit
from .registry import register

# official table (test code comments): jump = period in t, re = forward re-noising steps
RESAMPLING_DEFAULTS = {400: {"jump": 5, "re": 5, "u_max": 6, "u_min": 3},
                       100: {"jump": 2, "re": 2, "u_max": 25, "u_min": 4}}
TINY_TEXTURE = IRUNetConfig(3, 3, nf=8, depth=3, guide_channels=1, attn_heads=2, attn_dim_head=8)
TINY_STRUCTURE = IRUNetConfig(1, 1, nf=8, depth=3, attn_heads=2, attn_dim_head=8)
TINY_DISCRIMINATOR = DiscriminatorConfig(nc=4, ngf=8, t_emb_dim=32)
NETWORKS = ("texture", "structure", "discriminator")  # what `train_networks` may name
HOLE_WEIGHT = 10.0  # official MatchingLoss: L1 × 10 on the hole, × 1 on the known region (texture and structure)


def gray_image(image01: torch.Tensor) -> torch.Tensor:
    """x₀ of the structure diffusion: `rgb2gray` of the 8-bit image, [B, 1, H, W] float (official `image_to_edge`)."""
    from skimage.color import rgb2gray

    rgb = np.round(image01.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().double().numpy() * 255).astype(np.uint8)
    return torch.from_numpy(np.stack([rgb2gray(im) for im in rgb])[:, None].astype(np.float32)).to(image01.device)


def canny_edges(gray: torch.Tensor, sigma: float, known: torch.Tensor | None = None) -> torch.Tensor:
    """Canny edges {0, 1} of a gray map [B, 1, H, W]; σ is given at 256² and scaled with H.

    `known` (keep mask) restricts the edge detector to the known pixels (skimage's `mask`: the smoothing is
    normalised by the smoothed mask), so the edges depend only on pixels the method may see and no false edge
    appears along the hole border.
    """
    from skimage.feature import canny

    scaled = sigma * gray.shape[-1] / 256
    g = gray.detach().cpu().double().numpy()[:, 0]
    keep = None if known is None else known.detach().cpu().numpy()[:, 0] > 0.5
    edges = [canny(g[i], sigma=scaled, mask=None if keep is None else keep[i]) for i in range(len(g))]
    return torch.from_numpy(np.stack(edges)[:, None].astype(np.float32)).to(gray.device)


def resampling_decision(rule: str, i: int, u_min: int, better: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(accept, average) per image for resampling iteration i (1-based) given `better` = D(new) < Δ.

    official (HEAD): i < u_min: accept a better pair, else average old and new; i ≥ u_min: accept a better pair,
    else stop. paper (Algorithm 1): accept a better pair, else stop. Δ stays fixed in both. An image that
    neither accepts nor averages stops resampling.
    """
    if rule == "official" and i < u_min:
        return better, ~better
    return better, torch.zeros_like(better)


def _image(flags: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return flags.view(-1, *([1] * (like.dim() - 1)))


def _fork(generators):
    """Fresh per-image generators seeded from `generators` (one draw each): the main streams advance by the same
    amount whatever the resampling does, so every image's result is independent of the rest of its batch.
    Recorded noise (`ReplayNoise`) is not forked: it is one stream, in the order the official code drew it."""
    if generators is None or isinstance(generators, ReplayNoise):
        return generators
    return [fork_generator(g) for g in generators]


@register("strdiffusion")
class StrDiffusion(MeanRevertingMethod):
    """Structure-guided texture diffusion with discriminator-driven adaptive resampling."""

    tiny_name = "strdiffusion"
    official_net = IRUNetConfig.official_texture()
    tiny_net = TINY_TEXTURE

    def __init__(self, checkpoint="tiny", structure_checkpoint="tiny", discriminator_checkpoint="tiny",
                 structure_net: dict | None = None, discriminator_net: dict | None = None, T: int | None = None,
                 target: str = "eq24", canny_sigma: float = 3.0, canny_sigma_test: float = 2.0,
                 resampling: bool = True, accept: str = "official", early_stage: float = 0.4,
                 jump: int | None = None, re: int | None = None, u_max: int | None = None,
                 u_min: int | None = None, discriminator_time: str = "t", hole_weight: float = HOLE_WEIGHT,
                 lambda_tri: float = 1.0, triplet_margin: float = 1.0, triplet_form: str = "per_image",
                 train_networks: tuple[str, ...] = NETWORKS, **sde_kwargs):
        super().__init__(checkpoint=checkpoint, T=T, **sde_kwargs)
        self.save_hyperparameters()
        T = self.sde.T  # None above: the texture checkpoint's T
        if target not in ("eq24", "eq4"):
            raise ValueError(f"target must be 'eq24' (paper) or 'eq4' (official training code), got {target!r}")
        if accept not in ("official", "paper"):
            raise ValueError(f"accept must be 'official' (HEAD test code) or 'paper' (Algorithm 1), got {accept!r}")
        if triplet_form not in ("per_image", "batch_vector"):
            raise ValueError(f"triplet_form must be 'per_image' (the official code) or 'batch_vector', "
                             f"got {triplet_form!r}")
        if not train_networks or set(train_networks) - set(NETWORKS):
            raise ValueError(f"train_networks must name some of {', '.join(NETWORKS)}, got {train_networks!r}")
        if int(early_stage * T) < 1:
            raise ValueError(f"early_stage·T must be at least 1 (the structure stage ends at int(early_stage·T)), "
                             f"got {early_stage}·{T}")
        if discriminator_time not in ("t", "t-1"):
            raise ValueError(f"discriminator_time must be 't' (official code) or 't-1' (paper), got {discriminator_time!r}")
        path = resolve_checkpoint(structure_checkpoint, "strdiffusion_structure")
        config = structure_net or (TINY_STRUCTURE if path is None else None)
        self.structure_net = load_network(ConditionalUNet, IRUNetConfig, path, config,
                                          IRUNetConfig.official_structure())
        self.structure_ema = make_ema(self.structure_net, self.hparams.ema_decay)
        path = resolve_checkpoint(discriminator_checkpoint, "strdiffusion_discriminator")
        config = discriminator_net or (TINY_DISCRIMINATOR if path is None else None)
        self.discriminator = load_network(TimeDiscriminator, DiscriminatorConfig, path, config, DiscriminatorConfig())
        self.structure_sde = IRSDESchedule(T, self.sde.schedule, self.sde.max_sigma, self.sde.eps)
        official = RESAMPLING_DEFAULTS[min(RESAMPLING_DEFAULTS, key=lambda k: abs(k - T))]
        given = {"jump": jump, "re": re, "u_max": u_max, "u_min": u_min}
        self.resampling = {k: official[k] if v is None else v for k, v in given.items()}
        if checkpoint is None:  # training: three networks, three optimisers
            self.automatic_optimization = False
        self.discriminator_evals = 0

    # ---- structure: gray → masked edges (gray2edge, Remark 1, Sec 3.4.1) ----------------------------------------
    def structures(self, y0, keep, training: bool):
        """(x₀, μ_x): the gray image and its Canny edges × keep.

        Training (official): edges of the full gray image, σ = `canny_sigma` (3). Sampling: the runner never
        shows a method the hole, so the edges are taken from the known pixels only (skimage's mask), σ =
        `canny_sigma_test` (2, the official test data); the official test code uses the full image there.
        """
        gray = gray_image(y0)
        if training:
            return gray, canny_edges(gray, self.hparams.canny_sigma) * keep
        return gray * keep, canny_edges(gray, self.hparams.canny_sigma_test, known=keep) * keep

    # ---- training: Eq 10 (structure), Eqs 13/24 (texture), Eqs 14–16 (discriminator) ----------------------------
    def random_steps(self, n: int, device) -> torch.Tensor:
        return torch.randint(2, self.sde.T + 1, (n,), device=device)  # official generate_random_states: t ≥ 2

    def losses(self, y0, keep, steps, networks=NETWORKS):
        """(structure, texture, discriminator) losses; a network not in `networks` is not run (its loss is 0)."""
        mu_y = y0 * keep  # μ_y: black hole (official condition = GT × mask)
        x0, mu_x = self.structures(y0, keep, training=True)
        xt = self.structure_sde.sample(x0, mu_x, steps, torch.randn_like(x0))
        x_star = self.structure_sde.optimal_reverse(xt, x0, mu_x, steps)  # Eq 10
        structure_loss = texture_loss = d_loss = y0.new_zeros(())
        if "structure" in networks:
            x_pred = self.structure_sde.reverse_mean(xt, mu_x, self.structure_net(xt, mu_x, self.times[steps]), steps)
            structure_loss = l1_weighted(x_pred, x_star, keep, hole_weight=self.hparams.hole_weight)

        yt = self.sde.sample(y0, mu_y, steps, torch.randn_like(y0))
        if self.hparams.target == "eq24":
            y_star = structure_guided_target(self.sde, self.structure_sde, xt, x0, mu_x, y0, mu_y, steps)
        else:
            y_star = self.sde.optimal_reverse(yt, y0, mu_y, steps)  # Eq 4
        if "texture" in networks:
            y_pred = self.sde.reverse_mean(yt, mu_y, self.net(yt, mu_y, self.times[steps], x_star), steps)
            texture_loss = l1_weighted(y_pred, y_star, keep, hole_weight=self.hparams.hole_weight)  # Eq 13
        if "discriminator" in networks:
            d_loss = self.discriminator_loss(y_star, yt, x_star, keep, self.discriminator_steps(steps))
        return structure_loss, texture_loss, d_loss

    def discriminator_steps(self, steps):
        """The time the discriminator is told: t (official code) or t − 1 (the paper's notation)."""
        return steps if self.hparams.discriminator_time == "t" else steps - 1

    def discriminator_loss(self, y_prev, yt, x_prev, keep, t_prev) -> torch.Tensor:
        """Eq 14 (BCE: the pair at t − 1 is real, y_t with x_{t−1} fake) + λ_tri · Eq 15 (triplet on the scores,
        anchor ȳ_{t−1} = y_{t−1}·M + y_t·(1 − M), M = keep).

        `triplet_form`: the official training code's discriminator returns scores of shape [B, 1], so its
        `nn.TripletMarginLoss()` sees B one-dimensional triplets and averages them (`per_image`, the default —
        measured by running it at batch 3: tests/parity/fixtures/strdiffusion_dloss.json). `batch_vector` reads
        the B scores as one B-dimensional triplet (the distances are norms over the batch), the other reading of
        Eq 15; it is there for comparison."""
        d = self.discriminator
        positive = d(self.times[t_prev], y_prev, x_prev)
        negative = d(self.times[t_prev], yt, x_prev)
        anchor = d(self.times[t_prev], y_prev * keep + yt * (1 - keep), x_prev)
        dis = (F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive))
               + F.binary_cross_entropy_with_logits(negative, torch.zeros_like(negative)))
        shape = (-1, 1) if self.hparams.triplet_form == "per_image" else (1, -1)  # [B, 1] scores upstream
        tri = F.triplet_margin_loss(anchor.view(shape), positive.view(shape), negative.view(shape),
                                    margin=self.hparams.triplet_margin)
        return dis + self.hparams.lambda_tri * tri  # Eq 16

    def training_step(self, batch, batch_idx):
        """One step of each network named in `train_networks` (all three by default). Upstream trains texture,
        structure and discriminator in three separate runs, and none of the three losses depends on another
        network's output (the texture is guided by the optimal structure state x*_{t−1}, the discriminator
        scores targets), so a run may train the texture alone from a fixed structure net and discriminator.
        A network left out still gets its (gradient-free, so parameter-free) optimiser step: Lightning counts
        three optimiser steps per batch either way, and `max_steps`, the EMA and the schedule keep their meaning."""
        y0, keep = to_unit(batch["image"], self.batch_masks(batch["image"]))
        trained = set(self.hparams.train_networks)
        structure_loss, texture_loss, d_loss = self.losses(y0, keep, self.random_steps(len(y0), y0.device),
                                                           networks=trained)
        opt_texture, opt_structure, opt_d = self.optimizers()
        for name, opt, loss, params in (("structure", opt_structure, structure_loss, self.structure_net.parameters()),
                                        ("texture", opt_texture, texture_loss, self.net.parameters()),
                                        ("discriminator", opt_d, d_loss, self.discriminator.parameters())):
            opt.zero_grad()
            if name in trained:
                self.manual_backward(loss, inputs=list(params))
            opt.step()
        for decay in self.lr_schedulers():
            decay.step()
        logged = {"train/loss": ("texture", texture_loss), "train/structure_loss": ("structure", structure_loss),
                  "train/d_loss": ("discriminator", d_loss)}
        self.log_dict({key: loss for key, (name, loss) in logged.items() if name in trained}, prog_bar=True)
        return texture_loss

    def configure_optimizers(self):
        lr = self.hparams.lr
        optimizers = [torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.9, 0.99)),
                      torch.optim.Adam(self.structure_net.parameters(), lr=lr, betas=(0.9, 0.99)),
                      torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.99))]
        return optimizers, [self.lr_decay_for(opt) for opt in optimizers]

    def update_ema(self) -> None:
        step = self.global_step // 3  # manual optimisation: Lightning counts each of the three steps
        ema_pytorch_update(self.ema, self.net, step, self.hparams.ema_decay)
        ema_pytorch_update(self.structure_ema, self.structure_net, step, self.hparams.ema_decay)

    # ---- sampling: the official test code (HEAD), Algorithm 1's resampling with its accept rule ----------------
    @torch.inference_mode()
    def inpaint(self, image, mask, generator=None):
        """Early stage t = T … int(0.4T): structure and texture steps, resampling every `jump`-th t; late stage
        t < int(0.4T): texture only, guided by its own channel mean. One call per network per step."""
        y0, keep = to_unit(image, mask)
        mu_y = y0 * keep
        x0_known, mu_x = self.structures(y0, keep, training=False)
        texture_net = self.inference_net().eval()
        structure_net = (self.structure_ema.module if self.training_happened else self.structure_net).eval()
        T, boundary = self.sde.T, int(self.hparams.early_stage * self.sde.T)
        self.nfe, self.discriminator_evals = 0, 0

        def noise(shape, gens):
            return per_sample_randn(shape, gens, y0.device)

        def structure_step(x, t, gens):  # Eq 10 in sampling: x_{t−1} from x_t
            self.nfe += 1
            return self.structure_sde.reverse_step(x, mu_x, structure_net(x, mu_x, self.times[t]), t,
                                                   noise(x.shape, gens))

        def texture_step(y, x_guide, t, gens):  # the texture's reverse step, guided through SPADE
            self.nfe += 1
            return self.sde.reverse_step(y, mu_y, texture_net(y, mu_y, self.times[t], x_guide), t,
                                         noise(y.shape, gens))

        def score(y, x, t):  # the discriminator sees the texture's known region and the structure
            self.discriminator_evals += 1
            return self.discriminator(self.times[self.discriminator_steps(t)], y * keep, x, group=1).view(-1)

        y = mu_y + self.sde.max_sigma * noise(y0.shape, generator)  # noise_state of μ_y, then of μ_x
        x = mu_x + self.sde.max_sigma * noise(mu_x.shape, generator)
        for t in range(T, boundary - 1, -1):
            forked = _fork(generator)
            x_known = self.structure_sde.sample(x0_known, mu_x, t - 1, noise(mu_x.shape, generator))
            x = keep * x_known + (1 - keep) * x  # reset the known structure from a forward sample at t − 1
            x_prev = structure_step(x, t, generator)
            y_prev = texture_step(y, x_prev, t, generator)  # guided by the structure before the next reset
            if self.resampling_at(t):
                x_prev, y_prev = self.resample(x_prev, y_prev, y, x_known, mu_x, keep, t, structure_step, texture_step,
                                               score, forked)
            y, x = y_prev, keep * x_known + (1 - keep) * x_prev
        for t in range(boundary - 1, 0, -1):
            y = texture_step(y, y.mean(dim=1, keepdim=True), t, generator)
        self.aux_nfe = {"discriminator": self.discriminator_evals}
        return from_unit(y)

    def resampling_at(self, t: int) -> bool:
        return bool(self.hparams.resampling and self.resampling["u_max"] > 1 and t % self.resampling["jump"] == 0)

    def resample(self, x_prev, y_prev, y_t, x_known, mu_x, keep, t, structure_step, texture_step, score, gens):
        """Algorithm 1 lines 4–16 at step t → t − 1, as the official test code: `re` forward steps from the
        structure x_{t−1} with θ_{t−1+j} (Eq 17), back down with the known structure reset before each step, the
        texture re-denoised from y_t under the new structure, and the pair scored against the fixed Δ."""
        steps = min(self.resampling["re"], self.sde.T - t + 1)
        delta = score(y_prev, x_prev, t)
        active = torch.ones_like(delta, dtype=torch.bool)
        for i in range(1, self.resampling["u_max"]):
            x_new = x_prev
            for j in range(steps):  # forward: state t − 1 + j → t + j
                x_new = self.structure_sde.forward_step(x_new, mu_x, t - 1 + j,
                                                        per_sample_randn(x_new.shape, gens, x_new.device))
            for z in range(steps - 1, -1, -1):
                x_new = structure_step(keep * x_known + (1 - keep) * x_new, t + z, gens)
            y_new = texture_step(y_t, x_new, t, gens)
            accept, average = resampling_decision(self.hparams.accept, i, self.resampling["u_min"],
                                                  score(y_new, x_new, t) < delta)
            accept, average = accept & active, average & active
            x_prev = torch.where(_image(accept, x_prev), x_new, torch.where(_image(average, x_prev),
                                                                            (x_prev + x_new) / 2, x_prev))
            y_prev = torch.where(_image(accept, y_prev), y_new, torch.where(_image(average, y_prev),
                                                                            (y_prev + y_new) / 2, y_prev))
            active = accept | average
            if not bool(active.any()):
                break
        return x_prev, y_prev

    # ---- weights -----------------------------------------------------------------------------------------------
    def warm_start_companions(self, texture_path) -> None:
        """Fill the structure network (and its EMA) and the discriminator from the files `export_weights` wrote
        beside `texture_path` (strdiffusion[_tiny].safetensors → strdiffusion_structure[_tiny], _discriminator)."""
        texture_path = Path(texture_path)
        for role, net in (("structure", self.structure_net), ("discriminator", self.discriminator)):
            path = texture_path.with_name(texture_path.name.replace("strdiffusion", f"strdiffusion_{role}", 1))
            if path == texture_path or not path.exists():
                raise FileNotFoundError(f"warm start: StrDiffusion's {role} network {path} is missing; it is "
                                        f"written beside {texture_path.name} by `inpaint-bench train strdiffusion`")
            load_into(net, unet_state(read_state(path), net), source=str(path))
        self.structure_ema.module.load_state_dict(self.structure_net.state_dict())

    def export_weights(self, folder, tiny: bool, meta: dict):
        suffix = "_tiny" if tiny else ""
        path = export_unet(self.inference_net(), folder / f"strdiffusion{suffix}.safetensors", meta)
        structure = self.structure_ema.module if self.training_happened else self.structure_net
        export_unet(structure, folder / f"strdiffusion_structure{suffix}.safetensors", {**meta, "T": self.sde.T})
        export_unet(self.discriminator, folder / f"strdiffusion_discriminator{suffix}.safetensors", meta)
        return path

    def describe(self) -> dict:
        return {**super().describe(), "target": self.hparams.target, "resampling": self.hparams.resampling,
                **self.resampling, "accept": self.hparams.accept, "early_stage": self.hparams.early_stage}

