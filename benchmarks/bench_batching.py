"""Adaptive batching: throughput of the fused test statistics, and the E1 sweep serially and on all cores.

A script, not a test: ``python benchmarks/bench_batching.py [--quick] [--repeats 5] [--unset-openblas]``.

1. Test statistics on P-A4 (logistic finite sum, n = 1e5 rows, d = 50): for b = 1e2, 1e3,
   1e4, 1e5 (test sub-batch m = b, the worst case) the samples per second of
   - the fused Numba pass :func:`optlab.batching._kernels.glm_stats` (per-sample gradients,
     batch mean, Bessel variances and Var<s_i, g>, without forming the b x d matrix), and
   - vectorized NumPy: ``problem.grads_at`` (the explicit b x d per-sample gradients) then
     :func:`optlab.batching.batch_statistics`,
   measured in the same process (medians of ``--repeats``; the kernel is compiled and
   warmed up before timing), with the ratio Numba / NumPy.
2. The E1 sweep of ``adadagrad.e1_o1k`` (20 seeds; per seed the adaptive run, constant
   b = 2 and the stalled variant at K = 1e5; ``--quick``: 4 seeds at the claim's quick sizes): wall time
   serially and with joblib on all cores (processes), and the speed-up.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported as set and never changed here;
``--unset-openblas`` runs everything once more in a subprocess with both removed.
On a machine shared with other jobs the times are noisy: read the in-process ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
from joblib import Parallel, delayed

from optlab.batching import batch_statistics
from optlab.batching._kernels import glm_stats
from optlab.claims import get
from optlab.problems.stochastic import logistic_finite_sum

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_statistics(repeats: int, sizes: tuple[int, ...]) -> None:
    prob = logistic_finite_sum(n=100_000, d=50, seed=0)
    _, A, y, common = prob.glm
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(50)
    r = common(x)
    print("test statistics on P-A4 (n = 1e5, d = 50), m_test = b; samples/s (median of", repeats, "runs)")
    print(f"{'b':>8} {'Numba fused':>14} {'NumPy':>14} {'ratio':>7}  max rel diff")
    for b in sizes:
        idx = prob.sample_indices(b, rng)
        t_nb = _median_time(lambda idx=idx, b=b: glm_stats(A, y, idx, x, r, b), repeats)
        t_np = _median_time(lambda idx=idx, b=b: batch_statistics(prob.grads_at(x, idx), b), repeats)
        f, g = glm_stats(A, y, idx, x, r, b), batch_statistics(prob.grads_at(x, idx), b)
        diff = max(float(np.max(np.abs(f.var / g.var - 1))), abs(f.ip_var / g.ip_var - 1))
        print(f"{b:>8d} {b / t_nb:>14.3e} {b / t_np:>14.3e} {t_np / t_nb:>7.2f}  {diff:.1e}")


def _e1_seed(seed: int, quick: bool) -> float:
    claim = get("adadagrad.e1_o1k")
    t = time.perf_counter()
    claim.run(seed, quick=quick, control=False)
    claim.run(seed, quick=quick, control=True)
    return time.perf_counter() - t


def bench_sweep(quick: bool) -> None:
    n_seeds = 4 if quick else 20
    cores = os.cpu_count() or 1
    print(f"\nE1 sweep: {n_seeds} seeds x (adaptive, constant b=2, stalled) at K = {'5e3' if quick else '1e5'}")
    t = time.perf_counter()
    per_seed = [_e1_seed(s, quick) for s in range(n_seeds)]
    serial = time.perf_counter() - t
    t = time.perf_counter()
    Parallel(n_jobs=-1, backend="loky")(delayed(_e1_seed)(s, quick) for s in range(n_seeds))
    parallel = time.perf_counter() - t
    print(f"serial {serial:.1f} s (median {statistics.median(per_seed):.2f} s per seed); "
          f"all {cores} cores (joblib/loky, incl. worker start) {parallel:.1f} s; speed-up {serial / parallel:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="b up to 1e4, a 4-seed sweep at the quick sizes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--unset-openblas", action="store_true",
                        help="afterwards, run again in a subprocess with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores")
    for var in _OPENBLAS_VARS:
        print(f"{var}={os.environ.get(var, '<unset>')}")
    bench_statistics(args.repeats, (100, 1000, 10_000) if args.quick else (100, 1000, 10_000, 100_000))
    bench_sweep(args.quick)
    if args.unset_openblas:
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        print("\n" + "=" * 20, f"again with {' and '.join(_OPENBLAS_VARS)} unset (subprocess)", "=" * 20, flush=True)
        cmd = [sys.executable, __file__, "--repeats", str(args.repeats)] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
