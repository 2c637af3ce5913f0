"""StrDiffusion: structure-guided texture diffusion (Liu et al., CVPR 2024), on IR-SDE.

Official code: github.com/htyjers/StrDiffusion. Equation map (`../shared/papers/001_…`):
  Eqs 1–4   mean-reverting SDE for the texture y        diffusion/irsde.py (shared with IR-SDE)
  Eq 10     optimal structure state x*_{t−1}            IRSDESchedule.optimal_reverse on the structure schedule δ
  Eqs 11/24 structure-guided texture target ỹ*_{t−1}   diffusion/irsde.py: structure_guided_target
  Eq 12     SPADE after each downsampling stage         nets/irsde_unet.py: SPADEBlock (guide_channels=1)
  Eq 13     texture loss, L1 weighted 1 hole / 10 known StrDiffusion.texture_loss
  Eqs 14–16 discriminator L_dis + λ_tri L_tri           StrDiffusion.discriminator_loss, nets/discriminator.py
  Alg 1     adaptive resampling                         StrDiffusion.resample / adaptive_resample

Choices where the paper and code are silent or disagree (all parameters):
- Structure: Canny edges (scikit-image, σ = `canny_sigma`·H/256, so σ = 3 at 256²) of the gray image quantised to
  8 bits, as the official `gray_to_edge`. x0 = edges of the full image (training only); μ_x = edges of the masked
  image (white hole) times the keep mask, computed the same way in training and sampling. The structure SDE uses
  the texture's schedule (δ = θ).
- `target="eq24"` (default) trains the texture net on the paper's Eq 24; the official training script uses the
  plain IR-SDE target (Eq 4): `target="eq4"`. The target matters for training only. The shipped tiny checkpoint
  was trained with `eq4` (and EMA 0.95, for 200 steps): with `eq24` the tiny texture net had learned nothing measurable after 200 CPU steps
  (Eq 24's target carries the structure's noise, which the texture net sees only through SPADE).
- The discriminator sees the full texture and the structure with the time index t − 1 (Sec 2.4.1). With the
  official test code's known-region masking the triplet anchor ȳ_{t−1} would equal the positive (Eq 15
  degenerates), so we do not mask. Positive pair (y*_{t−1}, x*_{t−1}), negative (y_t, x*_{t−1}); α = 1 (torch's
  `TripletMarginLoss` default, as the official code), λ_tri = 1.
- Adaptive resampling (Alg 1) runs in the early stage t ∈ (`resample_until`·T, T] on every `resample`-th step:
  Δ = D(y_{t−1}, x_{t−1}); each of up to `u_max` − 1 iterations re-noises x_{t−1} forward `jump` SDE steps
  (Eq 17, repeated), denoises it back, re-denoises the texture from y_t under the new structure and scores the
  pair. Iterations u < `u_min` are accepted unconditionally (and move Δ to their score), as the official code;
  later ones are accepted when D(new pair) < Δ, else resampling stops for that image. Defaults follow the
  official table for T = 400 (jump 5, resample 5, u_max 6, u_min 3) and T = 100 (2, 2, 25, 4); another T takes
  the set of the nearer of the two. The official code's guidance-style mixing of scores (its w) is not in the
  paper and is left out. Every denoiser evaluation counts in `nfe`; discriminator calls are counted apart.
- The known region of the structure state is reset to a forward sample of μ_x after each step (official code).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..diffusion import per_sample_randn
from ..diffusion.irsde import IRSDESchedule, structure_guided_target
from ..nets.checkpoints import load_network
from ..nets.discriminator import DiscriminatorConfig, TimeDiscriminator
from ..nets.irsde_unet import ConditionalUNet, IRUNetConfig
from .ema import make_ema
from .irsde import MeanRevertingMethod, from_unit, l1_weighted, to_unit, white_hole
from .registry import register
from .training import export_unet, resolve_checkpoint

RESAMPLING_DEFAULTS = {400: {"jump": 5, "resample": 5, "u_max": 6, "u_min": 3},
                       100: {"jump": 2, "resample": 2, "u_max": 25, "u_min": 4}}
TINY_TEXTURE = IRUNetConfig(3, 3, nf=8, depth=3, guide_channels=1, attn_heads=2, attn_dim_head=8)
TINY_STRUCTURE = IRUNetConfig(1, 1, nf=8, depth=3, attn_heads=2, attn_dim_head=8)
TINY_DISCRIMINATOR = DiscriminatorConfig(nc=4, ngf=8, t_emb_dim=32)
KNOWN_WEIGHT = 10.0  # texture loss weight on the known region (hole: 1)


def canny_structure(image01: torch.Tensor, sigma: float = 3.0) -> torch.Tensor:
    """Canny edge map [B, 1, H, W] in {0, 1} of the gray image; σ is given at 256² and scaled with H."""
    from skimage.color import rgb2gray
    from skimage.feature import canny

    scaled = sigma * image01.shape[-1] / 256
    rgb = image01.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().double().numpy()
    edges = [canny(np.round(rgb2gray(im) * 255).astype(np.uint8), sigma=scaled) for im in rgb]
    return torch.from_numpy(np.stack(edges)[:, None].astype(np.float32)).to(image01.device)


def adaptive_resample(x_prev, y_prev, delta, propose, score, u_max: int, u_min: int):
    """Algorithm 1's inner loop for a batch, image by image.

    propose(u, x) -> (x̃_{t−1}, ỹ_{t−1}) from the current (last accepted) structure x_{t−1} (line 6 uses the
    updated x_{t−1}); score(y, x) -> [B]. Iteration u (1 … u_max − 1) is accepted for an image
    still resampling when u < u_min or S < Δ; a rejected image stops. Returns (x, y, Δ, iterations run).
    """
    active = torch.ones(len(x_prev), dtype=torch.bool, device=x_prev.device)
    runs = 0
    for u in range(1, u_max):
        x_new, y_new = propose(u, x_prev)
        s = score(y_new, x_new)
        runs += 1
        accept = active & ((s < delta) | (u < u_min))
        x_prev = torch.where(accept.view(-1, 1, 1, 1), x_new, x_prev)
        y_prev = torch.where(accept.view(-1, 1, 1, 1), y_new, y_prev)
        delta = torch.where(accept & (u < u_min), s, delta)
        active = accept
        if not bool(active.any()):
            break
    return x_prev, y_prev, delta, runs


def _fork(generators):
    """Fresh per-image generators seeded from `generators` (one draw each): the main streams advance by the same
    amount whatever the resampling does, so every image's result is independent of the rest of its batch."""
    if generators is None:
        return None
    return [torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=g))) for g in generators]


