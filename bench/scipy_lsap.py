"""Times SciPy's linear_sum_assignment for lsapbench, one solve per request.

Started by bench/cmd/lsapbench, which alternates its own solves with this
script's so that both sides run under the same machine load. Protocol, one
line each way: the script first prints {"scipy": VERSION}; then for each
request line "FILE ROWS COLS" (FILE: ROWS*COLS float64 little-endian costs,
row-major, +inf forbidden) it solves once and prints the wall and CPU
(thread) seconds of the solve alone, the total cost and the number of
assigned rows, or the error SciPy raised. It exits at end of input.
"""

import json
import sys
import time

import numpy as np
import scipy
from scipy.optimize import linear_sum_assignment


def main() -> None:
    print(json.dumps({"scipy": scipy.__version__}), flush=True)
    path, cost = None, None
    for line in sys.stdin:
        name, rows, cols = line.split()
        if name != path:
            path = name
            cost = np.fromfile(path, dtype="<f8").reshape(int(rows), int(cols))
        out = {}
        try:
            w0, c0 = time.perf_counter(), time.thread_time()
            r, c = linear_sum_assignment(cost)
            cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
        except ValueError as e:  # e.g. "cost matrix is infeasible"
            out["error"] = str(e)
        else:
            out.update(wall=wall, cpu=cpu, cost=float(cost[r, c].sum()), assigned=int(len(r)))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
