#!/usr/bin/python3
"""Turns the raw measurements benchmarks/run collected (lines "workload side config key value")
into medians, prints one "RESULT <workload> <metric>=<value>" line per figure and writes
benchmarks/results.md.  Usage: summarize.py RAW_LOG RESULTS_MD MACHINE_JSON"""
import collections
import json
import statistics
import sys

import numpy as np


def main():
    raw, md_path, machine_path = sys.argv[1:4]
    vals = collections.defaultdict(list)  # (workload, side, config, key) -> [values]
    for line in open(raw):
        parts = line.split()
        if len(parts) != 5:
            continue
        w, side, cfg, key, v = parts
        try:
            vals[(w, side, cfg, key)].append(float(v))
        except ValueError:
            pass
    machine = json.load(open(machine_path))
    med = lambda w, s, c, k: statistics.median(vals[(w, s, c, k)]) if vals.get((w, s, c, k)) else None
    results = []  # (workload, metric, value)

    def best(w, side):
        cfgs = {c for (ww, s, c, k) in vals if ww == w and s == side and k == "steps_per_s"}
        scored = [(med(w, side, c, "steps_per_s"), c) for c in cfgs]
        return max(scored) if scored else (None, None)

    for w in ("mlp", "gru"):
        b, bcfg = best(w, "b2m")
        p, pcfg = best(w, "torch")
        if b is None or p is None:
            continue
        name = "B2M-" + w.upper()
        results += [(name, "b2m_steps_per_s", f"{b:.2f}"), (name, "b2m_best_threads", bcfg),
                    (name, "peer_steps_per_s", f"{p:.2f}"), (name, "peer_best_setting", pcfg),
                    (name, "ratio_vs_peer", f"{b / p:.2f}")]
        for c in sorted({c for (ww, s, c, k) in vals if ww == w and s == "torch" and k == "steps_per_s"}):
            results.append((name, f"peer_steps_per_s[{c}]", f"{med(w, 'torch', c, 'steps_per_s'):.2f}"))
        for c in sorted({c for (ww, s, c, k) in vals if ww == w and s == "b2m" and k == "steps_per_s"}):
            results.append((name, f"b2m_steps_per_s[{c}]", f"{med(w, 'b2m', c, 'steps_per_s'):.2f}"))
        g = med(w, "sgemm", bcfg, "gemm_seconds")
        if g is not None:
            results += [(name, "gemm_limit_steps_per_s", f"{1.0 / g:.2f}"),
                        (name, "fraction_of_gemm_limit", f"{g * b:.2f}")]
        results += [(name, "peak_rss_mb_b2m", f"{med(w, 'b2m', bcfg, 'peak_rss_mb'):.0f}"),
                    (name, "peak_rss_mb_peer", f"{med(w, 'torch', pcfg, 'peak_rss_mb'):.0f}"),
                    (name, "allocs_per_step", f"{max(vals[(w, 'b2m', bcfg, 'allocs_per_step')]):.0f}"),
                    (name, "reps", str(len(vals[(w, 'b2m', bcfg, 'steps_per_s')])))]

    rb = med("ridge", "b2m", "t", "seconds")
    rp = med("ridge", "sklearn", "t", "seconds")
    if rb is not None and rp is not None:
        name = "Ridge"
        results += [(name, "targets", f"{int(med('ridge', 'b2m', 't', 'targets'))}"),
                    (name, "b2m_seconds", f"{rb:.2f}"), (name, "peer_seconds", f"{rp:.2f}"),
                    (name, "ratio_vs_peer", f"{rp / rb:.2f}"),
                    (name, "peak_rss_mb_b2m", f"{med('ridge', 'b2m', 't', 'peak_rss_mb'):.0f}"),
                    (name, "peak_rss_mb_peer", f"{med('ridge', 'sklearn', 't', 'peak_rss_mb'):.0f}")]
        g = med("ridge", "sgemm", "t", "gemm_seconds")
        if g is not None:
            results.append((name, "fraction_of_gemm_limit", f"{g / rb:.2f}"))
        for k in ("max_abs_r_diff", "alpha_mismatches"):
            v = vals.get(("ridge", "cmp", "t", k))
            if v:
                results.append((name, k, f"{max(v):.3g}"))
        results.append((name, "reps", str(len(vals[("ridge", "b2m", "t", "seconds")]))))

    # Encoding models (issue 20): banded ridge vs himalaya, and a memory-mapped big Y.
    bb = med("banded", "b2m", "t", "seconds")
    if bb is not None:
        name = "Banded"
        results += [(name, "targets", f"{int(med('banded', 'b2m', 't', 'targets'))}"), (name, "b2m_seconds", f"{bb:.2f}"),
                    (name, "peak_rss_mb_b2m", f"{med('banded', 'b2m', 't', 'peak_rss_mb'):.0f}")]
        for be in ("numpy", "torch"):
            hp = med("banded", f"himalaya_{be}", "t", "seconds")
            if hp is not None:
                results += [(name, f"himalaya_{be}_seconds", f"{hp:.2f}"), (name, f"ratio_vs_himalaya_{be}", f"{hp / bb:.2f}"),
                            (name, f"peak_rss_mb_himalaya_{be}", f"{med('banded', f'himalaya_{be}', 't', 'peak_rss_mb'):.0f}")]
            for k in (f"max_abs_r_diff_{be}", f"candidate_mismatches_{be}"):
                v = vals.get(("banded", "cmp", "t", k))
                if v:
                    results.append((name, k, f"{max(v):.3g}"))
    gy = med("bigy", "b2m", "t", "seconds")
    if gy is not None:
        results += [("BigY", "targets", f"{int(med('bigy', 'b2m', 't', 'targets'))}"), ("BigY", "b2m_seconds", f"{gy:.2f}"),
                    ("BigY", "y_mb", f"{med('bigy', 'b2m', 't', 'y_mb'):.0f}"),
                    ("BigY", "peak_rss_mb_b2m", f"{med('bigy', 'b2m', 't', 'peak_rss_mb'):.0f}")]

    for (w, side, cfg, key), v in sorted(vals.items()):
        if side == "compile":
            results.append((w, key, f"{statistics.median(v):.1f}"))

    for w, m, v in results:
        print(f"RESULT {w} {m}={v}")

    r = {(w, m): v for w, m, v in results}
    g = lambda w, m: r.get((w, m), "n/a")
    lines = [
        "# b2m benchmark results", "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['mem']}; OpenBLAS {machine['openblas']}; "
        f"{machine['compiler']} -O2; PyTorch {machine['torch']}, scikit-learn {machine['sklearn']}, "
        f"numpy {machine['numpy']}. Load average at the start / end: {machine['load_start']} / {machine['load_end']}.",
        f"Generated by `benchmarks/run{machine['args']}` on {machine['date']}; medians over the listed repetitions, "
        "b2m and the peer alternating. Threads: best of 1 and 2 for each side "
        "(PyTorch: torch.set_num_threads x OPENBLAS_NUM_THREADS).", "",
        "| workload | b2m | peer | b2m / peer | fraction of sgemm limit | peak RSS b2m / peer (MB) | allocs per step |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for w, peer in (("B2M-MLP", "PyTorch"), ("B2M-GRU", "PyTorch")):
        if (w, "ratio_vs_peer") in r:
            lines.append(f"| {w} (steps/s) | {g(w, 'b2m_steps_per_s')} ({g(w, 'b2m_best_threads')}) | "
                         f"{g(w, 'peer_steps_per_s')} ({peer} {g(w, 'peer_best_setting')}) | "
                         f"{g(w, 'ratio_vs_peer')} | {g(w, 'fraction_of_gemm_limit')} | "
                         f"{g(w, 'peak_rss_mb_b2m')} / {g(w, 'peak_rss_mb_peer')} | {g(w, 'allocs_per_step')} |")
    if ("Ridge", "ratio_vs_peer") in r:
        lines.append(f"| Ridge, {g('Ridge', 'targets')} targets, exact LOO (s) | {g('Ridge', 'b2m_seconds')} | "
                     f"{g('Ridge', 'peer_seconds')} (scikit-learn RidgeCV) | {g('Ridge', 'ratio_vs_peer')} | "
                     f"{g('Ridge', 'fraction_of_gemm_limit')} | {g('Ridge', 'peak_rss_mb_b2m')} / "
                     f"{g('Ridge', 'peak_rss_mb_peer')} | - |")
        lines += ["", f"Ridge agreement with scikit-learn: chosen alphas differing on {g('Ridge', 'alpha_mismatches')} "
                  f"targets; max |r_b2m - r_sklearn| = {g('Ridge', 'max_abs_r_diff')}."]
    comp = [(w, m, v) for w, m, v in results if m.startswith("compile")]
    if comp:
        lines += ["", "Compile time of each translation unit (-O2, compile + link, wall seconds / CPU seconds):", "",
                  "| translation unit | wall s | CPU s |", "| --- | --- | --- |"]
        names = sorted({w for w, m, v in comp})
        for n in names:
            lines.append(f"| {n} | {r.get((n, 'compile_s'), 'n/a')} | {r.get((n, 'compile_cpu_s'), 'n/a')} |")
    open(md_path, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
