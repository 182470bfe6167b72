#!/usr/bin/env python3
"""Whole-process wall time of commands, alternated so that a shared machine's noise hits each
side alike; prints the median and quartiles of each in milliseconds.

  scripts/bench_process.py -r 30 -- '.build/release/vae-gen --seed 42 -n 100 --out /tmp/x' '.build/release/vae-gen --help'
"""
import argparse, shlex, statistics, subprocess, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("-r", "--runs", type=int, default=30, help="runs of each command (default 30)")
ap.add_argument("--warmup", type=int, default=3, help="untimed runs of each first (default 3)")
ap.add_argument("commands", nargs="+", help="shell-quoted commands")
a = ap.parse_args()
if a.runs < 1:
    ap.error("--runs must be at least 1")
cmds = [shlex.split(c) for c in a.commands]
for c in cmds:
    for _ in range(a.warmup):
        r = subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            raise SystemExit(f"bench_process: {shlex.join(c)} exited with {r.returncode}")
times = [[] for _ in cmds]
for _ in range(a.runs):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[i].append((time.perf_counter() - t) * 1e3)
for c, ts in zip(a.commands, times):
    q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
    print(f"{statistics.median(ts):8.2f} ms median  ({q[0]:.2f} .. {q[2]:.2f})  {c}")
