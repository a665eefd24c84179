#!/usr/bin/env python3
"""Compare two doorstep binaries in the simulator, seed by seed.

usage: replan_compare.py BEFORE_BIN AFTER_BIN OUTDIR SCENARIO.json... -- SEED...

Runs `BIN simulate -scenario F -seed N -parallel 1 -out DIR` for each binary,
scenario and seed (a run whose report.json exists is reused), and prints, for
each scenario and variant, the mean (sd) of report.json totals before and
after and of the paired per-seed difference, with how many seeds went up and
down. Used for bench/RESULTS.md, "Re-planning unstarted normal bookings".
"""
import json, os, statistics as st, subprocess, sys

args = sys.argv[1:]
if '--' not in args or len(args) < 5:
    sys.exit(__doc__)
k = args.index('--')
before, after, outdir, scenarios = args[0], args[1], args[2], args[3:k]
seeds = [int(s) for s in args[k + 1:]]
keys = ['urgent_on_time_share', 'unserved', 'normal_within_24h_share', 'travel_km_per_job', 'rescues', 'rescue_moves']
res = {}
for path in scenarios:
    sc = os.path.splitext(os.path.basename(path))[0]
    for b, exe in (('before', before), ('after', after)):
        for s in seeds:
            out = os.path.join(outdir, f'{sc}-{b}-{s}')
            if not os.path.exists(os.path.join(out, 'report.json')):
                subprocess.run([exe, 'simulate', '-scenario', path, '-seed', str(s), '-parallel', '1', '-out', out],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for v in json.load(open(os.path.join(out, 'report.json')))['variants']:
                t = v['totals']
                row = {key: (t.get(key) or 0) for key in keys}
                if 'rescue_moves' not in t:  # before the field: one move a rescue
                    row['rescue_moves'] = row['rescues']
                res[(sc, b, v['name'], s)] = row


def fmt(xs, pct):
    m, sd = st.mean(xs), (st.stdev(xs) if len(xs) > 1 else 0)
    return f'{m * 100:.2f}% ({sd * 100:.2f})' if pct else f'{m:.2f} ({sd:.2f})'


for sc in dict.fromkeys(k[0] for k in res):
    for n in dict.fromkeys(k[2] for k in res if k[0] == sc):
        print(f'## {sc} / {n}')
        for key in keys:
            pct = key.endswith('share')
            b = [res[(sc, 'before', n, s)][key] for s in seeds]
            a = [res[(sc, 'after', n, s)][key] for s in seeds]
            d = [x - y for x, y in zip(a, b)]
            print(f'  {key:24s} before {fmt(b, pct):16s} after {fmt(a, pct):16s} paired {fmt(d, pct):16s}'
                  f' (up {sum(x > 0 for x in d)}, down {sum(x < 0 for x in d)})')
