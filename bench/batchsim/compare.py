#!/usr/bin/env python3
"""Batch dispatch in the simulator: runs each binary on each scenario for
each seed and prints, per variant, the mean and sd over the seeds of urgent
on-time, unserved and km per job, and the paired per-seed difference
against a reference variant.

usage: compare.py -bin NAME=PATH [-bin ...] -scenario FILE [...] -seeds 1-10
                  [-ref insertion] [-pair A:B] [-out DIR]

-pair A:B also prints, for each variant, binary A less binary B, paired by
seed (e.g. the code after a change less the code before it).
"""
import argparse, json, os, statistics, subprocess, sys
from concurrent.futures import ThreadPoolExecutor


def seeds(spec):
    a, _, b = spec.partition("-")
    return list(range(int(a), int(b or a) + 1))


def run(binary, scenario, seed, out):
    d = os.path.join(out, f"{os.path.basename(binary)}-{os.path.basename(scenario)}-{seed}")
    if not os.path.exists(os.path.join(d, "report.json")):
        subprocess.run([binary, "simulate", "-scenario", scenario, "-seed", str(seed), "-parallel", "1", "-out", d],
                       check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(d, "report.json")) as f:
        return {v["name"]: v["totals"] for v in json.load(f)["variants"]}


def ms(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-bin", action="append", required=True)
    p.add_argument("-scenario", action="append", required=True)
    p.add_argument("-seeds", default="1-10")
    p.add_argument("-ref", default="insertion")
    p.add_argument("-out", default="/tmp/batchsim")
    p.add_argument("-jobs", type=int, default=2)
    p.add_argument("-pair", action="append", default=[])
    a = p.parse_args()
    bins = dict(b.split("=", 1) for b in a.bin)
    ss = seeds(a.seeds)
    with ThreadPoolExecutor(a.jobs) as ex:
        res = {(bn, sc, s): ex.submit(run, path, sc, s, a.out) for bn, path in bins.items() for sc in a.scenario for s in ss}
        res = {k: v.result() for k, v in res.items()}
    metrics = [("urgent on time %", "urgent_on_time_share", 100), ("unserved", "unserved", 1), ("km/job", "travel_km_per_job", 1)]
    for sc in a.scenario:
        print(f"\n### {os.path.basename(sc)}, seeds {a.seeds}\n")
        head = "| binary | variant | " + " | ".join(f"{m} mean (sd) | vs {a.ref} paired (sd) [wins/ties/losses]" for m, _, _ in metrics) + " |"
        print(head)
        print("|" + "---|" * (2 + 2 * len(metrics)))
        for bn in bins:
            for var in res[(bn, sc, ss[0])]:
                row = [bn, var]
                for _, key, k in metrics:
                    xs = [res[(bn, sc, s)][var][key] * k for s in ss]
                    ref = [res[(bn, sc, s)][a.ref][key] * k for s in ss]
                    d = [x - r for x, r in zip(xs, ref)]
                    m, sd = ms(xs)
                    dm, dsd = ms(d)
                    better = (lambda v: v > 1e-9) if key == "urgent_on_time_share" else (lambda v: v < -1e-9)
                    worse = (lambda v: v < -1e-9) if key == "urgent_on_time_share" else (lambda v: v > 1e-9)
                    w, l = sum(better(x) for x in d), sum(worse(x) for x in d)
                    row += [f"{m:.2f} ({sd:.2f})", f"{dm:+.2f} ({dsd:.2f}) [{w}/{len(d)-w-l}/{l}]"]
                print("| " + " | ".join(row) + " |")
        for pair in a.pair:
            A, B = pair.split(":")
            print(f"\n{A} less {B}, paired by seed (mean (sd) [seeds {A} better/tied/worse]):\n")
            print("| variant | " + " | ".join(m for m, _, _ in metrics) + " |")
            print("|" + "---|" * (1 + len(metrics)))
            for var in res[(A, sc, ss[0])]:
                if var not in res[(B, sc, ss[0])]:
                    continue
                row = [var]
                for _, key, k in metrics:
                    d = [(res[(A, sc, s)][var][key] - res[(B, sc, s)][var][key]) * k for s in ss]
                    dm, dsd = ms(d)
                    up = key == "urgent_on_time_share"
                    w = sum((x > 1e-9) if up else (x < -1e-9) for x in d)
                    l = sum((x < -1e-9) if up else (x > 1e-9) for x in d)
                    row.append(f"{dm:+.2f} ({dsd:.2f}) [{w}/{len(d)-w-l}/{l}]")
                print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
