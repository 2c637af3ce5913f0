import pytest
import torch

from inpaint_bench.convention import ConventionError, check_image, check_mask


def good():
    image = torch.rand(2, 3, 8, 8) * 2 - 1
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, 2:6, 2:6] = 1
    return image, mask


def test_accepts_the_convention():
    image, mask = good()
    assert check_image(image) is image
    assert check_mask(mask, image) is mask


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.rand(3, 8, 8), r"\[B, 3, H, W\]"),
        (torch.rand(2, 1, 8, 8), r"\[B, 3, H, W\]"),
        (torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8), "float"),
        (torch.rand(2, 3, 8, 8) * 255, "looks like"),
        (torch.full((2, 3, 8, 8), float("nan")), "NaN"),
    ],
)
def test_rejects_bad_images(bad, match):
    with pytest.raises(ConventionError, match=match):
        check_image(bad)


def test_rejects_bad_masks():
    image, mask = good()
    with pytest.raises(ConventionError, match=r"\[B, 1, H, W\]"):
        check_mask(mask.expand(2, 3, 8, 8), image)
    with pytest.raises(ConventionError, match="binary"):
        check_mask(mask * 0.5, image)
    with pytest.raises(ConventionError, match="dtype"):
        check_mask(mask.bool(), image)
    with pytest.raises(ConventionError, match="does not match"):
        check_mask(mask[:, :, :4], image)
    with pytest.raises(ConventionError, match="inverted"):
        check_mask(torch.ones(2, 1, 8, 8), image)
    # 1 = keep masks of a small hole look ~ 75 % "hole" and pass; a tiny hole inverted is caught:
    tiny_hole_keep = torch.ones(2, 1, 8, 8)
    tiny_hole_keep[:, :, 0, 0] = 0
    with pytest.raises(ConventionError, match="1 - mask"):
        check_mask(tiny_hole_keep, image)
