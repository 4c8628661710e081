#!/usr/bin/env python3
"""benchmarks/mpi_scaling_table.py - the MPI scaling section of results.md (issue 15).

Reads the RESULT lines of benchmarks/mpi_scaling (run at 1 and 2 ranks, one thread each) and
prints markdown: measured seconds / steps/s, parallel efficiency, CPU seconds and load, the
communication per step or fit, and a communication-cost model's efficiency at 8, 64 and 512
ranks on a 10 GB/s network (latency 5 us):
  allreduce(G) = 2 log2(P) a + 2 (P-1)/P G / W     allgather(S) = log2(P) a + (P-1)/P S / W
  T(P) = T1 (1 - f) / P + T1 f + communication, efficiency = T1 / (P T(P)),
f = the share of the one-rank time every rank repeats (MLP: the objective on the whole batch;
ridge split by targets: the decomposition of X; split by samples: the eigh of the Gram matrix).
Usage: mpi_scaling_table.py RESULTS.txt [--date TEXT]
"""
import math
import sys

W, A = 10e9, 5e-6


def allreduce(g, p):
    return 0.0 if p == 1 else 2 * math.log2(p) * A + 2 * (p - 1) / p * g / W


def allgather(s, p):
    return 0.0 if p == 1 else math.log2(p) * A + (p - 1) / p * s / W


def parse(path):
    rows = []
    for line in open(path):
        if not line.startswith("RESULT "):
            continue
        parts = line.split()
        d = {"kind": parts[1]}
        for kv in parts[2:]:
            k, _, v = kv.partition("=")
            try:
                d[k] = float(v)
            except ValueError:
                d[k] = v
        rows.append(d)
    return rows


def pick(rows, kind, ranks, **match):
    found = [r for r in rows if r["kind"] == kind and int(r["ranks"]) == ranks
             and all(r.get(k) == v for k, v in match.items())]
    return found[-1] if found else None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = parse(sys.argv[1])
    date = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--date" else ""
    out = ["", "## MPI scale-out (issue 15)", "",
           "`benchmarks/mpi_scaling` at 1 and 2 MPI ranks of one thread each (OMP_NUM_THREADS=1, "
           "OPENBLAS_NUM_THREADS=1) on this machine%s. Ridge: 4,000 samples x 1,024 features, float32, "
           "exact LOO over 7 alphas; B2M-MLP: global batch 256, cross-entropy + contrastive. Efficiency = "
           "T1 / (2 T2) from wall time; CPU s are summed over the ranks (MPI's busy polling while a rank "
           "waits counts as CPU time); CPU efficiency = CPU1 / (2 x the busiest rank's CPU s), what the "
           "wall efficiency would be if every rank had a core to itself; load is the 1-minute load "
           "average when each measurement began. On a shared machine (Linux autogroup scheduling gives a "
           "job one share whatever its rank count) wall efficiencies under load mostly measure the "
           "other processes." % (" (" + date + ")" if date else ""), "",
           "| workload | 1 rank | 2 ranks | efficiency | CPU efficiency | CPU s 1 / 2 ranks | load 1 / 2 |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    targets = sorted({int(r["targets"]) for r in rows if r["kind"] in ("ridge", "ridge_rows")})
    model = []
    for t in targets:
        for kind, label in (("ridge", "split by targets"), ("ridge_rows", "split by samples")):
            a, b = pick(rows, kind, 1, targets=t), pick(rows, kind, 2, targets=t)
            if not a:
                continue
            t1 = a["seconds"]
            eff = t1 / (2 * b["seconds"]) if b else float("nan")
            ceff = a["cpu_seconds"] / (2 * b["cpu_max_rank"]) if b and "cpu_max_rank" in b else None
            out.append("| ridge %s targets, %s (s) | %.2f | %s | %s | %s | %.1f / %s | %.1f / %s |" % (
                f"{t:,}", label, t1, "%.2f" % b["seconds"] if b else "-", "%.2f" % eff if b else "-",
                "%.2f" % ceff if ceff else "-", a["cpu_seconds"], "%.1f" % b["cpu_seconds"] if b else "-", a["load"], "%.1f" % b["load"] if b else "-"))
            if kind == "ridge":
                f = a["repeated_seconds"] / t1
                model.append((f"ridge {t:,} targets, split by targets", lambda p, t1=t1, f=f, t=t:
                              t1 / (p * (t1 * (1 - f) / p + t1 * f + allgather(8 * t, p))), f, 0.0, 8 * t))
            else:
                f = a.get("serial_seconds", 0.0) / t1
                sb, gb = a["sum_bytes"], a["gather_bytes"]
                model.append((f"ridge {t:,} targets, split by samples", lambda p, t1=t1, f=f, sb=sb, gb=gb:
                              t1 / (p * (t1 * (1 - f) / p + t1 * f + allreduce(sb, p) + allgather(gb, p))),
                              f, sb, gb))
    a, b = pick(rows, "mlp", 1), pick(rows, "mlp", 2)
    if a:
        s1 = a["steps_per_s"]
        eff = b["steps_per_s"] / (2 * s1) if b else float("nan")
        ceff = a["cpu_seconds_per_step"] / b["cpu_seconds_per_step"] if b else None
        out.append("| B2M-MLP, batch %d (steps/s) | %.2f | %s | %s | %s | %.4f / %s per step | %.1f / %s |" % (
            int(a["batch"]), s1, "%.2f" % b["steps_per_s"] if b else "-", "%.2f" % eff if b else "-",
            "%.2f" % ceff if ceff else "-",
            a["cpu_seconds_per_step"], "%.4f" % b["cpu_seconds_per_step"] if b else "-", a["load"],
            "%.1f" % b["load"] if b else "-"))
        t1 = 1 / s1
        f = a["objective_seconds"] / t1
        g, s = a["grad_bytes"], a["gather_bytes"]
        model.append(("B2M-MLP, batch 256 (as built)", lambda p, t1=t1, f=f, g=g, s=s:
                      t1 / (p * (t1 * (1 - f) / p + t1 * f + allreduce(g, p) + allgather(s, p))), f, g, s))
        out += ["", "Communication per B2M-MLP step: gradient allreduce %s bytes, all-gathers of the sources "
                "the objective reads %s bytes; one allreduce of the gradient buffer measured at 2 ranks "
                "(shared memory): %s ms." % (f"{int(g):,}", f"{int(s):,}",
                                             "%.3f" % (1e3 * b["allreduce_seconds"]) if b else "-")]
    if model:
        out += ["", "Model (10 GB/s, 5 us latency; f = share of the one-rank time every rank repeats; "
                "bytes summed / gathered per step or fit):", "",
                "| workload | f | bytes summed | bytes gathered | P = 2 | 8 | 64 | 512 |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label, e, f, sb, gb in model:
            out.append("| %s | %.3f | %s | %s | %s |" % (label, f, f"{int(sb):,}", f"{int(gb):,}",
                                                        " | ".join("%.2f" % e(p) for p in (2, 8, 64, 512))))
    print("\n".join(out))


if __name__ == "__main__":
    main()
