"""BO-REP on P1: oracle calls per second, Numba path against the generic array path, and the E1 sweep time.

A script, not a test: ``python benchmarks/bench_bilevel.py [--quick] [--repeats 3] [--unset-openblas]``.

For d = dx = dy = 10, 100, 1000 (P1, sigma = 0.3, practical mode: eta = 0.01, beta = 0.9, I = 2,
N = 10, so about 8 oracle calls per iteration of which 5 lower-level SGD steps), it times the same
run (same seeds, same numbers) with ``use_numba=True`` (the whole loop in Numba between records,
noise drawn per chunk from the same streams) and ``use_numba=False`` (the generic array-API loop
on NumPy), after one warm-up run that also compiles the kernels; medians of ``--repeats``.
It prints calls/s for both and the speed-up, then the wall time of the full E1 sweep
(``optlab.claims.borep.EpsScaling``, 10 seeds, eps down to 0.35, claim and N = 0 control), single process.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported as set and never changed here;
``--unset-openblas`` runs everything once more in a subprocess with both removed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from optlab.bilevel import bo_rep
from optlab.claims import get, run_claim
from optlab.problems.bilevel import bilevel_p1

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
PARAMS = {"eta": 0.01, "beta": 0.9, "period": 2, "n_lower": 10, "refine_steps": 0}


def calls_per_second(d: int, iters: int, use_numba: bool, repeats: int) -> tuple[float, int]:
    prob = bilevel_p1(d, d, seed=0, sigma=0.3)
    x0 = np.ones(d)
    bo_rep(prob, x0, max_iter=5, use_numba=use_numba, **PARAMS)  # warm-up (compiles)
    times, calls = [], 0
    for r in range(repeats):
        t = time.perf_counter()
        res = bo_rep(prob, x0, max_iter=iters, record_every=iters, seed=r, use_numba=use_numba, **PARAMS)
        times.append(time.perf_counter() - t)
        calls = res.oracle_calls["total"]
    return calls / statistics.median(times), calls


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--unset-openblas", action="store_true")
    ap.add_argument("--no-e1", action="store_true", help="skip the full E1 sweep")
    args = ap.parse_args(argv)
    blas = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in _OPENBLAS_VARS)
    print(f"OPENBLAS: {blas}; cpus={os.cpu_count()}")
    print(f"{'d':>6} {'iters':>7} {'calls':>8} {'numba calls/s':>14} {'generic calls/s':>16} {'speed-up':>9}")
    for d in (10, 100, 1000):
        iters = (2000 if d < 1000 else 200) if args.quick else (20000 if d < 1000 else 1000)
        fast, calls = calls_per_second(d, iters, True, args.repeats)
        slow, _ = calls_per_second(d, max(iters // 10, 50), False, args.repeats)
        print(f"{d:>6} {iters:>7} {calls:>8} {fast:>14.4g} {slow:>16.4g} {fast / slow:>8.1f}x", flush=True)
    if not args.no_e1:
        claim = get("borep.e1_eps_scaling")
        run_claim(claim, quick=True, seeds=1)  # compile outside the timed region
        t = time.perf_counter()
        v = run_claim(claim, quick=args.quick)
        print(f"E1 sweep ({'quick' if args.quick else 'full'}: {len(v.series)} seeds, claim + N = 0 control): "
              f"{time.perf_counter() - t:.2f} s wall; {v.outcome.fitted}; control: {v.control.fitted}")
    if args.unset_openblas:
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--unset-openblas"]
        print("\n-- again with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset --", flush=True)
        subprocess.run([sys.executable, __file__, *rest], env=env, check=True)


if __name__ == "__main__":
    main()
