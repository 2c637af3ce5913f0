"""A reference cache many writers share (issue 28, item 3): processes asking for the same FID/KID reference or
`stats build` output at the same moment compute it once; the others wait for the lock and read the file."""

import multiprocessing as mp
import os
import time

import numpy as np
import torch

WRITERS = 4


def _ask_for_reference(home, log, out, barrier):
    os.environ["INPAINT_BENCH_HOME"] = str(home)
    from inpaint_bench.metrics.reference import reference_features
    from inpaint_bench.metrics.shapes_features import SHAPES

    def batches():  # consumed only by the process that computes: it says so, then takes its time
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        g = torch.Generator().manual_seed(0)
        yield torch.rand(6, 3, 32, 32, generator=g) * 2 - 1

    barrier.wait()  # every process asks at the same moment
    feats = reference_features(batches(), {"dataset": "race", "n": 6}, SHAPES)
    np.save(out, feats)


def _build_stats(home, folder, target, log, barrier):
    os.environ["INPAINT_BENCH_HOME"] = str(home)
    from inpaint_bench.metrics import reference

    original = reference.folder_batches

    def counted(*args, **kwargs):
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        yield from original(*args, **kwargs)

    reference.folder_batches = counted
    barrier.wait()
    reference.build_stats(folder, target, size=32, mode="shapes-features")


def _run_all(target, args_of):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=target, args=(*args_of(i), barrier)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]


def test_concurrent_askers_compute_a_reference_once_and_all_read_it(tmp_path):
    log = tmp_path / "computed.log"
    _run_all(_ask_for_reference, lambda i: (tmp_path / "home", log, tmp_path / f"out{i}.npy"))
    assert len(log.read_text().split()) == 1  # one computation, counted, not only one file
    outs = [np.load(tmp_path / f"out{i}.npy") for i in range(WRITERS)]
    assert all(np.array_equal(outs[0], o) for o in outs) and outs[0].shape == (6, 128)
    cache = list((tmp_path / "home" / "stats").glob("ref_race_*.npz"))
    assert len(cache) == 1 and not list((tmp_path / "home" / "stats").glob("*.tmp*"))


def test_concurrent_stats_builds_of_one_file_compute_once(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    log, target = tmp_path / "computed.log", tmp_path / "stats" / "ref.npz"
    _run_all(_build_stats, lambda i: (tmp_path / "home", folder, target, log))
    assert len(log.read_text().split()) == 1
    with np.load(target) as stats:
        assert stats["mu"].shape == (128,) and stats["sigma"].shape == (128, 128)
