#!/usr/bin/python3
"""scikit-learn peer of the ridge encoding workload (../shared/BENCHMARKS.md):
RidgeCV(alphas=np.logspace(-2, 5, 10), alpha_per_target=True) with the default cv=None,
i.e. exact leave-one-out through sklearn's GCV/SVD path; predict the test set; Pearson r
per target. Writes OUT/sklearn_ridge_r.npy and OUT/sklearn_ridge_alpha.npy.
Usage: peer_sklearn_ridge.py --data DIR --out DIR   (OPENBLAS_NUM_THREADS from the environment)
Prints key=value: seconds (fit + predict + r), fit_seconds, peak_rss_mb."""
import argparse
import resource
import time

import numpy as np
from sklearn.linear_model import RidgeCV


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".")
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    x = np.load(a.data + "/ridge_x.npy")
    y = np.load(a.data + "/ridge_y.npy")
    xt = np.load(a.data + "/ridge_xtest.npy")
    yt = np.load(a.data + "/ridge_ytest.npy")
    t0 = time.perf_counter()
    model = RidgeCV(alphas=np.logspace(-2, 5, 10), alpha_per_target=True).fit(x, y)
    t1 = time.perf_counter()
    pred = model.predict(xt)
    p = pred - pred.mean(axis=0)
    v = yt - yt.mean(axis=0)
    r = (p * v).sum(axis=0) / np.sqrt((p * p).sum(axis=0) * (v * v).sum(axis=0))
    t2 = time.perf_counter()
    np.save(a.out + "/sklearn_ridge_r.npy", r.astype(np.float64))
    np.save(a.out + "/sklearn_ridge_alpha.npy", np.asarray(model.alpha_, dtype=np.float64))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seconds={t2 - t0:.3f}\nfit_seconds={t1 - t0:.3f}\npeak_rss_mb={peak:.1f}\nmean_r={float(r.mean()):.5f}")


if __name__ == "__main__":
    main()
