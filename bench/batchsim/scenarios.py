#!/usr/bin/env python3
"""Writes the scenarios of bench/RESULTS.md "Batch assignment optimal across
rounds" into DIR: examples/scenarios/city.json and nyc311.json (the trace
path made absolute) with their variants replaced by the policies compared.

usage: scenarios.py REPO DIR
"""
import json, os, sys

VARIANTS = [
    {"name": "insertion"},
    {"name": "greedy", "policy": {"name": "greedy"}},
    {"name": "batch-30s", "policy": {"name": "batch", "batch_seconds": 30}},
    {"name": "batch-60s", "policy": {"name": "batch", "batch_seconds": 60}},
    {"name": "batch-120s", "policy": {"name": "batch", "batch_seconds": 120}},
    {"name": "batch-30s-normal900", "policy": {"name": "batch", "batch_seconds": 30, "normal_batch_seconds": 900}},
]
# Chosen on seeds 101-110: the normal period among 300, 900, 1800 and 3600 s.
TUNE = VARIANTS[:1] + VARIANTS[2:3] + [
    {"name": f"batch-30s-normal{p}", "policy": {"name": "batch", "batch_seconds": 30, "normal_batch_seconds": p}}
    for p in (300, 900, 1800, 3600)]


def main(repo, out):
    os.makedirs(out, exist_ok=True)
    for name in ("city", "nyc311"):
        src = os.path.join(repo, "examples", "scenarios", name + ".json")
        with open(src) as f:
            s = json.load(f)
        rp = s.get("demand", {}).get("replay")
        if rp:
            rp["path"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(src)), rp["path"]))
        for suffix, vs in (("final", VARIANTS), ("tune", TUNE)):
            s["variants"] = vs
            with open(os.path.join(out, f"{name}-{suffix}.json"), "w") as f:
                json.dump(s, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
