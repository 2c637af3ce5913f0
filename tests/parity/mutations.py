"""Break the suite on purpose and check that the parity tests notice: `python tests/parity/mutations.py i2sb`.

Each mutation replaces one line of the suite (a coefficient, a step list, a noise term, the moment of the
known-region reset, …), runs that family's parity tests, and restores the file. A mutation that no test catches
is printed as SURVIVED and the exit code is 1. Not part of the default test run (each mutation reruns pytest).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = "inpaint_bench/diffusion/bridge.py"
IRUNET = "inpaint_bench/nets/irsde_unet.py"
STRD = "inpaint_bench/methods/strdiffusion.py"
IRSDE = "inpaint_bench/methods/irsde.py"
UNIT = "tests/test_irsde_strdiffusion.py"
REPAINT = "inpaint_bench/methods/repaint.py"
ISDIFF = "inpaint_bench/methods/isdiff.py"
GAUSS = "inpaint_bench/diffusion/gaussian.py"  # a mutation may name the test file that should catch it

MUTATIONS = {
    "i2sb": [
        ("posterior weights of x0 and x_n swapped", BRIDGE,
         "x_prev = mu_x0 * x0_hat + mu_xn * x_n", "x_prev = mu_xn * x0_hat + mu_x0 * x_n"),
        ("step list as round(i·stride)", BRIDGE,
         "        taken.append(round(cursor))\n        cursor += stride", "        taken.append(round(len(taken) * stride))"),
        ("known-region noise dropped", BRIDGE,
         "known = x1 + _sqrt(var) * per_sample_randn(xt.shape, generators, xt.device)", "known = x1"),
        ("known region reset before the network call instead of after the step", BRIDGE,
         "        x0_hat = xt - std_n * eps_fn(xt, n)",
         "        xt = (1 - mask) * x1 + mask * xt if n < schedule.n - 1 else xt\n        x0_hat = xt - std_n * eps_fn(xt, n)"),
        ("schedule ramp over n/2 points (the old formula)", BRIDGE,
         "ramp = torch.linspace(BETA_MIN**0.5, (beta_max / n_timestep) ** 0.5, n_timestep, dtype=torch.float64).numpy()\n"
         "    return ramp[: n_timestep // 2]",
         "return torch.linspace(BETA_MIN**0.5, (beta_max / n_timestep) ** 0.5, n_timestep // 2, "
         "dtype=torch.float64).numpy()"),
    ],
    "irsde": [
        ("linear attention without the v / (h·w) scaling", IRUNET, "        v = v / (h * w)\n", ""),
        ("reverse step without its noise term", "inpaint_bench/diffusion/irsde.py",
         "return self.reverse_mean(xt, mu, noise_pred, t) - sigma * math.sqrt(self.dt) * noise",
         "return self.reverse_mean(xt, mu, noise_pred, t)"),
    ],
    "repaint": [
        ("undo step dropped (resampling re-noises nothing)", REPAINT,
         "x = G.undo_step(self.sched, x, t_next, self.noise(x, generators))", "self.noise(x, generators)"),
        ("known region injected at ᾱ_{t−1}", REPAINT,
         "G.q_sample(image, self.sched.abar(t), self.noise(image, generators))",
         "G.q_sample(image, self.sched.abar(max(t - 1, 0)), self.noise(image, generators))"),
        ("learned variance ignored (clipped posterior variance)", REPAINT,
         "x = G.ddpm_step(self.sched, x, x0, t, noise, var, guidance=grad)",
         "x = G.ddpm_step(self.sched, x, x0, t, noise, None, guidance=grad)"),
        ("classifier guidance dropped", REPAINT,
         "x = G.ddpm_step(self.sched, x, x0, t, noise, var, guidance=grad)",
         "x = G.ddpm_step(self.sched, x, x0, t, noise, var, guidance=None)"),
        ("guidance mean shift by σ instead of Σ = σ²", GAUSS,
         "mean = mean + torch.exp(log_var) * guidance", "mean = mean + torch.exp(0.5 * log_var) * guidance"),
        ("classifier fed the respaced step index, not the original timestep", REPAINT,
         "return log_prob_gradient(self.classifier, x, self.net_time(x, t, self.sched), labels,",
         "return log_prob_gradient(self.classifier, x, torch.full((len(x),), t), labels,"),
        ("class labels off by one into the network", "inpaint_bench/methods/ddpm_prior.py",
         "out = self.inference_net()(x, self.net_time(x, t, schedule), labels)",
         "out = self.inference_net()(x, self.net_time(x, t, schedule), None if labels is None else (labels + 1) % 1000)"),
        ("attention pool with heads split before q/k/v", "inpaint_bench/nets/classifier.py",
         "legacy_order=False))[:, :, 0]", "legacy_order=True))[:, :, 0]"),
        ("posterior mean coefficients swapped", GAUSS,
         "float(schedule.posterior_mean_coef1[t]) * x0 + float(schedule.posterior_mean_coef2[t]) * x_t",
         "float(schedule.posterior_mean_coef2[t]) * x0 + float(schedule.posterior_mean_coef1[t]) * x_t"),
        ("classifier scale 1.0 at the call site instead of classifier_scale", REPAINT,
         "                                 self.hparams.classifier_scale)", "                                 1.0)",
         "tests/test_guidance.py"),
    ],
    "respacing": [
        ("space_timesteps as round(i·stride) instead of the accumulated stride", GAUSS,
         "    return sorted(set(space_indices(n_timestep, count)))",
         "    stride = (n_timestep - 1) / (count - 1) if count > 1 else 1\n"
         "    return sorted({round(i * stride) for i in range(count)})"),
    ],
    "isdiff": [
        ("IS-Diff seed diffused to t_c instead of t_s", ISDIFF,
         "x = G.q_sample(seed[idx], base.schedule.abar(t_start), base.noise(seed[idx], gens))",
         "x = G.q_sample(seed[idx], base.schedule.abar(t_check), base.noise(seed[idx], gens))",
         "tests/test_training_free.py"),
    ],
    "ddnm": [
        ("range–null-space projection with the wrong sign", "inpaint_bench/methods/ddnm.py",
         "return x0_t - keep * (keep * x0_t - keep * image)", "return x0_t + keep * (keep * x0_t - keep * image)"),
        ("SVD update with η and √(1−η²) swapped", GAUSS,
         "out = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * math.sqrt(1 - eta**2) * eps",
         "out = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eta * eps"),
        ("simplified update without the squared ᾱ' (γ = √(1−ᾱ'))", GAUSS,
         "gamma = math.sqrt(1 - abar_prev**2)", "gamma = math.sqrt(1 - abar_prev)"),
        ("DDPM UNet timestep embedding with log(10⁴)/(d/2) (ADM's) instead of /(d/2 − 1)",
         "inpaint_bench/nets/ddpm_unet.py", "-(math.log(10000) / (half - 1))", "-(math.log(10000) / half)"),
        ("time travel re-noises the projected x̂0", "inpaint_bench/methods/ddnm.py",
         "x = G.q_sample(x0_t, s.abar(t_next), self.noise(x, generators))",
         "x = G.q_sample(x0_hat, s.abar(t_next), self.noise(x, generators))"),
    ],
    "strdiffusion": [
        ("texture μ_y with a white hole (IR-SDE's fill)", STRD, "        mu_y = y0 * keep\n        x0_known",
         "        mu_y = y0 * keep + (1 - keep)\n        x0_known"),
        ("MatchingLoss weights swapped (10 on the known region)", IRSDE,
         "weight = hole_weight * (1 - keep) + keep", "weight = (1 - keep) + hole_weight * keep", UNIT),
        ("structure stage ends one step early", STRD, "for t in range(T, boundary - 1, -1):",
         "for t in range(T, boundary, -1):"),
        ("official accept rule without the averaging branch", STRD, "return better, ~better",
         "return better, torch.zeros_like(better)"),
        ("re-noising with θ_{t+j} instead of θ_{t−1+j}", STRD, "mu_x, t - 1 + j,", "mu_x, t + j,"),
        ("discriminator triplet over the batch vector by default", STRD, 'triplet_form: str = "per_image"',
         'triplet_form: str = "batch_vector"'),
    ],
}


def run(family: str) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still restores the file (finally)
    survived = 0
    for name, rel, old, new, *target in MUTATIONS[family]:
        tests = target[0] if target else f"tests/parity/test_{family}_parity.py"
        path = ROOT / rel
        original = path.read_text()
        if old not in original:
            print(f"STALE     {name}: the line to break is no longer in {rel}")
            survived += 1
            continue
        path.write_text(original.replace(old, new, 1))
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", tests, "-q",
                                "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
        finally:
            path.write_text(original)
        failed = [line.split("::", 1)[1].split(" ")[0] for line in r.stdout.splitlines() if line.startswith("FAILED")]
        print(f"{'caught' if failed else 'SURVIVED':9} {name}: {len(failed)} failing: {', '.join(failed)}")
        survived += not failed
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1] if len(sys.argv) > 1 else "i2sb"))
