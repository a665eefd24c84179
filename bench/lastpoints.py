#!/usr/bin/env python3
"""Paired before/after runs of the example scenarios (bench/RESULTS.md,
"Issue 11: the last points").

  python3 bench/lastpoints.py OUT NAME=BINARY ... -- SCENARIO SEEDS BASE NEW

writes OUT/city.json and OUT/nyc311.json (the examples with only their
default and greedy variants, the trace path made absolute), runs
`BINARY simulate -scenario F -seed N -parallel 1` for each NAME over SEEDS
("a-b"; a run already in OUT is reused) and prints, for the default
(variant 0) and greedy (variant 1), mean (sd) of NAME=BASE and NAME=NEW,
the paired per-seed difference (mean, sd, and its 95% interval, mean
+- 1.96 sd / sqrt(seeds)) and the seeds up / down.
"""
import json, os, statistics as st, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEEP = {"city": ["baseline", "greedy"], "nyc311": ["insertion", "greedy"]}
KEYS = [("urgent_on_time_share", 100), ("unserved", 1), ("normal_within_24h_share", 100), ("travel_km_per_job", 1)]


def scenario(out, name):
    path = os.path.join(out, name + ".json")
    d = json.load(open(os.path.join(ROOT, "examples/scenarios", name + ".json")))
    d["variants"] = [v for v in d["variants"] if v["name"] in KEEP[name]]
    rp = d["demand"].get("replay")
    if rp:
        rp["path"] = os.path.normpath(os.path.join(ROOT, "examples/scenarios", rp["path"]))
    json.dump(d, open(path, "w"), indent=1)
    return path


def totals(out, binary, name, scen, seed):
    d = os.path.join(out, f"{name}-{os.path.basename(scen)[:-5]}-{seed}")
    if not os.path.exists(os.path.join(d, "report.json")):
        subprocess.run([binary, "simulate", "-scenario", scen, "-seed", str(seed), "-parallel", "1", "-out", d],
                       check=True, stdout=subprocess.DEVNULL)
    return [v["totals"] for v in json.load(open(os.path.join(d, "report.json")))["variants"]]


def main():
    args = sys.argv[1:]
    out, sep = args[0], args.index("--")
    bins = dict(a.split("=", 1) for a in args[1:sep])
    scen_name, spec, base, new = args[sep + 1:sep + 5]
    os.makedirs(out, exist_ok=True)
    scen = scenario(out, scen_name)
    lo, hi = map(int, spec.split("-"))
    seeds = range(lo, hi + 1)
    runs = {n: [totals(out, bins[n], n, scen, s) for s in seeds] for n in (base, new)}
    for vi, policy in enumerate(["default", "greedy"]):
        print(f"{scen_name} seeds {spec}, {policy}: {base} -> {new}")
        for key, mul in KEYS:
            x = [r[vi][key] * mul for r in runs[base]]
            y = [r[vi][key] * mul for r in runs[new]]
            d = [b - a for a, b in zip(x, y)]
            half = 1.96 * st.stdev(d) / len(d) ** 0.5
            print(f"  {key}: {st.mean(x):.2f} ({st.stdev(x):.2f}) -> {st.mean(y):.2f} ({st.stdev(y):.2f}),"
                  f" paired {st.mean(d):+.2f} ({st.stdev(d):.2f}) [{st.mean(d) - half:+.2f}, {st.mean(d) + half:+.2f}],"
                  f" up {sum(v > 1e-9 for v in d)} down {sum(v < -1e-9 for v in d)}")


if __name__ == "__main__":
    main()
