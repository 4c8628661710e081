#!/usr/bin/python3
"""himalaya peer of the banded-ridge row (issue 20): BandedRidgeCV with the fixed candidate
list banded_gammas.npy x banded_alphas.npy, KFold(5), fit_intercept=True, float32, on the
first `samples` rows; Pearson r of the held-out rows. himalaya is not installed: pass its
source tree (git clone https://github.com/gallantlab/himalaya) with --himalaya or
HIMALAYA_SRC.
Usage: peer_himalaya_banded.py --data DIR --out DIR --backend numpy|torch [--himalaya SRC]
Prints key=value: seconds (fit + predict + r), fit_seconds, peak_rss_mb, mean_r.
Writes OUT/himalaya_<backend>_banded_r.npy, ..._candidate.npy, ..._alpha.npy."""
import argparse
import os
import resource
import sys
import time
import warnings

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".")
    ap.add_argument("--out", default=".")
    ap.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    ap.add_argument("--himalaya", default=os.environ.get("HIMALAYA_SRC", "/tmp/himalaya"))
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    sys.path.insert(0, a.himalaya)
    from himalaya.backend import set_backend
    from himalaya.ridge import BandedRidgeCV
    from sklearn.model_selection import KFold
    if a.backend == "torch":
        import torch
        if a.threads:
            torch.set_num_threads(a.threads)
    set_backend(a.backend)
    ntr, nte = np.load(a.data + "/banded_meta.npy")
    xs = [np.load(a.data + f"/banded_x{k}.npy") for k in range(2)]
    y = np.load(a.data + "/banded_y.npy")
    g = np.load(a.data + "/banded_gammas.npy")
    alphas = np.load(a.data + "/banded_alphas.npy")
    t0 = time.perf_counter()
    model = BandedRidgeCV(groups="input", cv=KFold(5), fit_intercept=True,
                          solver_params=dict(n_iter=g.astype(np.float32), alphas=alphas.astype(np.float32),
                                             progress_bar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit([x[:ntr] for x in xs], y[:ntr])
    t1 = time.perf_counter()
    pred = np.asarray(model.predict([x[ntr:] for x in xs]), dtype=np.float64)
    yt = y[ntr:].astype(np.float64)
    p = pred - pred.mean(0)
    v = yt - yt.mean(0)
    r = (p * v).sum(0) / np.sqrt((p * p).sum(0) * (v * v).sum(0))
    t2 = time.perf_counter()
    w = np.exp(np.asarray(model.deltas_, dtype=np.float64))
    alpha = 1.0 / w.sum(0)
    gam = w * alpha
    cand = np.array([int(np.argmin(((g - gam[:, j]) ** 2).sum(1))) for j in range(gam.shape[1])])
    tag = f"{a.out}/himalaya_{a.backend}_banded"
    np.save(tag + "_r.npy", r)
    np.save(tag + "_candidate.npy", cand.astype(np.float64))
    np.save(tag + "_alpha.npy", alpha)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seconds={t2 - t0:.3f}\nfit_seconds={t1 - t0:.3f}\npeak_rss_mb={peak:.1f}\nmean_r={float(r.mean()):.5f}")


if __name__ == "__main__":
    main()
