#!/usr/bin/python3
"""PyTorch peer of B2M-Conv (../shared/BENCHMARKS.md), same data and model as b2m_conv.cpp.

64 x 64 x 3 images (NCHW); V1 Conv2d(3, 64, 7, stride 2, padding 3), V2 64->128, V4 128->256,
IT 256->512 (3x3, padding 1), each followed by ReLU and MaxPool2d(2); global average pool;
Linear(512, 100). Encoding alignment (METHODS.md section 4) over the V2, V4, IT block
outputs: e_l = ReLU(Linear(flatten(h_l), 128)), p = Linear(384, 100)([e_V2, e_V4, e_IT]),
L_gen = MSE(p, b) + 1 - mean_i corr(p_i, b_i) + mean_{i != j} corr(p_i, b_j) (corr across the
100 targets of two trials). Loss CE + 1.0 * L_gen; Adam lr 1e-3 over student and head.
Usage: peer_torch_conv.py --data DIR [--threads 1,2] [--warmup 5] [--seconds 2] [--steps 1000]
       [--min-steps 5] [--batch 64]
Set OPENBLAS_NUM_THREADS in the environment. Prints key=value blocks per thread count."""
import argparse
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def corr_matrix(p, b, eps=1e-12):
    pc = p - p.mean(dim=1, keepdim=True)
    bc = b - b.mean(dim=1, keepdim=True)
    pn = pc / (pc.norm(dim=1, keepdim=True) + eps)
    bn = bc / (bc.norm(dim=1, keepdim=True) + eps)
    return pn @ bn.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--min-steps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    x = torch.from_numpy(np.load(a.data + "/conv_x.npy")).reshape(-1, 3, 64, 64)
    brain = torch.from_numpy(np.load(a.data + "/conv_brain.npy"))
    labels = torch.from_numpy(np.load(a.data + "/conv_labels.npy"))
    B = a.batch
    nb = x.shape[0] // B
    batches = [(x[k * B:(k + 1) * B].contiguous(), labels[k * B:(k + 1) * B].contiguous(),
                brain[k * B:(k + 1) * B].contiguous()) for k in range(nb)]

    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        v1 = nn.Sequential(nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(2))
        v2 = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        v4 = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        it = nn.Sequential(nn.Conv2d(256, 512, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        decoder = nn.Linear(512, 100)
        enc = nn.ModuleList([nn.Linear(128 * 8 * 8, 128), nn.Linear(256 * 4 * 4, 128), nn.Linear(512 * 2 * 2, 128)])
        head = nn.Linear(3 * 128, 100)
        modules = nn.ModuleList([v1, v2, v4, it, decoder, enc, head])
        opt = torch.optim.Adam(modules.parameters(), lr=1e-3)

        def step(k):
            xb, yb, bb = batches[k % nb]
            h2 = v2(v1(xb))
            h4 = v4(h2)
            h8 = it(h4)
            logits = decoder(h8.mean(dim=(2, 3)))
            e = torch.cat([F.relu(enc[i](h.flatten(1))) for i, h in enumerate((h2, h4, h8))], dim=1)
            p = head(e)
            r = corr_matrix(p, bb)
            n = r.shape[0]
            diag = torch.diagonal(r).sum()
            gen = F.mse_loss(p, bb) + 1.0 - diag / n + (r.sum() - diag) / (n * (n - 1))
            loss = F.cross_entropy(logits, yb) + 1.0 * gen
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return float(loss)

        loss_first = 0.0
        for k in range(a.warmup):
            loss_first = step(k)
        t0 = time.perf_counter()
        steps, dt = 0, 0.0  # timed steps: at least --min-steps and --seconds, at most --steps
        while steps < a.steps and (steps < a.min_steps or dt < a.seconds):
            loss_last = step(a.warmup + steps)
            steps += 1
            dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"threads={threads}\nsteps_per_s={steps / dt:.4f}\npeak_rss_mb={peak:.1f}\n"
              f"loss_first={loss_first:.5f}\nloss_last={loss_last:.5f}", flush=True)


if __name__ == "__main__":
    main()
