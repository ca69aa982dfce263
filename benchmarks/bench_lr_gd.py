"""Per-iteration cost of LR+GD: the fused Numba pass against the memory bandwidth, NumPy and scikit-learn.

A script, not a test: ``python benchmarks/bench_lr_gd.py [--repeats 9] [--unset-openblas]``.

For each size (n = 10^5, d = 100 and n = 10^6, d = 20; float64 Gaussian features, labels
from a planted direction, gamma = 1) it measures, in this one process and single-threaded
(BLAS limited to one thread with threadpoolctl):

- the one-read bandwidth limit: the fastest of three read-only reductions over ``Z``
  (``Z.sum()``, BLAS ``Z @ ones`` and a Numba vector loop), giving GB/s and the per-iteration
  time limit ``Z.nbytes / bandwidth``;
- (a) the fused kernel ``optlab.classification._kernels.data_pass`` (LOGISTIC) plus the
  update ``phi += g / n``;
- (b) the plain NumPy iteration ``m = Z @ phi; w = expit(-gamma m); g = w @ Z; phi += g / n``;
- (c) scikit-learn ``LogisticRegression(solver="lbfgs")`` time per L-BFGS iteration and
  ``Perceptron`` time per epoch;
- (d) the NORMALIZED pass plus ``phi += g``.

Each time is the median of ``--repeats`` (at least 7) timed runs after a warm-up run, so
no Numba compilation is timed; the readers, (a), (b) and (d) are timed in interleaved
rounds, so that their ratios see the same machine conditions. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported as set
and never changed here; on the reference machine they are set (Haswell, 512) and halve
the BLAS speed, which slows the NumPy and scikit-learn baselines. ``--unset-openblas``
runs everything once more in a subprocess with both variables removed, so one command
reports both settings.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable

import numba
import numpy as np
import scipy
import sklearn
from numba import njit
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Perceptron
from threadpoolctl import threadpool_info, threadpool_limits

from optlab.classification import _kernels
from optlab.classification._passes import LOGISTIC, NORMALIZED
from optlab.classification.methods import prepare_data

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SIZES = ((100_000, 100, 0.8), (1_000_000, 20, 0.6))  # n, d, target fraction of the bandwidth limit
GAMMA = 1.0


@njit(cache=True, fastmath=False)
def _read_rows(Z: np.ndarray, ones: np.ndarray) -> float:
    """Read-only reduction over ``Z`` with the kernel's vector row loop (``sum_i z_i . 1``)."""
    total = 0.0
    for i in range(Z.shape[0]):
        total += _kernels._row_dot(Z, i, ones)
    return total


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each function, timed in interleaved rounds.

    One warm-up call each (compiles or loads from the cache, touches the memory), then
    ``repeats`` rounds that call every function once in turn: on a shared, noisy machine
    all of them see the same conditions, which keeps their ratios meaningful.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def planted(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features, labels ``sign(<x, w*>)`` for a random unit ``w*`` (separable)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    X = rng.standard_normal((n, d))
    y = np.where(X @ w > 0, 1.0, -1.0)
    return X, y


def readers(Z: np.ndarray) -> dict[str, Callable[[], object]]:
    """Three read-only reductions over ``Z``; the fastest gives the bandwidth."""
    ones = np.ones(Z.shape[1])
    return {
        "read numpy Z.sum()": lambda: Z.sum(),
        "read BLAS Z @ ones": lambda: Z @ ones,
        "read numba vector rows": lambda: _read_rows(Z, ones),
    }


def fused_step(Z: np.ndarray, mode: int) -> Callable[[], None]:
    """One iteration (pass + update of ``phi``) of LR+GD (LOGISTIC) or NLR+GD (NORMALIZED)."""
    n, d = Z.shape
    phi = np.zeros(d)

    def step() -> None:
        nonlocal phi
        r = _kernels.data_pass(Z, phi, GAMMA, mode)
        phi = phi + (r.g / n if mode == LOGISTIC else r.g)

    return step


def numpy_step(Z: np.ndarray) -> Callable[[], None]:
    n, d = Z.shape
    phi = np.zeros(d)

    def step() -> None:
        nonlocal phi
        m = Z @ phi
        w = expit(-GAMMA * m)
        g = w @ Z
        phi = phi + g / n

    return step


def time_sklearn(X: np.ndarray, y: np.ndarray, repeats: int, k: int) -> tuple[float, float]:
    """Seconds per L-BFGS iteration of LogisticRegression and per epoch of Perceptron."""

    def per_iter(make: Callable[[], object]) -> float:
        times = []
        for r in range(repeats + 1):
            est = make()
            t0 = time.perf_counter()
            est.fit(X, y)
            dt = time.perf_counter() - t0
            if r:  # the first fit is the warm-up
                times.append(dt / int(np.max(est.n_iter_)))
        return statistics.median(times)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_lr = per_iter(lambda: LogisticRegression(solver="lbfgs", C=1e10, max_iter=k, tol=0.0,
                                                   fit_intercept=False))
        t_pc = per_iter(lambda: Perceptron(max_iter=k, tol=None, fit_intercept=False, shuffle=False))
    return t_lr, t_pc


def run(repeats: int, sklearn_iters: int) -> None:
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__}, scikit-learn {sklearn.__version__}, cpu: {platform.machine()}, "
        f"{os.cpu_count()} cores"
    )
    for var in _OPENBLAS_VARS:
        print(f"{var}={os.environ.get(var, '<unset>')}")
    blas = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')})" for p in threadpool_info()
            if p.get("user_api") == "blas"]
    print(f"BLAS: {', '.join(blas) or '?'}; limited to 1 thread; median of {repeats} after a warm-up\n")
    for n, d, target in SIZES:
        X, y = planted(n, d)
        Z = prepare_data(X, y)
        reads = readers(Z)
        t = interleaved_medians({**reads, "a": fused_step(Z, LOGISTIC), "b": numpy_step(Z),
                                 "d": fused_step(Z, NORMALIZED)}, repeats)
        limit = min(t[name] for name in reads)
        bw = Z.nbytes / limit
        t_a, t_b, t_d = t["a"], t["b"], t["d"]
        t_lr, t_pc = time_sklearn(X, y, repeats, sklearn_iters)
        ms = 1e3
        print(f"n = {n:,}, d = {d}: Z is {Z.nbytes / 1e6:.0f} MB (float64)")
        for name in reads:
            print(f"  {name:<27} {t[name] * ms:8.2f} ms  {Z.nbytes / t[name] / 1e9:6.1f} GB/s")
        print(f"  bandwidth limit             {limit * ms:8.2f} ms  {bw / 1e9:6.1f} GB/s (fastest reader)")
        print(f"  (a) fused LOGISTIC + update {t_a * ms:8.2f} ms  {Z.nbytes / t_a / 1e9:6.1f} GB/s")
        print(f"  (b) NumPy iteration         {t_b * ms:8.2f} ms")
        print(f"  (c) sklearn LR lbfgs / iter {t_lr * ms:8.2f} ms   Perceptron / epoch {t_pc * ms:8.2f} ms")
        print(f"  (d) fused NORMALIZED + upd. {t_d * ms:8.2f} ms  {Z.nbytes / t_d / 1e9:6.1f} GB/s")
        frac = limit / t_a
        print(f"  (a) reaches {frac:.2f} of the bandwidth limit (target >= {target}: "
              f"{'met' if frac >= target else 'NOT met'}); (d) {limit / t_d:.2f}")
        speedup = t_b / t_a
        print(f"  speed-up of (a): {speedup:.2f}x over NumPy (target >= 2: {'met' if speedup >= 2 else 'NOT met'}), "
              f"{t_lr / t_a:.2f}x over sklearn LR per iteration, {t_pc / t_a:.2f}x over sklearn Perceptron per epoch\n",
              flush=True)
        del X, y, Z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats (median), at least 7")
    parser.add_argument("--sklearn-iters", type=int, default=5, help="max_iter of each scikit-learn fit")
    parser.add_argument("--unset-openblas", action="store_true",
                        help="afterwards, run again in a subprocess with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
    args = parser.parse_args()
    repeats = max(7, args.repeats)
    with threadpool_limits(limits=1):
        run(repeats, args.sklearn_iters)
    if args.unset_openblas:
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        print("=" * 20, f"again with {' and '.join(_OPENBLAS_VARS)} unset (subprocess)", "=" * 20, flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--repeats", str(repeats),
               "--sklearn-iters", str(args.sklearn_iters)]
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
