#!/usr/bin/python3
"""Turns the raw measurements benchmarks/run collected (lines "workload side config key value")
into medians, prints one "RESULT <workload> <metric>=<value>" line per figure and writes
benchmarks/results.md, and (when the scaling part ran) scaling_batch.csv / .svg and
scaling_ridge.csv / .svg next to it.  Usage: summarize.py RAW_LOG RESULTS_MD MACHINE_JSON"""
import collections
import json
import math
import os
import statistics
import sys

import numpy as np


def main():
    raw, md_path, machine_path = sys.argv[1:4]
    vals = collections.defaultdict(list)  # (workload, side, config, key) -> [values]
    texts = {}  # the same key -> a text value (e.g. why a peer was skipped)
    for line in open(raw):
        parts = line.split()
        if len(parts) != 5:
            continue
        w, side, cfg, key, v = parts
        try:
            x = float(v)
        except ValueError:
            texts[(w, side, cfg, key)] = v
            continue
        vals[(w, side, cfg, key)].append(x)
    machine = json.load(open(machine_path))
    med = lambda w, s, c, k: statistics.median(vals[(w, s, c, k)]) if vals.get((w, s, c, k)) else None
    results = []  # (workload, metric, value)

    def best(w, side):
        cfgs = {c for (ww, s, c, k) in vals if ww == w and s == side and k == "steps_per_s"}
        scored = [(med(w, side, c, "steps_per_s"), c) for c in cfgs]
        return max(scored) if scored else (None, None)

    # B2M-Conv: nn::conv2d's default backend (im2col); B2M-Conv-oneDNN: the opt-in oneDNN
    # backend (b2m_conv --backend=auto), only when the build had it (conv_on_dnnl not "none").
    names = {"mlp": "B2M-MLP", "gru": "B2M-GRU", "conv": "B2M-Conv", "conv_dnnl": "B2M-Conv-oneDNN"}
    for w in ("mlp", "gru", "conv", "conv_dnnl"):
        b, bcfg = best(w, "b2m")
        p, pcfg = best("conv" if w == "conv_dnnl" else w, "torch")
        if b is None or p is None:
            continue
        if w == "conv_dnnl" and texts.get((w, "b2m", bcfg, "conv_on_dnnl"), "none") == "none":
            continue
        name = names[w]
        results += [(name, "b2m_steps_per_s", f"{b:.2f}"), (name, "b2m_best_threads", bcfg),
                    (name, "peer_steps_per_s", f"{p:.2f}"), (name, "peer_best_setting", pcfg),
                    (name, "ratio_vs_peer", f"{b / p:.2f}")]
        pw = "conv" if w == "conv_dnnl" else w
        for c in sorted({c for (ww, s, c, k) in vals if ww == pw and s == "torch" and k == "steps_per_s"}):
            results.append((name, f"peer_steps_per_s[{c}]", f"{med(pw, 'torch', c, 'steps_per_s'):.2f}"))
        for c in sorted({c for (ww, s, c, k) in vals if ww == w and s == "b2m" and k == "steps_per_s"}):
            results.append((name, f"b2m_steps_per_s[{c}]", f"{med(w, 'b2m', c, 'steps_per_s'):.2f}"))
        g = med(w, "sgemm", bcfg, "gemm_seconds")
        if g is not None:
            results += [(name, "gemm_limit_steps_per_s", f"{1.0 / g:.2f}"),
                        (name, "fraction_of_gemm_limit", f"{g * b:.2f}")]
        results += [(name, "peak_rss_mb_b2m", f"{med(w, 'b2m', bcfg, 'peak_rss_mb'):.0f}"),
                    (name, "peak_rss_mb_peer", f"{med(pw, 'torch', pcfg, 'peak_rss_mb'):.0f}"),
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

    native_lines = []
    for w in ("mlp", "gru", "conv"):
        b, bcfg = best(f"native_{w}", "b2m")
        p, pcfg = best(f"native_{w}", "torch")
        if b is None or p is None:
            continue
        name = names[w] + "-native-openblas"
        g = med(f"native_{w}", "sgemm", bcfg, "gemm_seconds")
        frac = f"{g * b:.2f}" if g is not None else "n/a"
        results += [(name, "b2m_steps_per_s", f"{b:.2f}"), (name, "peer_steps_per_s", f"{p:.2f}"),
                    (name, "ratio_vs_peer", f"{b / p:.2f}"), (name, "fraction_of_gemm_limit", frac)]
        native_lines.append(f"| {names[w]} (steps/s) | {b:.2f} ({bcfg}) | {p:.2f} (PyTorch {pcfg}) | {b / p:.2f} | {frac} |")
    if native_lines:
        native_lines = ["", f"With OpenBLAS's own kernel for this CPU ({machine.get('native_core', '?')}; OPENBLAS_CORETYPE "
                        f"unset for both sides), one repetition after the rows above:", "",
                        "| workload | b2m | peer | b2m / peer | fraction of sgemm limit |", "| --- | --- | --- | --- | --- |"
                        ] + native_lines
    busy = busy_results(vals, med)
    results += busy
    scaling_lines = scaling(vals, texts, med, results, os.path.dirname(os.path.abspath(md_path)))

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
        f"numpy {machine['numpy']}. OPENBLAS_CORETYPE={machine.get('openblas_coretype', 'unset')} "
        f"(OpenBLAS kernel: {machine.get('openblas_core', 'unknown')}), OMP_WAIT_POLICY={machine.get('omp_wait_policy', 'unset')} "
        f"for both sides. Load average at the start / end: {machine['load_start']} / {machine['load_end']}.",
        f"Generated by `benchmarks/run{machine['args']}` on {machine['date']}; medians over the listed repetitions, "
        "b2m and the peer alternating. Threads: best of 1 and 2 for each side "
        "(PyTorch: torch.set_num_threads x OPENBLAS_NUM_THREADS).", "",
    ]
    done, asked = machine.get("parts_done"), machine.get("parts_asked")
    if done is not None:
        want = [x for x in (asked or []) if x != "mpi"]
        missing = [x for x in want if x not in done]
        lines += [f"Parts finished: {' '.join(done) or 'none'}." +
                  (f" **Partial run: not finished: {' '.join(missing)}** (figures below are those measured so far)."
                   if missing else ""), ""]
    lines += [
        "| workload | b2m | peer | b2m / peer | fraction of sgemm limit | peak RSS b2m / peer (MB) | allocs per step |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for w, peer, label in (("B2M-MLP", "PyTorch", "B2M-MLP"), ("B2M-GRU", "PyTorch", "B2M-GRU"),
                           ("B2M-Conv", "PyTorch", "B2M-Conv (im2col, the default)"),
                           ("B2M-Conv-oneDNN", "PyTorch", "B2M-Conv-oneDNN (opt-in: conv_backend::automatic)")):
        if (w, "ratio_vs_peer") in r:
            lines.append(f"| {label} (steps/s) | {g(w, 'b2m_steps_per_s')} ({g(w, 'b2m_best_threads')}) | "
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
    if ("Banded", "b2m_seconds") in r or ("BigY", "b2m_seconds") in r:
        enc = []
        if ("Banded", "b2m_seconds") in r:
            peers = [f"himalaya {be} {g('Banded', f'himalaya_{be}_seconds')} s ({g('Banded', f'ratio_vs_himalaya_{be}')}x)"
                     for be in ("numpy", "torch") if ("Banded", f"himalaya_{be}_seconds") in r]
            enc.append(f"banded ridge (2 bands x 512 features, {g('Banded', 'targets')} targets) b2m {g('Banded', 'b2m_seconds')} s, "
                       f"peak RSS {g('Banded', 'peak_rss_mb_b2m')} MB; " +
                       (", ".join(peers) if peers else "no himalaya peer (its source was not available to the run)"))
        if ("BigY", "b2m_seconds") in r:
            enc.append(f"ridge on a memory-mapped Y of {g('BigY', 'targets')} targets ({g('BigY', 'y_mb')} MB) "
                       f"{g('BigY', 'b2m_seconds')} s, peak RSS {g('BigY', 'peak_rss_mb_b2m')} MB")
        lines += ["", "Encoding rows (issue 20): " + "; ".join(enc) + "."]
    lines += native_lines
    lines += ["", "Second machine (figures quoted in issue 18, one benchmarks/run on an Intel Xeon, 2 cores, "
              "AVX-512; no B2M-Conv then):", "",
              "| workload | b2m | peer | b2m / peer | fraction of sgemm limit |", "| --- | --- | --- | --- | --- |",
              "| B2M-MLP (steps/s) | 193.8 | 108.5 (PyTorch) | 1.79 | 0.69 |",
              "| B2M-GRU (steps/s) | 72.0 | 42.3 (PyTorch) | 1.70 | 0.44 |",
              "| Ridge, 20000 targets, exact LOO (s) | 8.4 | 44.0 (scikit-learn RidgeCV) | 5.2 | 0.82 |"]
    lines += ["", "Third machine (the previous run's table, benchmarks/run --reps 3 --only main on 2026-12-02 15:56, an AMD "
              "EPYC with AVX-512, 2 cores, OPENBLAS_CORETYPE=Haswell, load 2.0-3.5; before the oneDNN conv backend and "
              "the dense + activation fusion):", "",
              "| workload | b2m | peer | b2m / peer | fraction of sgemm limit |", "| --- | --- | --- | --- | --- |",
              "| B2M-MLP (steps/s) | 103.64 | 62.72 (PyTorch) | 1.65 | 0.74 |",
              "| B2M-GRU (steps/s) | 102.65 | 35.51 (PyTorch) | 2.89 | 1.45 |",
              "| B2M-Conv (steps/s) | 4.71 | 6.08 (PyTorch) | 0.78 | 0.69 |",
              "| Ridge, 20000 targets, exact LOO (s) | 13.17 | 53.77 (scikit-learn RidgeCV) | 4.08 | 0.87 |"]
    if busy:
        lines += busy_table(vals, med, machine)
    lines += scaling_lines
    comp = [(w, m, v) for w, m, v in results if m.startswith("compile")]
    if comp:
        lines += ["", "Compile time of each translation unit (-O2, compile + link, wall seconds / CPU seconds):", "",
                  "| translation unit | wall s | CPU s |", "| --- | --- | --- |"]
        names = sorted({w for w, m, v in comp})
        for n in names:
            lines.append(f"| {n} | {r.get((n, 'compile_s'), 'n/a')} | {r.get((n, 'compile_cpu_s'), 'n/a')} |")
    notes = os.path.join(os.path.dirname(os.path.abspath(md_path)), "results_notes.md")
    if os.path.exists(notes):  # hand-written reading of the figures (profiles, what stands in the way)
        lines += ["", open(notes).read().rstrip("\n")]
    write_atomic(md_path, "\n".join(lines) + "\n")


def busy_results(vals, med):
    out = []
    for w in ("mlp", "gru"):
        for cfg in sorted({c for (ww, s, c, k) in vals if ww == f"busy_{w}"}):
            for load in ("quiet", "busy"):
                v = med(f"busy_{w}", load, cfg, "steps_per_s")
                if v is not None:
                    out.append((f"Busy-{w.upper()}", f"steps_per_s[{cfg}/{load}]", f"{v:.2f}"))
    return out


def busy_table(vals, med, machine):
    lines = ["", "## Busy machine", "",
             "Steps/s of b2m alone (\"quiet\": the machine as it was, see the load averages) and next to one "
             "CPU-bound process (`yes > /dev/null`, pinned nowhere) on the 2 cores. gomp default: OMP_WAIT_POLICY "
             "unset (libgomp's waiters spin before sleeping); b2m default: the benchmark's "
             "`apply_thread_env_defaults(argv)` re-executes it with OMP_WAIT_POLICY=passive (core/thread_env.hpp).",
             ""]
    if machine.get("busy_load"):
        lines += [f"Load average (1, 5, 15 min) when each half started: {machine['busy_load']}.", ""]
    lines += ["| workload | threads | wait policy | quiet | busy | busy / quiet |", "| --- | --- | --- | --- | --- | --- |"]
    for w in ("mlp", "gru"):
        for th in ("1", "2"):
            for pol, label in (("gomp_default", "gomp default (spin)"), ("b2m_default", "b2m default (passive)")):
                cfg = f"threads={th}/{pol}"
                q, b = med(f"busy_{w}", "quiet", cfg, "steps_per_s"), med(f"busy_{w}", "busy", cfg, "steps_per_s")
                if q is None and b is None:
                    continue
                f = lambda x: "n/a" if x is None else f"{x:.1f}"
                ratio = f"{b / q:.2f}" if q and b else "n/a"
                lines.append(f"| B2M-{w.upper()} | {th} | {label} | {f(q)} | {f(b)} | {ratio} |")
    return lines


def svg_chart(panels, path, width=360, height=270):
    """Writes log-log line charts side by side. panels: [{title, xlabel, ylabel, series:
    [(label, [(x, y)], colour, dashed)]}]."""
    W, H = width * len(panels), height + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    for i, pnl in enumerate(panels):
        x0, y0, pw, ph = i * width + 55, 25, width - 75, height - 60
        pts = [(x, y) for _, ser, _, _ in pnl["series"] for x, y in ser if x > 0 and y > 0]
        if not pts:
            continue
        lx = [math.log10(x) for x, _ in pts]
        ly = [math.log10(y) for _, y in pts]
        xa, xb = min(lx), max(lx)
        ya, yb = math.floor(min(ly) * 2) / 2, math.ceil(max(ly) * 2) / 2
        xb, yb = (xb if xb > xa else xa + 1), (yb if yb > ya else ya + 1)
        X = lambda v: x0 + (math.log10(v) - xa) / (xb - xa) * pw
        Y = lambda v: y0 + ph - (math.log10(v) - ya) / (yb - ya) * ph
        out.append(f'<text x="{x0 + pw / 2}" y="15" text-anchor="middle" font-weight="bold">{pnl["title"]}</text>')
        out.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
        for xv in sorted({x for x, _ in pts}):
            out.append(f'<text x="{X(xv):.1f}" y="{y0 + ph + 14}" text-anchor="middle">{xv:g}</text>')
        e = ya
        while e <= yb + 1e-9:
            v = 10 ** e
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 4}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>')
            e += 0.5
        out.append(f'<text x="{x0 + pw / 2}" y="{y0 + ph + 30}" text-anchor="middle">{pnl["xlabel"]}</text>')
        out.append(f'<text transform="translate({x0 - 42},{y0 + ph / 2}) rotate(-90)" text-anchor="middle">{pnl["ylabel"]}</text>')
        for j, (label, ser, colour, dashed) in enumerate(pnl["series"]):
            ser = sorted((x, y) for x, y in ser if x > 0 and y > 0)
            if not ser:
                continue
            d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in ser)
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>')
            for x, y in ser:
                out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="2.5" fill="{colour}"/>')
            out.append(f'<text x="{x0 + 6}" y="{y0 + 14 + 13 * j}" fill="{colour}">{label}</text>')
    out.append("</svg>")
    tmp = path + ".tmp"
    open(tmp, "w").write("\n".join(out) + "\n")
    os.replace(tmp, path)


