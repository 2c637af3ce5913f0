"""Two CPU processes (gloo) over an odd number of images, with a padding duplicate, equal one process."""

import json
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

N_IMAGES = 7
NAMES = ["psnr", "ssim", "psnr_hole", "lpips", "fid"]


def data():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(N_IMAGES, 3, 32, 32, generator=g) * 2 - 1
    pred = (target + 0.4 * (torch.rand(N_IMAGES, 3, 32, 32, generator=g) * 2 - 1)).clamp(-1, 1)
    mask = torch.zeros(N_IMAGES, 1, 32, 32)
    mask[:, :, 8:24, 8:24] = 1
    return pred, target, mask


def run(indices: list[list[int]]):
    from inpaint_bench.metrics import MetricSuite

    pred, target, mask = data()
    suite = MetricSuite(NAMES, mode="legacy_pytorch", untrained=True)
    for batch in indices:
        idx = torch.tensor(batch)
        suite.update(pred[idx], target[idx], mask[idx], idx)
    return suite.compute(), suite.count()


def _worker(rank, port, out):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    shard = list(range(rank, N_IMAGES, 2))  # 4 images on rank 0, 3 on rank 1
    if rank == 1:
        shard.append(0)  # what DistributedSampler padding does: image 0 a second time
    values, count = run([shard[:2], shard[2:]])
    if rank == 0:
        with open(out, "w") as f:
            json.dump({"values": values, "count": count}, f)
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    single, single_count = run([[0, 1, 2], [3, 4, 5, 6]])
    out = tmp_path / "ddp.json"
    mp.spawn(_worker, args=(free_port(), str(out)), nprocs=2, join=True)
    ddp = json.loads(out.read_text())
    assert single_count == ddp["count"] == N_IMAGES
    for name in ("psnr", "ssim", "psnr_hole"):
        assert ddp["values"][name] == single[name]  # float64, sorted by index: bit-identical
    for name in ("lpips", "fid"):
        assert ddp["values"][name] == pytest.approx(single[name], rel=1e-6)
