"""Optimistic OMD's fused Numba round loop: ns per round against the four-vector limit and a NumPy loop.

A script, not a test: ``python benchmarks/bench_online.py [--quick] [--repeats 5] [--unset-openblas]``.

In one process, single-threaded, for d = 10, 100, 1000 and T = 1e6 rounds (``--quick``: T = 1e5) on Family A
with noise (``mixture``, s = m = 0.1, kappa = 0.5: every round draws its noise signs and both projections
are active at times), it prints:

- the fused kernel's time per round (``optimistic_omd`` with the adaptive step, whole run / T, median of
  ``--repeats`` >= 5, every specialization compiled before timing);
- the four-vector limit: a Numba loop that, per round, reads four length-d float64 vectors and writes two of
  them (``y <- c y - e M``, ``M <- mu + e u``: the traffic the issue counts for one round, ``y, M, mu, u*`` read
  and ``y, M`` written, 48 d bytes), its measured bandwidth (the basis of the limit: at these sizes the vectors
  sit in L1/L2, so the limit is the core's load/store throughput, not DRAM), and the ratio kernel / limit
  (targets: <= 2 at d >= 100, <= 4 at d = 10), timed interleaved with the kernel;
- the same for the V1 sweep's own setting (``kappa = 0``: the gradient does not depend on the played point),
  as an information line;
- the NumPy per-round loop (the generic path, ``path="generic"``, on fewer rounds) and the speed-up;
- the wall time of the V1 sweep (``omd.v1_convex_sigma``, 50 seeds, both the claim and its control) run
  serially and with all cores (joblib, one process per core).

The round loops are serial (one thread; Numba's thread count is printed) and call no BLAS, so the OpenBLAS
settings should not matter; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported as set and never changed here;
``--unset-openblas`` runs everything again in a subprocess with both removed, to show it. Numbers from a loaded
machine are noisy: the load average is printed, and the kernel and the limit are timed alternately in the same
process so that their ratio sees the same load.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import numba
import numpy as np
from numba import njit

from optlab.online import optimistic_omd
from optlab.problems.online import family_a

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SIZES = (10, 100, 1000)
TARGET = {10: 4.0, 100: 2.0, 1000: 2.0}


@njit(cache=True)
def four_vectors(y, M, mu, u, T, c, e):
    """The four-vector limit: per round read ``y, M, mu, u`` and write ``y, M`` (returns a checksum)."""
    for _ in range(T):
        for i in range(y.shape[0]):
            yi = c * y[i] - e * M[i]
            y[i] = yi
            M[i] = mu[i] + e * u[i]
    return y[0] + M[0]


def _aligned_full(d: int, value: float) -> np.ndarray:
    """A length-d float64 vector starting on a 64-byte boundary (as the kernel's own vectors): NumPy aligns small
    arrays to 16 bytes only, and vector loads that straddle cache lines made the limit vary from run to run."""
    buf = np.full(d + 8, value)
    off = (-buf.ctypes.data % 64) // 8
    return buf[off:off + d]


def _medians(fns, repeats: int) -> list[float]:
    """Median wall time of each function, the functions called alternately (so each sees the same load)."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _v1_sweep(n_jobs: int, seeds: int) -> float:
    from joblib import Parallel, delayed

    from optlab.claims.omd import _v1_runs

    run = _v1_runs.__wrapped__  # the sweep itself, not the claim's cache
    jobs = [(s, c) for s in range(seeds) for c in (False, True)]
    t = time.perf_counter()
    if n_jobs == 1:
        for s, c in jobs:
            run(s, False, c)
    else:
        Parallel(n_jobs=n_jobs)(delayed(run)(s, False, c) for s, c in jobs)
    return time.perf_counter() - t


CONFIGS = (("bench: mixture s=m=0.1, kappa=0.5", {"kappa": 0.5}),
           ("V1 setting: mixture s=m=0.1, kappa=0", {"kappa": 0.0}))


def _problem(d: int, T: int, kappa: float):
    return family_a(d, T, "mixture", s=0.1, m=0.1, kappa=kappa, seed=0)


def _warm_up() -> None:
    """Compile (or load from the cache) everything timed below, so no compile falls in a timed region."""
    from optlab.claims.omd import _v1_runs

    for _, kw in CONFIGS:
        optimistic_omd(_problem(10, 50, **kw), n_records=2)
        optimistic_omd(_problem(10, 50, **kw), n_records=2, path="generic")
    four_vectors(np.ones(4), np.ones(4), np.ones(4), np.ones(4), 2, 0.5, 0.1)
    for control in (False, True):  # every specialization the V1 sweep uses (claim and control)
        _v1_runs.__wrapped__(0, True, control)


def bench(T: int, repeats: int, sweep_seeds: int) -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cpus")
    print(f"uptime: {_uptime()}")
    print(f"threads: the round loops are serial (1 thread); numba.get_num_threads() = {numba.get_num_threads()}, "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', '<unset>')}; the V1 sweep's parallel run uses "
          f"joblib processes")
    for var in _OPENBLAS_VARS:
        print(f"{var}={os.environ.get(var, '<unset>')}")
    print("BLAS: the fused round loop calls no BLAS (pure Numba loops), so the two variables above should not "
          "change its times")
    print(f"T = {T:.0e} rounds per run; medians of {repeats} repeats, kernel and limit timed alternately\n")
    _warm_up()
    rows = []
    for d in SIZES:
        probs = [_problem(d, T, **kw) for _, kw in CONFIGS]
        for p in probs:
            optimistic_omd(p, n_records=10)  # first touch of the stream arrays, outside the timed region
        y, M, mu, u = (_aligned_full(d, 0.01) for _ in range(4))
        fns = [lambda y=y, M=M, mu=mu, u=u: four_vectors(y, M, mu, u, T, 0.999, 1e-3)]
        fns += [lambda p=p: optimistic_omd(p, n_records=10) for p in probs]
        t_limit, *t_kernels = (t / T for t in _medians(fns, repeats))
        gbs = 48 * d / t_limit / 1e9
        T_np = max(2000, T // 100)
        q = _problem(d, T_np, 0.5)
        t_numpy = _medians([lambda q=q: optimistic_omd(q, n_records=10, path="generic")], 1)[0] / T_np
        print(f"d = {d:5d}: four-vector limit {t_limit * 1e9:7.1f} ns/round ({48 * d} B read+written per round, "
              f"{gbs:5.1f} GB/s measured; the vectors, {32 * d / 1024:.1f} KiB, stay in cache)")
        for (name, _), t_k in zip(CONFIGS, t_kernels, strict=True):
            ratio = t_k / t_limit
            tag = ""
            if name.startswith("bench"):
                tag = f" (target <= {TARGET[d]:g}) [{'met' if ratio <= TARGET[d] else 'MISSED'}]"
                rows.append((d, t_k, ratio, t_numpy / t_k))
            print(f"    {name:38s} fused kernel {t_k * 1e9:7.1f} ns/round ({1e-6 / t_k:6.2f} M rounds/s) "
                  f"-> ratio {ratio:5.2f}{tag}")
        print(f"    NumPy per-round loop (generic path, {T_np} rounds, kappa=0.5) {t_numpy * 1e9:9.0f} ns/round "
              f"-> fused kernel speed-up {rows[-1][3]:6.1f}x", flush=True)
    print()
    serial = _v1_sweep(1, sweep_seeds)
    cores = os.cpu_count() or 1
    parallel = _v1_sweep(-1, sweep_seeds)
    print(f"V1 sweep (omd.v1_convex_sigma full grid, {sweep_seeds} seeds, claim + control): serial {serial:.1f} s, "
          f"all {cores} cores (joblib) {parallel:.1f} s -> {serial / parallel:.2f}x")
    print(f"uptime after: {_uptime()}")
    print("summary: " + "; ".join(f"d={d}: {t * 1e9:.0f} ns/round, {r:.2f}x limit, {s:.0f}x NumPy"
                                  for d, t, r, s in rows), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 1e5 rounds and a 10-seed sweep")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (median; at least 5)")
    parser.add_argument("--unset-openblas", action="store_true",
                        help="afterwards, run again in a subprocess with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
    args = parser.parse_args()
    args.repeats = max(5, args.repeats)
    bench(100_000 if args.quick else 1_000_000, args.repeats, 10 if args.quick else 50)
    if args.unset_openblas:
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        print("\n" + "=" * 20, f"again with {' and '.join(_OPENBLAS_VARS)} unset (subprocess)", "=" * 20, flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--repeats", str(args.repeats)]
        cmd += ["--quick"] if args.quick else []
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