def write_atomic(path, text):
    tmp = path + ".tmp"
    open(tmp, "w").write(text)
    os.replace(tmp, path)


def fit_exponent(xs, ys):
    """Least-squares slope of log y against log x (None with fewer than 2 points)."""
    if len(xs) < 2:
        return None
    return float(np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)[0])


def ridge_flop(n, t, p=1024, nte=1000, na=10):
    """Flop count of one ridge fit (exact LOO over na alphas, predict nte rows, one pass,
    scores only): the GEMMs of sgemm_limit's ridge shapes (2np + 2np na + 2 nte p per target,
    2 nte p^2 once) plus the decomposition of X (2np^2 for the Gram matrix, ~10p^3 for its
    eigendecomposition)."""
    return t * (2 * n * p + 2 * n * p * na + 2 * nte * p) + 2 * nte * p * p + 2 * n * p * p + 10 * p ** 3


def scaling(vals, texts, med, results, outdir):
    """Scaling curves: CSV + SVG files, RESULT lines (appended to results), results.md lines."""
    lines = []
    names = {"mlp": "B2M-MLP", "gru": "B2M-GRU", "conv": "B2M-Conv"}
    rows, panels = [], []
    for w in ("mlp", "gru", "conv"):
        series = []
        for side, colour, dashed in (("b2m", "#1f77b4", False), ("torch", "#d62728", True)):
            pts = []
            for (ww, s, c, k) in vals:
                if ww == f"scale_{w}" and s == side and k == "steps_per_s":
                    bs = int(c.split("=")[1])
                    pts.append((bs, med(ww, s, c, k)))
            pts.sort()
            for bs, v in pts:
                rows.append(f"{names[w]},{'b2m' if side == 'b2m' else 'pytorch'},{bs},{v:.4f},{v * bs:.1f}")
                results.append((f"Scaling-{names[w][4:]}", f"{side}_steps_per_s[batch={bs}]", f"{v:.2f}"))
            series.append(("b2m" if side == "b2m" else "PyTorch", pts, colour, dashed))
        if series[0][1]:
            panels.append({"title": names[w], "xlabel": "batch size", "ylabel": "training steps/s", "series": series})
    if panels:
        write_atomic(os.path.join(outdir, "scaling_batch.csv"),
                     "workload,side,batch,steps_per_s,samples_per_s\n" + "\n".join(rows) + "\n")
        svg_chart(panels, os.path.join(outdir, "scaling_batch.svg"))
        lines += ["", "## Scaling curves", "",
                  "Steps/s against batch size, each side at its best thread setting of the table above "
                  "(scaling_batch.csv, scaling_batch.svg); b2m / PyTorch:", "",
                  "| batch | " + " | ".join(names[w] for w in ("mlp", "gru", "conv")) + " |",
                  "| --- | --- | --- | --- |"]
        batches = sorted({int(c.split("=")[1]) for (ww, s, c, k) in vals if ww.startswith("scale_")})
        for bs in batches:
            cells = []
            for w in ("mlp", "gru", "conv"):
                b = med(f"scale_{w}", "b2m", f"batch={bs}", "steps_per_s")
                t = med(f"scale_{w}", "torch", f"batch={bs}", "steps_per_s")
                cells.append(f"{b:.2f} / {t:.2f} ({b / t:.2f}x)" if b and t else "n/a")
            lines.append(f"| {bs} | " + " | ".join(cells) + " |")

    # Ridge: seconds and peak RSS against targets (n = 4000) and samples (5000 targets).
    pts = collections.defaultdict(dict)  # (side, n, t) -> {key: value}
    skipped = {}
    main_t = med("ridge", "b2m", "t", "targets")
    for (w, s, c, k), v in vals.items():
        if w == "ridge_scale" and s in ("b2m", "sklearn"):
            n, t = (int(x.split("=")[1]) for x in c.split("/"))
            pts[(s, n, t)][k] = statistics.median(v)
    for line_side in ("b2m", "sklearn"):  # the main ridge row, unless the sweep measured that point itself
        if (main_t is not None and med("ridge", line_side, "t", "seconds") is not None and pts
                and (line_side, 4000, int(main_t)) not in pts):
            pts[(line_side, 4000, int(main_t))] = {"seconds": med("ridge", line_side, "t", "seconds"),
                                                   "peak_rss_mb": med("ridge", line_side, "t", "peak_rss_mb")}
    if not any(s == "b2m" for (s, n, t) in pts):
        return lines
    ridge_rows = []
    raw_skips = [(c, v) for (w, s, c, k), v in texts.items() if w == "ridge_scale" and s == "sklearn" and k == "skipped"]
    for sweep, fixed in (("targets", 4000), ("samples", 5000)):
        for side in ("b2m", "sklearn"):
            sel = sorted(((t if sweep == "targets" else n), d) for (s, n, t), d in pts.items()
                         if s == side and ((sweep == "targets" and n == fixed) or (sweep == "samples" and t == fixed))
                         and "seconds" in d)
            for size, d in sel:
                n, t = (fixed, size) if sweep == "targets" else (size, fixed)
                ridge_rows.append(f"{sweep},{side},{n},{t},{d['seconds']:.3f},{d.get('peak_rss_mb', float('nan')):.0f}")
    lines_r = ["", f"Ridge (exact LOO, 10 alphas, 1024 features, 1000 test rows) against targets (4000 samples) and "
               "samples (5000 targets) (scaling_ridge.csv, scaling_ridge.svg). Exponent a of seconds ~ size^a "
               "(least squares on log-log) against the exponent of the flop count over the same points "
               "(GEMMs of the fit + the decomposition of X):", "",
               "| sweep | sizes | b2m seconds | b2m peak RSS MB | scikit-learn seconds | scikit-learn peak RSS MB | "
               "exponent b2m / scikit-learn / flops |", "| --- | --- | --- | --- | --- | --- | --- |"]
    panels = []
    for sweep, fixed in (("targets", 4000), ("samples", 5000)):
        per = {}
        for side in ("b2m", "sklearn"):
            per[side] = sorted(((t if sweep == "targets" else n), d) for (s, n, t), d in pts.items()
                               if s == side and ((sweep == "targets" and n == fixed) or (sweep == "samples" and t == fixed))
                               and "seconds" in d)
        sizes = sorted({sz for side in per for sz, _ in per[side]})
        if not sizes:
            continue
        def col(side, key, fmt):
            d = dict(per[side])
            return ", ".join((fmt.format(d[sz][key]) if sz in d and key in d[sz] else "-") for sz in sizes)
        exps = []
        for side in ("b2m", "sklearn"):
            a = fit_exponent([sz for sz, _ in per[side]], [d["seconds"] for _, d in per[side]])
            exps.append("n/a" if a is None else f"{a:.2f}")
            if a is not None:
                results.append((f"Ridge-scaling-{sweep}", f"exponent_{side}", f"{a:.3f}"))
            for sz, d in per[side]:
                results.append((f"Ridge-scaling-{sweep}", f"{side}_seconds[{sz}]", f"{d['seconds']:.2f}"))
                results.append((f"Ridge-scaling-{sweep}", f"{side}_peak_rss_mb[{sz}]", f"{d.get('peak_rss_mb', float('nan')):.0f}"))
        b2m_sizes = [sz for sz, _ in per["b2m"]]
        fl = [ridge_flop(fixed, sz) if sweep == "targets" else ridge_flop(sz, fixed) for sz in b2m_sizes]
        af = fit_exponent(b2m_sizes, fl)
        exps.append("n/a" if af is None else f"{af:.2f}")
        if af is not None:
            results.append((f"Ridge-scaling-{sweep}", "exponent_flops", f"{af:.3f}"))
        fixed_txt = f"{fixed} samples" if sweep == "targets" else f"{fixed} targets"
        lines_r.append(f"| {sweep} ({fixed_txt}) | {', '.join(str(s) for s in sizes)} | {col('b2m', 'seconds', '{:.1f}')} | "
                       f"{col('b2m', 'peak_rss_mb', '{:.0f}')} | {col('sklearn', 'seconds', '{:.1f}')} | "
                       f"{col('sklearn', 'peak_rss_mb', '{:.0f}')} | {' / '.join(exps)} |")
        panels.append({"title": f"ridge seconds vs {sweep} ({fixed_txt})", "xlabel": sweep, "ylabel": "seconds",
                       "series": [("b2m", [(sz, d["seconds"]) for sz, d in per["b2m"]], "#1f77b4", False),
                                  ("scikit-learn", [(sz, d["seconds"]) for sz, d in per["sklearn"]], "#d62728", True)]})
        panels.append({"title": f"peak RSS vs {sweep}", "xlabel": sweep, "ylabel": "MB",
                       "series": [("b2m", [(sz, d["peak_rss_mb"]) for sz, d in per["b2m"] if "peak_rss_mb" in d], "#1f77b4", False),
                                  ("scikit-learn", [(sz, d["peak_rss_mb"]) for sz, d in per["sklearn"] if "peak_rss_mb" in d],
                                   "#d62728", True)]})
    if raw_skips:
        lines_r += ["", "scikit-learn not run at " + "; ".join(
            f"{c.replace('/', ', ')} ({v.replace('_', ' ')})" for c, v in sorted(raw_skips)) +
            ": predicted from its previous point of the same sweep to take more than 5 min or half the RAM."]
        for c, v in sorted(raw_skips):
            results.append(("Ridge-scaling", f"sklearn_skipped[{c}]", v))
    write_atomic(os.path.join(outdir, "scaling_ridge.csv"),
                 "sweep,side,samples,targets,seconds,peak_rss_mb\n" + "\n".join(ridge_rows) + "\n")
    if panels:
        svg_chart(panels, os.path.join(outdir, "scaling_ridge.svg"), width=300)
    return lines + lines_r


if __name__ == "__main__":
    main()
