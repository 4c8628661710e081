#!/usr/bin/python3
"""Writes the benchmark inputs of ../shared/BENCHMARKS.md as .npy files, so that b2m and
its peers read the same data.  Usage: make_data.py OUTDIR [--ridge-targets T]."""
import argparse
import os

import numpy as np


def save(d, name, a):
    np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(a))


def write_conv(d):
    """B2M-Conv: 2048 images 3 x 64 x 64 (NCHW rows), 100 classes, 100 brain targets that
    depend on the 8 x 8 block means of the image (own generator: the other inputs stay as
    they were)."""
    rng = np.random.default_rng(2025)
    n = 2048
    x = rng.standard_normal((n, 3 * 64 * 64), dtype=np.float32)
    save(d, "conv_x", x)
    save(d, "conv_labels", rng.integers(0, 100, n).astype(np.int64))
    pooled = x.reshape(n, 3, 8, 8, 8, 8).mean(axis=(3, 5)).reshape(n, 192)
    mix = rng.standard_normal((192, 100), dtype=np.float32) / np.float32(2.0)
    brain = np.tanh(pooled @ mix) + 0.5 * rng.standard_normal((n, 100), dtype=np.float32)
    save(d, "conv_brain", brain.astype(np.float32))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--ridge-targets", type=int, default=20000)
    ap.add_argument("--conv-only", action="store_true", help="write only the B2M-Conv inputs")
    ap.add_argument("--ridge-only", action="store_true", help="write only the ridge inputs (scaling curves)")
    ap.add_argument("--ridge-samples", type=int, default=4000, help="training rows of the ridge inputs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.ridge_only:
        write_ridge(a.out, np.random.default_rng(2024), a.ridge_samples, a.ridge_targets)
        return
    write_conv(a.out)
    if a.conv_only:
        return
    rng = np.random.default_rng(2024)

    # B2M-MLP: 4096 stimuli x 784 features, 10 classes, 2000 voxels.
    n = 4096
    x = rng.standard_normal((n, 784), dtype=np.float32)
    save(a.out, "mlp_x", x)
    save(a.out, "mlp_labels", rng.integers(0, 10, n).astype(np.int64))
    mix = rng.standard_normal((784, 2000), dtype=np.float32) / np.float32(28.0)
    brain = (np.tanh(x @ mix) + 0.5 * rng.standard_normal((n, 2000), dtype=np.float32)).astype(np.float32)
    save(a.out, "mlp_brain", brain)

    # B2M-GRU: 64 sequences x 50 steps x 8 inputs, 2 classes, 32-d latent per step.
    b, t, f, k = 64, 50, 8, 32
    save(a.out, "gru_x", rng.standard_normal((b, t * f), dtype=np.float32))
    save(a.out, "gru_labels", rng.integers(0, 2, b).astype(np.int64))
    save(a.out, "gru_latent", rng.standard_normal((b, t * k), dtype=np.float32))

    write_ridge(a.out, rng, a.ridge_samples, a.ridge_targets)


def write_ridge(d, rng, ntr, T):
    """Ridge encoding: X ntr x 1024, Y ntr x T targets, test 1000 rows. Y = X W + noise with
    a per-target signal scale spread over three decades, so the chosen alphas differ."""
    p, nte = 1024, 1000
    xall = rng.standard_normal((ntr + nte, p), dtype=np.float32)
    latent = rng.standard_normal((p, 64), dtype=np.float32) / np.float32(8.0)
    mixing = rng.standard_normal((64, T), dtype=np.float32)
    scale = (10.0 ** rng.uniform(-3.0, 0.0, T)).astype(np.float32)
    y = (xall @ latent) @ (mixing * scale)
    for i0 in range(0, ntr + nte, 1000):  # noise in row blocks (no second full-size temporary)
        y[i0:i0 + 1000] += rng.standard_normal((min(1000, ntr + nte - i0), T), dtype=np.float32)
    y = y.astype(np.float32, copy=False)
    save(d, "ridge_x", xall[:ntr])
    save(d, "ridge_xtest", xall[ntr:])
    save(d, "ridge_y", y[:ntr])
    save(d, "ridge_ytest", y[ntr:])

if __name__ == "__main__":
    main()
