import pytest
import torch

from inpaint_bench import methods
from inpaint_bench.methods import InpaintMethod, MethodOutputError, run_inpaint


class Peek(InpaintMethod):
    """Returns what it was given (plus a drift of 0.5 everywhere), remembering its input."""

    def inpaint(self, image, mask, generator=None):
        self.seen = image.clone()
        return (image + 0.5).clamp(-1, 1)


def batch():
    image = torch.rand(2, 3, 8, 8) * 2 - 1
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, :4] = 1
    return image, mask


def test_runner_hides_the_hole_and_pastes_known_region():
    image, mask = batch()
    m = Peek()
    out, drift = run_inpaint(m, image, mask)
    assert m.seen[:, :, :4].eq(0).all()  # hole zeroed before the call
    assert torch.equal(out[:, :, 4:], image[:, :, 4:])  # known region pasted back exactly
    assert torch.allclose(out[:, :, :4], torch.full_like(out[:, :, :4], 0.5))
    expected = ((image + 0.5).clamp(-1, 1) - image).abs()[:, :, 4:].mean((1, 2, 3))
    assert torch.allclose(drift, expected)


def test_runner_rejects_bad_outputs():
    image, mask = batch()

    class Shrinks(InpaintMethod):
        def inpaint(self, image, mask, generator=None):
            return image[:, :, :4]

    class Nans(InpaintMethod):
        def inpaint(self, image, mask, generator=None):
            return image * float("nan")

    with pytest.raises(MethodOutputError, match="Shrinks"):
        run_inpaint(Shrinks(), image, mask)
    with pytest.raises(MethodOutputError, match="NaN"):
        run_inpaint(Nans(), image, mask)


def test_registry_builds_mean_fill_and_rejects_unknowns():
    assert "mean_fill" in methods.names()
    m = methods.build("mean_fill")
    image, mask = batch()
    out, drift = run_inpaint(m, image, mask)
    expected = image[:, :, 4:].mean((2, 3))
    assert torch.allclose(out[:, :, 0, 0], expected, atol=1e-6)
    assert drift.abs().max() == 0 and m.nfe == 0
    with pytest.raises(KeyError, match="mean_fill"):
        methods.build("nope")
    with pytest.raises(TypeError, match="valid keys"):
        methods.build("mean_fill", steps=3)


def test_cli_doctor_runs(capsys):
    from inpaint_bench.cli import main

    assert main(["doctor"]) == 0
    assert "tiny" in capsys.readouterr().out


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, inpaint_bench; print('torch' in sys.modules, 'lightning' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == [
        "False", "False"]


@pytest.mark.parametrize("name", ["telea", "navier_stokes"])
def test_opencv_baselines_fill_smoothly_and_keep_known_pixels(name):
    # a smooth horizontal ramp: diffusion-based inpainting should continue it inside the hole
    ramp = torch.linspace(-0.8, 0.8, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32).contiguous()
    mask = torch.zeros(1, 1, 32, 32)
    mask[:, :, 12:20, 12:20] = 1
    out, drift = run_inpaint(methods.build(name), ramp, mask)
    assert drift.max() < 1 / 127.5 + 1e-6  # only uint8 rounding outside the hole
    hole_error = (out - ramp).abs()[:, :, 12:20, 12:20].mean()
    mean_fill_error = (methods.build("mean_fill").inpaint(ramp * (1 - mask), mask) - ramp).abs()[:, :, 12:20, 12:20].mean()
    assert hole_error < 0.5 * mean_fill_error
