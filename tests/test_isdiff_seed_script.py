"""benchmarks/isdiff_seed.py, issue 25's seed-or-base diagnosis: the oracle seed is the scene itself, the mean
seed the known region's mean colour, and a scene that is not in the test split stops the run."""

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "isdiff_seed.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("isdiff_seed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def holes(n: int, size: int = 32) -> torch.Tensor:
    mask = torch.zeros(n, 1, size, size)
    mask[..., 8:24, 8:24] = 1
    return mask


def test_truth_seed_is_the_scene_whose_known_pixels_the_input_has(script):
    truth = script.scenes(6, 32)
    image, mask = truth[[4, 1]].clone(), holes(2)
    image[mask.expand_as(image).bool()] = 0.0  # the hole as the method sees it
    seed = script.seed_function("truth", None, truth)(image, mask, 3, 0.05, None)
    assert torch.equal(seed, truth[[4, 1]])


def test_truth_seed_refuses_an_input_that_is_no_test_scene(script):
    truth = script.scenes(4, 32)
    image = script.scenes(5, 32)[4:]  # scene 4 is not among the first four
    with pytest.raises(SystemExit, match="no test scene matches"):
        script.seed_function("truth", None, truth)(image, holes(1), 3, 0.05, None)


def test_mean_seed_fills_the_hole_with_the_known_mean_colour(script):
    image, mask = script.scenes(2, 32), holes(2)
    seed = script.seed_function("meanfill", None, None)(image, mask, 3, 0.05, None)
    keep = mask.expand_as(image) == 0
    assert torch.equal(seed[keep], image[keep])
    for b in range(2):
        known_mean = image[b][:, ~mask[b, 0].bool()].mean(1)
        torch.testing.assert_close(seed[b, :, 8:24, 8:24], known_mean[:, None, None].expand(3, 16, 16))
