#!/usr/bin/python3
"""PyTorch peer of B2M-MLP (../shared/BENCHMARKS.md), same data and model as b2m_mlp.cpp.

Student 784 -> 512 -> 256 (ReLU) -> h, task head 256 -> 10; loss cross-entropy + 0.5 *
symmetric InfoNCE between L2-normalised projections (student head 256 -> 128, brain head
2000 -> 128), tau = 0.1; Adam lr 1e-3; batches of 256 in order.
Usage: peer_torch_mlp.py --data DIR [--threads 1,2] [--warmup 20] [--seconds 2] [--steps 1000] [--batch 256]
Set OPENBLAS_NUM_THREADS in the environment (it must be set before torch loads).
Prints one block of key=value lines per torch thread count ("threads=N" first)."""
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
    ap.add_argument("--batch", type=int, default=256, help="batch size (scaling curves)")
    a = ap.parse_args()
    x = torch.from_numpy(np.load(a.data + "/mlp_x.npy"))
    brain = torch.from_numpy(np.load(a.data + "/mlp_brain.npy"))
    labels = torch.from_numpy(np.load(a.data + "/mlp_labels.npy"))
    batch = a.batch
    nb = x.shape[0] // batch
    batches = [(x[k * batch:(k + 1) * batch].contiguous(), brain[k * batch:(k + 1) * batch].contiguous(),
                labels[k * batch:(k + 1) * batch].contiguous()) for k in range(nb)]
    target = torch.arange(batch)

    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        student = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                      torch.nn.ReLU())
        head = torch.nn.Linear(256, 10)
        g = torch.nn.Linear(256, 128)
        f = torch.nn.Linear(2000, 128)
        params = list(student.parameters()) + list(head.parameters()) + list(g.parameters()) + list(f.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)

        def step(k):
            xb, bb, yb = batches[k % nb]
            h = student(xb)
            ce = F.cross_entropy(head(h), yb)
            u = F.normalize(g(h), dim=1, eps=1e-12)
            v = F.normalize(f(bb), dim=1, eps=1e-12)
            s = (u @ v.t()) / 0.1
            nce = 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.t(), target))
            loss = ce + 0.5 * nce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return float(loss)

        loss_first = 0.0
        for s in range(a.warmup):
            loss_first = step(s)
        t0 = time.perf_counter()
        steps, dt = 0, 0.0  # timed steps: at least 10 and --seconds, at most --steps
        while steps < a.steps and (steps < 10 or dt < a.seconds):
            loss_last = step(a.warmup + steps)
            steps += 1
            dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"threads={threads}\nsteps_per_s={steps / dt:.4f}\npeak_rss_mb={peak:.1f}\n"
              f"loss_first={loss_first:.5f}\nloss_last={loss_last:.5f}", flush=True)


if __name__ == "__main__":
    main()
