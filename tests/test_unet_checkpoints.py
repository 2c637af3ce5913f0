"""The ADM UNet's key layout and the loaders for the official checkpoint formats."""

import pickle

import pytest
import torch

from inpaint_bench.nets.checkpoints import CheckpointError, load_unet, read_state
from inpaint_bench.nets.unet import UNetConfig, UNetModel

# The official 256² unconditional layout at a smaller width: parameter names do not depend on the width.
SMALL_ADM = UNetConfig(image_size=64, model_channels=32, out_channels=6, num_res_blocks=2,
                       attention_resolutions=(8, 16, 32), channel_mult=(1, 1, 2, 2, 4, 4), num_head_channels=32)


def official_keys(learn_sigma=True):
    with torch.device("meta"):
        return set(UNetModel(UNetConfig.adm256_uncond(learn_sigma)).state_dict())


def test_official_layout_size_and_keys():
    with torch.device("meta"):
        full = UNetModel(UNetConfig.adm256_uncond())
    assert sum(p.numel() for p in full.parameters()) == 552_814_086  # guided-diffusion 256×256 uncond
    keys = official_keys()
    for k in ("time_embed.0.weight", "input_blocks.0.0.weight", "input_blocks.3.0.in_layers.2.weight",
              "input_blocks.10.1.qkv.weight", "middle_block.1.proj_out.weight", "output_blocks.17.0.skip_connection.weight",
              "out.2.weight"):
        assert k in keys
    assert set(UNetModel(SMALL_ADM).state_dict()) == keys


def test_guided_diffusion_checkpoint_loads_into_a_three_channel_net(tmp_path):
    torch.manual_seed(0)
    state = UNetModel(SMALL_ADM).state_dict()
    path = tmp_path / "256x256_diffusion_uncond.pt"
    torch.save(state, path)
    three = {**SMALL_ADM.to_dict(), "out_channels": 3}
    net = load_unet(path, config=three)
    assert torch.equal(net.out[2].weight, state["out.2.weight"][:3])  # ε half kept, learned σ dropped
    assert torch.equal(net.input_blocks[10][1].qkv.weight, state["input_blocks.10.1.qkv.weight"])


def test_i2sb_checkpoint_with_prefix_and_ema(tmp_path):
    torch.manual_seed(1)
    cfg = {**SMALL_ADM.to_dict(), "out_channels": 3}
    ref = UNetModel(UNetConfig(**cfg))
    net_state = {f"diffusion_model.{k}": v for k, v in ref.state_dict().items()}
    shadow = [torch.randn_like(p) for p in ref.parameters()]
    path = tmp_path / "latest.pt"
    torch.save({"net": net_state, "ema": {"decay": 0.99, "num_updates": 7, "shadow_params": shadow},
                "optimizer": {}, "sched": None}, path)
    with_ema = load_unet(path, config=cfg)
    assert torch.equal(next(with_ema.parameters()), shadow[0])
    raw = load_unet(path, config=cfg, use_ema=False)
    assert torch.equal(raw.time_embed[0].weight, ref.time_embed[0].weight)


def test_bad_checkpoints_are_reported(tmp_path):
    state = UNetModel(SMALL_ADM).state_dict()
    del state["middle_block.1.qkv.weight"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"1 missing \[middle_block.1.qkv.weight\], 1 unexpected"):
        load_unet(path, config=SMALL_ADM)

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(CheckpointError, match="weights_only"):
        read_state(evil)


def test_legacy_attention_order_matches_the_einsum_form():
    from inpaint_bench.nets.unet import AttentionBlock

    torch.manual_seed(0)
    block = AttentionBlock(64, num_head_channels=32)
    torch.nn.init.normal_(block.proj_out.weight)
    x = torch.randn(2, 64, 4, 4)
    # guided-diffusion QKVAttentionLegacy, written out
    b, c = 2, 64
    qkv = block.qkv(block.norm(x.reshape(b, c, -1)))
    q, k, v = qkv.reshape(b * 2, 3 * 32, 16).split(32, dim=1)
    scale = 1 / 32**0.25
    w = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
    h = torch.einsum("bts,bcs->bct", w, v).reshape(b, c, 16)
    expected = (x.reshape(b, c, -1) + block.proj_out(h)).reshape_as(x)
    assert torch.allclose(block(x), expected, atol=1e-5)
