#!/usr/bin/python3
"""PyTorch peer of B2M-GRU (../shared/BENCHMARKS.md), same data and model as b2m_gru.cpp.

64 sequences x 50 steps x 8 inputs; GRU hidden 128 (torch.nn.GRU, batch_first); decision
head Linear(128, 2) on the last step (cross-entropy); latent head Linear(128, 32) at every
step regressed (MSE) onto the 64 x 50 x 32 brain latent. Loss CE + 1.0 * MSE; Adam lr 1e-3.
Usage: peer_torch_gru.py --data DIR [--threads 1,2] [--warmup 20] [--seconds 2] [--steps 1000] [--batch 64]
Set OPENBLAS_NUM_THREADS in the environment. Prints key=value blocks per thread count."""
import argparse
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=64, help="batch size (scaling curves; the 64 sequences repeat)")
    a = ap.parse_args()
    B, T, Fin, H, K = a.batch, 50, 8, 128, 32
    rows = np.arange(B) % 64  # batch row i is sequence i mod 64, as b2m_gru --batch
    x = torch.from_numpy(np.load(a.data + "/gru_x.npy")[rows]).reshape(B, T, Fin)
    z = torch.from_numpy(np.load(a.data + "/gru_latent.npy")[rows]).reshape(B, T, K)
    y = torch.from_numpy(np.load(a.data + "/gru_labels.npy")[rows])

    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        gru = torch.nn.GRU(Fin, H, batch_first=True)
        decision = torch.nn.Linear(H, 2)
        latent = torch.nn.Linear(H, K)
        params = list(gru.parameters()) + list(decision.parameters()) + list(latent.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)

        def step():
            states, _ = gru(x)
            loss = F.cross_entropy(decision(states[:, -1]), y) + 1.0 * F.mse_loss(latent(states), z)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return float(loss)

        loss_first = 0.0
        for _ in range(a.warmup):
            loss_first = step()
        t0 = time.perf_counter()
        steps, dt = 0, 0.0  # timed steps: at least 10 and --seconds, at most --steps
        while steps < a.steps and (steps < 10 or dt < a.seconds):
            loss_last = step()
            steps += 1
            dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"threads={threads}\nsteps_per_s={steps / dt:.4f}\npeak_rss_mb={peak:.1f}\n"
              f"loss_first={loss_first:.5f}\nloss_last={loss_last:.5f}", flush=True)


if __name__ == "__main__":
    main()
