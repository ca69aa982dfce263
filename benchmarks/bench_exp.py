"""Throughput of the vectorized exp and log-sum-exp kernels of optlab.kernels.

A script, not a test: ``python benchmarks/bench_exp.py [--n 1000000] [--repeats 9]``.
Everything runs in this one process and single-threaded; each timing is the median of
``--repeats`` runs after a warm-up call, so no Numba compilation is timed.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from collections.abc import Callable

import numba
import numpy as np
import scipy
from numba import njit
from scipy.special import logsumexp as sp_logsumexp

from optlab.kernels import exp_into, logsumexp_cols, logsumexp_rows


@njit(cache=True, fastmath=False)
def math_exp_into(x: np.ndarray, out: np.ndarray) -> None:
    """The baseline: a Numba loop calling ``math.exp`` (a scalar libm call without SVML)."""
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: compiles (or loads from the cache) and touches the memory
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="length of the exp vectors")
    parser.add_argument("--m", type=int, default=2000, help="side of the square log-sum-exp matrix")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats (median), at least 7")
    args = parser.parse_args()
    repeats = max(7, args.repeats)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__}, SVML: {numba.config.USING_SVML}, cpu: {platform.machine()}"
    )
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{var}={os.environ.get(var, '<unset>')}  (reported only; exp does not use BLAS)")
    print(f"median of {repeats} repeats after a warm-up call, single thread\n")

    rng = np.random.default_rng(0)
    x = rng.uniform(-700.0, 700.0, args.n)
    out = np.empty_like(x)
    rate = {}
    rate["numba math.exp loop"] = args.n / median_seconds(lambda: math_exp_into(x, out), repeats)
    rate["optlab exp_into"] = args.n / median_seconds(lambda: exp_into(x, out), repeats)
    rate["np.exp"] = args.n / median_seconds(lambda: np.exp(x, out=out), repeats)
    print(f"exp on n = {args.n:,} float64 in [-700, 700]")
    for name, r in rate.items():
        print(f"  {name:<22} {r / 1e9:6.3f} G elements/s")
    base = rate["optlab exp_into"]
    print(
        f"  exp_into / math.exp loop = {base / rate['numba math.exp loop']:.2f}x, "
        f"exp_into / np.exp = {base / rate['np.exp']:.2f}x\n"
    )

    a = rng.normal(scale=10.0, size=(args.m, args.m))
    r_out = np.empty(args.m)
    size = a.size
    lse = {}
    lse["optlab logsumexp_rows"] = size / median_seconds(lambda: logsumexp_rows(a, r_out), repeats)
    lse["scipy logsumexp axis=1"] = size / median_seconds(lambda: sp_logsumexp(a, axis=1), repeats)
    lse["optlab logsumexp_cols"] = size / median_seconds(lambda: logsumexp_cols(a, r_out), repeats)
    lse["scipy logsumexp axis=0"] = size / median_seconds(lambda: sp_logsumexp(a, axis=0), repeats)
    print(f"log-sum-exp of a {args.m}x{args.m} float64 matrix (normal, scale 10)")
    for name, r in lse.items():
        print(f"  {name:<24} {r / 1e9:6.3f} G elements/s")
    print(
        f"  rows: optlab / scipy = {lse['optlab logsumexp_rows'] / lse['scipy logsumexp axis=1']:.2f}x, "
        f"cols: optlab / scipy = {lse['optlab logsumexp_cols'] / lse['scipy logsumexp axis=0']:.2f}x"
    )


if __name__ == "__main__":
    main()
