#!/usr/bin/env python3
"""Fixed against flexible breaks on the example city, seeds 1-10.

Usage: python3 bench/flexbreaks.py BIN_BEFORE BIN_AFTER WORKDIR

Writes to WORKDIR two copies of examples/scenarios/city.json with the
baseline (default policy) and greedy variants only:
  city-fixed.json  as it is;
  city-flex.json   each fixed 30-minute break floating over 3 hours, from
                   90 minutes before its start to 60 minutes after its end
                   (so the early shift's, 07:00-15:00, starts by 13:00, six
                   hours in), chosen before any run.
Then runs `BIN simulate -scenario F -seed N -parallel 1 -out DIR` for
  before + city-fixed (the code before the change),
  after  + city-fixed (must equal before: days without flexible breaks),
  after  + city-flex,
and prints mean (sd) and paired per-seed differences of report.json's
variants[i].totals, and the unserved by reason.
"""
import json, os, statistics as st, subprocess, sys

before_bin, after_bin, work = sys.argv[1], sys.argv[2], sys.argv[3]
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.makedirs(work, exist_ok=True)

s = json.load(open(os.path.join(repo, 'examples', 'scenarios', 'city.json')))
s['variants'] = [v for v in s['variants'] if v['name'] in ('baseline', 'greedy')]
json.dump(s, open(os.path.join(work, 'city-fixed.json'), 'w'), indent=1)


def minutes(t):
    h, m = map(int, t.split(':'))
    return h * 60 + m


def clock(x):
    return '%02d:%02d' % (x // 60, x % 60)


for sh in s['roster']['shifts']:
    if sh.get('breaks'):
        out = []
        for b in sh['breaks']:
            a, e = minutes(b['start']), minutes(b['end'])
            assert e - a == 30, b
            out.append({'earliest': clock(a - 90), 'latest': clock(e + 60), 'minutes': 30})
        sh['breaks'] = out
json.dump(s, open(os.path.join(work, 'city-flex.json'), 'w'), indent=1)

seeds = range(1, 11)
runs = {'before-fixed': (before_bin, 'city-fixed.json'),
        'after-fixed': (after_bin, 'city-fixed.json'),
        'after-flex': (after_bin, 'city-flex.json')}
keys = ['urgent_on_time_share', 'unserved', 'normal_within_24h_share', 'travel_km_per_job', 'utilisation']
res, why = {}, {}
for name, (b, scen) in runs.items():
    for seed in seeds:
        out = os.path.join(work, 'out', name, str(seed))
        os.makedirs(out, exist_ok=True)
        subprocess.run([b, 'simulate', '-scenario', os.path.join(work, scen), '-seed', str(seed),
                        '-parallel', '1', '-out', out], check=True, stdout=subprocess.DEVNULL)
        r = json.load(open(os.path.join(out, 'report.json')))
        for v in r['variants']:
            res[(name, v['name'], seed)] = {k: v['totals'].get(k) for k in keys}
            why[(name, v['name'], seed)] = v.get('unserved_by_reason') or {}


def col(name, var, k):
    return [res[(name, var, seed)][k] for seed in seeds]


def ms(xs, scale=1):
    xs = [x * scale for x in xs]
    return '%.2f (%.2f)' % (st.mean(xs), st.stdev(xs))


for var in ('baseline', 'greedy'):
    same = all(res[('before-fixed', var, seed)] == res[('after-fixed', var, seed)] for seed in seeds)
    print(f'{var}: after == before on the fixed breaks, every seed: {same}')
    print('| metric | fixed | flexible | paired flexible - fixed | flexible better |')
    print('|---|--:|--:|--:|--:|')
    for k, scale, better in [('urgent_on_time_share', 100, 1), ('unserved', 1, -1),
                             ('normal_within_24h_share', 100, 1), ('travel_km_per_job', 1, -1),
                             ('utilisation', 100, 1)]:
        a, b = col('before-fixed', var, k), col('after-flex', var, k)
        d = [(y - x) * scale for x, y in zip(a, b)]
        wins = sum(1 for x in d if x * better > 0)
        ties = sum(1 for x in d if x == 0)
        print(f'| {k} | {ms(a, scale)} | {ms(b, scale)} | {st.mean(d):+.2f} ({st.stdev(d):.2f}) | {wins}/10, ties {ties} |')
    for name in ('before-fixed', 'after-flex'):
        reasons = sorted({r for seed in seeds for r in why[(name, var, seed)]})
        print(f'  unserved by reason, {name}: ' +
              ', '.join(f'{r} {st.mean(why[(name, var, seed)].get(r, 0) for seed in seeds):.1f}' for r in reasons))
    print()
