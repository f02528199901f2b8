#!/usr/bin/python3
"""A/B speed comparison of two kestrel builds on this machine, alternating.

The dev VM's timings swing by 10% or more between runs as other tenants
come and go, so two builds are only comparable when their runs interleave:
this runs OLD and NEW alternately for several rounds (the order flips every
round) and reports, per benchmark, the best of each build's rounds and the
ratio. It catches regressions a one-sided look misses (a kernel that GCC
stopped inlining once read 30% slower and went unnoticed for a session).

  scripts/bench-ab.py OLD/kestrel_bench NEW/kestrel_bench -- --benchmark_filter='gemm|gemv_l2'
  scripts/bench-ab.py OLD/kestrel NEW/kestrel -- -m M.gguf -p 512 -n 64 -t 2 -r 2

Binaries named kestrel_bench run Google Benchmark (time per iteration,
lower is better); any other is taken as the kestrel CLI and runs
`bench --json` (tokens/s, higher is better). Rows whose NEW is worse by
more than --threshold percent are marked; the exit status is 1 if any is.
"""
import argparse
import json
import os
import subprocess
import sys


def run_gbench(binary, args):
    out = subprocess.run([binary, "--benchmark_format=json", *args], check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        rows[b["name"]] = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return rows


def run_kestrel(binary, args):
    out = subprocess.run([binary, "bench", "--json", *args], check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for r in json.loads(out)["results"]:
        key = f'{os.path.basename(r["model"])} {r["type"]} t{r["threads"]} {r["test"]}'
        rows[key] = r["tokens_per_s"]
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=5.0, help="percent")
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:  # everything after -- goes to both binaries unchanged
        rest = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    a = ap.parse_args(argv)
    a.args = rest
    gbench = os.path.basename(a.new).startswith("kestrel_bench")
    run = run_gbench if gbench else run_kestrel
    best = {"old": {}, "new": {}}
    for r in range(a.rounds):
        order = [("old", a.old), ("new", a.new)]
        if r % 2:
            order.reverse()
        for which, binary in order:
            for key, v in run(binary, a.args).items():
                prev = best[which].get(key)
                better = (lambda x, y: x < y) if gbench else (lambda x, y: x > y)
                if prev is None or better(v, prev):
                    best[which][key] = v
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    unit = "s/iter (best)" if gbench else "t/s (best)"
    print(f"| benchmark | old {unit} | new {unit} | new vs old |")
    print("|---|---:|---:|---:|")
    worse = 0
    for key in best["old"]:
        if key not in best["new"]:
            continue
        o, n = best["old"][key], best["new"][key]
        speedup = o / n if gbench else n / o  # > 1: NEW is faster
        flag = ""
        if speedup < 1 - a.threshold / 100:
            flag = " **slower**"
            worse += 1
        print(f"| {key} | {o:.4g} | {n:.4g} | {speedup:.3f}x{flag} |")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
