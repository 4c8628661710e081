#!/usr/bin/python3
"""Inputs of the banded-ridge and big-Y encoding rows (issue 20), as .npy files both sides read.

  make_banded_data.py OUTDIR [--targets 5000] [--features 512] [--samples 4000] [--test 1000]
      banded_x{0,1}.npy (samples+test, features) float32: two feature spaces
      banded_y.npy (samples+test, targets) float32: half the targets driven by space 0, half
      by space 1, with per-target signal scales over two decades
      banded_gammas.npy (10, 2): the fixed candidate list both sides search; banded_alphas.npy
  make_banded_data.py OUTDIR --bigy 200000 [--samples 4000] [--features 1024]
      bigy_x.npy (samples, features) and bigy_y.npy (samples, targets) float32, Y written
      through a memory map in column chunks (Python never holds it whole).
"""
import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--targets", type=int, default=5000)
    ap.add_argument("--features", type=int, default=512)
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--bigy", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(2026)
    if a.bigy:
        n, p, t = a.samples, a.features, a.bigy
        x = rng.standard_normal((n, p), dtype=np.float32)
        np.save(os.path.join(a.out, "bigy_x.npy"), x)
        w = rng.standard_normal((p, 32), dtype=np.float32) / np.float32(np.sqrt(p))
        latent = x @ w
        y = np.lib.format.open_memmap(os.path.join(a.out, "bigy_y.npy"), mode="w+", dtype=np.float32, shape=(n, t))
        step = 5000
        for c0 in range(0, t, step):
            b = min(step, t - c0)
            mix = rng.standard_normal((32, b), dtype=np.float32)
            y[:, c0:c0 + b] = latent @ mix + rng.standard_normal((n, b), dtype=np.float32) * np.float32(3.0)
        y.flush()
        del y
        return
    n, p, t = a.samples + a.test, a.features, a.targets
    xs = [rng.standard_normal((n, p), dtype=np.float32) for _ in range(2)]
    y = np.empty((n, t), dtype=np.float32)
    half = t // 2
    for k, (c0, c1) in enumerate([(0, half), (half, t)]):
        w = rng.standard_normal((p, c1 - c0), dtype=np.float32) / np.float32(np.sqrt(p))
        scale = (10.0 ** rng.uniform(-1.0, 1.0, c1 - c0)).astype(np.float32)
        y[:, c0:c1] = (xs[k] @ w) * scale + rng.standard_normal((n, c1 - c0), dtype=np.float32)
    for k in range(2):
        np.save(os.path.join(a.out, f"banded_x{k}.npy"), xs[k])
    np.save(os.path.join(a.out, "banded_y.npy"), y)
    np.save(os.path.join(a.out, "banded_meta.npy"), np.array([a.samples, a.test], dtype=np.int64))
    g = np.array([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9], [0.99, 0.01], [0.01, 0.99], [0.7, 0.3], [0.3, 0.7],
                  [0.999, 0.001], [0.001, 0.999], [0.8, 0.2]])
    np.save(os.path.join(a.out, "banded_gammas.npy"), g)
    np.save(os.path.join(a.out, "banded_alphas.npy"), np.logspace(-2, 5, 10))


if __name__ == "__main__":
    main()
