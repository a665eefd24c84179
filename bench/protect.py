#!/usr/bin/env python3
"""Urgent capacity protection in the simulator (bench/RESULTS.md, "Urgent
capacity protection that works").

Runs the example scenarios' default policy at several protection weights
and greedy, over seeds, and prints mean (sd) per cell and paired per-seed
differences against a reference weight.

  python3 bench/protect.py BINARY SEEDS WEIGHTS [REF]
  e.g. python3 bench/protect.py /tmp/protect/doorstep 1-10 default,0 0

WEIGHTS are protection weights ("default": the matcher's default weights,
untouched); every other weight keeps matcher.DefaultWeights. Greedy runs with
the default weights. $SCENARIOS (default city,nyc311) picks the scenarios.
Scenario copies and outputs go to $OUT (default
/tmp/protect/runs).
"""
import json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUT", "/tmp/protect/runs")
TRACE = "/work/shared/data/nyc311/nyc311-2018-10-21.csv"
DEFAULTS = {"travel": 1, "urgent_wait": 1, "normal_wait": 0.05, "rating": 6,
            "fairness": 20, "preferred": 15, "continuity": 10}
KEYS = [("urgent_on_time_share", 100, "urgent on time %"), ("unserved", 1, "unserved"),
        ("normal_within_24h_share", 100, "normal <=24h %"), ("travel_km_per_job", 1, "km/job")]


def seeds(spec):
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def scenario(name, weight, greedy):
    s = json.load(open(os.path.join(ROOT, "examples/scenarios", name + ".json")))
    if "replay" in s.get("demand", {}):
        s["demand"]["replay"]["path"] = TRACE
    s["variants"] = [{"name": "greedy", "policy": {"name": "greedy"}}] if greedy else [{"name": "default"}]
    if weight != "default":
        s.setdefault("matching", {})["weights"] = dict(DEFAULTS, protection=float(weight))
    path = os.path.join(OUT, "%s-%s%s.json" % (name, weight, "-greedy" if greedy else ""))
    json.dump(s, open(path, "w"))
    return path


def run(binary, path, seed):
    out = "%s.%d" % (path[:-5], seed)
    subprocess.run([binary, "simulate", "-scenario", path, "-seed", str(seed), "-parallel", "1",
                    "-out", out], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(os.path.join(out, "report.json")))["variants"][0]["totals"]


def ms(xs):
    return "%.2f (%.2f)" % (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0)


def main():
    binary, ss, weights = sys.argv[1], seeds(sys.argv[2]), sys.argv[3].split(",")
    ref = sys.argv[4] if len(sys.argv) > 4 else weights[0]
    os.makedirs(OUT, exist_ok=True)
    for name in os.environ.get("SCENARIOS", "city,nyc311").split(","):
        cells = {w: [run(binary, scenario(name, w, False), s) for s in ss] for w in weights}
        cells["greedy"] = [run(binary, scenario(name, "default", True), s) for s in ss]
        print("## %s, seeds %s" % (name, sys.argv[2]))
        print("| policy | " + " | ".join(k[2] for k in KEYS) + " | on time vs %s (paired) | wins | unserved vs %s (paired) | fewer on every seed |" % (ref, ref))
        print("|---" * (len(KEYS) + 5) + "|")
        for w, rs in cells.items():
            row = ["default w=%s" % w if w != "greedy" else "greedy"]
            row += [ms([r[k] * f for r in rs]) for k, f, _ in KEYS]
            d = [(r["urgent_on_time_share"] - b["urgent_on_time_share"]) * 100 for r, b in zip(rs, cells[ref])]
            u = [r["unserved"] - b["unserved"] for r, b in zip(rs, cells[ref])]
            row += [ms(d), "%d/%d" % (sum(x > 0 for x in d), len(d)), ms(u), str(all(x < 0 for x in u))]
            print("| " + " | ".join(row) + " |")
        for w in weights:
            d = [(r["urgent_on_time_share"] - g["urgent_on_time_share"]) * 100 for r, g in zip(cells[w], cells["greedy"])]
            u = [r["unserved"] - g["unserved"] for r, g in zip(cells[w], cells["greedy"])]
            print("default w=%s minus greedy: urgent on time %s points, ahead on %d/%d seeds; unserved %s, fewer on every seed: %s"
                  % (w, ms(d), sum(x > 0 for x in d), len(d), ms(u), all(x < 0 for x in u)))
        print()
        sys.stdout.flush()


main()