@register("strdiffusion")
class StrDiffusion(MeanRevertingMethod):
    """Structure-guided texture diffusion with discriminator-driven adaptive resampling."""

    tiny_name = "strdiffusion"
    official_net = IRUNetConfig.official_texture()
    tiny_net = TINY_TEXTURE

    def __init__(self, checkpoint="tiny", structure_checkpoint="tiny", discriminator_checkpoint="tiny",
                 structure_net: dict | None = None, discriminator_net: dict | None = None, T: int = 100,
                 target: str = "eq24", canny_sigma: float = 3.0, resampling: bool = True,
                 resample_until: float = 0.4, jump: int | None = None, resample: int | None = None,
                 u_max: int | None = None, u_min: int | None = None, structure_reset: bool = True,
                 lambda_tri: float = 1.0, triplet_margin: float = 1.0, **sde_kwargs):
        super().__init__(checkpoint=checkpoint, T=T, **sde_kwargs)
        self.save_hyperparameters()
        if target not in ("eq24", "eq4"):
            raise ValueError(f"target must be 'eq24' (paper) or 'eq4' (official training code), got {target!r}")
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
        given = {"jump": jump, "resample": resample, "u_max": u_max, "u_min": u_min}
        self.resampling = {k: official[k] if v is None else v for k, v in given.items()}
        if checkpoint is None:  # training: three networks, three optimisers
            self.automatic_optimization = False
        self.discriminator_evals = 0

    # ---- structure ---------------------------------------------------------------------------------------------
    def structures(self, y0, keep, full: bool):
        """(x0, μ_x): edges of the full image (training) and of the masked image, known region only."""
        mu_x = canny_structure(white_hole(y0, keep), self.hparams.canny_sigma) * keep
        return (canny_structure(y0, self.hparams.canny_sigma) if full else None), mu_x

    # ---- training: Eq 10 (structure), Eqs 13/24 (texture), Eqs 14–16 (discriminator) ----------------------------
    def losses(self, y0, keep, steps):
        mu_y = white_hole(y0, keep)
        x0, mu_x = self.structures(y0, keep, full=True)
        xt = self.structure_sde.sample(x0, mu_x, steps, torch.randn_like(x0))
        x_star = self.structure_sde.optimal_reverse(xt, x0, mu_x, steps)  # Eq 10
        x_pred = self.structure_sde.reverse_mean(xt, mu_x, self.structure_net(xt, mu_x, self.times[steps]), steps)
        structure_loss = (x_pred - x_star).abs().mean()

        yt = self.sde.sample(y0, mu_y, steps, torch.randn_like(y0))
        if self.hparams.target == "eq24":
            y_star = structure_guided_target(self.sde, self.structure_sde, xt, x0, mu_x, y0, mu_y, steps)
        else:
            y_star = self.sde.optimal_reverse(yt, y0, mu_y, steps)  # Eq 4
        y_pred = self.sde.reverse_mean(yt, mu_y, self.net(yt, mu_y, self.times[steps], x_star), steps)
        texture_loss = l1_weighted(y_pred, y_star, keep, KNOWN_WEIGHT)  # Eq 13
        d_loss = self.discriminator_loss(y_star, yt, x_star, keep, steps - 1)
        return structure_loss, texture_loss, d_loss

    def discriminator_loss(self, y_prev, yt, x_prev, keep, t_prev) -> torch.Tensor:
        """Eq 14 (BCE: the pair at t − 1 is real, y_t with x_{t−1} fake) + λ_tri · Eq 15 (triplet on the scores,
        anchor ȳ_{t−1} = y_{t−1}·M + y_t·(1 − M), M = keep)."""
        d = self.discriminator
        positive = d(self.times[t_prev], y_prev, x_prev)
        negative = d(self.times[t_prev], yt, x_prev)
        anchor = d(self.times[t_prev], y_prev * keep + yt * (1 - keep), x_prev)
        dis = (F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive))
               + F.binary_cross_entropy_with_logits(negative, torch.zeros_like(negative)))
        tri = F.triplet_margin_loss(anchor[:, None], positive[:, None], negative[:, None],
                                    margin=self.hparams.triplet_margin)
        return dis + self.hparams.lambda_tri * tri  # Eq 16

    def training_step(self, batch, batch_idx):
        y0, keep = to_unit(batch["image"], self.batch_masks(batch["image"]))
        structure_loss, texture_loss, d_loss = self.losses(y0, keep, self.random_steps(len(y0), y0.device))
        opt_texture, opt_structure, opt_d = self.optimizers()
        for opt, loss, params in ((opt_structure, structure_loss, self.structure_net.parameters()),
                                  (opt_texture, texture_loss, self.net.parameters()),
                                  (opt_d, d_loss, self.discriminator.parameters())):
            opt.zero_grad()
            self.manual_backward(loss, inputs=list(params))
            opt.step()
        self.log_dict({"train/loss": texture_loss, "train/structure_loss": structure_loss, "train/d_loss": d_loss},
                      prog_bar=True)
        return texture_loss

    def on_train_batch_end(self, *args):
        super().on_train_batch_end(*args)
        self.structure_ema.update_parameters(self.structure_net)

    def configure_optimizers(self):
        lr = self.hparams.lr
        return [torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.9, 0.99)),
                torch.optim.Adam(self.structure_net.parameters(), lr=lr, betas=(0.9, 0.99)),
                torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.99))]

    # ---- sampling: Algorithm 1 ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def inpaint(self, image, mask, generator=None):
        y0, keep = to_unit(image, mask)
        mu_y = white_hole(y0, keep)
        _, mu_x = self.structures(y0, keep, full=False)
        texture_net = self.inference_net().eval()
        structure_net = (self.structure_ema.module if self.training_happened else self.structure_net).eval()
        discriminator = self.discriminator.eval()
        T, shape_x = self.sde.T, mu_x.shape

        def noise(shape, gens=generator):
            return per_sample_randn(shape, gens, y0.device)

        def structure_step(x, t, gens):
            x = self.structure_sde.reverse_step(x, mu_x, structure_net(x, mu_x, self.times[t]), t,
                                                noise(shape_x, gens))
            if self.hparams.structure_reset:  # known region ← a forward sample of μ_x at t − 1
                known = self.structure_sde.sample(mu_x, mu_x, t - 1, noise(shape_x, gens))
                x = keep * known + (1 - keep) * x
            return x

        def texture_step(y, x_guide, t, gens):
            eps = texture_net(y, mu_y, self.times[t], x_guide)
            return self.sde.reverse_step(y, mu_y, eps, t, noise(y0.shape, gens))

        def score(y, x, t_prev):
            self.discriminator_evals += 1
            return discriminator(self.times[t_prev], y, x, group=1)

        x = mu_x + self.sde.max_sigma * noise(shape_x)
        y = mu_y + self.sde.max_sigma * noise(y0.shape)
        self.nfe, self.discriminator_evals = 0, 0
        for t in range(T, 0, -1):
            forked = _fork(generator)
            x_prev = structure_step(x, t, generator)  # Alg 1 line 2
            y_prev = texture_step(y, x_prev, t, generator)  # line 3
            self.nfe += 2
            if self.resampling_at(t):
                x_prev, y_prev = self.resample(x_prev, y_prev, y, mu_x, t, structure_step, texture_step, score, forked)
            x, y = x_prev, y_prev
        self.aux_nfe = {"discriminator": self.discriminator_evals}
        return from_unit(y)

    def resampling_at(self, t: int) -> bool:
        T, every = self.sde.T, self.resampling["resample"]
        return (self.hparams.resampling and self.resampling["u_max"] > 1 and t > self.hparams.resample_until * T
                and (T - t) % every == 0)

    def resample(self, x_prev, y_prev, yt, mu_x, t, structure_step, texture_step, score, gens):
        """Algorithm 1 lines 4–16 at step t → t − 1."""
        jump = min(self.resampling["jump"], self.sde.T - t + 1)

        def propose(u, x):
            for s in range(t, t + jump):  # Eq 17: forward from state t − 1 up to t − 1 + jump
                x = self.structure_sde.forward_step(x, mu_x, s,
                                                    per_sample_randn(x.shape, gens, x.device))
            for s in range(t - 1 + jump, t - 1, -1):  # … and back down to t − 1
                x = structure_step(x, s, gens)
            self.nfe += jump + 1
            return x, texture_step(yt, x, t, gens)  # line 8: the texture again from y_t

        delta = score(y_prev, x_prev, t - 1)  # line 4
        x_prev, y_prev, _, _ = adaptive_resample(x_prev, y_prev, delta, propose, lambda y, x: score(y, x, t - 1),
                                                 self.resampling["u_max"], self.resampling["u_min"])
        return x_prev, y_prev

    # ---- weights -----------------------------------------------------------------------------------------------
    def export_weights(self, folder, tiny: bool, meta: dict):
        suffix = "_tiny" if tiny else ""
        path = export_unet(self.inference_net(), folder / f"strdiffusion{suffix}.safetensors", meta)
        structure = self.structure_ema.module if self.training_happened else self.structure_net
        export_unet(structure, folder / f"strdiffusion_structure{suffix}.safetensors", {**meta, "T": self.sde.T})
        export_unet(self.discriminator, folder / f"strdiffusion_discriminator{suffix}.safetensors", meta)
        return path

    def describe(self) -> dict:
        return {**super().describe(), "target": self.hparams.target, "resampling": self.hparams.resampling,
                **self.resampling, "resample_until": self.hparams.resample_until}

